"""The webhooks hear of what happened through the event seam (events.registry).

In the event's transaction: the delivery rows are the webhooks' outbox, committed (or rolled
back) with the change; their sending is queued after the commit (webhooks.tasks).
"""

from events.models import Event
from events.registry import subscribe

from . import services, tasks
from .names import SOURCE


@subscribe(*SOURCE, in_transaction=True)
def deliveries_create(event: Event) -> None:
    services.deliveries_create(event=event, send=tasks.webhook_deliver_after_commit)
