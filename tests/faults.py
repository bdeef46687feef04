"""Real parts the fault tests start, stop and kill: a Redis server, a Celery worker, the web app.

Each fault test runs its own `redis-server` on a free port, so stopping it harms no one else,
and points a worker process and a gunicorn process at it and at the test database.
"""

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from celery import Celery
from django.conf import settings

from customers.models import Customer
from devtools import processes
from devtools.processes import Process, free_port, port_open
from valuation import selectors as valuation_selectors
from valuation.declared import FIGURE_NAMES as FIGURE_FIELDS
from valuation.models import CustomerFigures
from valuation.services import customers_figures_recompute_all
from valuation.summary import customer_summaries_rebuild

from .worker import ARTIFACTS, ROOT, wait_for, worker_database_url


def _wait_port(port: int, *, up: bool, timeout: float = 20.0) -> None:
    wait_for(lambda: port_open(port) == up, timeout=timeout)


class RedisServer:
    """A throw-away Redis on its own port that a test can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> None:
        self.process = processes.start(
            "redis-server",
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            ready=lambda: port_open(self.port),
            timeout=20,
            stop_timeout=10,
        )

    def stop(self) -> None:
        if self.process and self.process.is_alive():
            self.process.stop()
        _wait_port(self.port, up=False)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation, as when it crashes or is OOM-killed."""
        if self.process and self.process.is_alive():
            self.process.kill()
        _wait_port(self.port, up=False)


@contextmanager
def redis_server():
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def control_app(broker_url: str) -> Celery:
    """A Celery app configured like the project's, on the given broker, to ping workers."""
    control = Celery("crm", set_as_current=False)
    control.config_from_object("django.conf:settings", namespace="CELERY")
    # broker_url would lose to $CELERY_BROKER_URL; the read and write URLs take precedence.
    control.conf.broker_write_url = broker_url
    control.conf.broker_read_url = broker_url
    return control


@dataclass
class Worker:
    node: str
    process: Process

    def log(self) -> str:
        return self.process.log()

    def kill(self) -> None:
        self.process.kill()

    def is_alive(self) -> bool:
        return self.process.is_alive()


def _process_env(broker_url: str, extra: dict | None) -> dict:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "crm.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        **(extra or {}),
    }


@contextmanager
def worker(
    broker_url: str, *, app_module: str = "crm", env: dict | None = None, concurrency: int = 0
):
    """A `celery worker` on the given broker; killed or stopped when the block ends.

    The solo pool by default; `concurrency=n` runs the prefork pool with n processes, as
    production does (its event loop keeps polling the broker while tasks run).
    """
    ARTIFACTS.mkdir(exist_ok=True)
    node = f"fault-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    control = control_app(broker_url)
    # A loaded CI machine can take a while to import Django and fork the pool.
    with processes.running(
        "worker",
        processes.celery_worker_argv(node, app=app_module, concurrency=concurrency),
        env=_process_env(broker_url, env),
        log_path=ARTIFACTS / f"worker-{node.split('@')[0]}.log",
        ready=lambda: bool(control.control.ping(destination=[node], timeout=0.5)),
        timeout=90,
    ) as process:
        yield Worker(node=node, process=process)


@dataclass
class WebApp:
    base_url: str

    def request(self, method: str, path: str, *, token: str | None = None, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@contextmanager
def web_app(broker_url: str, *, workers: int = 1):
    """The project's WSGI app under gunicorn, on the given broker and the test database."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    with processes.running(
        "gunicorn",
        [
            *(sys.executable, "-m", "gunicorn", "crm.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60"),
        ],
        env=_process_env(broker_url, None),
        log_path=ARTIFACTS / f"web-{port}.log",
        ready=lambda: port_open(port),
        timeout=90,
        # A graceful stop waits for the workers (up to gunicorn's 30 s on a loaded machine).
        stop_timeout=40,
    ):
        yield WebApp(base_url=f"http://127.0.0.1:{port}")


def run_sweeper(broker_url: str) -> int:
    """One beat of the stale-figures sweeper, in its own process, as celery beat would run it."""
    result = subprocess.run(
        [
            *(sys.executable, "manage.py", "shell", "-c"),
            "from valuation.tasks import customers_figures_recompute_stale as s; print(s())",
        ],
        cwd=ROOT,
        env=_process_env(broker_url, None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def figures_of(customer_id: int) -> dict:
    return CustomerFigures.objects.values(*FIGURE_FIELDS).get(pk=customer_id)


def is_current(customer_id: int) -> bool:
    versions = Customer.objects.values_list(
        "figures__figures_version", "figures__figures_computed_version"
    )
    version, computed = versions.get(pk=customer_id)
    return computed == version


def figures_from_scratch(customer_id: int) -> dict:
    """Rebuild the customer's summary from the full history and recompute in bulk."""
    customer_summaries_rebuild(
        customer_ids=[customer_id], channel_costs=valuation_selectors.channel_costs_decimal()
    )
    customers_figures_recompute_all(customer_ids=[customer_id])
    return figures_of(customer_id)


def assert_same_figures(actual: dict, expected: dict) -> None:
    for field in FIGURE_FIELDS:
        got, want = actual[field], expected[field]
        if isinstance(want, float) and isinstance(got, float):
            assert abs(got - want) <= 1e-9 * max(1.0, abs(want)), (field, got, want)
        else:
            assert got == want, (field, got, want)
