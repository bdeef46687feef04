"""Who listens to which event. Apps register in their `handlers` module (autodiscovered)."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from .names import EventName


@dataclass(frozen=True)
class Subscriber:
    key: str  # "app.handlers.function": what `Event.handled` records
    event: str
    handle: Callable
    in_transaction: bool


_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(*events: EventName, in_transaction: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function for these events.

    After-commit subscribers (the default) take the stored `Event` and must be idempotent and
    quick: they may be run again after a failure, and they run in the process that committed,
    so slow work (a recompute, an HTTP call) is queued as a task, not done in place.
    In-transaction subscribers also see `event.subject` (the objects the publisher passed) and
    are part of the write: if one raises, nothing is committed.
    """

    def register(handle: Callable) -> Callable:
        key = f"{handle.__module__}.{handle.__qualname__}"
        for event in events:
            subscriber = Subscriber(key, str(event), handle, in_transaction)
            if all(existing.key != key for existing in _subscribers[str(event)]):
                _subscribers[str(event)].append(subscriber)
        return handle

    return register


def subscribers_of(event: str, *, in_transaction: bool) -> list[Subscriber]:
    return [s for s in _subscribers.get(event, []) if s.in_transaction == in_transaction]
