"""Shared by the import commands: read the file, run the import in this process with a
progress bar on stderr, print the summary and optionally write the report."""

import sys
import time
from datetime import date
from pathlib import Path

from django.core.management.base import CommandError

from dataio import reports, selectors, services
from dataio.models import ImportJob, ImportStatus

BAR_WIDTH = 30


class ProgressBar:
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.started = time.monotonic()

    def __call__(self, job: ImportJob) -> None:
        filled = BAR_WIDTH * job.percent // 100
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\r[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {job.percent:3d}% "
            f"{job.processed_rows}/{job.total_rows} rows  {elapsed:6.1f} s  "
            f"{job.get_status_display()}   "
        )
        if job.finished:
            self.stream.write("\n")
        self.stream.flush()


def run_import(
    command, *, kind: str, path: str, report: str | None, quiet: bool, as_of=None
) -> ImportJob:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"no such file: {path}")
    job = services.import_job_create(
        kind=kind, content=file.read_bytes(), file_name=file.name, as_of=as_of
    )
    try:
        job = services.import_job_run(job_id=job.pk, progress=None if quiet else ProgressBar())
    except Exception as error:
        # The service failed the job and recorded why; say it in one line, exit 1. (Not only
        # the expected errors: whatever stopped the import, the command reports it so.)
        job = selectors.import_job_get(job_id=job.pk)
        raise CommandError(f"import {job.pk} failed: {job.error}") from error
    command.stdout.write(
        f"import {job.pk}: {job.get_status_display()}; {job.total_rows} rows, "
        f"{job.created_rows} created, {job.updated_rows} updated, {job.unchanged_rows} "
        f"unchanged, {job.duplicate_rows} duplicates, {job.error_rows} errors; "
        f"{job.customers_created} new customers"
        + (f"; already imported: {job.get_key_rule_display()}" if job.key_rule else "")
    )
    if report:
        with open(report, "w", newline="") as out:
            out.writelines(reports.report_csv_lines(job))
        command.stdout.write(f"report written to {report}")
    else:
        for problem in job.problems.all()[:20]:
            command.stdout.write(f"  line {problem.line}: {problem.reason}")
    if job.status == ImportStatus.FAILED:
        raise CommandError(f"import {job.pk} failed: {job.error}")
    return job


def add_arguments(parser) -> None:
    parser.add_argument("file")
    parser.add_argument("--report", help="write the line-by-line report to this CSV file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="refit and recompute as of this date (YYYY-MM-DD), e.g. the end of a historic "
        "data set; default today",
    )
