"""Ingest rate of the interaction API against raw INSERT+COMMIT, and freshness (SPEC §8).

Usage (real PostgreSQL and Redis; its own database crm_ingest_bench, Redis db 3, Celery queue
crm_ingest; installs Debian's `wrk` with apt-get when it is missing):

    uv run python bench/bench_ingest.py --json out.json \\
        [--duration 12] [--connections 8] [--rounds 3] [--customers 2000] [--web-workers 5] \\
        [--batch-clients 4] [--batch-size 500]

One run measures both goals:

* **Ingest.** `wrk` (a real HTTP load generator, --connections connections over 2 threads)
  POSTs JSON interactions to `/api/interactions/` with token authentication, rotating at random
  over --customers customers: 80 % web orders with one order line (a random offering, quantity
  1-3), 15 % inbound e-mail or phone inquiries, 5 % inquiries that teach a fact (taste
  profile). The server is production-style: gunicorn serving `crm.settings.production` (DEBUG
  off, JSON logs at WARNING, no access log), sync workers, --web-workers of them (default 5,
  gunicorn's documented 2 × cores + 1 for this 2-core machine; threaded workers, 3 × 4
  threads, were tried and gave no more rows/s, with a far worse p99, since the work is CPU
  bound under the GIL), a Celery worker consuming the recomputes. The bench warms the
  server up until its rate settles (each worker imports the URLconf on its first requests).
  The other side is raw single-row `INSERT INTO interactions_interaction ...; COMMIT` from
  psycopg2 (the same columns an API row gets), from as many client threads, each
  with its own connection, as wrk has connections. API and raw runs of --duration seconds
  alternate for --rounds rounds; the figures are the medians. API rows/s counts 201 answers
  only (wrk's count minus non-2xx and socket errors) and is checked against the rows that
  landed in the table. Also measured: the raw rate with one client, and the number of SQL
  queries one POST issues (Django test client in process, CaptureQueriesContext, once per
  kind of payload), and the CPU time per row of each part of the stack, read from /proc
  around each run (gunicorn workers, the Celery worker, the PostgreSQL backends, wrk, the
  probes; on the raw side the backends and the client threads). All cores divided by the CPU
  per API row is the most the API could reach on this machine, whatever the configuration.
* **Batches.** After each raw run, --batch-clients threads POST batches of --batch-size items
  (the same mix) to `/api/interactions/batch/` for --duration seconds, over one keep-alive
  connection each, with the probes running; rows/s counts the items answered with an id,
  against the raw rate of the same round.
* **Freshness.** Exactly one Celery worker process (pool solo, concurrency 1) consumes the
  recompute queue while wrk runs. Probe threads post interactions for their own customers
  (never used by wrk), read the customer's `figures_version` after the 201, and wait until
  `figures_computed_version` reaches it; latency = the figures' `computed_at` −
  the probe interaction's `created_at` (both server clocks of this machine, taken inside the
  writing transactions). After the last round the bench waits for the queue to drain and
  checks that every customer of the load has current figures (no recompute lost).

Throttling is raised for the bench user (API_THROTTLE_USER) as it would be for an
integration account: the default 1200/minute would measure the throttle, not the API.
Every process the bench starts (gunicorn, the worker) is stopped on exit, also on error.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, add_json_argument, django_setup, median, report
from devtools.processes import Processes, free_port

DATABASE = "crm_ingest_bench"
BROKER = os.environ.get("BENCH_INGEST_BROKER", "redis://127.0.0.1:6379/3")
QUEUE = "crm_ingest"
# 80 % orders, 15 % inquiries, 5 % inquiries that teach a fact: in wrk's Lua script below.
LUA = r"""
local customers = {%(customers)s}
local offerings = {%(offerings)s}
local token = "%(token)s"
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. token}
local tastes = {"fruity", "chocolatey", "nutty", "dark and bold", "no preference"}
local counter = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

request = function()
  counter = counter + 1
  local customer = customers[math.random(#customers)]
  local roll = math.random(100)
  local body
  if roll <= 80 then
    local offering = offerings[math.random(#offerings)]
    body = string.format(
      '{"customer": %%d, "channel": "web", "direction": "inbound", "type": "order", ' ..
      '"subject": "Web order %%d", "lines": [{"offering": %%d, "quantity": "%%d", ' ..
      '"unit_price": "%%s", "unit_cost": "%%s"}]}',
      customer, counter, offering[1], math.random(3), offering[2], offering[3])
  elseif roll <= 95 then
    local channel = (roll %% 2 == 0) and "email" or "phone"
    body = string.format(
      '{"customer": %%d, "channel": "%%s", "direction": "inbound", "type": "inquiry", ' ..
      '"subject": "Question %%d", "notes": "When will my order arrive?"}',
      customer, channel, counter)
  else
    body = string.format(
      '{"customer": %%d, "channel": "email", "direction": "inbound", "type": "inquiry", ' ..
      '"subject": "Taste %%d", "notes": "Asked what I like.", ' ..
      '"facts": [{"key": "taste_profile", "value": "%%s"}]}',
      customer, counter, tastes[math.random(#tastes)])
  end
  return wrk.format("POST", "/api/interactions/", headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "status_errors": %%d, ' ..
    '"socket_errors": %%d, "latency_p50_ms": %%.2f, "latency_p99_ms": %%.2f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def ensure_wrk() -> str:
    """wrk from Debian, installed the way bin/services installs Chromium."""
    found = shutil.which("wrk")
    if found:
        return found
    print("Installing wrk ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    return shutil.which("wrk")


def seed(customers: int, probes: int) -> dict:
    """Customers with a short order history, offerings, a population fit and an API user."""
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from accounts.roles import Role
    from dataio import synthetic
    from interactions.models import ChannelCost
    from offerings.models import Category, Offering
    from valuation.models import FitMethod, FitStatus, ModelFit
    from valuation.services import customers_figures_recompute_all

    manager = User.objects.create_user("manager", password=secrets.token_hex(16))
    manager.groups.add(Group.objects.get(name=Role.MANAGER))
    # The integration account the shop and the contact centre post with: support staff role.
    integration = User.objects.create_user("integration", password=secrets.token_hex(16))
    integration.groups.add(Group.objects.get(name=Role.SUPPORT))
    token = Token.objects.create(user=integration).key
    for channel, cost in [("email", "2.50"), ("phone", "6.00"), ("web", "0.20")]:
        ChannelCost.objects.update_or_create(
            channel=channel, defaults={"cost_per_interaction": Decimal(cost)}
        )
    coffee = Category.objects.create(name="Coffee")
    offerings = [
        Offering.objects.create(name=f"Beans {n}", category=coffee, price=Decimal(12 + n))
        for n in range(12)
    ]
    # The CDNOW parameters (weeks): the recompute applies a real fit, not the fallback.
    ModelFit.objects.create(
        as_of=timezone.localdate(),
        status=FitStatus.DONE,
        method=FitMethod.MODEL,
        fitted_at=timezone.now(),
        customers=customers,
        bgnbd_r=0.243,
        bgnbd_alpha=4.414,
        bgnbd_a=0.793,
        bgnbd_b=2.426,
        gg_p=6.25,
        gg_q=3.74,
        gg_gamma=15.44,
    )
    # dataio.synthetic's INGEST shape: three monthly orders of one line each, stated wallets.
    made = synthetic.base_generate(
        synthetic.INGEST.sized(customers + probes), owners=[manager.pk], offerings=offerings
    )
    customers_figures_recompute_all()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    ids = made.customer_ids
    return {
        "token": token,
        "user_id": integration.pk,
        "load_customers": ids[:customers],
        "probe_customers": ids[customers:],
        "offerings": [(o.pk, f"{o.price:.2f}", "7.00") for o in offerings],
    }


def payloads(fixture: dict, customer_id: int) -> dict:
    offering_id, price, cost = fixture["offerings"][0]
    return {
        "order": {
            "customer": customer_id,
            "channel": "web",
            "direction": "inbound",
            "type": "order",
            "subject": "Web order",
            "lines": [
                {"offering": offering_id, "quantity": "2", "unit_price": price, "unit_cost": cost}
            ],
        },
        "inquiry": {
            "customer": customer_id,
            "channel": "email",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Question",
            "notes": "When will my order arrive?",
        },
        "inquiry with a fact": {
            "customer": customer_id,
            "channel": "email",
            "direction": "inbound",
            "type": "inquiry",
            "subject": "Taste",
            "facts": [{"key": "taste_profile", "value": "fruity"}],
        },
    }


def queries_per_post(fixture: dict) -> dict[str, int]:
    """SQL queries of one POST of each kind, in process (the recompute is only queued)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {fixture['token']}", SERVER_NAME="localhost")
    counts = {}
    for kind, payload in payloads(fixture, fixture["load_customers"][0]).items():
        client.post("/api/interactions/", payload, content_type="application/json")  # warm
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/interactions/", payload, content_type="application/json")
        assert response.status_code == 201, response.content
        counts[kind] = len(captured)
    return counts


def server_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE": QUEUE,
        "API_THROTTLE_USER": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout} s")
        time.sleep(0.2)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


class Probe:
    """Posts interactions for its own customers and measures commit → fresh figures."""

    def __init__(self, base_url: str, token: str, offering: tuple, database_url: str):
        self.base_url, self.token = base_url, token
        self.offering_id, self.price, self.cost = offering
        self.database_url = database_url
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.running = threading.Event()
        self.stopped = threading.Event()

    def run(self, own: list[int]) -> None:
        """Probe the customers `own` (no other probe thread uses them) one after the other."""
        import http.client

        import psycopg2

        database = psycopg2.connect(self.database_url)
        database.autocommit = True
        host, port = self.base_url.removeprefix("http://").split(":")
        web = http.client.HTTPConnection(host, int(port), timeout=30)
        n = 0
        while not self.stopped.is_set():
            if not self.running.wait(timeout=0.2):
                continue
            customer = own[n % len(own)]
            n += 1
            body = json.dumps(
                {
                    "customer": customer,
                    "channel": "web",
                    "direction": "inbound",
                    "type": "order",
                    "subject": "Probe order",
                    "lines": [
                        {
                            "offering": self.offering_id,
                            "quantity": "1",
                            "unit_price": self.price,
                            "unit_cost": self.cost,
                        }
                    ],
                }
            )
            try:
                web.request(
                    "POST",
                    "/api/interactions/",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Token {self.token}",
                    },
                )
                response = web.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.errors.append(repr(error))
                web.close()
                continue
            if response.status != 201:
                self.errors.append(f"{response.status}: {answer[:200]!r}")
                continue
            interaction_id = json.loads(answer)["id"]
            with database.cursor() as cursor:
                cursor.execute(
                    "SELECT figures_version FROM valuation_customerfigures WHERE customer_id = %s",
                    [customer],
                )
                (version,) = cursor.fetchone()
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    cursor.execute(
                        "SELECT f.figures_computed_version, "
                        "EXTRACT(EPOCH FROM f.computed_at - i.created_at) "
                        "FROM valuation_customerfigures f, interactions_interaction i "
                        "WHERE f.customer_id = %s AND i.id = %s",
                        [customer, interaction_id],
                    )
                    computed, latency = cursor.fetchone()
                    if computed >= version:
                        self.latencies.append(float(latency))
                        break
                    time.sleep(0.01)
                else:
                    self.errors.append(f"customer {customer} not fresh after 120 s")
            # A steady trickle, not a second load generator.
            time.sleep(0.1)
        database.close()
        web.close()


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


class CpuMeter:
    """CPU seconds spent by each part of the stack between two readings (same machine)."""

    def __init__(self, database_url: str, web_pid: int, worker_pid: int):
        import psycopg2

        self.monitor = psycopg2.connect(database_url)
        self.monitor.autocommit = True
        self.web_pid, self.worker_pid = web_pid, worker_pid

    def last_interaction(self) -> int:
        with self.monitor.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM interactions_interaction")
            return cursor.fetchone()[0]

    def landed(self, after_id: int, probe_customers: list[int]) -> int:
        """Interactions of the load (not the probes') written since `after_id`."""
        with self.monitor.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM interactions_interaction "
                "WHERE id > %s AND NOT (customer_id = ANY(%s))",
                [after_id, probe_customers],
            )
            return cursor.fetchone()[0]

    def _pids(self) -> dict[str, list[int]]:
        with self.monitor.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            backends = [pid for (pid,) in cursor.fetchall()]
        return {
            "web": children_of(self.web_pid),
            "worker": [self.worker_pid, *children_of(self.worker_pid)],
            "postgres": backends,
        }

    def read(self) -> dict[str, dict[int, float]]:
        reading = {
            part: {pid: cpu_seconds(pid) for pid in pids} for part, pids in self._pids().items()
        }
        reading["load generator"] = {0: _children_cpu()}
        reading["bench (probes)"] = {0: time.process_time()}
        return reading

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """Seconds per part; a process that started in between counts from zero."""
        return {
            part: sum(after[part].get(pid, 0.0) - before[part].get(pid, 0.0) for pid in after[part])
            for part in after
        }


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(wrk: str, script: Path, url: str, connections: int, duration: float) -> dict:
    threads = max(1, min(2, connections))
    completed = subprocess.run(
        [
            wrk,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration:g}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url + "/api/interactions/",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            result = json.loads(line.removeprefix("WRK_RESULT "))
            ok = result["requests"] - result["status_errors"] - result["socket_errors"]
            result["ok"] = ok
            result["rows_per_s"] = ok / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"no result from wrk:\n{completed.stdout}\n{completed.stderr}")


def warm_up(wrk: str, script: Path, url: str, connections: int) -> None:
    """Load until the rate settles: each gunicorn worker imports the URLconf and opens its
    database connection on its first requests, which takes seconds on a busy machine."""
    deadline = time.monotonic() + 60
    previous = 0.0
    while time.monotonic() < deadline:
        rate = run_wrk(wrk, script, url, connections, 3)["rows_per_s"]
        if previous and rate and abs(rate - previous) <= 0.25 * max(rate, previous):
            return
        previous = rate


RAW_INSERT = """
INSERT INTO interactions_interaction (
    customer_id, channel, direction, type, subject, notes, occurred_at, logged_by_id,
    thread_id, requires_response, first_response_at, resolved_at, satisfaction, next_step,
    next_step_due, offer_id, offer_outcome, assignee_id, source, source_id, created_at,
    paused_seconds
) VALUES (%s, 'web', 'inbound', 'order', %s, '', now(), %s,
    NULL, false, NULL, NULL, NULL, '', NULL, NULL, '', NULL, '', '', now(), 0)
"""


def run_raw(database_url: str, customers: list[int], user_id: int, clients: int, duration):
    """Single-row INSERT + COMMIT from `clients` threads, one connection each. Rows/s."""
    import random

    import psycopg2

    counts = [0] * clients
    backend_cpu = [0.0] * clients
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        connection = psycopg2.connect(database_url)
        backend = connection.get_backend_pid()
        pick = random.Random(index).choice
        with connection.cursor() as cursor:
            start.wait()
            cpu_before = cpu_seconds(backend)
            deadline = time.monotonic() + duration
            n = 0
            while time.monotonic() < deadline:
                cursor.execute(RAW_INSERT, [pick(customers), f"Web order {n}", user_id])
                connection.commit()
                n += 1
        backend_cpu[index] = cpu_seconds(backend) - cpu_before
        counts[index] = n
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began, client_cpu = time.monotonic(), time.process_time()
    for thread in threads:
        thread.join()
    rows = sum(counts)
    return RawRun(
        rows / (time.monotonic() - began),
        {"postgres": sum(backend_cpu), "client": time.process_time() - client_cpu},
        rows,
    )


def run_batch(base_url: str, fixture: dict, clients: int, size: int, duration: float) -> dict:
    """`clients` threads POST batches of `size` items to /api/interactions/batch/ over one
    keep-alive connection each (the mix of the wrk script) until `duration` has passed.
    Rows/s counts the items answered with an id; the bodies are built before the clock runs."""
    import http.client
    import random

    host, port = base_url.removeprefix("http://").split(":")
    headers = {"Content-Type": "application/json", "Authorization": f"Token {fixture['token']}"}
    kinds = ["order"] * 16 + ["inquiry"] * 3 + ["inquiry with a fact"]

    def bodies(seed: int) -> list[bytes]:
        pick = random.Random(seed)
        return [
            json.dumps(
                {
                    "items": [
                        payloads(fixture, pick.choice(fixture["load_customers"]))[
                            pick.choice(kinds)
                        ]
                        for _ in range(size)
                    ]
                }
            ).encode()
            for _ in range(8)
        ]

    prepared = [bodies(index) for index in range(clients)]
    rows, failed, latencies = [0] * clients, [0] * clients, []
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        web = http.client.HTTPConnection(host, int(port), timeout=120)
        start.wait()
        deadline, n = time.monotonic() + duration, 0
        while time.monotonic() < deadline:
            began = time.monotonic()
            web.request("POST", "/api/interactions/batch/", prepared[index][n % 8], headers)
            response = web.getresponse()
            answer = response.read()
            n += 1
            if response.status != 200:
                failed[index] += size
                continue
            latencies.append(time.monotonic() - began)
            results = json.loads(answer)["results"]
            rows[index] += sum(1 for result in results if result.get("id") is not None)
            failed[index] += sum(1 for result in results if result.get("errors"))
        web.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {
        "rows_per_s": sum(rows) / elapsed,
        "ok": sum(rows),
        "failed": sum(failed),
        "batch_p50_ms": 1000 * percentile(latencies, 0.5) if latencies else float("nan"),
    }


@dataclass
class RawRun:
    rows_per_s: float
    cpu: dict[str, float]
    rows: int


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_json_argument(parser)
    parser.add_argument("--duration", type=float, default=12, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections = raw clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--customers", type=int, default=2000, help="customers of the load")
    parser.add_argument("--probe-customers", type=int, default=20)
    parser.add_argument("--probes", type=int, default=2, help="probe threads")
    parser.add_argument(
        "--web-workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers"
    )
    parser.add_argument("--web-threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--batch-clients", type=int, default=4, help="clients posting batches")
    parser.add_argument("--batch-size", type=int, default=500, help="items per batch")
    options = parser.parse_args()

    wrk = ensure_wrk()
    os.environ["CELERY_BROKER_URL"] = BROKER
    os.environ["CELERY_QUEUE"] = QUEUE
    started = time.monotonic()
    database_url = django_setup(DATABASE)
    fixture = seed(options.customers, options.probe_customers)
    import redis

    redis.Redis.from_url(BROKER).delete(QUEUE)  # leftovers of an earlier, aborted run
    queries = queries_per_post(fixture)
    from django.db import connections

    connections.close_all()
    print(f"seeded in {time.monotonic() - started:.1f} s; queries per POST: {queries}", flush=True)

    processes = Processes()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    previous_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        env = server_env(database_url)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        # Started in their own process groups, so gunicorn's and the worker's children go too.
        web = processes.start(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "crm.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(options.web_workers),
                "--threads",
                str(options.web_threads),
                "--backlog",
                "2048",
            ],
            env=env,
            log_path=work / "gunicorn.log",
            session=True,
        )
        worker = processes.start(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "--queues",
                QUEUE,
                "--hostname",
                f"bench-ingest-{os.getpid()}@%h",
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
            ],
            env=env,
            log_path=work / "worker.log",
            session=True,
        )
        wait_until(lambda: http_ok(base_url + "/healthz") or not web.is_alive(), 60, "web")
        if not web.is_alive() or not worker.is_alive():
            raise RuntimeError(f"a server process stopped; see the logs in {work}")
        script = work / "post.lua"
        script.write_text(
            LUA
            % {
                "customers": ",".join(map(str, fixture["load_customers"])),
                "offerings": ",".join(
                    f'{{{pk},"{price}","{cost}"}}' for pk, price, cost in fixture["offerings"]
                ),
                "token": fixture["token"],
            }
        )
        warm_up(wrk, script, base_url, options.connections)
        meter = CpuMeter(database_url, web.pid, worker.pid)
        probe = Probe(base_url, fixture["token"], fixture["offerings"][0], database_url)
        probe_threads = [
            threading.Thread(
                target=probe.run,
                args=(fixture["probe_customers"][i :: options.probes],),
                daemon=True,
            )
            for i in range(options.probes)
        ]
        for thread in probe_threads:
            thread.start()
        api_runs, raw_runs, api_cpu = [], [], []
        batch_runs, batch_cpu, batch_latencies = [], [], []
        raw_one = None
        for round_ in range(options.rounds):
            before, last_id = meter.read(), meter.last_interaction()
            probe.running.set()
            result = run_wrk(wrk, script, base_url, options.connections, options.duration)
            probe.running.clear()
            api_cpu.append(meter.spent(before, meter.read()))
            # Rows that landed (a request still in flight when wrk stops may add one more).
            result["landed"] = meter.landed(last_id, fixture["probe_customers"])
            api_runs.append(result)
            raw_runs.append(
                run_raw(
                    database_url,
                    fixture["load_customers"],
                    fixture["user_id"],
                    options.connections,
                    options.duration,
                )
            )
            before, last_id, probed = meter.read(), meter.last_interaction(), len(probe.latencies)
            probe.running.set()
            batch = run_batch(
                base_url, fixture, options.batch_clients, options.batch_size, options.duration
            )
            probe.running.clear()
            batch_cpu.append(meter.spent(before, meter.read()))
            batch["landed"] = meter.landed(last_id, fixture["probe_customers"])
            batch_latencies.extend(probe.latencies[probed:])
            del probe.latencies[probed:]
            batch_runs.append(batch)
            # The next round's single POSTs start with the batches' recomputes done: their
            # freshness is their own, not the wait behind a backlog the batches left.
            batch["drained_s"] = drain_and_check(database_url, fixture, time.monotonic())["seconds"]
            if raw_one is None:
                raw_one = run_raw(
                    database_url,
                    fixture["load_customers"],
                    fixture["user_id"],
                    1,
                    min(5, options.duration),
                ).rows_per_s
            print(
                f"round {round_ + 1}: API {result['rows_per_s']:.0f} rows/s "
                f"(p50 {result['latency_p50_ms']:.0f} ms, non-2xx {result['status_errors']}, "
                f"socket errors {result['socket_errors']}), raw "
                f"{raw_runs[-1].rows_per_s:.0f} rows/s, batches {batch['rows_per_s']:.0f} "
                f"rows/s (p50 {batch['batch_p50_ms']:.0f} ms a batch)",
                flush=True,
            )
        probe.stopped.set()
        for thread in probe_threads:
            thread.join(timeout=150)
        drain = drain_and_check(database_url, fixture, started_at=time.monotonic())
    except BaseException:
        print(f"the server and worker logs are in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        processes.stop_all()
        signal.signal(signal.SIGTERM, previous_term)

    api = median(r["rows_per_s"] for r in api_runs)
    raw = median(r.rows_per_s for r in raw_runs)
    ratio = api / raw
    # Where the CPU goes, per row: on a CPU-bound machine the ratio cannot exceed
    # (CPU per raw row) / (CPU per API row).
    api_rows = sum(r["ok"] for r in api_runs)
    api_ms = {
        part: 1000 * sum(run[part] for run in api_cpu) / max(api_rows, 1) for part in api_cpu[0]
    }
    raw_rows = sum(r.rows for r in raw_runs)
    raw_ms = {
        part: 1000 * sum(r.cpu[part] for r in raw_runs) / max(raw_rows, 1)
        for part in raw_runs[0].cpu
    }
    # Even with every core of the machine to itself, the API cannot go faster than this.
    api_ceiling = (os.cpu_count() or 1) * 1000 / sum(api_ms.values())
    latencies = probe.latencies
    p50, p95, p99 = (
        percentile(latencies, s) if latencies else float("nan") for s in (0.5, 0.95, 0.99)
    )
    failed = sum(r["status_errors"] + r["socket_errors"] for r in api_runs)
    batch_rate = median(r["rows_per_s"] for r in batch_runs)
    batch_ratio = batch_rate / raw
    batch_failed = sum(r["failed"] for r in batch_runs)
    batch_rows = sum(r["ok"] for r in batch_runs)
    batch_ms = {
        part: 1000 * sum(run[part] for run in batch_cpu) / max(batch_rows, 1)
        for part in batch_cpu[0]
    }
    b50, b95 = (
        percentile(batch_latencies, s) if batch_latencies else float("nan") for s in (0.5, 0.95)
    )
    figures = [
        Figure(
            "interaction API ÷ raw INSERT+COMMIT",
            ratio,
            "×",
            goal="≥ 0.4 (API at least 40 % of raw single-row INSERT+COMMIT)",
            met=ratio >= 0.4 and failed == 0,
            detail=f"median of {options.rounds} interleaved runs of {options.duration:g} s at "
            f"{options.connections} connections; runs: API "
            + ", ".join(f"{r['rows_per_s']:.0f}" for r in api_runs)
            + "; raw "
            + ", ".join(f"{r.rows_per_s:.0f}" for r in raw_runs)
            + f"; failed requests {failed}; 201 answers / rows landed: "
            + ", ".join(f"{r['ok']}/{r['landed']}" for r in api_runs),
        ),
        Figure(
            "interaction batches ÷ raw INSERT+COMMIT",
            batch_ratio,
            "×",
            goal="≥ 1.0 (batches outrun a client writing a row at a time)",
            met=batch_ratio >= 1.0 and batch_failed == 0,
            detail=f"median of {options.rounds} runs of {options.duration:g} s, "
            f"{options.batch_clients} clients posting {options.batch_size} items a batch; "
            "runs: "
            + ", ".join(f"{r['rows_per_s']:.0f}" for r in batch_runs)
            + f" rows/s; items refused {batch_failed}; ids answered / rows landed: "
            + ", ".join(f"{r['ok']}/{r['landed']}" for r in batch_runs)
            + "; p50 per batch "
            + ", ".join(f"{r['batch_p50_ms']:.0f} ms" for r in batch_runs)
            + "; recomputes drained "
            + ", ".join(f"{r['drained_s']:.1f} s" for r in batch_runs)
            + " after each batch run",
        ),
        Figure("interaction batches", batch_rate, "rows/s", detail="items committed per second"),
        Figure(
            "freshness p95 (commit → figures) under batch load",
            b95,
            "s",
            goal="p95 < 1 s with one worker",
            met=bool(batch_latencies) and b95 < 1,
            detail=f"p50 {b50:.3f} s over {len(batch_latencies)} probes posted while the "
            "batches ran",
        ),
        Figure(
            "CPU per batch row",
            sum(batch_ms.values()),
            "ms",
            detail=", ".join(f"{part} {ms:.2f}" for part, ms in batch_ms.items()),
        ),
        Figure("interaction API", api, "rows/s", detail="201 answers per second (median)"),
        Figure("raw INSERT+COMMIT", raw, "rows/s", detail=f"{options.connections} clients"),
        Figure("raw INSERT+COMMIT, 1 client", raw_one, "rows/s"),
        Figure(
            "CPU per API row",
            sum(api_ms.values()),
            "ms",
            detail=", ".join(f"{part} {ms:.2f}" for part, ms in api_ms.items())
            + f"; all {os.cpu_count()} cores would carry at most {api_ceiling:.0f} API rows/s, "
            f"a ratio of at most {api_ceiling / raw:.3f} against the raw rate measured",
        ),
        Figure(
            "CPU per raw row",
            sum(raw_ms.values()),
            "ms",
            detail=", ".join(f"{part} {ms:.3f}" for part, ms in raw_ms.items()),
        ),
        Figure(
            "SQL queries per POST (order with one line)",
            queries["order"],
            "queries",
            detail=", ".join(f"{kind}: {count}" for kind, count in queries.items()),
        ),
        Figure(
            "freshness p95 (commit → figures) under API load",
            p95,
            "s",
            goal="p95 < 1 s with one worker",
            met=bool(latencies) and p95 < 1 and not probe.errors,
            detail=f"p50 {p50:.3f} s, p95 {p95:.3f} s, p99 {p99:.3f} s over {len(latencies)} "
            f"probes; probe errors {len(probe.errors)}",
        ),
        Figure("freshness p50", p50, "s"),
        Figure("freshness p99", p99, "s"),
        Figure(
            "customers of the load with stale figures after the queue drained",
            drain["stale"],
            "customers",
            goal="0 (no recompute lost)",
            met=drain["stale"] == 0,
            detail=f"{drain['touched']} customers received interactions; the queue drained "
            f"{drain['seconds']:.1f} s after the load stopped",
        ),
    ]
    notes = [
        f"gunicorn {options.web_workers} sync workers × {options.web_threads} thread(s), "
        "crm.settings.production; one Celery worker (solo pool); wrk, PostgreSQL, Redis and "
        "the bench on the same 2-core machine",
        f"query counts are in process with the test client: {queries}",
    ]
    if probe.errors:
        notes.append(f"probe errors (first 3): {probe.errors[:3]}")
    report(options.json, "ingest", figures, notes)
    print(f"total {time.monotonic() - started:.0f} s")


def drain_and_check(database_url: str, fixture: dict, started_at: float) -> dict:
    """Wait (at most 90 s) until no customer is stale; then count the ones left stale."""
    import psycopg2

    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    query = (
        "SELECT count(*) FILTER (WHERE figures_computed_version < figures_version), "
        "count(*) FILTER (WHERE figures_version > 0) FROM valuation_customerfigures"
    )
    with connection.cursor() as cursor:
        deadline = time.monotonic() + 90
        while True:
            cursor.execute(query)
            stale, touched = cursor.fetchone()
            if stale == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    connection.close()
    return {"stale": stale, "touched": touched, "seconds": time.monotonic() - started_at}


if __name__ == "__main__":
    main()
