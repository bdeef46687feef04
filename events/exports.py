"""What each app adds to a customer's data export (SPEC §7, subject access).

The export (`dataio.privacy.customer_everything`) reads the apps below dataio itself; an app on
its layer or above (portal, say) cannot be imported by it, so it registers an exporter here,
in its `handlers` module (autodiscovered by `events.apps`), and the export calls every one:

    @export_section("portal")
    def portal_export(customer_id: int) -> dict: ...

An exporter only reads: it returns plain data (what DjangoJSONEncoder writes: dates and
decimals too) of what its app holds on the customer, under its own top-level key.
"""

from collections.abc import Callable
from typing import Any

_exporters: dict[str, Callable[[int], Any]] = {}


def export_section(key: str) -> Callable[[Callable[[int], Any]], Callable[[int], Any]]:
    """Register the decorated function as the export's section `key`."""

    def register(export: Callable[[int], Any]) -> Callable[[int], Any]:
        owner = _exporters.get(key)
        if owner is not None and owner.__qualname__ != export.__qualname__:
            raise ValueError(f"export section {key!r} is registered already")
        _exporters[key] = export
        return export

    return register


def export_sections(*, customer_id: int) -> dict[str, Any]:
    """Every registered section for this customer, by key (in registration order)."""
    return {key: export(customer_id) for key, export in _exporters.items()}
