"""What the workspace does when something happens (events.registry, docs/architecture.md).

The customers' agendas (the stored next due action the portfolio sorts by) follow every
change that moves a next due action. A subscription changed or delivered, a customer
created (a first row), erased or handed to another owner (the owner copy): in the change's
transaction, one indexed statement for one customer. An interaction logged or changed (a
next step, our follow-up, an answer): in the transaction of the recompute that follows it
on a worker (FIGURES_CHANGED names the customers of the pass), one statement for the pass,
as before the seam: the request does not pay for the next-due subqueries (a quarter of an
API write's time), and the sort follows within the recompute's latency.

Bulk loads refresh the whole base (or the customers the payload names): the rebuild of every
figure (FIGURES_CHANGED without a customer) in its transaction, as seed_demo and imports
expect the sort ready when it returns; IMPORT_FINISHED after the import's commit, in its own
transaction, so a failure here is retried by the seam and never undoes the import.
"""

from datetime import date

from events.models import Event
from events.names import EventName
from events.registry import subscribe

from .services import (
    customer_agendas_refresh,
    portfolio_equity_history_record,
    workspace_customer_merge,
)


def _named(event: Event) -> list[int] | None:
    """The customers the payload names; None: all of them."""
    named = event.payload.get("customer_ids")
    return None if named is None else list(named)


@subscribe(
    EventName.CUSTOMER_CREATED,
    EventName.CUSTOMER_ERASED,
    EventName.SUBSCRIPTION_CHANGED,
    EventName.SUBSCRIPTION_DUE,
    in_transaction=True,
)
def agenda_refresh(event: Event) -> None:
    """One customer's, or those a batch event names (a delivery run, an archived offering)."""
    if event.customer_id is not None:
        customer_agendas_refresh(customer_ids=[event.customer_id])
    elif event.payload.get("customer_ids"):
        customer_agendas_refresh(customer_ids=list(event.payload["customer_ids"]))


@subscribe(EventName.CUSTOMER_CHANGED, in_transaction=True)
def agenda_owner_follow(event: Event) -> None:
    """The agenda keeps a copy of the owner (the first column of the portfolio's index)."""
    if "owner" not in event.payload.get("changed", ()):
        return
    if event.customer_id is not None:
        customer_agendas_refresh(customer_ids=[event.customer_id])
    elif event.payload.get("customer_ids"):
        # Many handed over at once (customers_reassign): one statement for them all.
        customer_agendas_refresh(customer_ids=list(event.payload["customer_ids"]))


@subscribe(EventName.CUSTOMERS_BATCH_WRITTEN, in_transaction=True)
def agendas_refresh_after_batch(event: Event) -> None:
    """A batch of customers: a first agenda row for the new ones, the owner copy for the
    reassigned ones, in one statement."""
    changed = event.payload.get("changed", {})
    customer_ids = [
        *event.payload.get("created_ids", []),
        *(int(pk) for pk, fields in changed.items() if "owner" in fields),
    ]
    if customer_ids:
        customer_agendas_refresh(customer_ids=customer_ids)


@subscribe(EventName.FIGURES_CHANGED, in_transaction=True)
def agendas_refresh_after_recompute(event: Event) -> None:
    """After the recompute that follows every interaction logged or changed (the customers
    it wrote, in one statement for the pass), or the rebuild of every figure (no ids: all)."""
    customer_agendas_refresh(customer_ids=_named(event))


@subscribe(EventName.FIGURES_CHANGED, in_transaction=True)
def equity_history_record(event: Event) -> None:
    """After valuation rebuilt the figures as of past days (seed_demo, imports,
    `recompute_customers --history`): the portfolios' equity on those days, for the trend."""
    days = event.payload.get("history_days")
    if days:
        portfolio_equity_history_record(days=[date.fromisoformat(day) for day in days])


@subscribe(EventName.IMPORT_FINISHED)
def agendas_refresh_after_import(event: Event) -> None:
    customer_agendas_refresh(customer_ids=_named(event))


@subscribe(EventName.CUSTOMER_MERGED, in_transaction=True)
def agenda_merge(event: Event) -> None:
    event.subject["moved"].update(  # type: ignore[attr-defined]
        workspace_customer_merge(
            survivor_id=event.customer_id, duplicate_id=event.payload["duplicate_id"]
        )
    )
