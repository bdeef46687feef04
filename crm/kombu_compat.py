"""A workaround for a kombu bug that kills the worker when Redis drops (issue 14, item 8).

kombu 5.7.0's Redis transport: when the broker connection is lost, Celery calls
`connection.collect()`, which detaches the transport (`transport.client = None`). If a BRPOP
was in flight on the task channel, that channel's first close fails and `close_connection`
gives up at the next channel that cannot talk to the dead server (the pidbox's fanout queue),
so the task channel, still holding unacknowledged deliveries, stays open. Celery then closes
the connection; the Redis `Channel.close()` drops its connection pools and asks its QoS to
restore the unacked messages, which builds a new pool from `self.connection.client.hostname`:
`AttributeError: 'NoneType' object has no attribute 'hostname'`. That is not a connection error,
so `ignore_errors` lets it out of the consumer and the worker exits ("Unrecoverable error").
Same family as https://github.com/celery/kombu/issues/582 ('NoneType' object has no attribute
'hostname' from `_connparams` while closing a channel) and
https://github.com/celery/kombu/issues/970 (`restore_unacked` failing while the worker stops);
both closed, yet kombu 5.7.0 (pinned in uv.lock) still fails this way on a broker loss.

Tasks still running then finish after the reconnect and acknowledge on that old channel, which
fails the same way (`self.connection.client`) and also kills the worker.

The fix: a QoS whose transport is gone leaves the messages where they are. They are still in
the broker's `unacked` hash (when Redis kept its data), which `restore_visible` puts back after
the visibility timeout (a redelivery; the tasks are idempotent); and when Redis came back
empty, the stale-figures sweeper (beat, every 60 s) re-sends every recompute missing for its
STALE_AFTER (30 s), so the figures converge within about two minutes of Redis returning.
Remove this module once kombu guards `restore_unacked` and `ack` on a detached transport.
"""

import logging

from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)

_original_restore_unacked = kombu_redis.QoS.restore_unacked


def _transport_detached(qos) -> bool:
    transport = getattr(qos.channel, "connection", None)
    return transport is None or getattr(transport, "client", None) is None


def restore_unacked(self, client=None):
    if client is None and _transport_detached(self):
        logger.warning(
            "broker connection already closed: leaving %d unacknowledged message(s) in the "
            "broker for the visibility-timeout restore and the stale-figures sweeper",
            len(self._delivered),
        )
        self._delivered.clear()
        return None
    return _original_restore_unacked(self, client)


_original_ack = kombu_redis.QoS.ack
_original_reject = kombu_redis.QoS.reject


def ack(self, delivery_tag):
    # A task that finishes after the reconnect acknowledges on the old, detached channel:
    # the same AttributeError (`self.connection.client`). Its message stays in the broker's
    # unacked hash; the visibility-timeout restore may run it once more (tasks are idempotent).
    if _transport_detached(self):
        logger.info("broker connection of delivery %s is gone: not acknowledged", delivery_tag)
        self._delivered.pop(delivery_tag, None)
        return None
    return _original_ack(self, delivery_tag)


def reject(self, delivery_tag, requeue=False):
    if _transport_detached(self):
        logger.info("broker connection of delivery %s is gone: not rejected", delivery_tag)
        self._delivered.pop(delivery_tag, None)
        return None
    return _original_reject(self, delivery_tag, requeue=requeue)


def install() -> None:
    """Idempotent: patch kombu's Redis QoS once per process."""
    if kombu_redis.QoS.restore_unacked is not restore_unacked:
        kombu_redis.QoS.restore_unacked = restore_unacked
        kombu_redis.QoS.ack = ack
        kombu_redis.QoS.reject = reject
