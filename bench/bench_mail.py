"""Mail in (issue 16): importing an IMAP mailbox, the MTA pipe, the inbound HTTP endpoint, and
what an inbound message costs against an interaction POST.

Usage (real PostgreSQL, Redis and the test Dovecot of bin/services; its own database
crm_mail_bench, Celery queue crm_mail_bench, never consumed: the recomputes the messages
cause are queued and dropped at the end; installs Debian's `wrk` when it is missing):

    uv run python bench/bench_mail.py --json out.json [--imap-messages 10000] \\
        [--pipe-processes 20] [--pipe-calls 300] [--duration 10] [--rounds 2] \\
        [--connections 4] [--web-workers 5]

* **IMAP import.** A generated mailbox (`corpus`): 40 customers, a third of them writing
  from a second address of theirs, and strangers (10 %), in threads of one to five messages
  (replies carry In-Reply-To and References and quote what they answer), some with an HTML
  alternative, a small attachment, or an automatic reply. It is APPENDed to a fresh Dovecot
  user (untimed; each conversation in order on one of four connections), then one
  `mail.imap.mailbox_poll` in this process imports it: every message through `mail_receive`
  and moved to Processed, as the beat's task does in a worker. Messages/s of the poll, and
  every message checked stored once.
* **Pipe.** `python manage.py receive_email < message.eml` in a fresh process per message (as
  Postfix's pipe transport runs it; crm.settings.production), one after the other: messages/s
  and the process's start-up (`manage.py check`, same settings) that dominates it; then the
  same command's `receive` called in this process for --pipe-calls messages.
* **HTTP endpoint.** gunicorn (crm.settings.production, --web-workers sync workers, as the
  ingest bench serves the API) answers `POST /api/mail/inbound/` (the raw message,
  `Authorization: Bearer MAIL_INBOUND_TOKEN`) from `wrk` (--connections connections, each
  request a new message of a known customer, quoting the one it answers); interleaved with
  runs of `POST /api/interactions/` (an email inquiry of the same customers, token
  authentication) for --rounds rounds of --duration seconds. Only 201 answers count.
* **Cost.** Around each run the CPU time of the gunicorn workers and the PostgreSQL backends
  is read from /proc: CPU per inbound message against CPU per interaction POST, the parsing
  of the same messages (`mail.parsing.parse`, in this process) beside them. The issue's goal:
  an inbound message costs at most an interaction POST plus its parsing.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_ingest import (
    children_of,
    cpu_seconds,
    ensure_wrk,
    http_ok,
    run_wrk,
    server_env,
    wait_until,
)
from bench.common import ROOT, Figure, add_json_argument, django_setup, median, report
from devtools.processes import Processes, free_port
from tests.mailservers import (
    DOVECOT_CA_FILE,
    DOVECOT_DIR,
    ImapAccount,
    dovecot_ensure,
    imap_user_add,
)

DATABASE = "crm_mail_bench"
BROKER = os.environ.get("BENCH_MAIL_BROKER", "redis://127.0.0.1:6379/3")
QUEUE = "crm_mail_bench"
MAILBOX = "support@firm.example"
SUBJECTS = [
    "Where is my order?",
    "Question about the espresso blend",
    "Delivery address change",
    "Invoice for last month",
    "Grinder makes a noise",
    "Can I pause my subscription?",
    "Beans arrived damaged",
    "Do you ship to Austria?",
    "Wholesale prices for our office",
    "Thank you!",
]
OPENINGS = [
    "I ordered last week and have not heard anything since. Could you tell me when the "
    "parcel will arrive? The order number should be in your system under my address.",
    "We have been buying the house blend for a year now and would like to try something "
    "fruitier for the summer. What would you recommend for a moka pot?",
    "Our office moved to a new building. Please send the next deliveries to the new "
    "address, and let me know whether the subscription needs to be changed for that.",
    "The grinder I bought in spring started making a grinding noise when it starts. Is "
    "this covered by the warranty, and should I send it in or can someone look at it?",
]
FOLLOW_UPS = [
    "Any news on this? I would be grateful for a short answer.",
    "Thanks for getting back to me. One more question: can I pay by invoice?",
    "That works for us. Please go ahead.",
    "Sorry, I forgot to attach the photo. Here it is.",
]
# wrk's request bodies: a new message of a known customer each time (an id per thread and
# request, so every one is stored), quoting what it answers, like a real reply.
INBOUND_LUA = (
    r"""
local addresses = {%(addresses)s}
local headers = {["Content-Type"] = "message/rfc822", ["Authorization"] = "Bearer %(token)s"}
local counter = 0
local threads = 0

-- Message-IDs unique across threads and runs (runs of one script start seconds apart).
function setup(thread)
  threads = threads + 1
  thread:set("tid", os.time() * 100 + threads)
end

function init(args)
  math.randomseed(tid)
end

request = function()
  counter = counter + 1
  local from = addresses[math.random(#addresses)]
  local body = string.format(
    "From: %%s\r\nTo: %(mailbox)s\r\nSubject: Question %%d\r\nDate: %(date)s\r\n" ..
    "Message-ID: <%%d.%%d@bench.example>\r\nMIME-Version: 1.0\r\n" ..
    "Content-Type: text/plain; charset=utf-8\r\n\r\n%(text)s",
    from, counter, tid, counter)
  return wrk.format("POST", "/api/mail/inbound/", headers, body)
end
"""
    + (
        # The same summary line as the ingest bench's, which run_wrk reads.
        r"""
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
    )
)
POST_LUA = r"""
local customers = {%(customers)s}
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Token %(token)s"}
local counter = 0

request = function()
  counter = counter + 1
  local body = string.format(
    '{"customer": %%d, "channel": "email", "direction": "inbound", "type": "inquiry", ' ..
    '"subject": "Question %%d", "notes": "%(notes)s"}',
    customers[math.random(#customers)], counter)
  return wrk.format("POST", "/api/interactions/", headers, body)
end
""" + INBOUND_LUA[INBOUND_LUA.index("\ndone = function") :]


def lua_string(text: str) -> str:
    """`text` inside a Lua string literal that string.format reads as a format."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r")
    return text.replace("\n", "\\n").replace("%", "%%")


# ---------------------------------------------------------------------------------------------
# The generated mail


def people(count: int = 40) -> list[tuple[str, list[str]]]:
    """Customers: a name and their addresses (a third with a second one)."""
    rng = random.Random(16)
    first = ["Anna", "Bruno", "Clara", "David", "Elif", "Felix", "Greta", "Hugo", "Ines", "Jan"]
    last = ["Keller", "Rossi", "Meyer", "Novak", "Weber", "Costa", "Berg", "Lund", "Marin"]
    found = []
    for n in range(count):
        name = f"{rng.choice(first)} {rng.choice(last)}"
        local = name.lower().replace(" ", ".")
        addresses = [f"{local}.{n}@example.net"]
        if n % 3 == 0:
            addresses.append(f"{local.split('.')[0]}{n}@mail.example.org")
        found.append((name, addresses))
    return found


def corpus(count: int, known: list[tuple[str, list[str]]], *, seed: int = 7) -> list[list[bytes]]:
    """`count` messages in conversations (each a list, in the order they were written)."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=90)
    step = timedelta(days=90) / max(count, 1)
    strangers = [(f"Stranger {n}", [f"someone.{n}@elsewhere.example"]) for n in range(200)]
    attachment = bytes(rng.getrandbits(8) for _ in range(8000))
    conversations: list[list[bytes]] = []
    open_threads: list[dict] = []
    for n in range(count):
        when = start + n * step
        if open_threads and rng.random() < 0.45:
            thread = rng.choice(open_threads)
        else:
            name, addresses = rng.choice(strangers) if rng.random() < 0.1 else rng.choice(known)
            thread = {
                "name": name,
                "addresses": addresses,
                "subject": rng.choice(SUBJECTS),
                "ids": [],
                "last_text": "",
                "length": rng.choice([1, 1, 2, 2, 3, 4, 5]),
                "messages": [],
            }
            conversations.append(thread["messages"])
            open_threads.append(thread)
        message = EmailMessage()
        message["From"] = f"{thread['name']} <{rng.choice(thread['addresses'])}>"
        message["To"] = MAILBOX
        message["Date"] = format_datetime(when)
        message["Message-ID"] = f"<bench.{seed}.{n}.{secrets.token_hex(4)}@example.net>"
        auto = rng.random() < 0.02
        if auto:
            message["Subject"] = f"Out of office: {thread['subject']}"
            message["Auto-Submitted"] = "auto-replied"
            text = "I am out of the office until Monday and will answer your message then."
        elif thread["ids"]:
            message["Subject"] = f"Re: {thread['subject']}"
            message["In-Reply-To"] = thread["ids"][-1]
            message["References"] = " ".join(thread["ids"][-10:])
            quoted = "\n".join(f"> {line}" for line in thread["last_text"].splitlines())
            text = (
                f"{rng.choice(FOLLOW_UPS)}\n\nBest regards,\n{thread['name']}\n\n"
                f"On {format_datetime(when - step)}, {thread['name']} wrote:\n{quoted}\n"
            )
        else:
            message["Subject"] = thread["subject"]
            text = f"Hello,\n\n{rng.choice(OPENINGS)}\n\nBest regards,\n{thread['name']}\n"
        message.set_content(text)
        if rng.random() < 0.15:
            paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line)
            message.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        if rng.random() < 0.03:
            message.add_attachment(
                attachment, maintype="application", subtype="pdf", filename="photo.pdf"
            )
        thread["messages"].append(message.as_bytes(policy=policy.SMTP))
        if not auto:
            thread["ids"].append(message["Message-ID"])
            thread["last_text"] = text
        if len(thread["messages"]) >= thread["length"]:
            open_threads.remove(thread)
    return conversations


def imap_fill(account: ImapAccount, conversations: list[list[bytes]], connections: int) -> float:
    """APPEND every message; each conversation in order on one connection. Seconds taken."""
    shares = [conversations[i::connections] for i in range(connections)]
    errors: list[BaseException] = []

    def fill(share: list[list[bytes]]) -> None:
        try:
            client = account.connect()
            for conversation in share:
                for raw in conversation:
                    status, answer = client.append("INBOX", None, None, raw)
                    assert status == "OK", answer
            client.logout()
        except BaseException as error:  # reported by the caller
            errors.append(error)

    began = time.perf_counter()
    threads = [threading.Thread(target=fill, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began


# ---------------------------------------------------------------------------------------------
# The setup


def seed(known: list[tuple[str, list[str]]], account: ImapAccount) -> dict:
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from accounts.roles import Role
    from customers.services import customer_create, customer_email_add
    from mail.models import Mailbox, Security
    from mail.secrets import secret_encrypt

    manager = User.objects.create_user("manager", password=secrets.token_hex(16))
    manager.groups.add(Group.objects.get(name=Role.MANAGER))
    integration = User.objects.create_user("integration", password=secrets.token_hex(16))
    integration.groups.add(Group.objects.get(name=Role.SUPPORT))
    customer_ids = []
    for name, addresses in known:
        customer = customer_create(name=name, owner=manager, email=addresses[0])
        for other in addresses[1:]:
            customer_email_add(customer=customer, address=other)
        customer_ids.append(customer.pk)
    mailbox = Mailbox.objects.create(
        name="Support",
        address=MAILBOX,
        is_default=True,
        imap_host=account.host,
        imap_port=account.port,
        imap_security=Security.STARTTLS,
        imap_user=account.user,
        imap_password_encrypted=secret_encrypt(account.password),
    )
    return {
        "token": Token.objects.create(user=integration).key,
        "customers": customer_ids,
        "mailbox_id": mailbox.pk,
    }


class StackMeter:
    """CPU seconds of the gunicorn workers and the database's backends (same machine)."""

    def __init__(self, database_url: str, web_pid: int):
        import psycopg2

        self.monitor = psycopg2.connect(database_url)
        self.monitor.autocommit = True
        self.web_pid = web_pid

    def read(self) -> dict[str, dict[int, float]]:
        with self.monitor.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            backends = [pid for (pid,) in cursor.fetchall()]
        return {
            "web": {pid: cpu_seconds(pid) for pid in children_of(self.web_pid)},
            "postgres": {pid: cpu_seconds(pid) for pid in backends},
        }

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        return {
            part: sum(after[part][pid] - before[part].get(pid, 0.0) for pid in after[part])
            for part in after
        }

    def count(self, table: str) -> int:
        with self.monitor.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # our own table names
            return cursor.fetchone()[0]


# ---------------------------------------------------------------------------------------------
# The measurements


def bench_imap(fixture: dict, account: ImapAccount, conversations, connections: int) -> dict:
    from mail import imap
    from mail.models import Mailbox, Message

    total = sum(len(c) for c in conversations)
    append_seconds = imap_fill(account, conversations, connections)
    print(f"appended {total} messages in {append_seconds:.1f} s", flush=True)
    mailbox = Mailbox.objects.get(pk=fixture["mailbox_id"])
    before = Message.objects.count()
    began, cpu = time.perf_counter(), time.process_time()
    result = imap.mailbox_poll(mailbox, force=True)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    stored = Message.objects.count() - before
    left = len(account.messages("INBOX"))
    print(f"IMAP poll: {result} in {seconds:.1f} s; {left} left in INBOX", flush=True)
    if result.error or stored != total or left:
        raise RuntimeError(f"the poll did not import every message once: {result}, {stored}")
    return {
        "messages": total,
        "seconds": seconds,
        "rate": total / seconds,
        "cpu_ms": 1000 * cpu / total,
        "append_rate": total / append_seconds,
        "threads": len(conversations),
    }


def bench_pipe(messages: list[bytes], processes: int, calls: int, env: dict) -> dict:
    import io

    from mail.management.commands.receive_email import Command

    # A fresh process per message, one after the other, as the MTA runs the pipe.
    spawned = messages[:processes]
    began = time.perf_counter()
    for raw in spawned:
        done = subprocess.run(
            [sys.executable, "manage.py", "receive_email"],
            input=raw,
            capture_output=True,
            cwd=ROOT,
            env=env,
        )
        if done.returncode != 0:
            raise RuntimeError(f"receive_email exited {done.returncode}: {done.stderr[-500:]}")
    per_process = (time.perf_counter() - began) / len(spawned)
    began = time.perf_counter()
    for _ in range(2):
        subprocess.run(
            [sys.executable, "manage.py", "check"], capture_output=True, cwd=ROOT, env=env
        )
    start_up = (time.perf_counter() - began) / 2
    # The same command's work without the process around it.
    command = Command(stdout=io.StringIO(), stderr=io.StringIO())
    in_process = messages[processes : processes + calls]
    began, cpu = time.perf_counter(), time.process_time()
    for raw in in_process:
        status = command.receive(io.BytesIO(raw), mailbox_address=None)
        if status != 0:
            raise RuntimeError(f"receive returned {status}")
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return {
        "process_rate": 1 / per_process,
        "process_seconds": per_process,
        "start_up": start_up,
        "processes": len(spawned),
        "call_rate": len(in_process) / seconds,
        "call_cpu_ms": 1000 * cpu / len(in_process),
        "calls": len(in_process),
    }


def parse_cost(messages: list[bytes]) -> float:
    """CPU milliseconds of `mail.parsing.parse` per message."""
    from mail import parsing

    for raw in messages[:20]:
        parsing.parse(raw)  # warm
    cpu = time.process_time()
    for raw in messages:
        parsing.parse(raw)
    return 1000 * (time.process_time() - cpu) / len(messages)


def queries_each(fixture: dict, raw: bytes) -> dict:
    """SQL queries of one inbound message and of one interaction POST, in process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from mail.inbound import mail_receive

    with CaptureQueriesContext(connection) as inbound:
        assert mail_receive(raw, via="pipe").created
    client = Client(HTTP_AUTHORIZATION=f"Token {fixture['token']}", SERVER_NAME="localhost")
    payload = {
        "customer": fixture["customers"][0],
        "channel": "email",
        "direction": "inbound",
        "type": "inquiry",
        "subject": "Question",
        "notes": "When will my order arrive?",
    }
    client.post("/api/interactions/", payload, content_type="application/json")  # warm
    with CaptureQueriesContext(connection) as post:
        response = client.post("/api/interactions/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    return {"inbound": len(inbound), "post": len(post)}


def bench_http(fixture: dict, known, options, database_url: str, work: Path) -> dict:
    wrk = ensure_wrk()
    token = secrets.token_urlsafe(24)
    env = {
        **server_env(database_url),
        "CELERY_QUEUE": QUEUE,
        "CELERY_BROKER_URL": BROKER,
        "MAIL_INBOUND_TOKEN": token,
        "MAIL_INBOUND_RATE": "100000000/minute",
        "MEDIA_ROOT": os.environ["MEDIA_ROOT"],
    }
    text = (
        "Thanks for the quick answer. Could you also tell me whether the beans are roasted "
        "to order, and how long they keep once opened?\n\nBest regards,\nAnna\n\n"
        "On Tue, 1 Dec 2026 10:00:00 +0000, Support wrote:\n"
        + "".join(
            f"> {line}\n"
            for line in (
                "Your order left our roastery this morning and should arrive within two",
                "working days. You will find the tracking link in the shipping note.",
            )
        )
    )
    addresses = [address for _, addresses in known for address in addresses]
    inbound_script, post_script = work / "inbound.lua", work / "post.lua"
    inbound_script.write_text(
        INBOUND_LUA
        % {
            "addresses": ",".join(f'"{a}"' for a in addresses),
            "token": token,
            "mailbox": MAILBOX,
            "date": format_datetime(datetime.now(UTC)),
            "text": lua_string(text.replace("\n", "\r\n")),
        }
    )
    post_script.write_text(
        POST_LUA
        % {
            "customers": ",".join(map(str, fixture["customers"])),
            "token": fixture["token"],
            "notes": lua_string(json.dumps(text)[1:-1]),  # inside a JSON string
        }
    )
    processes = Processes()
    try:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        web = processes.start(
            "gunicorn",
            [
                *(sys.executable, "-m", "gunicorn", "crm.wsgi"),
                *("--bind", f"127.0.0.1:{port}", "--workers", str(options.web_workers)),
                *("--backlog", "2048"),
            ],
            env=env,
            log_path=work / "gunicorn.log",
            session=True,
        )
        # Up when it answers; /healthz would say 503 (no worker runs here), its sign-in
        # page says 200.
        wait_until(lambda: http_ok(base_url + "/accounts/login/") or not web.is_alive(), 60, "web")
        if not web.is_alive():
            raise RuntimeError(f"gunicorn stopped; see {work / 'gunicorn.log'}")
        meter = StackMeter(database_url, web.pid)
        # Warm up both paths (each worker imports the URLconf on its first requests).
        for script in (inbound_script, post_script):
            run_wrk(wrk, script, base_url, options.connections, 3)
        runs: dict[str, list] = {"inbound": [], "post": []}
        for round_ in range(options.rounds):
            for kind, script, table in (
                ("inbound", inbound_script, "mail_message"),
                ("post", post_script, "interactions_interaction"),
            ):
                rows = meter.count(table)
                before = meter.read()
                result = run_wrk(wrk, script, base_url, options.connections, options.duration)
                result["cpu"] = meter.spent(before, meter.read())
                result["landed"] = meter.count(table) - rows
                runs[kind].append(result)
            print(
                f"round {round_ + 1}: inbound {runs['inbound'][-1]['rows_per_s']:.1f}/s, "
                f"interaction POST {runs['post'][-1]['rows_per_s']:.1f}/s",
                flush=True,
            )
    finally:
        processes.stop_all()
    return runs


def cpu_per(runs: list[dict]) -> dict[str, float]:
    done = sum(r["ok"] for r in runs)
    parts = runs[0]["cpu"]
    return {part: 1000 * sum(r["cpu"][part] for r in runs) / max(done, 1) for part in parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_json_argument(parser)
    parser.add_argument("--imap-messages", type=int, default=10_000)
    parser.add_argument("--pipe-processes", type=int, default=10)
    parser.add_argument("--pipe-calls", type=int, default=300)
    parser.add_argument("--duration", type=float, default=8, help="seconds per HTTP run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument(
        "--web-workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers"
    )
    options = parser.parse_args()

    started = time.monotonic()
    dovecot_ensure()
    work = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    os.environ.update(
        {
            "CELERY_BROKER_URL": BROKER,
            "CELERY_QUEUE": QUEUE,
            "MAIL_IMAP_CA_FILE": str(DOVECOT_CA_FILE),
            "MEDIA_ROOT": str(work / "media"),
        }
    )
    database_url = django_setup(DATABASE)
    print(f"database ready in {time.monotonic() - started:.0f} s", flush=True)
    account = ImapAccount(user=f"bench{secrets.token_hex(4)}", password=secrets.token_urlsafe(12))
    imap_user_add(account.user, account.password)
    known = people()
    fixture = seed(known, account)
    import redis

    queue = redis.Redis.from_url(BROKER)
    queue.delete(QUEUE)
    previous_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        conversations = corpus(options.imap_messages, known)
        flat = [raw for conversation in conversations for raw in conversation]
        more = corpus(options.pipe_processes + options.pipe_calls + 1, known, seed=8)
        spare = [raw for conversation in more for raw in conversation]
        parse_ms = parse_cost(flat[:1000])
        imap_run = bench_imap(fixture, account, conversations, connections=4)
        queries = queries_each(fixture, spare[-1])
        from django.db import connections

        connections.close_all()
        pipe_env = {
            **server_env(database_url),
            "CELERY_QUEUE": QUEUE,
            "CELERY_BROKER_URL": BROKER,
            "MEDIA_ROOT": os.environ["MEDIA_ROOT"],
        }
        clock = time.monotonic()
        pipe = bench_pipe(spare, options.pipe_processes, options.pipe_calls, pipe_env)
        print(f"pipe measured in {time.monotonic() - clock:.0f} s", flush=True)
        connections.close_all()
        clock = time.monotonic()
        http = bench_http(fixture, known, options, database_url, work)
        print(f"HTTP measured in {time.monotonic() - clock:.0f} s", flush=True)
    except BaseException:
        print(f"logs are in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        queue.delete(QUEUE)
        shutil.rmtree(DOVECOT_DIR / "mail" / account.user, ignore_errors=True)

    inbound_rate = median(r["rows_per_s"] for r in http["inbound"])
    post_rate = median(r["rows_per_s"] for r in http["post"])
    inbound_cpu, post_cpu = cpu_per(http["inbound"]), cpu_per(http["post"])
    inbound_ms, post_ms = sum(inbound_cpu.values()), sum(post_cpu.values())
    failed = sum(r["status_errors"] + r["socket_errors"] for k in http for r in http[k])

    def runs_text(kind: str) -> str:
        return ", ".join(f"{r['rows_per_s']:.1f}" for r in http[kind])

    figures = [
        Figure(
            f"IMAP import of a {imap_run['messages']:,}-message mailbox",
            imap_run["rate"],
            "messages/s",
            detail=f"{imap_run['seconds']:.1f} s for one poll in process (fetch, mail_receive, "
            f"move to Processed), {imap_run['threads']:,} conversations; CPU in the poller "
            f"{imap_run['cpu_ms']:.1f} ms a message; every message stored once, the folder left "
            f"empty; APPEND of the mailbox (untimed setup) {imap_run['append_rate']:.0f}/s",
        ),
        Figure(
            "pipe: receive_email, a process per message",
            pipe["process_rate"],
            "messages/s",
            detail=f"{pipe['processes']} processes one after the other, "
            f"{1000 * pipe['process_seconds']:.0f} ms each, of which the start-up of "
            f"manage.py (check, same settings) is {1000 * pipe['start_up']:.0f} ms",
        ),
        Figure(
            "pipe: receive_email's work in process",
            pipe["call_rate"],
            "messages/s",
            detail=f"{pipe['calls']} calls of the command's receive; "
            f"{pipe['call_cpu_ms']:.1f} ms CPU each",
        ),
        Figure(
            "HTTP: POST /api/mail/inbound/",
            inbound_rate,
            "messages/s",
            detail=f"median of {options.rounds} runs of {options.duration:g} s at "
            f"{options.connections} connections: {runs_text('inbound')}; 201 answers / messages "
            "stored: " + ", ".join(f"{r['ok']}/{r['landed']}" for r in http["inbound"]),
        ),
        Figure(
            "POST /api/interactions/ (email inquiry), same run",
            post_rate,
            "requests/s",
            detail=f"runs: {runs_text('post')}; failed requests in all runs {failed}",
        ),
        Figure(
            "CPU per inbound message ÷ (interaction POST + parsing)",
            inbound_ms / (post_ms + parse_ms),
            "×",
            goal="≤ 1 (an inbound message costs at most an interaction POST plus its parsing)",
            met=inbound_ms <= post_ms + parse_ms and failed == 0,
            detail=f"inbound {inbound_ms:.1f} ms ("
            + ", ".join(f"{p} {ms:.1f}" for p, ms in inbound_cpu.items())
            + f"), interaction POST {post_ms:.1f} ms ("
            + ", ".join(f"{p} {ms:.1f}" for p, ms in post_cpu.items())
            + f"), parsing {parse_ms:.2f} ms a message (mail.parsing.parse over the corpus)",
        ),
        Figure(
            "SQL queries per inbound message",
            queries["inbound"],
            "queries",
            detail=f"mail_receive of a known customer's new message; an interaction POST: "
            f"{queries['post']}",
        ),
    ]
    notes = [
        f"gunicorn {options.web_workers} sync workers, crm.settings.production; no Celery "
        "worker (the recomputes are queued and dropped); wrk, PostgreSQL, Dovecot and the "
        "bench on the same machine",
    ]
    report(options.json, "mail", figures, notes)
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
