"""What the portal does when something happens (events.registry, docs/architecture.md)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .ideas import ideas_customer_erase
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
    ideas_customer_erase(customer_id=event.customer_id)
