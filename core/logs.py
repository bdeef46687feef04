"""Structured logs: every record says which Celery task and which customer it concerns.

`ContextFilter` adds `task_id`, `task_name` and `customer_id` to each record: the task from
Celery's current request, the customer from `log_context(customer_id=...)`, which the tasks
and services that work on one customer open. `JsonFormatter` writes one JSON object per line
for a log collector (production's default, LOG_FORMAT=json).
"""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from celery import current_task

_customer_id: ContextVar[int | None] = ContextVar("log_customer_id", default=None)


@contextmanager
def log_context(*, customer_id: int) -> Iterator[None]:
    token = _customer_id.set(customer_id)
    try:
        yield
    finally:
        _customer_id.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        task = current_task
        request = getattr(task, "request", None) if task else None
        task_id = getattr(request, "id", None) if request else None
        record.task_id = task_id or "-"
        record.task_name = task.name if task_id else "-"
        if not hasattr(record, "customer_id"):
            customer_id = _customer_id.get()
            record.customer_id = customer_id if customer_id is not None else "-"
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("task_id", "task_name", "customer_id")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            value = getattr(record, field, "-")
            if value != "-":
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ClientErrorFilter(logging.Filter):
    """A refused request (4xx: 403, 404, ...) is the client's doing, not a fault: log its one
    line without the traceback of the PermissionDenied or Http404 that produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
