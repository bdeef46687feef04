"""Start a real Celery worker process for the integration tests.

The worker is a separate process running the project's own Celery app, consuming from the
real broker and writing to the test database, exactly as in production.
"""

import os
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from crm.celery import app
from devtools import processes

ROOT = processes.ROOT
ARTIFACTS = ROOT / "test-artifacts"


def worker_database_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


@dataclass(frozen=True)
class RunningWorker:
    node: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def celery_worker(*, env: dict | None = None, ping_app=app, timeout: float = 90.0):
    """Run `celery worker` until the block ends; yields the running worker."""
    ARTIFACTS.mkdir(exist_ok=True)
    node = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log_path = ARTIFACTS / f"worker-{node.split('@')[0]}.log"
    process_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process_env.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.test")
    # A solo worker busy with a task already waiting in the queue cannot answer a ping
    # until the task ends, so its "ready." log line counts as started too.
    with processes.running(
        "worker",
        processes.celery_worker_argv(node),
        env=process_env,
        log_path=log_path,
        ready_line=f"{node} ready.",
        ready=lambda: bool(ping_app.control.ping(destination=[node], timeout=0.5)),
        timeout=timeout,
    ):
        yield RunningWorker(node=node, log_path=log_path)


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.1):
    """Poll until predicate() is truthy; return its value, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
