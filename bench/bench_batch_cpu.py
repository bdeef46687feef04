"""Web-process CPU per item of POST /api/interactions/batch/, in one process (issue 17).

A tool for working on the batch path, not a bin/bench section. Usage (real PostgreSQL and
Redis; the database crm_request_bench<BENCH_DATABASE_SUFFIX> is dropped and made afresh):

    BENCH_DATABASE_SUFFIX=_mine BENCH_REQUEST_BROKER=redis://127.0.0.1:6379/11 \
        uv run python bench/bench_batch_cpu.py [--batches 8] [--items 500] [--profile]

It runs Django's full request handler in this process with production settings (as
bench/bench_request.py, whose setup it reuses) and posts --batches batches of --items items,
the ingest bench's mix (bench_ingest.payloads: 80 % orders with one line, 15 % inquiries,
5 % inquiries teaching a fact) over 2,000 customers. CPU is `time.process_time()` around each
request (JSON encoding of the bodies is done before); the figure is the median per item.
Only the web process is measured: the valuation fold runs in the request (an event
subscriber), the recompute is woken by PostgreSQL at commit and is not run here.
`--profile` prints a cProfile of further batches, sorted by cumulative and by own time.
"""

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def batches(fixture: dict, size: int):
    from bench.bench_ingest import payloads

    customers = fixture["load_customers"]
    kinds = ["order"] * 16 + ["inquiry"] * 3 + ["inquiry with a fact"]
    counter = 0
    while True:
        items = []
        for _ in range(size):
            customer = customers[counter % len(customers)]
            items.append(payloads(fixture, customer)[kinds[counter % len(kinds)]])
            counter += 1
        yield json.dumps({"items": items})


def post(client, body: str, size: int) -> None:
    response = client.post("/api/interactions/batch/", body, content_type="application/json")
    if response.status_code != 200:
        raise SystemExit(f"answered {response.status_code}: {response.content[:300]!r}")
    results = response.json()["results"]
    refused = [r for r in results if r.get("errors")]
    if len(results) != size or refused:
        raise SystemExit(f"{len(refused)} refused, e.g. {refused[:1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from bench import bench_request as b

    b.setup_django()
    b.floor_urls()  # its URLconf: the project's URLs (and its floor, unused here)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    fixture = b.seed(args.customers)
    client = Client(HTTP_AUTHORIZATION=f"Token {fixture['token']}", SERVER_NAME="localhost")
    bodies = batches(fixture, args.items)
    post(client, next(bodies), args.items)  # warm: imports, caches
    per_item = []
    for _ in range(args.batches):
        body = next(bodies)
        started = time.process_time()
        post(client, body, args.items)
        per_item.append((time.process_time() - started) / args.items * 1000)
    with CaptureQueriesContext(connection) as captured:
        post(client, next(bodies), args.items)
    print(
        f"batch POST, web CPU per item: {statistics.median(per_item):.3f} ms "
        f"(median of {args.batches} batches of {args.items}; "
        f"{', '.join(f'{x:.3f}' for x in per_item)}); {len(captured)} queries a batch"
    )
    if args.profile:
        profiler = cProfile.Profile(time.process_time)
        for _ in range(3):
            body = next(bodies)
            profiler.enable()
            post(client, body, args.items)
            profiler.disable()
        for order in ("cumulative", "tottime"):
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(50)
            print(stream.getvalue())


if __name__ == "__main__":
    main()
