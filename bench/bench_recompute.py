"""Per-interaction recompute cost against the length of the customer's history (SPEC §8: a
customer with 10,000 interactions is recomputed within 2x the time of one with 10, in a small
fixed number of queries).

Not run by the tests. Usage (real PostgreSQL, its own database crm_bench_recompute):

    uv run python bench/bench_recompute.py [--long 10000] [--short 10] [--runs 50] [--json FILE]

Creates two customers, one with --short and one with --long interactions (a third of them
orders), and times `customer_figures_recompute` for each: median of --runs runs, interleaved so
that the noise of a shared machine hits both alike, with the number of queries per recompute.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, add_json_argument, django_setup, median, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--long", type=int, default=10_000)
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50)
    add_json_argument(parser)
    options = parser.parse_args()
    django_setup("crm_bench_recompute")

    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection
    from django.db.models import F
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from customers.models import Customer
    from interactions.models import Interaction, OrderLine
    from offerings.models import Category, Offering
    from valuation.models import CustomerFigures
    from valuation.selectors import channel_costs_decimal
    from valuation.services import customer_figures_recompute
    from valuation.summary import customer_summaries_rebuild

    offering = Offering.objects.create(
        name="Beans", category=Category.objects.create(name="Coffee"), price=Decimal("24")
    )
    now = timezone.now()

    def customer_with(history: int) -> Customer:
        customer = Customer.objects.create(
            name=f"History {history}", wallet_annual=5000, wallet_source="stated"
        )
        CustomerFigures.objects.create(customer=customer)  # as customer_create leaves it
        interactions = Interaction.objects.bulk_create(
            [
                Interaction(
                    customer=customer,
                    channel="web",
                    direction="inbound",
                    type="order" if n % 3 == 0 else "inquiry",
                    subject="x",
                    occurred_at=now - timedelta(hours=6 * n),
                    requires_response=n % 3 != 0,
                    first_response_at=now - timedelta(hours=6 * n - 2),
                )
                for n in range(history)
            ],
            batch_size=5000,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(interaction=i, offering=offering, quantity=1, unit_price=24, unit_cost=11)
                for i in interactions
                if i.type == "order"
            ],
            batch_size=5000,
        )
        customer_summaries_rebuild(
            customer_ids=[customer.pk], channel_costs=channel_costs_decimal()
        )
        return customer

    short, long = customer_with(options.short), customer_with(options.long)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings = {short.pk: [], long.pk: []}
    queries = {}
    for _ in range(options.runs):
        for customer in (short, long):
            CustomerFigures.objects.filter(pk=customer.pk).update(
                figures_version=F("figures_version") + 1
            )
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                assert customer_figures_recompute(customer_id=customer.pk)
                timings[customer.pk].append(time.perf_counter() - started)
            queries[customer.pk] = len(captured)
    ratios = [
        long_s / short_s
        for short_s, long_s in zip(timings[short.pk], timings[long.pk], strict=True)
    ]
    short_ms = median(timings[short.pk]) * 1000
    long_ms = median(timings[long.pk]) * 1000
    same = queries[short.pk] == queries[long.pk]
    figures = [
        Figure(
            f"recompute, {options.long:,} interactions, over {options.short:,}",
            median(ratios),
            "x",
            goal="at most 2x",
            met=median(ratios) <= 2,
            detail=f"{long_ms:.1f} ms against {short_ms:.1f} ms; median of {options.runs} "
            "interleaved runs (median of the per-run ratios)",
        ),
        Figure(
            "recompute, queries",
            queries[long.pk],
            "queries",
            goal="fixed: the same for both histories",
            met=same,
            detail=f"{queries[short.pk]} with {options.short:,} interactions",
        ),
    ]
    report(options.json, "recompute", figures)


if __name__ == "__main__":
    main()
