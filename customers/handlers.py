"""What customers do when something happens (events.registry, docs/architecture.md)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .services import customer_personal_data_erase


@subscribe(EventName.CUSTOMER_ERASED, in_transaction=True)
def personal_data_erase(event: Event) -> None:
    customer_personal_data_erase(
        customer_id=event.customer_id,
        by=event.subject.get("by"),  # type: ignore[attr-defined]
    )
