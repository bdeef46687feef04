"""Reading import files: lines with their numbers, decoded one by one, into validated rows.

No database access here except the lookups passed in; `dataio.services` writes.
"""

import csv
import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models

from interactions.choices import Channel

from .models import RowOutcome

TRANSACTION_COLUMNS = ("customer_ref", "date", "amount")
TRANSACTION_OPTIONAL = ("margin", "offering", "channel", "order_ref")
CUSTOMER_COLUMNS = ("external_ref", "name")
CUSTOMER_OPTIONAL = (
    "email",
    "phone",
    "kind",
    "status",
    "owner",
    "acquired_on",
    "acquisition_source",
    "preferred_channel",
    "wallet_annual",
)
DEFAULT_CHANNEL = Channel.WEB
MAX_AMOUNT = Decimal("9999999999.99")
CENT = Decimal("0.01")
# The fields a transaction row fills from the file, and their columns (the others are the
# import's constants), for the model validators' messages (field_error).
INTERACTION_COLUMNS = {"occurred_at": "date", "channel": "channel"}
LINE_COLUMNS = {"unit_price": "amount", "unit_cost": "margin"}
LINE_COLUMNS_NO_MARGIN = {**LINE_COLUMNS, "unit_cost": "amount"}
NEW_CUSTOMER_COLUMNS = {
    "name": "customer_ref",
    "external_ref": "customer_ref",
    "acquired_on": "date",
}


@dataclass(frozen=True)
class RowError:
    """A row not applied: `outcome` is a `RowOutcome` value (error, duplicate, conflict)."""

    line: int
    field: str
    reason: str
    outcome: str = RowOutcome.ERROR
    order_ref: str = ""  # of a row refused before it was read whole: its order goes with it


@dataclass(frozen=True)
class RawRow:
    line: int
    values: dict[str, str]


class FileRejected(Exception):
    """The whole file cannot be read (e.g. a required column is missing from the header)."""

    def __init__(self, line: int, field: str, reason: str):
        super().__init__(reason)
        self.line, self.field, self.reason = line, field, reason


@functools.cache
def _fields_other_than(model: type[models.Model], fields: frozenset[str]) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.fields if f.name not in fields)


def field_error(instance: models.Model, *, line: int, columns: dict[str, str]) -> RowError | None:
    """Check the fields a row fills with the model's own validators and `clean()`: what
    `full_clean` checks, less what needs a query per row (relations, which the import resolves
    in bulk; uniqueness; check constraints, which the field validators mirror). So a bound a
    model field has (a date window, a numeric range, a length) is a row error of the file's
    column. `columns` maps each field the row fills to its column in the file ("" for none)."""
    try:
        instance.full_clean(
            exclude=_fields_other_than(type(instance), frozenset(columns)),
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as invalid:
        field, messages = next(iter(invalid.message_dict.items()))
        column = columns.get(field, "")
        return RowError(line, column, f"{column or field}: {' '.join(messages)}")
    return None


def split_lines(content: bytes) -> list[bytes]:
    """The file's lines; line n of the file is element n - 1 (no multi-line fields)."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    lines = content.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def count_rows(lines: list[bytes], *, header: bool) -> int:
    body = lines[1:] if header else lines
    return sum(1 for line in body if line.strip())


def _decode(raw: bytes, line: int) -> str | RowError:
    try:
        return raw.rstrip(b"\r").decode("utf-8")
    except UnicodeDecodeError as error:
        return RowError(
            line,
            "",
            f"encoding: byte 0x{raw[error.start]:02x} at position {error.start + 1} "
            "is not UTF-8; save the file as UTF-8",
        )


def csv_rows(
    lines: list[bytes], *, required: tuple[str, ...], optional: tuple[str, ...]
) -> tuple[list[str], Iterator[RawRow | RowError]]:
    """Check the header (line 1) and return its columns and an iterator over the rows."""
    if not lines:
        raise FileRejected(1, "", "the file is empty; the first line must name the columns")
    header = _decode(lines[0], 1)
    if isinstance(header, RowError):
        raise FileRejected(1, "", header.reason)
    columns = [name.strip().lower() for name in next(csv.reader([header]), [])]
    missing = [name for name in required if name not in columns]
    if missing:
        raise FileRejected(1, missing[0], f"missing column: {', '.join(missing)} in the header")
    unknown = [name for name in columns if name not in required + optional]
    if unknown:
        raise FileRejected(
            1,
            unknown[0],
            f"unknown column: {', '.join(unknown)} (known: {', '.join(required + optional)})",
        )
    if len(set(columns)) != len(columns):
        raise FileRejected(1, "", "a column is named twice in the header")

    order_column = columns.index("order_ref") if "order_ref" in columns else len(columns)

    def rows() -> Iterator[RawRow | RowError]:
        for index, raw in enumerate(lines[1:], start=2):
            if not raw.strip():
                continue
            text = _decode(raw, index)
            if isinstance(text, RowError):
                yield text
                continue
            try:
                cells = next(csv.reader([text]))
            except csv.Error as error:
                yield RowError(index, "", f"not valid CSV: {error}")
                continue
            order_ref = cells[order_column].strip() if order_column < len(cells) else ""
            if len(cells) < len(columns):
                absent = columns[len(cells) :]
                yield RowError(
                    index, absent[0], f"missing column: {', '.join(absent)}", order_ref=order_ref
                )
                continue
            if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
                yield RowError(
                    index,
                    "",
                    f"{len(cells)} values for {len(columns)} columns",
                    order_ref=order_ref,
                )
                continue
            yield RawRow(
                index, {name: cell.strip() for name, cell in zip(columns, cells, strict=False)}
            )

    return columns, rows()


def order_ref_of(row: RawRow | RowError) -> str:
    return row.values.get("order_ref", "") if isinstance(row, RawRow) else row.order_ref


def orders_together(
    rows: Iterator[RawRow | RowError], again: Iterator[RawRow | RowError]
) -> Iterator[RawRow | RowError]:
    """The rows, the lines of one order (one order_ref) next to each other at the place of the
    order's last line, so that a batch can take an order whole wherever its lines are in the
    file. `again` is a second reading of the same rows: where each order ends. Only the lines of
    orders still open are held back."""
    last: dict[str, int] = {}
    for row in again:
        if ref := order_ref_of(row):
            last[ref] = row.line
    open_orders: dict[str, list[RawRow | RowError]] = {}
    for row in rows:
        ref = order_ref_of(row)
        if not ref:
            yield row
            continue
        lines = open_orders.setdefault(ref, [])
        lines.append(row)
        if last[ref] == row.line:
            del open_orders[ref]
            yield from lines


def cdnow_has_header(lines: list[bytes]) -> bool:
    first = lines[0].split() if lines else []
    return bool(first) and not first[0].isdigit()


def cdnow_rows(lines: list[bytes]) -> Iterator[RawRow | RowError]:
    """CDNOW transaction logs: `customer date(YYYYMMDD) quantity dollars`, whitespace separated
    (CDNOW_master.txt); CDNOW_sample.txt has a sample id after the customer id, ignored."""
    for index, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        text = _decode(raw, index)
        if isinstance(text, RowError):
            yield text
            continue
        cells = text.split()
        if index == 1 and cdnow_has_header(lines):
            continue  # CDNOW_master.txt names its columns on the first line
        if len(cells) == 5:
            cells = [cells[0], *cells[2:]]
        if len(cells) != 4:
            yield RowError(
                index,
                "",
                f"expected 4 values (customer, date, quantity, dollars), got {len(cells)}",
            )
            continue
        customer, day, quantity, dollars = cells
        if not customer.isdigit():
            yield RowError(index, "customer_ref", "customer id is not a number")
            continue
        yield RawRow(
            index,
            {
                "customer_ref": f"cdnow-{int(customer)}",
                "date": day,
                "amount": dollars,
                "quantity": quantity,
            },
        )


@dataclass(frozen=True)
class TransactionRow:
    line: int
    customer_ref: str
    day: date
    amount: Decimal
    margin: Decimal | None
    offering: str
    channel: str
    quantity: str
    order_ref: str = ""
    # Logs hold genuinely repeated identical rows (two equal purchases on one day, no order
    # number): the k-th occurrence of a row within the file (0 for the first) is part of its
    # key, so each arrives once and a second import of the file adds nothing.
    occurrence: int = 0

    @property
    def key(self) -> bytes:
        """The idempotency key: the order_ref when the file has one (all the lines of an order
        share it, whatever else they say), else the row's content and its occurrence."""
        if self.order_ref:
            # A leading separator: a content text starts with a stripped, non-empty reference,
            # so the two kinds of key never meet.
            text = f"\x1forder_ref\x1f{self.order_ref}"
        else:
            margin = "" if self.margin is None else str(self.margin)
            text = "\x1f".join(
                [
                    self.customer_ref,
                    self.day.isoformat(),
                    str(self.amount),
                    margin,
                    self.offering,
                    self.channel,
                ]
            )
            # The first occurrence keeps the bare content: keys imported before stay valid.
            if self.occurrence:
                text += f"\x1f#{self.occurrence}"
        return hashlib.sha256(text.encode()).digest()


def parse_date(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


class BadValue(ValueError):
    """A value of a row that no column can take; its message says why, without echoing it."""


def parse_money(value: str) -> Decimal:
    """The amount rounded to the cent. BadValue when it is not a finite number, or has more
    digits than a Decimal holds (1e30 cannot be rounded to the cent in 28 digits)."""
    try:
        amount = Decimal(value)
        if not amount.is_finite():
            raise BadValue("not a number")
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise BadValue("not a number" if _not_numeric(value) else "out of range") from None


def _not_numeric(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return True
    return False


def transaction_row(raw: RawRow, *, offerings: set[str], today: date) -> TransactionRow | RowError:
    values, line = raw.values, raw.line
    ref = values.get("customer_ref", "")
    if not ref:
        return RowError(line, "customer_ref", "customer_ref: empty")
    if len(ref) > 100:
        return RowError(line, "customer_ref", "customer_ref: longer than 100 characters")
    day = parse_date(values.get("date", ""))
    if day is None:
        return RowError(line, "date", "bad date: expected YYYY-MM-DD")
    if day > today:
        return RowError(line, "date", "date in the future")
    try:
        amount = parse_money(values.get("amount", ""))
    except BadValue as bad:
        return RowError(line, "amount", f"amount: {bad}")
    if amount < 0:
        return RowError(line, "amount", "negative amount")
    if amount > MAX_AMOUNT:
        return RowError(line, "amount", "amount: too large")
    margin = None
    if values.get("margin"):
        try:
            margin = parse_money(values["margin"])
        except BadValue as bad:
            return RowError(line, "margin", f"margin: {bad}")
        if margin > amount:
            return RowError(line, "margin", "margin greater than the amount")
        if amount - margin > MAX_AMOUNT:
            return RowError(line, "margin", "margin: too small")
    offering = values.get("offering", "")
    if offering and offering not in offerings:
        return RowError(line, "offering", "unknown offering")
    channel = values.get("channel", "") or DEFAULT_CHANNEL
    if channel not in Channel.values:
        return RowError(line, "channel", f"unknown channel (one of {', '.join(Channel.values)})")
    quantity = values.get("quantity", "")
    order_ref = values.get("order_ref", "")
    if "order_ref" in values:
        if not order_ref:
            return RowError(line, "order_ref", "order_ref: empty (the file keys its rows by it)")
        if len(order_ref) > 100:
            return RowError(line, "order_ref", "order_ref: longer than 100 characters")
    return TransactionRow(line, ref, day, amount, margin, offering, channel, quantity, order_ref)
