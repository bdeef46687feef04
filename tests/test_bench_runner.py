"""bin/bench's runner: it runs a real benchmark and writes BENCHMARKS.md with each figure beside
its goal (the figures themselves are not asserted: timings never are in tests)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.worker  # a separate process with its own database, like the worker tests
def test_the_runner_writes_every_figure_of_a_benchmark_beside_its_goal(tmp_path):
    # When the recompute benchmark runs through the runner at its quick size
    output = tmp_path / "BENCHMARKS.md"
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", "recompute", "--output", output],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        # Its figures apart from bin/bench's own (var/bench), which a later --keep reuses.
        env={**os.environ, "BENCH_LOGS": str(tmp_path)},
    )

    # Then it succeeds and the file names the machine, says the run was quick, and lists the
    # benchmark's figures with their goals and a verdict
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    text = output.read_text()
    figures = json.loads((tmp_path / "recompute.json").read_text())["figures"]
    assert "Quick run" in text and "cores" in text
    assert re.search(r"PostgreSQL \d+\.\d+", text)
    for figure in figures:
        row = next(line for line in text.splitlines() if line.startswith(f"| {figure['name']} |"))
        assert figure["goal"] in row
        assert ("met" if figure["met"] else "**missed**") in row
    assert {f["goal"] for f in figures} == {
        "at most 2x",
        "fixed: the same for both histories",
    }


@pytest.mark.worker
def test_the_import_section_writes_its_figure_beside_the_goal_and_the_first_figure(tmp_path):
    # When the import benchmark runs through the runner at its quick size
    output = tmp_path / "BENCHMARKS.md"
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", "import", "--output", output],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BENCH_LOGS": str(tmp_path)},
    )

    # Then its total is beside the goal of a million rows (no verdict at a smaller size) and
    # its detail names the rebuild's phases and the figure before the COPY path
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    text = output.read_text()
    assert "## Import of transaction rows" in text
    total = json.loads((tmp_path / "import.json").read_text())["figures"][0]
    row = next(line for line in text.splitlines() if line.startswith(f"| {total['name']} |"))
    assert "< 60 s for 1,000,000 rows (issue 20)" in row
    assert "444 s rows + 162 s rebuild" in row and "summaries" in row and "history" in row
    assert "**missed**" not in row and "| met |" not in row
