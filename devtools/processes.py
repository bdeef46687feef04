"""One runner for the processes the tests and the benchmarks start: Celery workers, celery beat,
gunicorn, a throw-away Redis.

`start(name, argv, ...)` starts a process with its output in a log file and returns once it is
ready (a line in its log, a predicate such as "answers a ping" or "its port is open", or
either); `Process.stop()` asks it to stop (SIGTERM), waits a grace period, then kills it;
`running(...)` is both around a block, and `Processes` stops everything it started, last
first, also on error. A process started with `session=True` has its own process group, and
the signals reach the whole group (a prefork worker's pool children go with it).

Only the tests and `bench/` import this; app code never does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def celery_worker_argv(
    hostname: str,
    *,
    app: str = "crm",
    concurrency: int = 0,
    pool: str = "",
    loglevel: str = "INFO",
) -> list[str]:
    """`celery worker` as every test and benchmark runs it: its own node name, no mingle or
    gossip; the solo pool unless `concurrency` (prefork, or `pool`) is given."""
    if concurrency:
        pool_args = [*(("--pool", pool) if pool else ()), "--concurrency", str(concurrency)]
    else:
        pool_args = ["--pool", pool or "solo"]
    return [
        *(sys.executable, "-m", "celery", "-A", app, "worker"),
        *pool_args,
        *("--hostname", hostname, "--loglevel", loglevel, "--without-mingle", "--without-gossip"),
    ]


class DidNotStart(RuntimeError):
    pass


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path | None
    session: bool = False
    stop_timeout: float = 15.0

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path else ""

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        """Send `signum` to the process (its whole group when it has its own session)."""
        with contextlib.suppress(ProcessLookupError):
            if self.session:
                os.killpg(self.popen.pid, signum)
            elif self.popen.poll() is None:
                self.popen.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL: gone at once, as when it crashes or is OOM-killed."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM (a graceful stop), then SIGKILL after `timeout` seconds."""
        if self.is_alive():
            self.signal(signal.SIGTERM)
        self.wait_or_kill(self.stop_timeout if timeout is None else timeout)

    def wait_or_kill(self, timeout: float) -> None:
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(timeout=10)
        if self.session:
            self.signal(signal.SIGKILL)  # a child left behind in its group, if any


def start(
    name: str,
    argv: Sequence[str],
    *,
    env: dict | None = None,
    log_path: Path | None = None,
    ready_line: str | None = None,
    ready: Callable[[], bool] | None = None,
    timeout: float = 90.0,
    stop_timeout: float = 15.0,
    session: bool = False,
    cwd: Path = ROOT,
) -> Process:
    """Start `argv` (output to `log_path`, or discarded) and wait until it is ready: until
    `ready_line` is in its log or `ready()` is true (either, when both are given). Raises
    DidNotStart, with its log, if it exits or is not ready within `timeout` seconds."""
    output = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=session,
        )
    finally:
        if log_path:
            output.close()  # type: ignore[union-attr]
    process = Process(name, popen, log_path, session=session, stop_timeout=stop_timeout)
    if ready_line is None and ready is None:
        return process
    try:
        deadline = time.monotonic() + timeout
        while not ((ready_line is not None and ready_line in process.log()) or (ready and ready())):
            if not process.is_alive() or time.monotonic() > deadline:
                raise DidNotStart(f"{name} did not start; see {log_path}:\n{process.log()}")
            time.sleep(0.05)
    except BaseException:
        process.stop()
        raise
    return process


@contextlib.contextmanager
def running(name: str, argv: Sequence[str], **options) -> Iterator[Process]:
    """`start(...)` for the length of a block; stopped (gracefully, then killed) at its end."""
    process = start(name, argv, **options)
    try:
        yield process
    finally:
        process.stop()


@dataclass
class Processes:
    """The processes one benchmark or test started; `stop_all` stops them, last first: all
    are asked to stop before any is waited for."""

    started: list[Process] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], **options) -> Process:
        process = start(name, argv, **options)
        self.started.append(process)
        return process

    def stop_all(self, timeout: float | None = None) -> None:
        for process in reversed(self.started):
            if process.is_alive():
                process.signal(signal.SIGTERM)
        for process in reversed(self.started):
            process.wait_or_kill(process.stop_timeout if timeout is None else timeout)
        self.started.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()
