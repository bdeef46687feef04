"""What valuation does when something happens (events.registry, docs/architecture.md)."""

from decimal import Decimal

from customers.facts import WALLET_FACT
from customers.models import FactKind
from customers.services import FIGURE_INPUTS
from events.models import Event
from events.names import EventName
from events.registry import subscribe
from interactions.choices import SERVICE_TYPES
from interactions.models import ChannelCost, OrderLine
from interactions.services import channel_cost, customer_service_tiers_set

from .models import CustomerFigures
from .services import valuation_customer_merge
from .summary import summaries_record_interactions, summary_record_interaction
from .tasks import customer_figures_request, customers_figures_request


@subscribe(EventName.INTERACTION_LOGGED, in_transaction=True)
def interaction_fold(event: Event) -> None:
    """Fold the interaction into the customer's running summary, in its transaction: the
    summary and the interactions never disagree (the fold locks the summary row)."""
    interaction = event.subject["interaction"]  # type: ignore[attr-defined]
    serves = interaction.type in SERVICE_TYPES
    summary_record_interaction(
        interaction=interaction,
        lines=event.subject["lines"],  # type: ignore[attr-defined]
        cost_to_serve=channel_cost(interaction.channel) if serves else Decimal("0"),
    )


@subscribe(EventName.INTERACTIONS_BATCH_LOGGED, in_transaction=True)
def interactions_batch_fold(event: Event) -> None:
    """A batch of interactions (interactions_batch_log): the summaries folded and the figures
    marked stale in bulk, under the locks of every customer of the batch taken in id order,
    then one recompute per customer after the commit."""
    costs = dict(ChannelCost.objects.values_list("channel", "cost_per_interaction"))
    customer_ids = list(event.payload["customer_ids"])
    summaries_record_interactions(
        interactions=event.subject["interactions"],  # type: ignore[attr-defined]
        lines=event.subject["lines"],  # type: ignore[attr-defined]
        customer_ids=customer_ids,
        channel_costs=costs,
    )
    customers_figures_request(customer_ids=customer_ids)


# What an interaction change can alter in the figures: the experience score reads response
# and resolution times and satisfaction; the assignee feeds nothing.
INTERACTION_FIGURE_INPUTS = {"first_response_at", "resolved_at", "satisfaction"}


def _feeds_figures(event: Event) -> bool:
    changed = set(event.payload.get("changed", ()))
    if event.name == EventName.CUSTOMER_CHANGED:
        return bool(changed & FIGURE_INPUTS)
    if event.name == EventName.INTERACTION_CHANGED:
        return bool(changed & INTERACTION_FIGURE_INPUTS)
    if event.name == EventName.FACT_LEARNED:
        # Share of customer (the wallet), share of needs, and the segment of an inferred
        # wallet (needs and size).
        return event.payload.get("key") == WALLET_FACT or event.payload.get("kind") in (
            FactKind.NEED,
            FactKind.SIZE,
        )
    return True


@subscribe(
    EventName.CUSTOMER_CREATED,
    EventName.CUSTOMER_CHANGED,
    EventName.FACT_LEARNED,
    EventName.INTERACTION_LOGGED,
    EventName.INTERACTION_CHANGED,
    EventName.RATING_RECORDED,
    EventName.RATING_WITHDRAWN,
    in_transaction=True,
)
def figures_request(event: Event) -> None:
    """The learning loop: every touchpoint that feeds the figures queues their recompute.

    In the change's transaction, so the stale mark is written with the data (SPEC §7: a
    recompute whose task is lost is found again by the sweeper); the recompute itself is
    sent after the commit and runs on a worker."""
    if event.customer_id is not None and _feeds_figures(event):
        customer_figures_request(customer_id=event.customer_id)


@subscribe(EventName.CUSTOMER_CHANGED, in_transaction=True)
def figures_owner_follow_many(event: Event) -> None:
    """Many customers handed to another owner at once (customers_reassign): their figures
    rows copy the new owner in one statement, in the reassignment's transaction, and are
    recomputed after it like a single customer's (which rewrites the copy, whatever a
    recompute running meanwhile read)."""
    many = event.customer_id is None and event.payload.get("customer_ids")
    if many and set(event.payload.get("changed", ())) & FIGURE_INPUTS:
        customers_figures_request(customer_ids=event.payload["customer_ids"])


@subscribe(EventName.CUSTOMERS_BATCH_WRITTEN, in_transaction=True)
def customers_batch_figures_request(event: Event) -> None:
    """A batch of customers (customers_batch_upsert): the new ones and those whose profile
    changed what the figures read, marked stale in one statement, recomputed after commit."""
    changed = event.payload.get("changed", {})
    customer_ids = [
        *event.payload.get("created_ids", []),
        *(int(pk) for pk, fields in changed.items() if set(fields) & FIGURE_INPUTS),
    ]
    customers_figures_request(customer_ids=customer_ids)


@subscribe(EventName.CUSTOMER_MERGED, in_transaction=True)
def customer_merge_figures(event: Event) -> None:
    """The duplicate's derived rows dropped, the survivor's summary rebuilt and figures
    recomputed after the commit as after an interaction (stale mark in the merge's
    transaction). After interactions' subscriber: INSTALLED_APPS order, the layers'."""
    event.subject["moved"].update(  # type: ignore[attr-defined]
        valuation_customer_merge(
            survivor_id=event.customer_id, duplicate_id=event.payload["duplicate_id"]
        )
    )
    customer_figures_request(customer_id=event.customer_id)


@subscribe(EventName.FIGURES_CHANGED, in_transaction=True)
def service_tiers_copy(event: Event) -> None:
    """Interactions keep a copy of each customer's tier (service-level policies by tier,
    docs/service-levels.md). A recompute pass names the tiers that moved (no query when none
    did: two, the upsert and the look for tier policies, when some did); a rebuild of every
    figure names none: every tier is read and compared."""
    changes = event.payload.get("changes")
    if changes is not None:
        moved = {int(pk): c["tier"]["after"] or "" for pk, c in changes.items() if "tier" in c}
        customer_service_tiers_set(tiers=moved, changed=True)
        return
    named = event.payload.get("customer_ids")
    figures = CustomerFigures.objects.all()
    if named is not None:
        figures = figures.filter(customer_id__in=list(named))
    customer_service_tiers_set(tiers=dict(figures.values_list("customer_id", "tier")))


@subscribe(EventName.RATING_RECORDED, EventName.RATING_WITHDRAWN)
def figures_request_holders(event: Event) -> None:
    """A rating given or withdrawn moves the "others' opinion" (O) of every other customer
    who holds the offering: their figures are marked stale and recomputed (after the commit,
    one set-based statement and a group of tasks, however many hold it)."""
    offering_id = event.payload.get("offering_id")
    if offering_id is None:
        return
    holders = set(
        OrderLine.objects.filter(offering_id=offering_id)
        .values_list("interaction__customer_id", flat=True)
        .distinct()
    )
    holders.discard(event.customer_id)  # their own recompute is figures_request's
    customers_figures_request(customer_ids=sorted(holders))
