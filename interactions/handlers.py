"""What interactions do when something happens (events.registry, docs/architecture.md)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .services import (
    interaction_auto_assign,
    interactions_customer_merge,
    interactions_personal_text_erase,
)


@subscribe(EventName.CUSTOMER_ERASED, in_transaction=True)
def personal_text_erase(event: Event) -> None:
    interactions_personal_text_erase(customer_id=event.customer_id)


@subscribe(EventName.CUSTOMER_MERGED, in_transaction=True)
def customer_merge_rows(event: Event) -> None:
    """Before valuation's and the apps' above (subscribers run in INSTALLED_APPS order, the
    layers' order): their derived rows are rebuilt from the interactions moved here."""
    event.subject["moved"].update(  # type: ignore[attr-defined]
        interactions_customer_merge(
            survivor_id=event.customer_id, duplicate_id=event.payload["duplicate_id"]
        )
    )


@subscribe(EventName.INTERACTION_LOGGED, in_transaction=True)
def auto_assign(event: Event) -> None:
    """A new item that waits for an answer goes to a support person at once when the firm
    assigns automatically (interactions.assignment: the admins' choice, else the setting)."""
    interaction = event.subject.get("interaction")  # type: ignore[attr-defined]
    if interaction is not None:
        interaction_auto_assign(interaction=interaction)
