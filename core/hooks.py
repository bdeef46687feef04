"""What one app offers another of its own layer, which it may not import (pyproject's
import contracts): the offering app registers a function under a name in its AppConfig.ready,
the reading app calls whatever is registered. E.g. the portal's unanswered reviews on the
workspace's to-do list ("todo.reviews", docs/architecture.md)."""

from collections import defaultdict
from collections.abc import Callable

_providers: dict[str, list[Callable]] = defaultdict(list)


def provide(name: str, function: Callable) -> None:
    if function not in _providers[name]:
        _providers[name].append(function)


def provided(name: str) -> list[Callable]:
    return list(_providers.get(name, ()))
