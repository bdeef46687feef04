"""What interactions do when something happens (events.registry, docs/architecture.md)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .services import interactions_personal_text_erase


@subscribe(EventName.CUSTOMER_ERASED, in_transaction=True)
def personal_text_erase(event: Event) -> None:
    interactions_personal_text_erase(customer_id=event.customer_id)
