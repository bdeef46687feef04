"""The downloadable import report: one line per row that was not applied, and a summary."""

import csv
from collections.abc import Iterator

from .models import ImportJob


class _Echo:
    def write(self, value: str) -> str:
        return value


def report_csv_lines(job: ImportJob) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(["line", "outcome", "field", "reason"])
    for line, outcome, field, reason in (
        job.problems.order_by("line", "id")
        .values_list("line", "outcome", "field", "reason")
        .iterator(chunk_size=2000)
    ):
        yield writer.writerow([line, outcome, field, reason])
