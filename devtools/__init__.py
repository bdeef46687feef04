"""Tools for the tests and the benchmarks only; app code never imports them."""
