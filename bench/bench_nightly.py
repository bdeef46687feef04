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
    parser.add_argument(
        "--million",
        type=int,
        default=1_000_000,
        help="then the whole nightly refit of this many customers (0: skip), once in one "
        "process and once on --million-workers workers",
    )
    parser.add_argument("--million-workers", type=int, default=2)
    parser.add_argument(
        "--million-range-size",
        type=int,
        default=25_000,
        help="RECOMPUTE_RANGE_SIZE of the workers in the million run",
    )
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
                f"Gamma-Gamma) and the tier thresholds on one worker, then "
                + (
                    f"the chunks on all {most}"
                    if os.environ.get("NIGHTLY_IN_RANGES") == "1"
                    else "everyone written by that worker in one pass (PostgreSQL's default)"
                )
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
    notes = []
    if options.million:
        million_figures, million_notes = million_run(options, url=url)
        figures += million_figures
        notes += million_notes
    notes += [
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
    # Each poll scans the figures: at a million customers, polled every 0.1 s, the polling
    # alone would take most of a core from the workers it measures.
    pause = 0.1 if Customer.objects.count() < 200_000 else 1.0
    while behind.exists():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{behind.count()} customers not recomputed after {timeout} s")
        time.sleep(pause)
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


MILLION_GOAL_SECONDS = 60.0


def million_run(options, *, url: str) -> tuple[list, list[str]]:
    """The whole nightly refit of --million customers (about ten transaction days each):
    once in this process (valuation_fit_run as fit_models runs it), once as celery beat sends
    it with --million-workers workers running (on PostgreSQL the worker that fits recomputes
    everyone in one pass, on NIGHTLY_WRITE_CONNECTIONS connections; with NIGHTLY_IN_RANGES=1
    in the environment, ranges of --million-range-size customers on all the workers). The
    base of the 100,000 run is dropped first.
    Each run writes the figures of a new night: the day's snapshots of the run before are
    deleted and the tables vacuumed, as a night and autovacuum leave them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customer, valuation_modelfit CASCADE")
    started = time.perf_counter()
    made = million_generate(options.million)
    generated_in = time.perf_counter() - started
    print(
        f"generated {made['customers']:,} customers' summaries ({made['buyers']:,} buyers, "
        f"{made['transactions']:,} transaction days) in {generated_in:.1f} s"
    )
    in_process = million_refit()
    print(f"whole refit of {made['customers']:,} in one process: {in_process:.1f} s")
    next_night()
    os.environ["RECOMPUTE_RANGE_SIZE"] = str(options.million_range_size)
    k = options.million_workers
    with workers_running(k, url=url, broker=options.broker, queue=options.queue):
        on_workers = refit_on_workers(timeout=options.timeout)
    print(f"whole refit of {made['customers']:,} on {k} worker(s): {on_workers:.1f} s")
    shape = (
        f"{made['customers']:,} customers, {made['buyers']:,} with a purchase, "
        f"{made['transactions']:,} transaction days in their running summaries"
    )
    figures = [
        Figure(
            name=f"whole nightly refit of {made['customers']:,} customers, one process",
            value=in_process,
            unit="s",
            goal="under 60 s for 1,000,000 customers with 10,000,000 transactions",
            met=in_process < MILLION_GOAL_SECONDS if made["customers"] >= 1_000_000 else None,
            detail=(
                f"one run; valuation_fit_run in this process: the three purchase models and "
                f"Gamma-Gamma fitted from the running summaries (no transaction rows: the "
                f"holdout has nothing to score, the model is chosen by log-likelihood), "
                f"thresholds over the base, every customer's figures "
                f"and the day's snapshot written (COPY in and out, valuation.bulk); {shape}"
            ),
        ),
        Figure(
            name=(
                f"whole nightly refit of {made['customers']:,} customers, celery beat's task "
                f"({k} workers running)"
            ),
            value=on_workers,
            unit="s",
            goal="under 60 s for 1,000,000 customers with 10,000,000 transactions",
            met=on_workers < MILLION_GOAL_SECONDS if made["customers"] >= 1_000_000 else None,
            detail=(
                f"one run; from sending valuation_nightly_refit until every customer's figures "
                f"are written (polled once a second), {k} `celery worker` processes "
                f"(concurrency 1) running: "
                + (
                    f"the fit and thresholds on one, then ranges of "
                    f"{options.million_range_size:,} customers on all"
                    if os.environ.get("NIGHTLY_IN_RANGES") == "1"
                    else "the worker that fits recomputes and writes everyone in one pass on "
                    "two database connections"
                )
                + f"; {shape}"
            ),
        ),
    ]
    notes = [
        f"million base generated in {generated_in:.0f} s (customers and figures rows by "
        f"INSERT ... SELECT generate_series, summaries drawn from BG/NBD + Gamma-Gamma and "
        f"COPYed in); the nightly reads the summaries, not the transactions, so no "
        f"transaction rows exist and the trailing-year and experience queries find nothing"
    ]
    return figures, notes


def next_night() -> None:
    """As the next night finds the tables: no snapshot of the day yet, dead rows vacuumed."""
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM valuation_customersnapshot WHERE taken_on = %s", [timezone.localdate()]
        )
        cursor.execute("VACUUM ANALYZE valuation_customerfigures")
        cursor.execute("VACUUM ANALYZE valuation_customersnapshot")


def million_generate(customers: int, *, seed: int = 3) -> dict:
    """`customers` customers and their running summaries, consistent with about ten
    transaction days each (10,000,000 at 1,000,000): the customers and their figures rows by
    one INSERT ... SELECT over generate_series each, the summaries drawn from the BG/NBD and
    Gamma-Gamma stories in NumPy and COPYed in. The nightly reads only these (its fit as of
    today from the summaries, valuation.bulk), so no transaction rows are generated; the
    interactions table is empty, so the two trailing-year sums (revenue and cost to serve of
    the last 12 months) and the experience inputs read nothing."""
    import io

    import numpy as np
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from accounts.roles import Role
    from customers.models import Customer
    from dataio.synthetic import _default
    from valuation import bulk
    from valuation.models import CustomerFigures, CustomerSummary
    from valuation.numerics import simulate
    from valuation.numerics.bgnbd import BgNbdParams
    from valuation.numerics.gamma_gamma import GammaGammaParams

    rng = np.random.default_rng(seed)
    now, today = timezone.now(), timezone.localdate()
    managers = []
    for n in range(4):
        user = User.objects.create(username=f"million-manager{n}")
        user.groups.add(Group.objects.get(name=Role.MANAGER.value))
        managers.append(user.pk)

    def constants(model, given):
        columns, values = [], []
        for field in model._meta.concrete_fields:
            if field.primary_key or field.attname in given:
                continue
            columns.append(field.column)
            values.append(field.get_db_prep_save(_default(field, now), connection))
        return columns, values

    columns, values = constants(Customer, {"owner_id", "acquired_on", "wallet_annual", "name"})
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Customer._meta.db_table}
                (name, owner_id, acquired_on, wallet_annual, {", ".join(columns)})
            SELECT 'Customer ' || g, (%s::int[])[1 + g %% 4],
                   %s::date - (30 + floor(random() * 700))::int,
                   CASE WHEN random() < 0.3 THEN round((500 + random() * 4500)::numeric, 2) END,
                   {", ".join(["%s"] * len(values))}
            FROM generate_series(1, %s) g
            """,
            [managers, today, *values, customers],
        )
        columns, values = constants(CustomerFigures, {"customer_id", "owner_id"})
        cursor.execute(
            f"""
            INSERT INTO {CustomerFigures._meta.db_table}
                (customer_id, owner_id, {", ".join(columns)})
            SELECT id, owner_id, {", ".join(["%s"] * len(values))}
            FROM {Customer._meta.db_table}
            """,
            values,
        )
    base = bulk.copy_out(
        f"SELECT id, acquired_on - DATE '1970-01-01' AS acquired FROM {Customer._meta.db_table} "
        "ORDER BY id",
        [],
        ["id", "acquired"],
    )
    ids, acquired = base["id"].astype(np.int64), base["acquired"].astype(np.int64)
    day = int(np.datetime64(today, "D").astype(np.int64))
    buyers = rng.random(len(ids)) < 0.9
    first = np.minimum(acquired + rng.integers(0, 31, len(ids)), day - 1)
    age_weeks = (day - first) / 7.0
    # A rate and drop-out that give about ten transaction days per customer over the ages
    # drawn (checked below), then spend per transaction around 35.
    frequency, recency, _ = simulate.simulate_bgnbd(
        BgNbdParams(r=0.9, alpha=1.1, a=0.8, b=5.0), age_weeks, rng=rng, day_grid=1 / 7
    )
    frequency = np.where(buyers, frequency, 0)
    recency_days = np.where(buyers, np.round(recency * 7), 0).astype(np.int64)
    repeat_mean = simulate.simulate_spend(
        GammaGammaParams(p=6.0, q=4.0, gamma=20.0), frequency, rng=rng
    )
    first_revenue = np.round(rng.gamma(6.0, 6.0, len(ids)), 2)
    revenue = np.round(first_revenue + frequency * repeat_mean, 2)
    margin, first_margin = np.round(revenue * 0.4, 2), np.round(first_revenue * 0.4, 2)
    days = (frequency + 1) * buyers
    rows = np.flatnonzero(buyers)

    def dates(values):
        return np.datetime_as_string(values.astype("datetime64[D]"))

    last = first + recency_days
    text = "\n".join(
        ",".join(fields)
        for fields in zip(
            ids[rows].astype(str),
            days[rows].astype(np.int64).astype(str),
            dates(first[rows]),
            dates(last[rows]),
            revenue[rows].astype(str),
            margin[rows].astype(str),
            first_revenue[rows].astype(str),
            first_margin[rows].astype(str),
            days[rows].astype(np.int64).astype(str),
            [f"{d}T12:00:00Z,0,0" for d in dates(last[rows])],
            strict=True,
        )
    )
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"""COPY {CustomerSummary._meta.db_table} (customer_id, transaction_days,
                first_transaction_on, last_transaction_on, revenue_total, margin_total,
                first_day_revenue, first_day_margin, interactions, last_contact_at,
                service_interactions, cost_to_serve_total)
            FROM STDIN (FORMAT csv)""",
            io.StringIO(text),
        )
        cursor.execute("ANALYZE")
    return {
        "customers": len(ids),
        "buyers": int(buyers.sum()),
        "transactions": int(days.sum()),
    }


def million_refit() -> float:
    """The whole nightly refit in one process, as valuation_fit_run does it without workers:
    the fit (the purchase models and Gamma-Gamma from the summaries), the thresholds, and
    every customer's figures and today's snapshot written. Seconds."""
    from django.utils import timezone

    from valuation import services
    from valuation.models import ModelFit

    started = time.perf_counter()
    fit = ModelFit.objects.create(as_of=timezone.localdate())
    services.valuation_fit_run(fit_id=fit.pk)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
