"""A generated customer base for the nightly-recompute benchmark, inserted with bulk SQL.

`base_generate(customers=..., seed=...)` fills an empty, migrated database: four managers, 30
offerings in three categories, and per customer a realistic history:

- 90 % buy, on purchase days drawn from the BG/NBD story (`valuation.numerics.simulate`:
  r = 0.6, alpha = 8 weeks, a = 0.8, b = 3, observed since shortly after they were acquired,
  30-730 days ago), so the population fit converges as on real data; each order has one to
  three lines, quantities scaled by the customer's own spending level (Gamma-Gamma's
  heterogeneity), a 10 % discount now and then; 10 % are prospects who never bought;
- service contacts (inquiry or complaint on phone, email or chat; none for most, one or more
  for a third) answered within 0-48 h (10 % never), a satisfaction rating for a third of them;
- one outreach in two; a rating of an offering they hold for one in ten; a known need for one
  in five (met by us or elsewhere); a known annual wallet for 60 %.

Purchase days are drawn with NumPy and inserted as arrays (INSERT ... SELECT FROM unnest); the
rest is drawn in PostgreSQL with `generate_series` and a seeded `random()`.

Then `customer_summaries_rebuild` builds the running summaries and ANALYZE the statistics.
PostgreSQL only (the embedded SQLite default is never benchmarked at this size).
"""

import time
from decimal import Decimal

import numpy as np

# The purchase story of the generated base (weeks), as in tests/valuation.
PURCHASES = {"r": 0.6, "alpha": 8.0, "a": 0.8, "b": 3.0}


def _purchase_days(ids: np.ndarray, tenure_days: np.ndarray, rng: np.random.Generator):
    """(customer id, days ago) of every purchase day, and each customer's spending level."""
    from valuation.numerics.bgnbd import BgNbdParams
    from valuation.numerics.simulate import simulate_bgnbd

    buys = rng.random(len(ids)) >= 0.1
    # First purchase within a month of being acquired; observed from then until today.
    first_ago = np.maximum(tenure_days - rng.integers(0, 30, len(ids)), 1)
    frequency, recency, _ = simulate_bgnbd(
        BgNbdParams(**PURCHASES), first_ago / 7, rng=rng, day_grid=1 / 7
    )
    customer_of, days_ago = [], []
    for index in np.flatnonzero(buys):
        first = int(first_ago[index])
        last = first - round(float(recency[index]) * 7)
        repeats = int(frequency[index])
        days = {first, last} if repeats else {first}
        if repeats > 1:
            days.update(rng.integers(last, first + 1, repeats - 1).tolist())
        customer_of += [ids[index]] * len(days)
        days_ago += sorted(days)
    levels = rng.gamma(4.0, 0.25, len(ids))
    return np.array(customer_of, dtype=np.int64), np.array(days_ago, dtype=np.int64), levels


def base_generate(*, customers: int, seed: int = 7) -> dict:
    """Returns the row counts and how long the generation took, in seconds."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from accounts.roles import Role
    from customers.models import FactKey, FactKind
    from offerings.models import Category, Offering
    from valuation.selectors import channel_costs_decimal
    from valuation.summary import customer_summaries_rebuild

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    managers = []
    for n in range(4):
        user = User.objects.create(username=f"manager{n}")
        user.groups.add(Group.objects.get(name=Role.MANAGER.value))
        managers.append(user.pk)
    categories = [Category.objects.create(name=name) for name in ("Coffee", "Machines", "Care")]
    for n in range(30):
        Offering.objects.create(
            name=f"Offering {n:02d}",
            category=categories[n % 3],
            price=Decimal(8 + (n * 7) % 60),
        )
    need = FactKey.objects.create(
        key="coffee_need", label="Coffee supply", kind=FactKind.NEED, category=categories[0]
    )
    owners = "ARRAY[" + ",".join(str(pk) for pk in managers) + "]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(
            f"""
            INSERT INTO customers_customer (
                kind, name, email, phone, status, acquisition_source, preferred_channel,
                wallet_annual, wallet_source, created_at, updated_at, owner_id, acquired_on)
            SELECT 'person', 'Customer ' || lpad(n::text, 6, '0'), '', '', 'active', '', '',
                   w.wallet, CASE WHEN w.wallet IS NULL THEN '' ELSE 'stated' END,
                   now(), now(), ({owners})[1 + n %% 4],
                   current_date - (30 + floor(random() * 700))::int
            FROM generate_series(1, %s) n,
                 LATERAL (SELECT CASE WHEN random() < 0.6 + 0 * n
                                 THEN round((300 + random() * 4700)::numeric, 2) END) w(wallet)
            """,
            [customers],
        )
        # Every customer's figures row, as the services create it (none computed yet).
        cursor.execute(
            "INSERT INTO valuation_customerfigures (customer_id, owner_id, interaction_count, "
            "tier, valuation_method, figures_version, figures_computed_version) "
            "SELECT id, owner_id, 0, '', '', 0, 0 FROM customers_customer"
        )
        cursor.execute("SELECT id FROM customers_customer ORDER BY id")
        ids = np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)
        cursor.execute("SELECT current_date - acquired_on FROM customers_customer ORDER BY id")
        tenure = np.array([row[0] for row in cursor.fetchall()], dtype=float)
        buyer_ids, days_ago, levels = _purchase_days(ids, tenure, rng)
        cursor.execute(
            """
            INSERT INTO interactions_interaction (
                channel, direction, type, subject, notes, occurred_at, requires_response,
                next_step, created_at, customer_id, offer_outcome)
            SELECT 'web', 'inbound', 'order', 'Order', '',
                   date_trunc('day', now()) - o.days * interval '1 day'
                       + (8 + random() * 10) * interval '1 hour',
                   false, '', now(), o.customer_id, ''
            FROM unnest(%s::bigint[], %s::int[]) AS o(customer_id, days)
            """,
            [buyer_ids.tolist(), days_ago.tolist()],
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_level ON COMMIT DROP AS
            SELECT * FROM unnest(%s::bigint[], %s::float8[]) AS l(customer_id, level)
            """,
            [ids.tolist(), levels.tolist()],
        )
        cursor.execute(
            """
            WITH orders AS (
                SELECT i.id, 1 + floor(random() * random() * 3)::int AS lines, l.level
                FROM interactions_interaction i
                JOIN bench_level l ON l.customer_id = i.customer_id
                WHERE i.type = 'order'
            ), picks AS (
                SELECT o.id AS interaction_id,
                       (SELECT min(id) FROM offerings_offering) + floor(random() * 30)::int
                           AS offering_id,
                       greatest(1, round(o.level * (1 + random() * 2)))::int AS quantity,
                       CASE WHEN random() < 0.1 THEN 0.1 ELSE 0 END AS discount
                FROM orders o CROSS JOIN LATERAL generate_series(1, o.lines) k
            )
            INSERT INTO interactions_orderline (
                interaction_id, offering_id, quantity, unit_price, discount, unit_cost)
            SELECT p.interaction_id, p.offering_id, p.quantity, f.price, p.discount,
                   round(f.price * 0.45, 2)
            FROM picks p JOIN offerings_offering f ON f.id = p.offering_id
            """
        )
        # Service contacts, answered within 0-48 h (one in ten never), a third rated.
        cursor.execute(
            """
            WITH contacts AS (
                SELECT id, acquired_on, floor(-ln(1 - random()) * 1.0)::int AS n
                FROM customers_customer
            ), drawn AS (
                SELECT c.id AS customer_id,
                       now() - (random() * (current_date - c.acquired_on)) * interval '1 day'
                           AS occurred_at,
                       (ARRAY['inquiry', 'inquiry', 'complaint'])[1 + floor(random() * 3)::int]
                           AS type,
                       (ARRAY['phone', 'email', 'chat'])[1 + floor(random() * 3)::int]
                           AS channel,
                       random() AS answered, random() * 48 AS hours, random() AS rated
                FROM contacts c CROSS JOIN LATERAL generate_series(1, c.n) k
            )
            INSERT INTO interactions_interaction (
                channel, direction, type, subject, notes, occurred_at, requires_response,
                first_response_at, satisfaction, next_step, created_at, customer_id,
                offer_outcome)
            SELECT channel, 'inbound', type, 'Question', '', occurred_at, true,
                   CASE WHEN answered < 0.9 THEN occurred_at + hours * interval '1 hour' END,
                   CASE WHEN rated < 0.33 THEN 1 + floor(rated * 15)::int END,
                   '', now(), customer_id, ''
            FROM drawn
            """
        )
        cursor.execute(
            """
            INSERT INTO interactions_interaction (
                channel, direction, type, subject, notes, occurred_at, requires_response,
                next_step, created_at, customer_id, offer_outcome)
            SELECT 'phone', 'outbound', 'outreach', 'Call', '',
                   now() - (random() * 90) * interval '1 day', false, '', now(), id, ''
            FROM customers_customer WHERE random() < 0.5
            """
        )
        cursor.execute(
            """
            INSERT INTO interactions_offeringrating (customer_id, offering_id, rating, rated_at)
            SELECT DISTINCT ON (i.customer_id) i.customer_id, l.offering_id,
                   1 + floor(random() * 5)::int, now()
            FROM interactions_orderline l JOIN interactions_interaction i
              ON i.id = l.interaction_id
            WHERE i.customer_id IN (SELECT id FROM customers_customer WHERE random() < 0.1)
            ORDER BY i.customer_id, l.id
            """
        )
        cursor.execute(
            """
            INSERT INTO customers_customerfact (
                customer_id, key_id, value, need_status, recorded_at, is_current, source)
            SELECT id, %s, 'weekly beans',
                   CASE WHEN random() < 0.5 THEN 'met_by_us' ELSE 'met_elsewhere' END,
                   now(), true, 'staff'
            FROM customers_customer WHERE random() < 0.2
            """,
            [need.pk],
        )
    customer_summaries_rebuild(channel_costs=channel_costs_decimal())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        counts = {}
        for table in (
            "customers_customer",
            "interactions_interaction",
            "interactions_orderline",
            "interactions_offeringrating",
            "customers_customerfact",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    counts["seconds"] = time.perf_counter() - started
    return counts
