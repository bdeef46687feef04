"""The task retry policy, declared once (docs/architecture.md, "How a task is written").

Only errors that can pass (a dropped or busy database connection) are retried, with exponential
backoff, jitter and a cap; anything else is a bug and fails loudly.
"""

from django.db import InterfaceError, OperationalError

TRANSIENT_ERRORS = (OperationalError, InterfaceError)
# How often, and how long at most between tries (seconds): tasks and the event relay alike.
RETRY_MAX = 8
RETRY_BACKOFF_MAX = 60


def retry_transient(
    *,
    max_retries: int = RETRY_MAX,
    backoff_max: int = RETRY_BACKOFF_MAX,
    also: tuple[type[BaseException], ...] = (),
) -> dict:
    """`@shared_task(**retry_transient())`: the options that retry TRANSIENT_ERRORS only, and
    `also` the errors a task's own service names transient (a mail server's 4xx)."""
    return {
        "autoretry_for": TRANSIENT_ERRORS + tuple(also),
        "retry_backoff": True,
        "retry_backoff_max": backoff_max,
        "max_retries": max_retries,
        "retry_jitter": True,
    }
