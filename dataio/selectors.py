"""Reads for exports and imports: streamed CSV rows, recent import jobs (what is held on one
customer, for subject access, is in `dataio.privacy`)."""

from collections.abc import Iterator

from django.db.models import QuerySet

from accounts.roles import Role, role_of
from core.csv_files import csv_rows
from core.money import MONEY_FIELDS, can_see_money
from customers.models import Customer
from customers.selectors import customers_visible_to
from valuation.declared import FIGURE_NAMES

from .models import ImportJob

EXPORT_COLUMNS = [
    "id",
    "external_ref",
    "name",
    "kind",
    "email",
    "phone",
    "owner",
    "status",
    "acquired_on",
    "preferred_channel",
    "tier",
    "interaction_count",
    "last_contact_at",
    "p_alive",
    "experience_score",
    "share_of_customer",
    "share_of_needs",
]
MONEY_COLUMNS = [
    "wallet_annual",
    "historic_value",
    "predicted_clv",
    "growth_potential",
    "revenue_12m",
]


# Columns read through a relation: the owner's name, the figures (valuation.declared).
EXPORT_LOOKUPS = {"owner": "owner__username", **{name: f"figures__{name}" for name in FIGURE_NAMES}}


def customers_for_export(user) -> QuerySet[Customer]:
    """Managers export their own portfolio, admins and support the whole base."""
    if role_of(user) == Role.MANAGER:
        return Customer.objects.filter(owner=user)
    return customers_visible_to(user)


def export_columns(user) -> list[str]:
    columns = EXPORT_COLUMNS + MONEY_COLUMNS
    return columns if can_see_money(user) else [c for c in columns if c not in MONEY_FIELDS]


def customers_csv_lines(user, *, chunk: int = 2000) -> Iterator[str]:
    """The CSV, one line at a time, read from the database in chunks (server-side cursor)."""
    columns = export_columns(user)
    fields = [EXPORT_LOOKUPS.get(c, c) for c in columns]
    rows = customers_for_export(user).order_by("id").values_list(*fields)
    yield from csv_rows([columns])
    yield from csv_rows(rows.iterator(chunk_size=chunk))


def import_jobs_recent(*, limit: int = 20) -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by").defer("content")[:limit]


def import_job_get(*, job_id: int) -> ImportJob:
    return ImportJob.objects.defer("content").get(pk=job_id)
