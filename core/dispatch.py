"""Send Celery tasks only once the surrounding transaction has committed.

A task sent before the commit can run before its data is visible (or for data that is then
rolled back). A task that cannot be sent because the broker is down must not fail the
request that already committed: the failure is logged, and the stale-figures sweeper
(``valuation.tasks.customers_figures_recompute_stale``) finds the work again from the database.
"""

import logging

from celery import Task, group
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# Fail fast when the broker is away: the database remembers the work, so there is no need to
# keep the user waiting while Kombu retries.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}


def enqueue_on_commit(task: Task, *args: int | str, **options) -> None:
    def send() -> None:
        try:
            task.apply_async(args=args, retry_policy=PUBLISH_RETRY_POLICY, **options)
        except (OperationalError, OSError):
            logger.exception("could not send %s%r; the sweeper will pick it up", task.name, args)

    transaction.on_commit(send)


def enqueue_group_on_commit(task: Task, args_list: list[tuple]) -> None:
    """Send one `task` per argument tuple as a Celery group (any free worker takes the next
    one), after the commit. Like enqueue_on_commit, a broker that is down is logged, not
    raised: the caller has left a mark in the database that the sweeper finds."""

    def send() -> None:
        if not args_list:
            return
        try:
            group(task.s(*args) for args in args_list).apply_async(
                retry_policy=PUBLISH_RETRY_POLICY
            )
        except (OperationalError, OSError):
            logger.exception(
                "could not send %d %s tasks; the sweeper will pick them up",
                len(args_list),
                task.name,
            )

    transaction.on_commit(send)
