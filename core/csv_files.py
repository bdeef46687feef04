"""Every CSV the application writes goes through `csv_rows`: no cell a spreadsheet opens can
run a formula (CSV injection, OWASP "CSV Injection").

- A text cell that begins with a character a spreadsheet reads as the start of a formula
  (`=`, `+`, `-`, `@`, tab, carriage return; also after leading blanks) gets a single quote
  in front, which spreadsheets show as text and do not evaluate.
- A separator inside a text cell cannot start a new cell that begins a formula either: the
  file is comma separated, but a spreadsheet whose locale splits on `;` or tab reads
  `Anna;=1+1` as two cells (the double quotes every text cell is enclosed in stop protecting
  the line after its first cell there), so a formula start that follows a separator or a
  line break inside a cell gets the single quote too (`Anna;'=1+1`).
- Whether a cell is text or a number is decided by the value's type, which is its column's
  type: a Decimal, int or float (a money or count column) is written as the number it is, so
  -12.50 stays -12.50; the same characters in a text column (a name, a reference) are text and
  are neutralised.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_TYPES = (int, float, Decimal)
# A separator of any locale or a line break, blanks, then a formula start.
_SEPARATED_FORMULA = re.compile(r"([,;|\t\r\n][ \t\r\n]*)(?=[=+\-@])")


def csv_cell(value) -> object:
    """The value as the CSV writer should write it: numbers as they are, None as an empty
    text cell, anything else as text that cannot start a formula."""
    if isinstance(value, NUMBER_TYPES) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    text = _SEPARATED_FORMULA.sub(r"\1'", text)
    if text.lstrip(" \n").startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(rows: Iterable[Iterable]) -> Iterator[str]:
    """Each row (the header first) as one line of CSV text, cells made safe by `csv_cell`."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(lines: Iterable[str], *, filename: str) -> StreamingHttpResponse:
    """A CSV download, streamed line by line (lines from `csv_rows`)."""
    response = StreamingHttpResponse(lines, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
