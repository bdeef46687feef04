"""What every benchmark shares: its own PostgreSQL database, medians, and one result format.

Each `bench/bench_*.py` is a script that `bench/run.py` starts in its own process (so that each
can set up Django against its own database) with `--json FILE`; it writes its figures there and
prints them. `bench/run.py` gathers the files into BENCHMARKS.md.
"""

import json
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
# Appended to every benchmark's database name, so that runs side by side keep apart.
SUFFIX = os.environ.get("BENCH_DATABASE_SUFFIX", "")


@dataclass
class Figure:
    """One measured figure. `goal` is the SPEC §8 goal in words (empty when there is none),
    `met` whether this run meets it (None when there is no goal)."""

    name: str
    value: float
    unit: str
    goal: str = ""
    met: bool | None = None
    detail: str = ""


def database_url(name: str) -> str:
    return f"{POSTGRES}/{name}"


def fresh_database(name: str) -> str:
    """Drop and create database `name`; returns its URL."""
    import psycopg2

    admin = psycopg2.connect(database_url("postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return database_url(name)


def django_setup(database: str, *, fresh: bool = True, migrate: bool = True) -> str:
    """Point Django (test settings: DEBUG off, real PostgreSQL) at `database` and set it up."""
    sys.path.insert(0, str(ROOT))
    database += SUFFIX
    url = fresh_database(database) if fresh else database_url(database)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.test")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return url


def median(values) -> float:
    return float(statistics.median(values))


def add_json_argument(parser) -> None:
    parser.add_argument("--json", help="write the figures to this file (for bench/run.py)")


def report(path: str | None, bench: str, figures: list[Figure], notes: list[str] = ()) -> None:
    """Print the figures and, with a path, write them as JSON for bench/run.py."""
    for figure in figures:
        verdict = "" if figure.met is None else (" [met]" if figure.met else " [MISSED]")
        goal = f"  goal: {figure.goal}" if figure.goal else ""
        print(f"{figure.name}: {figure.value:.4g} {figure.unit}{goal}{verdict}")
        if figure.detail:
            print(f"    {figure.detail}")
    for note in notes:
        print(f"note: {note}")
    if path:
        Path(path).write_text(
            json.dumps(
                {"bench": bench, "figures": [asdict(f) for f in figures], "notes": list(notes)},
                indent=2,
            )
        )
