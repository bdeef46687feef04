"""core.statements.rows_insert and rows_upsert: what bulk_create would write, ids in order."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.statements import rows_insert, rows_upsert
from interactions.models import Interaction
from valuation.models import CustomerSummary

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _interaction(customer, alice, **fields):
    values = {
        "customer": customer,
        "logged_by": alice,
        "channel": "email",
        "direction": "inbound",
        "type": "inquiry",
        "subject": "Question",
        "occurred_at": datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Zurich")),
    }
    values.update(fields)
    return Interaction(**values)


def test_rows_insert_sets_ids_in_order_and_writes_every_value(alice, alices_customer):
    rows = [_interaction(alices_customer, alice, subject=f"Question {n}") for n in range(5)]
    rows.append(_interaction(alices_customer, alice, satisfaction=4, next_step="Call back"))
    rows_insert(rows, per_statement=4)  # two statements

    assert all(row.pk for row in rows) and not any(row._state.adding for row in rows)
    for row in rows:
        stored = Interaction.objects.get(pk=row.pk)
        assert (stored.subject, stored.satisfaction, stored.next_step) == (
            row.subject,
            row.satisfaction,
            row.next_step,
        )
        assert stored.occurred_at == row.occurred_at
        assert stored.created_at is not None  # auto_now_add ran, as a save runs it


def test_rows_insert_prepares_what_the_driver_does_not_take(alice, alices_customer):
    # A naive time is made aware by the field (with its warning), as a save does.
    row = _interaction(alices_customer, alice, occurred_at=datetime(2026, 3, 1, 9, 30))
    with pytest.warns(RuntimeWarning):
        rows_insert([row])
    assert Interaction.objects.get(pk=row.pk).occurred_at.tzinfo is not None


def test_rows_upsert_inserts_updates_and_ignores(alices_customer):
    other = CustomerFactory()
    rows_upsert([CustomerSummary(customer=alices_customer)], unique=["customer"])
    changed = CustomerSummary(
        customer=alices_customer, interactions=3, revenue_total=Decimal("9.5")
    )
    rows_upsert(
        [changed, CustomerSummary(customer=other, interactions=1)],
        unique=["customer"],
        update_fields=["interactions", "revenue_total"],
    )
    rows_upsert([CustomerSummary(customer=other, interactions=7)], unique=["customer"])

    assert CustomerSummary.objects.get(customer=alices_customer).interactions == 3
    assert CustomerSummary.objects.get(customer=alices_customer).revenue_total == Decimal("9.5")
    assert CustomerSummary.objects.get(customer=other).interactions == 1  # ignored, not updated
