"""Purchase forecasts: the stored form of SPEC §5 "Replenishment due" for whole portfolios."""

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import TruncDate

from core import bounds
from customers.models import Customer
from interactions.choices import InteractionType
from interactions.models import OrderLine

from .models import PurchaseForecast
from .selectors import predicted_next_purchases_bulk

PYTHON_CHUNK = 2000


def purchase_forecasts_refresh(*, customer_ids=None) -> int:
    """Recompute the stored forecasts of these customers (default: all), subscribed offerings
    included (readers leave those out). Runs after each customer's recompute and after bulk
    loads; returns how many it stored."""
    ids = None if customer_ids is None else list(customer_ids)
    # Inside a caller's transaction (the recompute's), no savepoint: it commits with it.
    with transaction.atomic(savepoint=False):
        stale = PurchaseForecast.objects.all()
        if ids is not None:
            stale = stale.filter(customer_id__in=ids)
        stale.delete()
        if connection.vendor == "postgresql":
            return _insert_in_sql(ids)
        # Elsewhere (the embedded SQLite default) the same arithmetic, in Python, a chunk of
        # customers at a time (each chunk is an IN list).
        if ids is None:
            ids = list(Customer.objects.values_list("pk", flat=True))
        stored = 0
        for start in range(0, len(ids), PYTHON_CHUNK):
            predictions = predicted_next_purchases_bulk(
                ids[start : start + PYTHON_CHUNK], include_subscribed=True
            )
            stored += len(
                PurchaseForecast.objects.bulk_create(
                    PurchaseForecast(
                        customer_id=customer_id,
                        offering=p.offering,
                        last_purchase=p.last_purchase,
                        median_interval_days=p.median_interval_days,
                        predicted_on=p.predicted_on,
                    )
                    for customer_id, purchases in predictions.items()
                    for p in purchases
                )
            )
        return stored


def _insert_in_sql(ids: list[int] | None) -> int:
    lines = OrderLine.objects.filter(interaction__type=InteractionType.ORDER)
    if ids is not None:
        lines = lines.filter(interaction__customer_id__in=ids)
    # The distinct order days of each (customer, offering), in the current time zone.
    days = (
        lines.annotate(
            cid=F("interaction__customer_id"),
            oid=F("offering_id"),
            day=TruncDate("interaction__occurred_at"),
        )
        .values("cid", "oid", "day")
        .distinct()
        .order_by()
    )
    days_sql, params = days.query.sql_with_params()
    with connection.cursor() as cursor:
        # The median of the gaps between consecutive days, rounded half to even as Python's
        # round() does, added to the last day; never past the last day Python can read
        # (core.bounds.add_days_safe, for orders stored at the end of the calendar).
        cursor.execute(
            f"""
            INSERT INTO {PurchaseForecast._meta.db_table}
                (customer_id, offering_id, last_purchase, median_interval_days, predicted_on)
            WITH days AS ({days_sql}),
            gaps AS (
                SELECT cid, oid, day,
                       day - LAG(day) OVER (PARTITION BY cid, oid ORDER BY day) AS gap
                FROM days
            ),
            medians AS (
                SELECT cid, oid, MAX(day) AS last,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median
                FROM gaps WHERE gap IS NOT NULL
                GROUP BY cid, oid
            )
            SELECT cid, oid, last, median,
                   LEAST(last + CAST(CASE WHEN median - floor(median) = 0.5
                                     THEN floor(median) + mod(CAST(floor(median) AS integer), 2)
                                     ELSE round(median) END AS integer), %s)
            FROM medians
            """,
            [*params, bounds.DATE_CEILING],
        )
        return cursor.rowcount
