"""What replenishment does when something happens (events.registry, docs/architecture.md)."""

from events.models import Event
from events.names import EventName
from events.registry import subscribe
from offerings.models import Offering

from . import services


@subscribe(EventName.OFFERING_ARCHIVED, in_transaction=True)
def subscriptions_pause_on_archive(event: Event) -> None:
    """An archived offering is never ordered or reminded again: its live subscriptions pause,
    in the archiving's transaction."""
    offering = Offering.objects.get(pk=event.payload["offering_id"])
    services.replenishments_pause_for_offering(offering=offering)


@subscribe(EventName.CUSTOMER_MERGED, in_transaction=True)
def customer_merge_rows(event: Event) -> None:
    """After interactions' subscriber (INSTALLED_APPS order): the forecasts read the orders."""
    event.subject["moved"].update(  # type: ignore[attr-defined]
        services.replenishment_customer_merge(
            survivor_id=event.customer_id, duplicate_id=event.payload["duplicate_id"]
        )
    )
