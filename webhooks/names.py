"""The public webhook event names and the domain events they come from (docs/webhooks.md).

The names are the contract with other systems: they never change when a domain event is
renamed. Importable without models.
"""

from django.db import models

from events.names import EventName


class WebhookEvent(models.TextChoices):
    INTERACTION_CREATED = "interaction.created", "Interaction created"
    CUSTOMER_CREATED = "customer.created", "Customer created"
    CUSTOMER_UPDATED = "customer.updated", "Customer updated"
    CUSTOMER_FIGURES_CHANGED = "customer.figures_changed", "Customer figures changed"
    OFFER_ANSWERED = "offer.answered", "Offer answered"
    SUBSCRIPTION_DUE = "subscription.due", "Subscription due"
    IMPORT_FINISHED = "import.finished", "Import finished"


# The domain event each public name is made from.
SOURCE: dict[str, WebhookEvent] = {
    EventName.INTERACTION_LOGGED: WebhookEvent.INTERACTION_CREATED,
    EventName.CUSTOMER_CREATED: WebhookEvent.CUSTOMER_CREATED,
    EventName.CUSTOMER_CHANGED: WebhookEvent.CUSTOMER_UPDATED,
    EventName.FIGURES_CHANGED: WebhookEvent.CUSTOMER_FIGURES_CHANGED,
    EventName.OFFER_ANSWERED: WebhookEvent.OFFER_ANSWERED,
    EventName.SUBSCRIPTION_DUE: WebhookEvent.SUBSCRIPTION_DUE,
    EventName.IMPORT_FINISHED: WebhookEvent.IMPORT_FINISHED,
}
