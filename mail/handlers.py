"""What the email channel does when something happens (events.registry)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .services import mail_personal_data_erase


@subscribe(EventName.CUSTOMER_ERASED, in_transaction=True)
def personal_data_erase(event: Event) -> None:
    mail_personal_data_erase(customer_id=event.customer_id)
