"""What web forms do when something happens (events.registry, docs/architecture.md)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .services import submissions_personal_data_erase


@subscribe(EventName.CUSTOMER_ERASED, in_transaction=True)
def personal_data_erase(event: Event) -> None:
    submissions_personal_data_erase(customer_id=event.customer_id)
