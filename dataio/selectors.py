"""Reads for exports and privacy: streamed CSV rows, everything held on one customer."""

from collections.abc import Iterator

from django.db.models import QuerySet

from accounts.roles import Role, role_of
from core.csv_files import csv_rows
from core.money import MONEY_FIELDS, can_see_money
from customers.models import ChannelConsent, Customer, CustomerFact
from customers.selectors import customers_visible_to
from interactions.models import Interaction, OfferingRating
from valuation.declared import FIGURE_NAMES
from valuation.models import CustomerFigures, CustomerSnapshot, CustomerSummary

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


def _record(instance, exclude=()) -> dict:
    data = {}
    for field in instance._meta.concrete_fields:
        if field.name in exclude:
            continue
        value = getattr(instance, field.attname)
        data[field.attname] = value
    return data


def _history(queryset) -> list[dict]:
    return [
        {
            **{
                k: v
                for k, v in _record(record).items()
                if k not in ("history_user_id", "history_change_reason")
            },
            "history_user": record.history_user.username if record.history_user else None,
            "history_change_reason": record.history_change_reason,
        }
        for record in queryset.select_related("history_user")
    ]


def customer_everything(*, customer_id: int) -> dict:
    """All the firm holds on one customer (SPEC §7 subject access), as plain data."""
    customer = Customer.objects.select_related("owner").get(pk=customer_id)
    interactions = (
        Interaction.objects.filter(customer_id=customer_id)
        .prefetch_related("lines__offering")
        .select_related("logged_by", "offer")
        .order_by("occurred_at", "id")
    )
    summary = CustomerSummary.objects.filter(customer_id=customer_id).first()
    figures = CustomerFigures.objects.filter(customer_id=customer_id).first()
    return {
        "profile": {
            **_record(customer),
            "owner": customer.owner.username if customer.owner else None,
        },
        "facts": [
            {**_record(fact), "key": fact.key.key, "label": fact.key.label}
            for fact in CustomerFact.objects.filter(customer_id=customer_id)
            .select_related("key")
            .order_by("recorded_at", "id")
        ],
        "consents": [_record(c) for c in ChannelConsent.objects.filter(customer_id=customer_id)],
        "interactions": [
            {
                **_record(i),
                "lines": [
                    {**_record(line), "offering": line.offering.name} for line in i.lines.all()
                ],
            }
            for i in interactions
        ],
        "ratings": [
            {**_record(r), "offering": r.offering.name}
            for r in OfferingRating.objects.filter(customer_id=customer_id).select_related(
                "offering"
            )
        ],
        "summary": _record(summary) if summary else None,
        "figures": _record(figures) if figures else None,
        "snapshots": [
            _record(s)
            for s in CustomerSnapshot.objects.filter(customer_id=customer_id).order_by("taken_on")
        ],
        "history": {
            "profile": _history(Customer.history.filter(id=customer_id)),
            "facts": _history(CustomerFact.history.filter(customer_id=customer_id)),
            "consents": _history(ChannelConsent.history.filter(customer_id=customer_id)),
        },
    }
