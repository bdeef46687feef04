"""Privacy (SPEC §7): everything held on one customer (subject access) and erasure on
request, which leaves no personal data in any table while the firm's totals stay the same."""

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from customers.models import ChannelConsent, Customer, CustomerEmail, CustomerFact
from events.exports import export_sections
from events.names import EventName
from events.services import event_publish
from interactions.models import Interaction, OfferingRating
from mail.models import Message
from valuation.models import CustomerFigures, CustomerSnapshot, CustomerSummary

from .models import ErasureRecord, ImportedTransaction


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
    held = {
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
        "email_addresses": list(
            CustomerEmail.objects.filter(customer_id=customer_id).values_list("address", flat=True)
        ),
        "emails": [
            {
                **_record(message, exclude=("raw",)),
                "attachments": [a.filename for a in message.attachments.all()],
            }
            for message in Message.objects.filter(interaction__customer_id=customer_id)
            .prefetch_related("attachments")
            .order_by("created_at", "id")
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
    # What the apps dataio may not import hold (the portal's posts): their registered
    # sections (events.exports), each under its own key.
    sections = export_sections(customer_id=customer_id)
    if clash := held.keys() & sections.keys():
        raise ValueError(f"export sections {sorted(clash)} clash with dataio's own")
    return {**held, **sections}


@transaction.atomic
def customer_erase(*, customer_id: int, by, reason: str) -> ErasureRecord:
    """Remove a customer's personal data on request (SPEC §7): identity, contact details,
    what they told us and what was said in interactions, here and in the audit history.
    Orders, lines and figures stay, without identity, so the firm's totals do not change."""
    record = ErasureRecord(customer_id=customer_id, erased_by=by, reason=reason.strip())
    record.full_clean()
    # Each app erases what its own tables hold (customers, interactions: their handlers);
    # what dataio holds, here.
    event_publish(EventName.CUSTOMER_ERASED, customer_id=customer_id, subject={"by": by})
    ImportedTransaction.objects.filter(interaction__customer_id=customer_id).delete()
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer_id)
    ).update(object_repr=f"Customer {customer_id}", change_message="")
    record.save()
    return record
