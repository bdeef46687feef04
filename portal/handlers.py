"""What the portal does when something happens (events.registry, docs/architecture.md), and
its section of a customer's data export (events.exports)."""

from events.exports import export_section
from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .privacy import portal_customer_erase, portal_customer_export
from .services import portal_customer_merge


@subscribe(EventName.CUSTOMER_MERGED, in_transaction=True)
def customer_merge_rows(event: Event) -> None:
    event.subject["moved"].update(  # type: ignore[attr-defined]
        portal_customer_merge(
            survivor_id=event.customer_id, duplicate_id=event.payload["duplicate_id"]
        )
    )


@subscribe(EventName.CUSTOMER_ERASED, in_transaction=True)
def customer_erase_posts(event: Event) -> None:
    portal_customer_erase(customer_id=event.customer_id)


@export_section("portal")
def customer_export(customer_id: int) -> dict:
    return portal_customer_export(customer_id=customer_id)
