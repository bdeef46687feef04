"""Start a real Celery worker process for the integration tests.

The worker is a separate process running the project's own Celery app, consuming from the
real broker and writing to the test database, exactly as in production.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from crm.celery import app

ROOT = Path(__file__).resolve().parent.parent
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
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                "--pool",
                "solo",
                "--hostname",
                node,
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        # A solo worker busy with a task already waiting in the queue cannot answer a ping
        # until the task ends, so its "ready." log line counts as started too.
        while f"{node} ready." not in log_path.read_text() and not ping_app.control.ping(
            destination=[node], timeout=0.5
        ):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start; see {log_path}:\n{log_path.read_text()}")
        yield RunningWorker(node=node, log_path=log_path)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


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
