"""Run every benchmark and write BENCHMARKS.md (SPEC §8). Started by `bin/bench`.

Each benchmark runs in its own process against its own PostgreSQL database (and, where it
needs them, its own Redis database, gunicorn and Celery workers), writes its figures as JSON,
and this script gathers them with the machine they were taken on. Every figure that has a
SPEC §8 goal is shown beside it. Ratios are taken within one benchmark run, so the noise of a
shared machine hits both sides alike.

    uv run python bench/run.py [--quick] [--only NAME ...] [--keep] [--output BENCHMARKS.md]

--keep (with --only) keeps the other benchmarks' last results from var/bench/, each section
saying when and at which commit it was measured.

--quick runs every benchmark at small sizes (a smoke run in a few minutes; its figures do not
answer the goals, and the file says so).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each benchmark's log and figures (BENCH_LOGS: elsewhere, as the runner's own test does).
LOGS = Path(os.environ.get("BENCH_LOGS", ROOT / "var" / "bench"))


# The import section's file (bench_import.py; a million on demand).
IMPORT_ROWS = 200_000

# name, title, script, full-size arguments, quick arguments
BENCHMARKS = [
    (
        "ingest",
        "Ingest and freshness",
        "bench_ingest.py",
        [],
        ["--duration", "4", "--rounds", "1", "--customers", "200"],
    ),
    (
        "request",
        "One interaction POST against a minimal DRF view",
        "bench_request.py",
        [],
        ["--requests", "100", "--rounds", "2", "--customers", "300"],
    ),
    ("recompute", "Recompute cost against history", "bench_recompute.py", [], ["--runs", "5"]),
    (
        "workspace",
        "Portfolio page and to-do list",
        "bench_workspace.py",
        [],
        ["--large", "3000", "--small", "300", "--days", "10", "--runs", "3"],
    ),
    (
        "service_levels",
        "Support desk at 100,000 open items",
        "bench_service_levels.py",
        [],
        ["--items", "5000", "--customers", "500", "--runs", "3"],
    ),
    (
        "fit",
        "Population model fit",
        "bench_fit.py",
        [],
        ["--customers", "50000", "--rounds", "1"],
    ),
    (
        "mail",
        "Mail in: IMAP, pipe, HTTP endpoint",
        "bench_mail.py",
        [],
        [
            *("--imap-messages", "500", "--pipe-processes", "3", "--pipe-calls", "50"),
            *("--duration", "3", "--rounds", "1"),
        ],
    ),
    (
        "nightly",
        "Nightly recompute",
        "bench_nightly.py",
        [],
        ["--customers", "3000", "--runs", "1", "--million", "20000"],
    ),
    (
        "import",
        "Import of transaction rows",
        "bench_import.py",
        # A fifth of issue 20's million (about 30 s with its re-import, where the million
        # takes 3-4 min): its figure shows the trend, the goal is answered on demand by
        # `uv run python bench/bench_import.py --rows 1000000 --customers 50000`.
        ["--rows", str(IMPORT_ROWS), "--customers", str(IMPORT_ROWS // 20)],
        ["--rows", "20000", "--customers", "1000"],
    ),
    (
        "webhooks",
        "Webhooks",
        "bench_webhooks.py",
        [],
        ["--paced-seconds", "4", "--burst", "200", "--down-seconds", "8", "--kill-events", "20"],
    ),
]


def machine() -> dict:
    def first(path: str, prefix: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    def version(command: list[str]) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"

    server = version(["redis-cli", "-h", "127.0.0.1", "INFO", "server"]).splitlines()
    redis = next(
        (line.split(":", 1)[1] for line in server if line.startswith("redis_version:")),
        "unknown",
    )
    commit = version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = version(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    return {
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory": _gib(first("/proc/meminfo", "MemTotal")),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": version(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]
        ),
        "redis": redis,
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
    }


def _gib(kilobytes: str) -> str:
    try:
        return f"{int(kilobytes.split()[0]) / 2**20:.0f} GiB"
    except (ValueError, IndexError):
        return kilobytes


def run_one(
    name: str, script: str, arguments: list[str], *, quick: bool = False
) -> tuple[dict | None, float, Path]:
    LOGS.mkdir(parents=True, exist_ok=True)
    result_path = LOGS / f"{name}.json"
    log_path = LOGS / f"{name}.log"
    result_path.unlink(missing_ok=True)
    command = [sys.executable, str(ROOT / "bench" / script), "--json", str(result_path)]
    command += arguments
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    with open(log_path, "w") as log:
        # The benchmark's own output goes to its log and, line by line, to the terminal.
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout:
            log.write(line)
            if "axes." not in line:
                print(f"   {line}", end="", flush=True)
        process.wait()
    elapsed = time.perf_counter() - started
    if process.returncode != 0 or not result_path.exists():
        print(f"== {name} FAILED (exit {process.returncode}); see {log_path}", flush=True)
        return None, elapsed, log_path
    result = json.loads(result_path.read_text())
    # When and on what it ran, for a later partial run that keeps this section (--keep).
    result["measured"] = {
        "at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "commit": machine()["commit"],
        "seconds": elapsed,
        "quick": quick,
    }
    result_path.write_text(json.dumps(result, indent=2))
    return result, elapsed, log_path


def kept(name: str) -> tuple[dict | None, float]:
    """The last recorded result of a benchmark this run does not repeat (--keep)."""
    path = LOGS / f"{name}.json"
    if not path.exists():
        return None, 0.0
    result = json.loads(path.read_text())
    if "measured" not in result or result["measured"].get("quick", False):
        return None, 0.0  # a quick run's figures never stand for the goals
    return result, result["measured"]["seconds"]


def _value(figure: dict) -> str:
    value, unit = figure["value"], figure["unit"]
    if unit in ("queries", "customers", "requests", "") and float(value).is_integer():
        text = f"{int(value):,}"
    elif unit == "" or abs(value) < 0.01:
        text = f"{value:.3g}"
    else:
        text = f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def _verdict(figure: dict) -> str:
    return {True: "met", False: "**missed**", None: ""}[figure["met"]]


def markdown(results: list, quick: bool, started: datetime, seconds: float) -> str:
    info = machine()
    lines = [
        "# Benchmarks",
        "",
        "Generated by `bin/bench` (bench/run.py); do not edit by hand. Goals are SPEC §8's.",
        "Each figure is a median of several runs; a ratio compares two sides measured in the",
        "same run. How each one is measured: [docs/benchmarks.md](docs/benchmarks.md).",
        "",
    ]
    if quick:
        lines += [
            "> **Quick run** (`--quick`): small sizes for a smoke test. These figures do not "
            "answer the goals.",
            "",
        ]
    lines += [
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; the whole run took {seconds / 60:.1f} min",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory']} memory, "
        f"{info['system']}",
        f"- Python {info['python']}, PostgreSQL {info['postgresql']}, Redis {info['redis']}",
        f"- Commit: {info['commit']}",
    ]
    kept_names = [title for _, title, result, _, _ in results if result and result.get("kept")]
    if kept_names:
        ran = [title for _, title, result, _, _ in results if not (result and result.get("kept"))]
        lines += [
            f"- This run: {', '.join(ran)}; kept from earlier runs (`--keep`, each section says "
            f"when and at which commit): {', '.join(kept_names)}",
        ]
    lines += [
        "",
        "## Goals",
        "",
        "| benchmark | figure | measured | goal | |",
        "|---|---|---|---|---|",
    ]
    for name, title, result, _, _ in results:
        if result is None:
            lines.append(f"| {title} | (the benchmark failed: see var/bench/{name}.log) | | | |")
            continue
        for figure in result["figures"]:
            if figure["goal"]:
                lines.append(
                    f"| {title} | {figure['name']} | {_value(figure)} | {figure['goal']} "
                    f"| {_verdict(figure)} |"
                )
    for name, title, result, elapsed, script in results:
        lines += ["", f"## {title}", "", f"`bench/{script}`, {elapsed:.0f} s.", ""]
        if result is not None and result.get("kept"):
            measured = result["measured"]
            lines[-1:] = [
                f"Kept from an earlier run (`--keep`): measured {measured['at']} at commit "
                f"{measured['commit']}.",
                "",
            ]
        if result is None:
            lines.append(f"The benchmark failed; its output is in `var/bench/{name}.log`.")
            continue
        lines += ["| figure | measured | goal | | how |", "|---|---|---|---|---|"]
        for figure in result["figures"]:
            lines.append(
                f"| {figure['name']} | {_value(figure)} | {figure['goal']} | {_verdict(figure)} "
                f"| {figure['detail']} |"
            )
        for note in result.get("notes", []):
            lines += ["", note]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument(
        "--keep",
        action="store_true",
        help="with --only: keep the other benchmarks' last results (var/bench), each marked "
        "with when and at which commit it was measured",
    )
    options = parser.parse_args()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    results = []
    for name, title, script, full, quick in BENCHMARKS:
        if options.only and name not in options.only:
            if options.keep:
                result, elapsed = kept(name)
                if result is not None:
                    results.append((name, title, {**result, "kept": True}, elapsed, script))
            continue
        result, elapsed, _ = run_one(
            name, script, quick if options.quick else full, quick=options.quick
        )
        results.append((name, title, result, elapsed, script))
    Path(options.output).write_text(
        markdown(results, options.quick, started, time.perf_counter() - clock)
    )
    print(f"wrote {options.output}")
    return 1 if any(result is None for _, _, result, _, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
