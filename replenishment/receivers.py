"""What replenishment does when the catalog below it changes (offerings publishes, it listens)."""

from . import services


def subscriptions_pause_on_archive(*, offering, **kwargs) -> None:
    """An archived offering is never ordered or reminded again: its live subscriptions pause."""
    services.replenishments_pause_for_offering(offering=offering)
