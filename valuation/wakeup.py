"""The worker hears of stale figures from the database, not from the request (issue 17).

On PostgreSQL, marking figures stale (services.customers_figures_request) also NOTIFYs
FIGURES_STALE_CHANNEL with the customers' ids; the database delivers it at commit, never for
a rollback. One listener per database, a thread in a worker's main process elected by an
advisory lock, gathers the ids for a moment (a burst of commits becomes a few tasks) and
sends their recomputes. A request then costs the broker nothing, and the work is exactly what
committed.

What a listener can miss is found anyway: when a worker becomes the listener (at its start,
or when the last one died) it first sends every stale customer's recompute, and the sweeper
(tasks.customers_figures_recompute_stale) still runs every minute.
"""

import logging
import select
import threading
import time
from datetime import timedelta

import psycopg2
import psycopg2.extensions
from django.db import connection, connections
from kombu.exceptions import OperationalError

from core.dispatch import PUBLISH_RETRY_POLICY

from . import selectors
from .services import FIGURES_STALE_CHANNEL, stale_mark_wakes
from .tasks import (
    RECOMPUTE_CHUNK,
    customer_figures_recompute_task,
    customers_figures_recompute_task,
)

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key of the listener (advisory locks are per database): "crm" + 1.
LISTENER_LOCK = 0x63726D01
# How long a listener gathers ids after the first before it sends (a burst of commits).
GATHER = 0.02
# How often a worker that is not the listener tries to become it.
ELECTION_EVERY = 2.0
# The most customers sent at once when becoming the listener (the sweeper finds the rest).
CATCH_UP_MAX = 10_000


def figures_listener_start() -> threading.Event | None:
    """Start the listener thread (a worker at start); set the returned event to stop it.
    None where the stale mark does not wake (not PostgreSQL: the request sends the task)."""
    if not stale_mark_wakes():
        return None
    stop = threading.Event()
    threading.Thread(
        target=_listen_forever, args=(stop,), name="figures-listener", daemon=True
    ).start()
    return stop


def _listen_forever(stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            _listen(stop)
        except Exception:  # the database or the broker went away: listen again, which
            # first sends every stale customer's recompute (so an outage loses none)
            logger.exception("the figures listener failed; listening again in a second")
            stop.wait(1.0)
        finally:
            connections.close_all()  # this thread's Django connection (the catch-up's)


def _listen(stop: threading.Event) -> None:
    listening = psycopg2.connect(**connection.get_connection_params())
    try:
        listening.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        with listening.cursor() as cursor:
            while not stop.is_set():
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LISTENER_LOCK])
                if cursor.fetchone()[0]:
                    break
                stop.wait(ELECTION_EVERY)
            else:
                return
            cursor.execute(f"LISTEN {FIGURES_STALE_CHANNEL}")
        logger.info("listening for stale figures")
        # After LISTEN, so that nothing marked in between is missed.
        stale = selectors.customers_with_stale_figures(older_than=timedelta(0))
        figures_recompute_send(list(stale.values_list("pk", flat=True)[:CATCH_UP_MAX]))
        while not stop.is_set():
            ids = _gather(listening, wait=1.0)
            if ids:
                figures_recompute_send(sorted(ids))
    finally:
        listening.close()


def _gather(listening, *, wait: float) -> set[int]:
    """The ids notified within `wait` seconds, and those that follow within GATHER."""
    ids: set[int] = set()
    deadline = None
    while True:
        timeout = wait if deadline is None else max(deadline - time.monotonic(), 0)
        readable, _, _ = select.select([listening], [], [], timeout)
        if readable:
            listening.poll()
            while listening.notifies:
                payload = listening.notifies.pop(0).payload
                ids.update(int(part) for part in payload.split(",") if part)
        if deadline is None:
            if not ids:
                return ids
            deadline = time.monotonic() + GATHER
        elif time.monotonic() >= deadline:
            return ids


def figures_recompute_send(customer_ids: list[int]) -> None:
    """Send the recomputes of these customers: one task for one customer, chunks of
    RECOMPUTE_CHUNK for more. A broker that is down is logged, not raised: the stale marks
    stay, and the sweeper sends them again."""
    try:
        if len(customer_ids) == 1:
            customer_figures_recompute_task.apply_async(
                args=(customer_ids[0],), retry_policy=PUBLISH_RETRY_POLICY
            )
            return
        for start in range(0, len(customer_ids), RECOMPUTE_CHUNK):
            customers_figures_recompute_task.apply_async(
                args=(customer_ids[start : start + RECOMPUTE_CHUNK],),
                retry_policy=PUBLISH_RETRY_POLICY,
            )
    except (OperationalError, OSError):
        logger.exception(
            "could not send %d recomputes; the sweeper will pick them up", len(customer_ids)
        )
