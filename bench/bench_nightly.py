"""The nightly recompute of the whole customer base in chunks on Celery workers (SPEC §8).

Not run by the tests. Usage (real PostgreSQL and Redis; its own database crm_nightly_bench):

    uv run python bench/bench_nightly.py [--customers 100000] [--runs 3] [--workers 1,2,4]
        [--broker redis://127.0.0.1:6379/4] [--queue crm_nightly] [--json FILE]

Generates --customers customers with a realistic history (dataio/synthetic.py's NIGHTLY shape:
bulk SQL, summaries by `customer_summaries_rebuild`) and stores a population fit (BG/NBD +
Gamma-Gamma, tier thresholds). Then starts max(--workers) real `celery worker` processes
(concurrency 1 each) on --broker / --queue and waits until each answers a ping.

One run with k workers: only k of them consume the queue (the others' consumers are
cancelled), `customers_figures_recompute_spread` sends the group of chunk tasks (ranges of
5,000 customer ids), and the clock stops when every customer's `figures_computed_at` is at or
after the start (polled from the database). Each round measures the in-process single call
(`customers_figures_recompute_all` with the fit: one process, the path before chunking) and
every worker count, interleaved, so the shared machine's noise hits all sides alike, and the
whole nightly refit as celery beat sends it (fit, thresholds, chunks) on all the workers; the
figures are medians over --runs rounds. Every process it starts is stopped at the end, also
on error or Ctrl-C.
"""

import argparse
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, add_json_argument, django_setup, median, report
from devtools.processes import Processes, celery_worker_argv

DATABASE = "crm_nightly_bench"
GOAL_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="rounds; figures are medians")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare")
    parser.add_argument(
        "--broker", default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/4"
    )
    parser.add_argument("--queue", default=os.environ.get("CELERY_QUEUE") or "crm_nightly")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run at most")
    add_json_argument(parser)
    options = parser.parse_args()
    counts = sorted({int(n) for n in options.workers.split(",")})

    os.environ["CELERY_BROKER_URL"] = options.broker
    os.environ["CELERY_QUEUE"] = options.queue
    os.environ.pop("REDIS_URL", None)  # no result backend: the group needs none
    url = django_setup(DATABASE)
    # A SIGTERM (e.g. from a runner's timeout) unwinds like Ctrl-C, so the workers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.perf_counter()
    generated = base_generate(options.customers)
    print(
        f"generated {generated.customers} customers, "
        f"{sum(generated.counts[k] for k in ('orders', 'contacts', 'outreach'))} interactions, "
        f"{generated.counts['order_lines']} order lines in {time.perf_counter() - started:.1f} s"
    )
    fit = stored_fit()
    print(f"fit {fit.pk}: {fit.get_method_display()}, {fit.customers} buying customers")

    most = max(counts)
    with workers_running(most, url=url, broker=options.broker, queue=options.queue) as names:
        timings = {"in-process": [], **{k: [] for k in counts}, "refit": []}
        for run in range(options.runs):
            timings["in-process"].append(in_process())
            for k in counts:
                consume_with(names[:k], names, queue=options.queue)
                timings[k].append(on_workers(timeout=options.timeout))
            timings["refit"].append(refit_on_workers(timeout=options.timeout))
            print(
                f"round {run + 1}: in-process {timings['in-process'][-1]:.1f} s, "
                + ", ".join(f"{k} worker(s) {timings[k][-1]:.1f} s" for k in counts)
                + f", whole refit on {most} worker(s) {timings['refit'][-1]:.1f} s"
            )

    machine = (
        f"{os.cpu_count()} CPU cores (shared with other work while measured), PostgreSQL and "
        f"Redis on the same machine"
    )
    figures = [
        Figure(
            name=f"nightly recompute of {options.customers:,} customers, {k} worker(s)",
            value=median(timings[k]),
            unit="s",
            goal="under a minute for 100,000 customers, in chunks a Celery group spreads",
            met=median(timings[k]) < GOAL_SECONDS if options.customers >= 100_000 else None,
            detail=(
                f"median of {options.runs}; from sending the group with a stored fit until "
                f"every customer's figures are written (polled); {k} `celery worker` "
                f"process(es), concurrency 1, chunks of 5,000 customers; {machine}"
            ),
        )
        for k in counts
    ]
    base = median(timings[counts[0]])
    figures += [
        Figure(
            name=f"speed-up, {k} workers vs {counts[0]}",
            value=base / median(timings[k]),
            unit="x",
            detail=(
                f"median time with {counts[0]} worker / with {k}, same rounds; the machine has "
                f"{os.cpu_count()} cores, shared by the workers, PostgreSQL and this process, "
                f"so more workers than cores cannot help much"
            ),
        )
        for k in counts[1:]
    ]
    figures.append(
        Figure(
            name=f"whole nightly refit of {options.customers:,} customers, {most} worker(s)",
            value=median(timings["refit"]),
            unit="s",
            detail=(
                f"median of {options.runs}; from sending valuation_nightly_refit (what celery "
                f"beat sends) until every customer's figures are written: the fit (BG/NBD + "
                f"Gamma-Gamma) and the tier thresholds on one worker, then the chunks on all "
                f"{most}"
            ),
        )
    )
    figures.append(
        Figure(
            name=f"in-process recompute of {options.customers:,} customers (reference)",
            value=median(timings["in-process"]),
            unit="s",
            detail=(
                f"median of {options.runs}; one call of customers_figures_recompute_all with "
                f"the fit (thresholds drawn and every customer written in this process)"
            ),
        )
    )
    notes = [
        f"base: {generated.customers} customers, "
        f"{sum(generated.counts[k] for k in ('orders', 'contacts', 'outreach'))} interactions, "
        f"{generated.counts['order_lines']} order lines, "
        f"{generated.counts['ratings']} ratings, "
        f"{generated.counts['needs']} known needs; fit: {fit.get_method_display()}",
        "all runs: " + "; ".join(f"{k}: {[round(t, 1) for t in v]}" for k, v in timings.items()),
    ]
    report(options.json, "bench_nightly", figures, notes)


def base_generate(customers: int):
    """The generated base (dataio.synthetic's NIGHTLY shape): four managers, 30 offerings in
    three categories, a known need; then ANALYZE."""
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.db import connection

    from accounts.roles import Role
    from customers.models import FactKey, FactKind
    from dataio import synthetic
    from offerings.models import Category, Offering

    managers = []
    for n in range(4):
        user = User.objects.create(username=f"manager{n}")
        user.groups.add(Group.objects.get(name=Role.MANAGER.value))
        managers.append(user.pk)
    categories = [Category.objects.create(name=name) for name in ("Coffee", "Machines", "Care")]
    offerings = [
        Offering.objects.create(
            name=f"Offering {n:02d}", category=categories[n % 3], price=Decimal(8 + (n * 7) % 60)
        )
        for n in range(30)
    ]
    need = FactKey.objects.create(
        key="coffee_need", label="Coffee supply", kind=FactKind.NEED, category=categories[0]
    )
    generated = synthetic.base_generate(
        synthetic.NIGHTLY.sized(customers),
        owners=managers,
        offerings=offerings,
        need_key_id=need.pk,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return generated


def stored_fit():
    """A completed fit with its tier thresholds, every customer recomputed once."""
    from django.utils import timezone

    from valuation import services
    from valuation.models import ModelFit

    fit = ModelFit.objects.create(as_of=timezone.localdate())
    return services.valuation_fit_run(fit_id=fit.pk)


def in_process() -> float:
    """One call over the whole base with the latest fit (thresholds drawn anew)."""
    from valuation import selectors, services

    started = time.perf_counter()
    services.customers_figures_recompute_all(fit=selectors.latest_fit())
    return time.perf_counter() - started


def everyone_recomputed_since(start, started: float, *, timeout: float) -> float:
    """Poll until every customer's figures were written at or after `start`; the seconds
    since `started` (a perf_counter reading)."""
    from django.db.models import Q

    from customers.models import Customer

    behind = Customer.objects.filter(
        Q(figures__computed_at__lt=start) | Q(figures__computed_at__isnull=True)
    )
    while behind.exists():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{behind.count()} customers not recomputed after {timeout} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def on_workers(*, timeout: float) -> float:
    """Send the chunks of the latest fit as a group; seconds until everyone is recomputed."""
    from django.utils import timezone

    from valuation import selectors, tasks

    fit = selectors.latest_fit()
    start, started = timezone.now(), time.perf_counter()
    tasks.customers_figures_recompute_spread(fit)
    return everyone_recomputed_since(start, started, timeout=timeout)


def refit_on_workers(*, timeout: float) -> float:
    """Send the nightly refit as beat does; seconds until everyone is recomputed by it."""
    from django.utils import timezone

    from valuation.tasks import valuation_nightly_refit

    start, started = timezone.now(), time.perf_counter()
    valuation_nightly_refit.delay()
    return everyone_recomputed_since(start, started, timeout=timeout)


class workers_running:
    """Start `count` celery worker processes (concurrency 1) and stop them all on exit."""

    def __init__(self, count: int, *, url: str, broker: str, queue: str):
        self.count, self.queue = count, queue
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": broker,
            "CELERY_QUEUE": queue,
            "DJANGO_SETTINGS_MODULE": "crm.settings.test",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes = Processes()
        self.logs = Path(tempfile.mkdtemp(prefix="bench-nightly-"))

    def __enter__(self) -> list[str]:
        from crm.celery import app

        try:
            app.control.purge()  # nothing left over from an earlier run
            names = [f"nightly-bench-{n}@{socket.gethostname()}" for n in range(self.count)]
            for name in names:
                # Its own session: its pool child goes with it on cleanup.
                self.processes.start(
                    name,
                    celery_worker_argv(name, pool="prefork", concurrency=1, loglevel="WARNING"),
                    env=self.env,
                    log_path=self.logs / f"{name.split('@')[0]}.log",
                    session=True,
                    stop_timeout=20,  # warm shutdown: the task at hand finishes
                )
            deadline = time.monotonic() + 60
            for name, process in zip(names, self.processes.started, strict=True):
                while not app.control.ping(destination=[name], timeout=0.5):
                    if not process.is_alive() or time.monotonic() > deadline:
                        raise RuntimeError(f"worker {name} did not start; logs in {self.logs}")
            return names
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.processes.stop_all()


def consume_with(active: list[str], names: list[str], *, queue: str) -> None:
    """Let only the `active` workers take tasks from the queue."""
    from crm.celery import app

    idle = [name for name in names if name not in active]
    if idle:
        app.control.cancel_consumer(queue, destination=idle, reply=True, timeout=5)
    app.control.add_consumer(queue, destination=active, reply=True, timeout=5)
    # The replies come once each worker has (un)registered; nothing is queued in between.


if __name__ == "__main__":
    main()
