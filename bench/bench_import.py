"""Import of a large generated transaction log, and of CDNOW_master.txt (SPEC §11).

Not run by the tests but through bin/bench's runner (section "import", bench/run.py: at
IMPORT_ROWS rows there, a million on demand). Usage (real PostgreSQL, its own fresh database
crm_bench_import, or BENCH_DATABASE_URL's):

    uv run python bench/bench_import.py [--rows 1000000] [--customers 50000] [--cdnow] [--json F]

Generates a CSV transaction log (customer_ref,date,amount,margin) of --rows rows for
--customers customers over two years, imports it with `import_transactions` (the same code as
the worker's task), then re-imports it (everything is a duplicate). Prints the time of the row
phase, of the one bulk rebuild of the figures (summaries, refit, recompute all) and rows/s,
then the figures beside the goal (issue 20: a million rows imported and rebuilt in < 60 s) as
the other benches do (bench/common.py), with the load average of the machine.
With --cdnow, imports lifetimes' CDNOW_master.txt instead and prints the fit.
"""

import argparse
import importlib.util
import logging
import os
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import SUFFIX, Figure, add_json_argument, database_url, report

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.test")
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", database_url("crm_bench_import" + SUFFIX)
)
# The first figures, before the COPY path (docs/dataio.md): a million rows by the batches.
BEFORE = "444 s rows + 162 s rebuild = 607 s for 1,000,000 rows (the batches of rows, load 3-4)"


def generate(path: Path, rows: int, customers: int) -> None:
    rng = random.Random(2026)
    with open(path, "w") as out:
        out.write("customer_ref,date,amount,margin\n")
        for _ in range(rows):
            customer = rng.randrange(customers)
            day = 1 + rng.randrange(700)
            year, rest = (2024, day) if day <= 366 else (2025, day - 366)
            month, dom = 1 + (rest - 1) // 31 % 12, 1 + (rest - 1) % 28
            amount = rng.randrange(500, 20000) / 100
            out.write(f"B-{customer},{year}-{month:02d}-{dom:02d},{amount:.2f},{amount / 3:.2f}\n")


def _rebuild_timed() -> dict[str, float]:
    """The rebuild's phases, timed (valuation_rebuild_everything calls them by these names):
    the fit proper is its ModelFit.duration_ms, the rest of valuation_fit_run is the tier
    thresholds, the priors and every customer's figures written."""
    from valuation import services as valuation

    phases: dict[str, float] = {}

    def timed(name, function, after=None):
        def run(*args, **kwargs):
            started = time.perf_counter()
            result = function(*args, **kwargs)
            phases[name] = time.perf_counter() - started
            if after:
                after(result)
            return result

        return run

    def split_fit(fit) -> None:
        phases["fit"] = fit.duration_ms / 1000
        phases["figures of everyone"] = phases.pop("fit and figures") - phases["fit"]

    valuation.customer_summaries_rebuild = timed("summaries", valuation.customer_summaries_rebuild)
    valuation.valuation_fit_run = timed("fit and figures", valuation.valuation_fit_run, split_fit)
    valuation.customers_figures_history_build = timed(
        "history", valuation.customers_figures_history_build
    )
    valuation.purchase_forecasts_refresh = timed("forecasts", valuation.purchase_forecasts_refresh)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--cdnow", action="store_true")
    add_json_argument(parser)
    options = parser.parse_args()

    import django
    import psycopg2

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    django.setup()
    from django.core.management import call_command

    from dataio import services
    from dataio.models import ImportKind
    from valuation.models import ModelFit

    call_command("migrate", verbosity=0)
    rebuild_phases = _rebuild_timed()
    last_rebuild: dict[str, float] = {}
    logging.basicConfig(format="  %(message)s")
    logging.getLogger("dataio.copy_import").setLevel(logging.INFO)

    def timed_import(kind: str, path: Path, as_of=None) -> tuple[float, float]:
        job = services.import_job_create(kind=kind, content=path.read_bytes(), as_of=as_of)
        phases = {}

        def progress(job):
            if job.status not in phases:
                phases[job.status] = time.perf_counter()
                if job.status == "rebuilding":
                    seconds = phases["rebuilding"] - started
                    print(
                        f"  rows done in {seconds:.1f} s ({job.total_rows / seconds:,.0f} rows/s)",
                        flush=True,
                    )

        started = time.perf_counter()
        job = services.import_job_run(job_id=job.pk, progress=progress)
        done = time.perf_counter()
        rows_done = phases.get("rebuilding", done)
        print(
            f"{job.total_rows} rows: {job.created_rows} created, {job.duplicate_rows} "
            f"duplicates, {job.error_rows} errors, {job.customers_created} new customers"
        )
        print(
            f"  rows {rows_done - started:.1f} s ({job.total_rows / (rows_done - started):,.0f} "
            f"rows/s), rebuild+refit+recompute {done - rows_done:.1f} s, total "
            f"{done - started:.1f} s"
        )
        if rebuild_phases:
            print("  rebuild: " + ", ".join(f"{n} {t:.1f} s" for n, t in rebuild_phases.items()))
            last_rebuild.clear()
            last_rebuild.update(rebuild_phases)
            rebuild_phases.clear()
        return rows_done - started, done - rows_done

    if options.cdnow:
        spec = importlib.util.find_spec("lifetimes")
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_master.txt"
        print(f"CDNOW master: {path}")
        # The end of the CDNOW observation window, not today: T is measured up to it.
        timed_import(ImportKind.CDNOW, path, as_of=date(1998, 6, 30))
        fit = ModelFit.objects.latest("created_at")
        print(
            f"  fit {fit.method}: {fit.customers} customers, r={fit.bgnbd_r:.4f} "
            f"alpha={fit.bgnbd_alpha:.4f} a={fit.bgnbd_a:.4f} b={fit.bgnbd_b:.4f}, "
            f"{fit.duration_ms} ms"
        )
        return

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        started = time.perf_counter()
        generate(path, options.rows, options.customers)
        size = path.stat().st_size / 1e6
        elapsed = time.perf_counter() - started
        print(f"generated {options.rows} rows ({size:.0f} MB) in {elapsed:.1f} s")
        load_before = os.getloadavg()
        rows_s, rebuild_s = timed_import(ImportKind.TRANSACTIONS, path)
        first_rebuild = dict(last_rebuild)
        print("re-import of the same file:")
        again_s, _ = timed_import(ImportKind.TRANSACTIONS, path)
        total = rows_s + rebuild_s
        rebuilt = ", ".join(f"{n} {t:.1f} s" for n, t in first_rebuild.items())
        million = options.rows >= 1_000_000
        load = ", ".join(f"{value:.2f}" for value in load_before)
        report(
            options.json,
            "import",
            [
                Figure(
                    f"{options.rows:,} transaction rows imported and rebuilt",
                    total,
                    "s",
                    goal="< 60 s for 1,000,000 rows (issue 20)",
                    # The goal is set at a million rows; a smaller file only shows the trend.
                    met=total < 60 if million else None,
                    detail=f"rows {rows_s:.1f} s ({options.rows / rows_s:,.0f} rows/s), "
                    f"rebuild {rebuild_s:.1f} s ({rebuilt}); {options.customers:,} customers, "
                    f"load average {load}; before: {BEFORE}",
                ),
                Figure("rows phase", options.rows / rows_s, "rows/s"),
                Figure("re-import (all duplicates)", again_s, "s"),
            ],
            [
                f"load average before the import (1, 5, 15 min): {load} on {os.cpu_count()} cores",
                *(
                    []
                    if million
                    else [
                        "The goal is set at a million rows: `uv run python bench/bench_import.py "
                        "--rows 1000000 --customers 50000` (docs/benchmarks.md, *Import*)."
                    ]
                ),
            ],
        )


if __name__ == "__main__":
    main()
