"""CPU of one interaction POST against a minimal DRF create view, in one process (issue 17).

Usage (real PostgreSQL and Redis; its own database crm_request_bench, Redis db 4):

    uv run python bench/bench_request.py --json out.json [--requests 400] [--rounds 5] [--profile]

Both sides run in this process through Django's full request handler (the project's
middleware, DRF's parsing, the project's authentication, permission and throttle defaults),
with production settings (DEBUG off), the same token and the same database:

* **The floor**: a DRF `APIView` with the project's defaults and nothing else, defined here and
  not in the app. It validates a two-field serializer and INSERTs one row in a transaction
  (a table of its own, created here), and answers 201 with the row's id.
* **The interaction POST**: `/api/interactions/` with the three payloads of the ingest bench
  (an order with one line, an inquiry, an inquiry that teaches a fact), in rotation over
  2,000 customers.

CPU is `time.process_time()` around blocks of --requests requests of one side; the sides
alternate for --rounds rounds and the figure is the median of the per-round ratios. Only the
web process is measured: the recompute is only queued (to Redis, as in production), and the
database server's CPU is another process. `--profile` also prints where an interaction POST's
time goes (cProfile, grouped by part of the request path) for the closing notes.
"""

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, add_json_argument, fresh_database, median, report

DATABASE = "crm_request_bench"
BROKER = os.environ.get("BENCH_REQUEST_BROKER", "redis://127.0.0.1:6379/4")
GOAL = 3.0


def setup_django() -> None:
    from bench.common import SUFFIX

    url = fresh_database(DATABASE + SUFFIX)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "crm.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": BROKER,
            "CELERY_QUEUE": "crm_request",
            "API_THROTTLE_USER": "100000000/minute",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.bench_request"
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# The floor view and this module as the URLconf: the project's URLs plus the floor.
urlpatterns: list = []


def floor_urls() -> None:
    from django.db import connection, transaction
    from django.urls import include, path
    from rest_framework import serializers, status
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class FloorInput(serializers.Serializer):
        customer = serializers.IntegerField()
        subject = serializers.CharField(max_length=200)

    class FloorCreate(APIView):
        def post(self, request):
            serializer = FloorInput(data=request.data)
            serializer.is_valid(raise_exception=True)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_floor (customer_id, subject) VALUES (%s, %s) RETURNING id",
                    [serializer.validated_data["customer"], serializer.validated_data["subject"]],
                )
                (row_id,) = cursor.fetchone()
            return Response({"id": row_id}, status=status.HTTP_201_CREATED)

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor "
            "(id bigserial PRIMARY KEY, customer_id integer NOT NULL, subject text NOT NULL)"
        )
    # Django imports this file as bench.bench_request, apart from __main__.
    from bench import bench_request

    bench_request.urlpatterns[:] = [
        path("bench/floor/", FloorCreate.as_view()),
        path("", include("crm.urls")),
    ]


def seed(customers: int) -> dict:
    from bench.bench_ingest import seed as ingest_seed

    return ingest_seed(customers, 0)


def requests_of(fixture: dict):
    from bench.bench_ingest import payloads

    customers = fixture["load_customers"]
    kinds = ["order"] * 16 + ["inquiry"] * 3 + ["inquiry with a fact"]
    counter = 0
    while True:
        customer = customers[counter % len(customers)]
        kind = kinds[counter % len(kinds)]
        counter += 1
        yield payloads(fixture, customer)[kind]


def run_block(client, url: str, bodies, count: int) -> float:
    import json

    encoded = [json.dumps(next(bodies)) for _ in range(count)]
    started = time.process_time()
    for body in encoded:
        response = client.post(url, body, content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]}")
    return (time.process_time() - started) / count


PARTS = [
    # (part, a substring of the profiled function's file:name), first match wins.
    ("JSON parsing", "parsers.py"),
    ("authentication", "authentication.py"),
    ("permissions and role", "has_perm"),
    ("throttling", "throttling.py"),
    ("input validation", "serializers.py"),
    ("the service (interaction_log)", "interaction_log"),
    ("read-back and reply", "to_representation"),
    ("middleware", "middleware"),
]


def profile(client, fixture: dict, count: int) -> list[str]:
    """Cumulative time of the main parts of the path, from one cProfile of `count` POSTs."""
    import json

    bodies = requests_of(fixture)
    encoded = [json.dumps(next(bodies)) for _ in range(count)]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for body in encoded:
        client.post("/api/interactions/", body, content_type="application/json")
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(45)
    return stream.getvalue().splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests per block")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    add_json_argument(parser)
    args = parser.parse_args()

    setup_django()
    floor_urls()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    fixture = seed(args.customers)
    client = Client(HTTP_AUTHORIZATION=f"Token {fixture['token']}", SERVER_NAME="localhost")
    floor_bodies = iter(
        {"customer": c, "subject": "Web order"}
        for c in (fixture["load_customers"] * 10_000)  # endless enough
    )
    post_bodies = requests_of(fixture)
    # Warm both (imports, URL resolution, prepared caches).
    run_block(client, "/bench/floor/", floor_bodies, 50)
    run_block(client, "/api/interactions/", post_bodies, 50)

    floors, posts, ratios = [], [], []
    for _ in range(args.rounds):
        floor = run_block(client, "/bench/floor/", floor_bodies, args.requests)
        post = run_block(client, "/api/interactions/", post_bodies, args.requests)
        floors.append(floor)
        posts.append(post)
        ratios.append(post / floor)
    queries = {}
    from bench.bench_ingest import payloads

    for kind, body in payloads(fixture, fixture["load_customers"][1]).items():
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/interactions/", body, content_type="application/json")
        assert response.status_code == 201, response.content
        queries[kind] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        client.post("/bench/floor/", next(floor_bodies), content_type="application/json")
    floor_queries = len(captured)

    ratio = median(ratios)
    figures = [
        Figure(
            "interaction POST CPU ÷ minimal DRF create view",
            ratio,
            "×",
            goal=f"≤ {GOAL:g} (the same process and run)",
            met=ratio <= GOAL,
            detail=f"median of {args.rounds} interleaved blocks of {args.requests} requests; "
            f"ratios {', '.join(f'{r:.2f}' for r in ratios)}",
        ),
        Figure(
            "interaction POST, CPU per request",
            median(posts) * 1000,
            "ms",
            detail="web process only, in process through the full handler; 80 % orders with "
            "one line, 15 % inquiries, 5 % inquiries teaching a fact",
        ),
        Figure(
            "minimal DRF create view, CPU per request",
            median(floors) * 1000,
            "ms",
            detail=f"token auth, the project's DRF defaults, one INSERT in a transaction; "
            f"{floor_queries} queries",
        ),
        Figure(
            "SQL queries per interaction POST (order with one line)",
            queries["order"],
            "queries",
            detail=", ".join(f"{k}: {v}" for k, v in queries.items()),
        ),
    ]
    notes = [
        "production settings (DEBUG off), one process; the recompute is woken by PostgreSQL at "
        "commit (NOTIFY, valuation.wakeup), so neither side sends to the broker"
    ]
    if args.profile:
        print("\n".join(profile(client, fixture, args.requests)))
    report(args.json, "request", figures, notes)


if __name__ == "__main__":
    main()
