"""The downloadable import report: one line per row that was not applied, and a summary."""

from collections.abc import Iterator

from core.csv_files import csv_rows

from .models import ImportJob


def report_csv_lines(job: ImportJob) -> Iterator[str]:
    yield from csv_rows([["line", "outcome", "field", "reason"]])
    yield from csv_rows(
        job.problems.order_by("line", "id")
        .values_list("line", "outcome", "field", "reason")
        .iterator(chunk_size=2000)
    )
