"""The manager's workspace at 100,000 customers (issue 7): EXPLAIN ANALYZE of every query the
portfolio and the to-do list run, and the time of the co-occurrence refresh.

Not run by the tests. Usage (real PostgreSQL, its own database crm_workspace_bench):

    uv run python bench/bench_workspace.py [--customers 100000] [--managers 4]

Generates the base with bulk_create: customers spread over --managers portfolios, each with
figures, two snapshots, an order of one or two offerings, an outreach with a next step and, for
one in twenty, an unanswered inquiry and a subscription. Then renders the pages' querysets
through the real selectors, captures their SQL and prints each plan's execution time and
whether it scans a whole table (Seq Scan on a large table).
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_workspace_bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--managers", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="Keep the generated base.")
    options = parser.parse_args()

    import django
    import psycopg2

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    if not options.reuse:
        admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import F
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.roles import Role
    from customers.models import Customer
    from interactions.models import Interaction, OrderLine
    from offerings.models import Category, Offering, ReplenishmentSubscription
    from valuation.models import CustomerSnapshot
    from workspace import selectors, services

    call_command("migrate", verbosity=0)
    if options.reuse:
        report(
            options,
            connection,
            CaptureQueriesContext,
            F,
            Customer,
            Category,
            selectors,
            services,
            User,
        )
        return
    rng = random.Random(7)
    today = timezone.localdate()
    now = timezone.now()
    managers = []
    for n in range(options.managers):
        user = User.objects.create(username=f"manager{n}")
        user.groups.add(Group.objects.get(name=Role.MANAGER.value))
        managers.append(user)
    category = Category.objects.create(name="Coffee")
    offerings = [
        Offering.objects.create(name=f"Offering {n}", category=category, price=Decimal("20"))
        for n in range(30)
    ]

    started = time.perf_counter()
    tiers = ["mvc", "mgc", "maintain", "maintain", "maintain", "below_zero"]
    customers = Customer.objects.bulk_create(
        (
            Customer(
                name=f"Customer {n:06d}",
                owner=managers[n % len(managers)],
                status="active",
                tier=rng.choice(tiers),
                predicted_clv=Decimal(rng.randint(-50, 5000)),
                growth_potential=Decimal(rng.randint(0, 3000)),
                p_alive=rng.random(),
                share_of_customer=rng.random(),
                last_contact_at=now - timedelta(days=rng.randint(0, 400)),
            )
            for n in range(options.customers)
        ),
        batch_size=5000,
    )
    snapshots, interactions = [], []
    for c in customers:
        for days in (1, 0):
            snapshots.append(
                CustomerSnapshot(
                    customer=c,
                    taken_on=today - timedelta(days=days),
                    computed_at=now,
                    tier=c.tier,
                    predicted_clv=c.predicted_clv,
                    p_alive=rng.random(),
                )
            )
        interactions.append(
            Interaction(
                customer=c,
                channel="web",
                direction="inbound",
                type="order",
                subject="Order",
                occurred_at=now - timedelta(days=rng.randint(1, 300)),
            )
        )
        interactions.append(
            Interaction(
                customer=c,
                channel="phone",
                direction="outbound",
                type="outreach",
                subject="Call",
                next_step="Call back",
                next_step_due=today + timedelta(days=rng.randint(-30, 60)),
                occurred_at=now - timedelta(days=rng.randint(0, 30)),
            )
        )
        if rng.random() < 0.05:
            interactions.append(
                Interaction(
                    customer=c,
                    channel="email",
                    direction="inbound",
                    type="inquiry",
                    subject="Question",
                    requires_response=True,
                )
            )
    CustomerSnapshot.objects.bulk_create(snapshots, batch_size=10000)
    saved = Interaction.objects.bulk_create(interactions, batch_size=10000)
    lines = []
    for i in saved:
        if i.type == "order":
            for offering in rng.sample(offerings, rng.choice([1, 1, 2, 3])):
                lines.append(
                    OrderLine(
                        interaction=i,
                        offering=offering,
                        quantity=Decimal("1"),
                        unit_price=Decimal("20"),
                        unit_cost=Decimal("9"),
                    )
                )
    OrderLine.objects.bulk_create(lines, batch_size=10000)
    ReplenishmentSubscription.objects.bulk_create(
        (
            ReplenishmentSubscription(
                customer=c,
                offering=offerings[0],
                interval_days=30,
                quantity=Decimal("1"),
                next_due=today + timedelta(days=rng.randint(-5, 30)),
            )
            for c in customers[::20]
        ),
        batch_size=10000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"generated {len(customers)} customers, {len(snapshots)} snapshots, {len(saved)} "
        f"interactions, {len(lines)} order lines in {time.perf_counter() - started:.1f} s"
    )

    report(
        options, connection, CaptureQueriesContext, F, Customer, Category, selectors, services, User
    )


def report(
    options, connection, CaptureQueriesContext, F, Customer, Category, selectors, services, User
) -> None:
    manager = User.objects.get(username="manager0")
    category = Category.objects.get(name="Coffee")
    customers = [Customer.objects.filter(owner=manager).order_by("id").first()]
    started = time.perf_counter()
    pairs = services.offering_affinities_refresh()
    print(f"offering_affinities_refresh: {pairs} pairs in {time.perf_counter() - started:.2f} s")

    print(f"manager0 has {Customer.objects.filter(owner=manager).count()} customers\n")

    def explain(label: str, run) -> None:
        with CaptureQueriesContext(connection) as captured:
            run()
        for n, query in enumerate(captured.captured_queries, start=1):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + query["sql"])
                plan = [row[0] for row in cursor.fetchall()]
            execution = next((p for p in plan if p.startswith("Execution Time")), "")
            scans = sorted(
                {p.strip().split(" on ")[1].split()[0] for p in plan if "Seq Scan on" in p}
            )
            print(f"{label} q{n}: {execution}; seq scans: {', '.join(scans) or 'none'}")
            if os.environ.get("SHOW_PLANS"):
                print("\n".join(plan))

    def portfolio(sort: str):
        def run():
            customers = selectors.with_next_due_action(Customer.objects.filter(owner=manager))
            field = F(sort.lstrip("-"))
            order = (
                field.desc(nulls_last=True) if sort.startswith("-") else field.asc(nulls_last=True)
            )
            qs = customers.order_by(order, "id")
            qs.count()
            list(qs[25:50])

        return run

    explain("portfolio by CLV, page 2", portfolio("-predicted_clv"))
    explain("portfolio by next due", portfolio("next_due"))
    explain(
        "portfolio need filter",
        lambda: list(
            selectors.with_need(Customer.objects.filter(owner=manager), category_id=category.pk)[
                :25
            ]
        ),
    )
    explain("equity trend", lambda: selectors.equity_trend(manager=manager))
    explain("to-do", lambda: selectors.manager_todo(manager=manager))
    explain("next best offerings", lambda: selectors.next_best_offerings(customer=customers[0]))


if __name__ == "__main__":
    main()
