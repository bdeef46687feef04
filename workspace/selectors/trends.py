"""The customer page's charts: a customer's figures by day, from the snapshots."""

from datetime import date, timedelta
from decimal import Decimal
from typing import TypedDict

from django.utils import timezone

from valuation.models import CustomerSnapshot


class TrendPoint(TypedDict):
    taken_on: date
    predicted_clv: Decimal | None
    p_alive: float | None
    share_of_customer: float | None
    experience_score: float | None


def customer_trends(*, customer_id: int, days: int = 730) -> list[TrendPoint]:
    since = timezone.localdate() - timedelta(days=days)
    return list(
        CustomerSnapshot.objects.filter(customer_id=customer_id, taken_on__gte=since)
        .order_by("taken_on")
        .values("taken_on", "predicted_clv", "p_alive", "share_of_customer", "experience_score")
    )
