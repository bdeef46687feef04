"""Webhooks: events/s and commit → delivered latency to a local receiver; nothing lost when
the receiver is down or the worker is killed mid-delivery (issue 17).

Usage (real PostgreSQL and Redis; its own database crm_webhooks_bench, Redis db 5 unless
BENCH_WEBHOOKS_BROKER names another, Celery queue crm_webhooks_bench):

    uv run python bench/bench_webhooks.py --json out.json \\
        [--rate 50] [--paced-seconds 10] [--burst 1000] [--down-seconds 20] [--kill-events 40]

One endpoint wants `customer.created`; events are customers created with
`customers.services.customer_create`, each in its own transaction, from the bench process. A
receiver (`http.server`, threaded, on 127.0.0.1) records when each event id first arrived; a
Celery worker (prefork, --concurrency processes) sends the deliveries; the sweeper
(`webhooks_deliver_due`, every 15 s under celery beat) is run by the bench every second.

* **Latency**: --rate events/s for --paced-seconds; p50 and p95 of (first receipt at the
  receiver − the moment `customer_create` returned, i.e. after the commit), one clock.
* **Events/s**: --burst events committed as fast as one client can; delivered events/s =
  burst / (last first-receipt − first commit).
* **Receiver down**: the receiver's port is closed for --down-seconds while events are
  committed at --rate; then it comes back. The real retry schedule (10 s, 30 s, …) applies;
  lost = events never received within 120 s after it came back.
* **Worker killed**: the receiver holds every request 2 s; once it has some in flight the
  worker's whole process group is SIGKILLed; a new worker starts; lost = events never
  received; duplicates (the same id received twice: at least once) are counted.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, add_json_argument, django_setup, report
from devtools import processes
from devtools.processes import free_port

BROKER = os.environ.get("BENCH_WEBHOOKS_BROKER", "redis://127.0.0.1:6379/5")
QUEUE = "crm_webhooks_bench"
SEND_LEASE_SECONDS = 10  # the sweeper re-claims a killed worker's sends after this


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.first: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                event = str(json.loads(body)["data"]["customer_id"])
                with receiver.lock:
                    receiver.first.setdefault(event, now)
                    receiver.count[event] = receiver.count.get(event, 0) + 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def worker_start(env: dict, work: Path, concurrency: int, n: int):
    return processes.start(
        "worker",
        [
            *processes.celery_worker_argv(
                f"bench-webhooks-{os.getpid()}-{n}@%h", concurrency=concurrency
            ),
            *("--queues", QUEUE),
        ],
        env=env,
        log_path=work / f"worker-{n}.log",
        session=True,
        ready_line="ready.",
        timeout=90,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0, help="paced events per second")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--down-seconds", type=float, default=20.0)
    parser.add_argument("--kill-events", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes")
    add_json_argument(parser)
    options = parser.parse_args()

    os.environ.update(
        CELERY_BROKER_URL=BROKER,
        CELERY_QUEUE=QUEUE,
        WEBHOOKS_ALLOW_PRIVATE="true",
        WEBHOOKS_SEND_LEASE_SECONDS=str(SEND_LEASE_SECONDS),
        # An unacknowledged message (the killed worker's) is redelivered after 10 s.
        CELERY_VISIBILITY_TIMEOUT="10",
    )
    database_url = django_setup("crm_webhooks_bench")
    import redis

    redis.Redis.from_url(BROKER).delete(QUEUE)  # leftovers of an earlier, aborted run

    from customers.services import customer_create
    from webhooks import services
    from webhooks.tasks import webhooks_deliver_due

    receiver = Receiver()
    receiver.start()
    services.endpoint_create(url=receiver.url, events=["customer.created"])
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    work = Path(processes.ROOT) / "var" / "bench" / "webhooks"
    work.mkdir(parents=True, exist_ok=True)

    stop_sweeping = threading.Event()

    def sweeper() -> None:
        from django.db import connection

        while not stop_sweeping.wait(1.0):
            try:
                webhooks_deliver_due()
            except Exception as error:  # a sweep that fails is retried by the next one
                print(f"sweep failed: {error}", file=sys.stderr)
        connection.close()

    committed: dict[str, float] = {}
    counter = iter(range(10**9))

    def commit_one() -> str:
        customer = customer_create(name=f"Webhook customer {next(counter)}")
        key = str(customer.pk)
        committed[key] = time.time()
        return key

    def paced(rate: float, seconds: float) -> list[str]:
        keys, start = [], time.monotonic()
        for n in range(int(rate * seconds)):
            pause = start + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            keys.append(commit_one())
        return keys

    def wait_received(keys: list[str], timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            missing = [k for k in keys if k not in receiver.first]
            if not missing:
                return []
            time.sleep(0.1)
        return [k for k in keys if k not in receiver.first]

    figures: list[Figure] = []
    notes: list[str] = []
    worker = worker_start(env, work, options.concurrency, 1)
    sweeping = threading.Thread(target=sweeper, daemon=True)
    sweeping.start()
    try:
        for _ in range(20):  # warm up: the worker's processes import and connect
            commit_one()
        wait_received(list(committed), 60)

        keys = paced(options.rate, options.paced_seconds)
        lost = wait_received(keys, 60)
        latencies = sorted(receiver.first[k] - committed[k] for k in keys if k not in lost)
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        figures.append(
            Figure(
                "commit → delivered, p95",
                p95 * 1000,
                "ms",
                goal="",
                detail=f"{len(keys)} events at {options.rate:g}/s; p50 "
                f"{statistics.median(latencies) * 1000:.0f} ms; {len(lost)} not received",
            )
        )

        first_commit = time.time()
        keys = [commit_one() for _ in range(options.burst)]
        commit_seconds = time.time() - first_commit
        lost = wait_received(keys, 120)
        last = max([receiver.first[k] for k in keys if k not in lost] or [time.time()])
        figures.append(
            Figure(
                "events/s delivered",
                len(keys) / (last - first_commit),
                "events/s",
                detail=f"a burst of {len(keys)} customers created by one client "
                f"({len(keys) / commit_seconds:.0f} commits/s), {options.concurrency} worker "
                f"processes, one receiver; {len(lost)} not received",
            )
        )

        receiver.stop()
        down_started = time.monotonic()
        keys = paced(options.rate / 5, min(options.down_seconds, 10))
        time.sleep(max(0.0, options.down_seconds - (time.monotonic() - down_started)))
        receiver.start()  # on the same port
        back = time.monotonic()
        lost = wait_received(keys, 120)
        figures.append(
            Figure(
                "lost with the receiver down",
                len(lost),
                "events",
                goal="0",
                met=not lost,
                detail=f"{len(keys)} events committed while the receiver was down for "
                f"{options.down_seconds:g} s; all received "
                f"{time.monotonic() - back:.0f} s after it came back (retries at 10 s, 30 s, …)",
            )
        )

        receiver.delay = 2.0
        keys = [commit_one() for _ in range(options.kill_events)]
        deadline = time.monotonic() + 30
        while sum(k in receiver.first for k in keys) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        in_flight = sum(k in receiver.first for k in keys)
        worker.kill()  # SIGKILL to the worker's whole process group, mid-request
        killed = time.monotonic()
        receiver.delay = 0.0
        worker = worker_start(env, work, options.concurrency, 2)
        lost = wait_received(keys, 120)
        twice = sum(receiver.count.get(k, 0) > 1 for k in keys)
        figures.append(
            Figure(
                "lost with the worker killed mid-delivery",
                len(lost),
                "events",
                goal="0",
                met=not lost,
                detail=f"{len(keys)} events; SIGKILL with {in_flight} requests received and "
                f"unanswered; all received {time.monotonic() - killed:.0f} s after the kill "
                f"(send lease {SEND_LEASE_SECONDS} s, then the sweeper); {twice} received twice "
                "(at least once: the receiver deduplicates on the event id)",
            )
        )
        notes.append(
            "The sweeper ran every second in the bench process (celery beat runs it every "
            f"15 s); the send lease was {SEND_LEASE_SECONDS} s (30 s by default) and the broker's "
            "visibility timeout 10 s, so that the kill is recovered within the bench's time."
        )
    finally:
        stop_sweeping.set()
        worker.stop()
        receiver.stop()
    report(options.json, "webhooks", figures, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
