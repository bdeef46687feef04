"""What web forms do when something happens (events.registry, docs/architecture.md)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .services import submissions_customer_merge, submissions_personal_data_erase


@subscribe(EventName.CUSTOMER_ERASED, in_transaction=True)
def personal_data_erase(event: Event) -> None:
    submissions_personal_data_erase(customer_id=event.customer_id)


@subscribe(EventName.CUSTOMER_MERGED, in_transaction=True)
def submissions_merge(event: Event) -> None:
    event.subject["moved"].update(  # type: ignore[attr-defined]
        submissions_customer_merge(
            survivor_id=event.customer_id, duplicate_id=event.payload["duplicate_id"]
        )
    )
