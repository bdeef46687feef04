"""Transaction files on PostgreSQL: loaded with `COPY` into a staging table, checked and
applied in set-based SQL, in one transaction (docs/dataio.md, *Fast imports*).

The rules are those of the row-by-row path (`dataio.services._TransactionBatch`), which
stays the reference: SQL decides the rows whose values are plain (a date of the calendar,
an amount of digits and at most two decimals, ...) and the errors it can name for sure; every
other row (a lenient date such as 2024-1-5, `1e3`, `-0`, an amount beyond what a line takes)
goes through that path's own checks (`_TransactionBatch._row`), so every rule and every
message is the same. Only files keyed by occurrence (no `order_ref` column) come here.
"""

import dataclasses
import io
import logging
import re
import time as clock
from datetime import datetime, time
from decimal import Decimal

import psycopg2
from django.db import connection
from django.utils import timezone
from psycopg2.extras import execute_values

from core.bounds import UNIT_AMOUNT_MAX
from core.bulk import ReferenceMissing, insert_select, references_checked_in_bulk
from customers.models import Customer
from customers.services import customers_bulk_create
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction, OrderLine
from interactions.services import orders_insert_selected
from valuation.services import customers_figures_mark_stale_selected

from . import imports
from .imports import RawRow, RowError
from .models import ImportedTransaction, ImportJob, ImportProblem, RowOutcome

logger = logging.getLogger(__name__)

# The foreign keys of the rows written checked by one statement each rather than a trigger
# per row (core.bulk.references_checked_in_bulk, where the role may); False: by the triggers.
BULK_REFERENCES = True
# New customers are written in statements of this many (customers_bulk_create).
NEW_CUSTOMERS_BATCH = 5000

# The staging columns of the file's columns.
STAGE_COLUMNS = {
    "customer_ref": "customer_ref",
    "date": "date_t",
    "amount": "amount_t",
    "margin": "margin_t",
    "offering": "offering",
    "channel": "channel",
}
ONE, ZERO = Decimal("1"), Decimal("0")
# The fields a row fills and their columns, as the row path checks them.
INTERACTION_COLUMNS = {"occurred_at": "date", "channel": "channel"}
LINE_COLUMNS = {"unit_price": "amount", "unit_cost": "margin"}
NEW_CUSTOMER_COLUMNS = {
    "name": "customer_ref",
    "external_ref": "customer_ref",
    "acquired_on": "date",
}
# What the raw file may hold to go to COPY as it is: printable ASCII, no quotes, no
# backslash (COPY's escapes and end marker), no control character but the line feed; and no
# blank line (skipped by the row reader, a row for COPY). Other files are read line by line
# by the row reader first (imports.csv_rows), which COPY then loads.
NOT_PLAIN = re.compile(rb'[^\n\x20-\x7e]|["\\]|(?:^|\n) *(?:\n|$)')
TEMP_TABLES = (
    "dataio_stage",
    "dataio_days",
    "dataio_offerings",
    "dataio_checked",
    "dataio_rechecked",
    "dataio_keyed",
    "dataio_new_customers",
)
# An amount SQL reads as it is: 1 to 10 digits, then none or one or two decimals (as shapes,
# each digit a 9: cheaper than a regular expression); any other goes to the row path.
PLAIN_SHAPES = [
    "9" * digits + decimals for digits in range(1, 11) for decimals in ("", ".9", ".99")
]
ERRORS = {
    "ref_empty": ("customer_ref", "customer_ref: empty"),
    "ref_long": ("customer_ref", "customer_ref: longer than 100 characters"),
    "negative": ("amount", "negative amount"),
    "margin": ("margin", "margin greater than the amount"),
    "offering": ("offering", "unknown offering"),
    "channel": ("channel", f"unknown channel (one of {', '.join(Channel.values)})"),
}


class Steps:
    """How long each step of an import took, logged at its end: where a million rows' time
    goes (docs/dataio.md, *Fast imports*)."""

    def __init__(self) -> None:
        self.last = clock.perf_counter()
        self.times: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        now = clock.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + now - self.last
        self.last = now

    def log(self, job: ImportJob) -> None:
        logger.info(
            "import %s steps: %s",
            job.pk,
            ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.times.items()),
        )


def plain_file(content: bytes) -> bytes | None:
    """The file as COPY can read it (its BOM dropped, CRLF as LF), or None when a line of it
    needs the row reader."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    if b"\r" in content:
        if content.count(b"\r") != content.count(b"\r\n"):
            return None
        content = content.replace(b"\r\n", b"\n")
    body = content[:-1] if content.endswith(b"\n") else content  # the last line's end
    return None if NOT_PLAIN.search(body) else content


def _copy_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def transactions_copy(
    job: ImportJob,
    lines: list[bytes],
    columns: list[str],
    batch,
    *,
    subject: str,
    requested_at,
    steps: Steps,
) -> dict:
    """Apply a transaction file (no order_ref column) in the caller's transaction; the
    counts for the job. `batch` is the row path's checker (`_TransactionBatch`), `subject`
    that of an imported purchase, `requested_at` the stale mark's (the import's rebuild)."""
    raw = plain_file(bytes(job.content))
    problems: list[RowError] = []
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg2's own, for copy_expert
        # ON COMMIT DROP drops them; an import run inside a longer transaction (the tests)
        # finds those of the one before.
        cursor.execute(f"DROP TABLE IF EXISTS {', '.join(TEMP_TABLES)}")
        cursor.execute("DROP SEQUENCE IF EXISTS dataio_stage_line")
        cursor.execute(
            "CREATE TEMP TABLE dataio_stage (line integer, customer_ref text, date_t text, "
            "amount_t text, margin_t text, offering text, channel text) ON COMMIT DROP"
        )
        targets = [STAGE_COLUMNS[name] for name in columns]
        loaded = False
        if raw is not None:
            # Line n of a plain file (no blank line) is its row n - 1: numbered in COPY's order.
            cursor.execute("CREATE TEMP SEQUENCE dataio_stage_line START 2")
            cursor.execute(
                "ALTER TABLE dataio_stage ALTER line SET DEFAULT nextval('dataio_stage_line')"
            )
            cursor.execute("SAVEPOINT dataio_copy")
            try:
                cursor.copy_expert(
                    f"COPY dataio_stage ({', '.join(targets)}) FROM STDIN "
                    "WITH (FORMAT csv, HEADER true)",
                    io.BytesIO(raw),
                )
                loaded = True
            except psycopg2.DataError:  # a row COPY refuses: the row reader says why
                cursor.execute("ROLLBACK TO SAVEPOINT dataio_copy")
        if not loaded:
            _stage_by_reader(cursor, lines, columns, problems)
        steps("staged")
        return _apply(cursor, job, columns, batch, problems, (subject, requested_at), steps)


def _days_stage(cursor, today) -> None:
    """The dates of the file that SQL takes as they are, each read as the row path reads it
    (imports.parse_date) and its interaction's moment checked by the model's validators:
    a file holds few distinct dates (700 over two years), so any bound the field has applies.
    The rows with any other date go to the row path, which says why."""

    cursor.execute("SELECT DISTINCT btrim(coalesce(date_t, '')) FROM dataio_stage")
    days = []
    for (text,) in cursor.fetchall():
        day = imports.parse_date(text)
        if day is None or day > today:
            continue
        probe = Interaction(
            channel=imports.DEFAULT_CHANNEL,
            direction=Direction.INBOUND,
            type=InteractionType.ORDER,
            occurred_at=timezone.make_aware(datetime.combine(day, time(12))),
        )
        if imports.field_error(probe, line=0, columns=imports.INTERACTION_COLUMNS) is None:
            days.append((text, day))
    cursor.execute("CREATE TEMP TABLE dataio_days (text text, day date) ON COMMIT DROP")
    if days:
        execute_values(cursor, "INSERT INTO dataio_days VALUES %s", days, page_size=10000)
    cursor.execute("ANALYZE dataio_days")


def _amounts_probe(cursor) -> None:
    """The distinct amounts and costs of the rows SQL takes, checked by the order line's
    validators (any bound of the fields, and its clean()); the rows with one refused go to the
    row path, which names it."""

    for column, probe in (
        ("amount", lambda value: OrderLine(quantity=ONE, unit_price=value, unit_cost=ZERO)),
        ("cost", lambda value: OrderLine(quantity=ONE, unit_price=ZERO, unit_cost=value)),
    ):
        cursor.execute(f"SELECT DISTINCT {column} FROM dataio_checked WHERE verdict IS NULL")
        refused = [
            value
            for (value,) in cursor.fetchall()
            if imports.field_error(probe(value), line=0, columns=imports.LINE_COLUMNS) is not None
        ]
        if refused:
            cursor.execute(
                f"UPDATE dataio_checked SET verdict = 'check' "
                f"WHERE verdict IS NULL AND {column} = ANY(%s)",
                [refused],
            )


def _stage_by_reader(cursor, lines: list[bytes], columns: list[str], problems: list) -> None:
    """Stage the rows as the row reader reads them (imports.csv_rows, line by line); the
    lines it refuses are problems."""
    _, rows = imports.csv_rows(
        lines, required=imports.TRANSACTION_COLUMNS, optional=imports.TRANSACTION_OPTIONAL
    )
    stream = io.StringIO()
    for row in rows:
        if isinstance(row, RowError):
            problems.append(row)
            continue
        cells = [str(row.line)] + [_copy_text(row.values[name]) for name in columns]
        stream.write("\t".join(cells) + "\n")
    stream.seek(0)
    targets = [STAGE_COLUMNS[name] for name in columns]
    cursor.copy_expert(f"COPY dataio_stage (line, {', '.join(targets)}) FROM STDIN", stream)


def _apply(
    cursor,
    job: ImportJob,
    columns: list[str],
    batch,
    problems: list[RowError],
    write: tuple,
    steps: Steps,
) -> dict:
    unread = len(problems)  # the rows the row reader refused, not staged
    today = timezone.localdate()
    # The sorts (occurrences, the file's order) and hashes of a million rows in memory.
    cursor.execute("SET LOCAL work_mem = '256MB'")
    _days_stage(cursor, today)
    cursor.execute(
        "CREATE TEMP TABLE dataio_offerings (name text, id bigint, ratio numeric) ON COMMIT DROP"
    )
    offerings = [(name, o.pk, batch.ratios[name]) for name, o in batch.offerings.items()]
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM dataio_stage WHERE btrim(coalesce(offering, '')) = '')"
    )
    needs_default = cursor.fetchone()[0]
    if needs_default:
        default = batch.stand_in()
        offerings.append(("", default.pk, batch.ratios[default.name]))
    if offerings:
        cursor.execute(
            "INSERT INTO dataio_offerings VALUES " + ", ".join(["(%s, %s, %s)"] * len(offerings)),
            [value for row in offerings for value in row],
        )
    channels = list(Channel.values)
    # Each row: its values trimmed, what SQL can read of them, and its verdict: NULL (good), an
    # error of ERRORS, or 'check' (the row path decides). A verdict is only given when every
    # check the row path makes before it certainly passes.
    cursor.execute(
        """
        CREATE TEMP TABLE dataio_checked ON COMMIT DROP AS
        SELECT line, ref, offering, channel, day, amount, margin, offering_id,
            CASE WHEN margin IS NOT NULL THEN amount - margin ELSE round(amount * ratio, 2) END
                AS cost,
            amount::text AS amount_key, coalesce(margin::text, '') AS margin_key,
            date_t, amount_t, margin_t,
            CASE
                WHEN ref = '' THEN 'ref_empty'
                WHEN length(ref) > 100 THEN 'ref_long'
                WHEN day IS NULL THEN 'check'
                WHEN amount_shape = ANY(%(negative)s) AND amount_t::numeric <> 0 THEN 'negative'
                WHEN amount IS NULL OR amount > %(max)s THEN 'check'
                WHEN margin_t <> '' AND margin IS NULL THEN 'check'
                WHEN margin > amount THEN 'margin'
                WHEN offering <> '' AND offering_id IS NULL THEN 'offering'
                WHEN NOT channel = ANY(%(channels)s) THEN 'channel'
                WHEN offering_id IS NULL THEN 'check'
                WHEN margin IS NULL AND NOT round(amount * ratio, 2) BETWEEN 0 AND %(max)s
                    THEN 'check'
            END AS verdict
        FROM (
            SELECT v.*, d.day, o.id AS offering_id, o.ratio,
                CASE WHEN amount_shape = ANY(%(plain)s) THEN amount_t::numeric(12, 2) END
                    AS amount,
                CASE WHEN margin_shape = ANY(%(plain)s) THEN margin_t::numeric(12, 2) END
                    AS margin
            FROM (
                SELECT *, translate(amount_t, '0123456789', '9999999999') AS amount_shape,
                    translate(margin_t, '0123456789', '9999999999') AS margin_shape
                FROM (
                    SELECT s.line, btrim(coalesce(s.customer_ref, '')) AS ref,
                        btrim(coalesce(s.date_t, '')) AS date_t,
                        btrim(coalesce(s.amount_t, '')) AS amount_t,
                        btrim(coalesce(s.margin_t, '')) AS margin_t,
                        btrim(coalesce(s.offering, '')) AS offering,
                        coalesce(nullif(btrim(coalesce(s.channel, '')), ''), %(web)s) AS channel
                    FROM dataio_stage s OFFSET 0
                ) trimmed OFFSET 0
            ) v
            LEFT JOIN dataio_days d ON d.text = v.date_t
            LEFT JOIN dataio_offerings o ON o.name = v.offering
            OFFSET 0
        ) rows
        """,
        {
            "negative": ["-" + shape for shape in PLAIN_SHAPES],
            "plain": PLAIN_SHAPES,
            "max": UNIT_AMOUNT_MAX,
            "channels": channels,
            "web": imports.DEFAULT_CHANNEL,
        },
    )
    cursor.execute("ANALYZE dataio_checked")  # for the plans of the joins below
    steps("checked")
    _amounts_probe(cursor)
    _check_in_python(cursor, columns, batch, problems)
    steps("values probed")
    customers_created = _customers_create(cursor, batch, problems)
    steps("customers")
    # Occurrences: the k-th good row of the same content is purchase k (0 for the first), and
    # its key the row path's TransactionRow.key; a row whose key is imported already is a
    # duplicate, the others get the id of their interaction.
    cursor.execute(
        rf"""
        CREATE TEMP TABLE dataio_keyed ON COMMIT DROP AS
        SELECT k.*, t.job_id AS earlier_job, t.line AS earlier_line,
            CASE WHEN t.key IS NULL THEN nextval(pg_get_serial_sequence(%s, 'id')) END
                AS interaction_id
        FROM (
            SELECT c.line, c.day, c.amount, c.cost, c.offering_id, c.channel, c.customer_id,
                CASE WHEN occurrence = 0 THEN first_key
                    ELSE sha256(convert_to(content || E'\x1f#' || occurrence, 'UTF8')) END AS key
            FROM (
                SELECT *, row_number() OVER (PARTITION BY first_key ORDER BY line) - 1
                    AS occurrence
                FROM (
                    SELECT *, sha256(convert_to(content, 'UTF8')) AS first_key
                    FROM (
                        SELECT g.line, g.day, g.amount, g.cost, g.offering_id, g.channel,
                            cu.id AS customer_id,
                            g.ref || E'\x1f' || to_char(g.day, 'YYYY-MM-DD') || E'\x1f'
                            || g.amount_key || E'\x1f' || g.margin_key || E'\x1f'
                            || g.offering || E'\x1f' || g.channel AS content
                        FROM dataio_checked g
                        JOIN {Customer._meta.db_table} cu ON cu.external_ref = g.ref
                        WHERE g.verdict IS NULL
                    ) good
                ) hashed
            ) c
        ) k
        LEFT JOIN {ImportedTransaction._meta.db_table} t ON t.key = k.key
        """,
        [Interaction._meta.db_table],
    )
    cursor.execute("ANALYZE dataio_keyed")
    steps("keyed")
    purchases = "FROM dataio_keyed WHERE interaction_id IS NOT NULL"
    with references_checked_in_bulk(
        cursor,
        models=[ImportProblem, Interaction, OrderLine, ImportedTransaction],
        references=[
            (ImportProblem._meta.get_field("job"), "SELECT %s", [job.pk]),
            (ImportedTransaction._meta.get_field("job"), "SELECT %s", [job.pk]),
            (Interaction._meta.get_field("customer"), f"SELECT customer_id {purchases}", []),
            (OrderLine._meta.get_field("offering"), f"SELECT offering_id {purchases}", []),
        ],
        # The orders of the lines and keys: written in the block, counted by _write.
        own=[
            OrderLine._meta.get_field("interaction"),
            ImportedTransaction._meta.get_field("interaction"),
        ],
        enabled=BULK_REFERENCES,
    ):
        counts = _problems_and_purchases_write(cursor, job, problems, write[0], steps)
    steps("references")
    _figures_mark_stale(cursor, write[1])
    steps("stale marks")
    cursor.execute("SELECT count(*) FROM dataio_stage")
    staged = cursor.fetchone()[0]
    return {
        "processed_rows": staged + unread,
        "customers_created": customers_created,
        **counts,
    }


def _problems_and_purchases_write(
    cursor, job: ImportJob, problems: list[RowError], subject: str, steps: Steps
) -> dict:
    """The report's rows (duplicates, errors) and the new purchases; their counts."""
    # Rows already imported: duplicates, named by where they were.
    cursor.execute(
        f"""
        INSERT INTO {ImportProblem._meta.db_table} (job_id, line, outcome, field, reason)
        SELECT %s, line, %s, '', 'duplicate: already imported ('
            || CASE WHEN earlier_job = %s THEN ''
                ELSE 'import ' || coalesce(earlier_job::text, 'None') || ', ' END
            || 'line ' || earlier_line || ')'
        FROM dataio_keyed WHERE earlier_line IS NOT NULL
        """,
        [job.pk, RowOutcome.DUPLICATE, job.pk],
    )
    duplicates = cursor.rowcount
    errors = [(code, field, reason) for code, (field, reason) in ERRORS.items()]
    cursor.execute(
        f"""
        INSERT INTO {ImportProblem._meta.db_table} (job_id, line, outcome, field, reason)
        SELECT %s, c.line, %s, e.field, e.reason FROM dataio_checked c
        JOIN (VALUES {", ".join(["(%s, %s, %s)"] * len(errors))}) e (code, field, reason)
            ON e.code = c.verdict
        """,
        [job.pk, RowOutcome.ERROR, *[value for row in errors for value in row]],
    )
    error_rows = cursor.rowcount + len(problems)  # `problems` holds errors only
    ImportProblem.objects.bulk_create(
        ImportProblem(
            job=job, line=p.line, outcome=p.outcome, field=p.field[:60], reason=p.reason[:500]
        )
        for p in problems
    )
    steps("problems")
    created_rows = _write(cursor, job, subject, steps)
    return {"error_rows": error_rows, "duplicate_rows": duplicates, "created_rows": created_rows}


def _check_in_python(cursor, columns: list[str], batch, problems: list[RowError]) -> None:
    """The rows SQL left to the row path: its checks decide, its values are written back."""
    cursor.execute(
        "SELECT line, ref, date_t, amount_t, margin_t, offering, channel FROM dataio_checked "
        "WHERE verdict = 'check' ORDER BY line"
    )
    rows = cursor.fetchall()
    if not rows:
        return
    good = []
    for line, ref, date_t, amount_t, margin_t, offering, channel in rows:
        given = {
            "customer_ref": ref,
            "date": date_t,
            "amount": amount_t,
            "margin": margin_t,
            "offering": offering,
            "channel": channel,
        }
        values = {name: given[name] for name in columns}
        parsed = batch._row(RawRow(line, values))
        if isinstance(parsed, RowError):
            problems.append(parsed)
            continue
        row, _, order_line = parsed
        good.append(
            (
                line,
                row.day,
                row.amount,
                row.margin,
                order_line.offering_id,
                order_line.unit_cost,
                row.channel,
                str(row.amount),
                "" if row.margin is None else str(row.margin),
            )
        )
    cursor.execute(
        "UPDATE dataio_checked SET verdict = 'row' WHERE verdict = 'check'"
    )  # refused by the row path: their problems are in `problems`
    if good:
        cursor.execute(
            "CREATE TEMP TABLE dataio_rechecked (line integer, day date, amount numeric, "
            "margin numeric, offering_id bigint, cost numeric, channel text, amount_key text, "
            "margin_key text) ON COMMIT DROP"
        )
        cursor.execute(
            "INSERT INTO dataio_rechecked VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(good)),
            [value for row in good for value in row],
        )
        cursor.execute(
            "UPDATE dataio_checked c SET verdict = NULL, day = r.day, amount = r.amount, "
            "margin = r.margin, offering_id = r.offering_id, cost = r.cost, channel = r.channel, "
            "amount_key = r.amount_key, margin_key = r.margin_key "
            "FROM dataio_rechecked r WHERE r.line = c.line"
        )


def _customers_create(cursor, batch, problems: list[RowError]) -> int:
    """The customers of the good rows that do not exist yet (name and reference the file's,
    acquired on their first purchase in it), each checked by the model's validators as the
    row path checks them: the rows of one refused are refused with its reason. How many were
    created (each with its first line in `batch.created`). (A customer whose rows are all
    imported already exists.)"""

    cursor.execute(
        f"SELECT g.ref, min(g.day), min(g.line) FROM dataio_checked g WHERE g.verdict IS NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {Customer._meta.db_table} c WHERE c.external_ref = g.ref) "
        "GROUP BY g.ref"
    )
    new, refused, first_line = [], {}, {}
    for ref, first_day, line in cursor.fetchall():
        first_line[ref] = line
        customer = batch._new_customer(ref, first_day)
        error = imports.field_error(customer, line=0, columns=imports.NEW_CUSTOMER_COLUMNS)
        if error:
            refused[ref] = error
        else:
            new.append(customer)
    if refused:
        cursor.execute(
            "UPDATE dataio_checked SET verdict = 'row' WHERE verdict IS NULL AND ref = ANY(%s) "
            "RETURNING line, ref",
            [list(refused)],
        )
        problems += [dataclasses.replace(refused[ref], line=line) for line, ref in cursor]
    if not new:
        return 0
    # Through the customers' own bulk service, as the batches create them.
    created = customers_bulk_create(
        customers=new,
        with_history=False,
        batch_size=NEW_CUSTOMERS_BATCH,
    )
    batch.created.update((c.pk, first_line[c.external_ref]) for c in created)
    return len(created)


def _write(cursor, job: ImportJob, subject: str, steps: Steps) -> int:
    """One order interaction, its line and its key per new purchase; how many."""

    now = timezone.now()
    cursor.execute(
        "CREATE TEMP VIEW dataio_purchases AS "
        "SELECT * FROM dataio_keyed WHERE interaction_id IS NOT NULL"
    )
    created_rows = orders_insert_selected(
        cursor=cursor, source="dataio_purchases", subject=subject, now=now
    )
    # The lines and keys name these orders (references_checked_in_bulk): all written.
    cursor.execute("SELECT count(*) FROM dataio_purchases")
    if cursor.fetchone()[0] != created_rows:
        raise ReferenceMissing("an order of the import was not written")
    steps("orders")
    insert_select(
        cursor,
        ImportedTransaction,
        {
            "key": ("p.key", []),
            "interaction": ("p.interaction_id", []),
            "job": ("%s", [job.pk]),
            "line": ("p.line", []),
        },
        "FROM dataio_purchases p",
    )
    steps("keys")
    cursor.execute("DROP VIEW dataio_purchases")
    return created_rows


def _figures_mark_stale(cursor, requested_at) -> None:
    """The figures of the customers who bought now wait for the import's rebuild (valuation's
    service, as the batches mark them), outside references_checked_in_bulk: its rows are
    checked by their triggers."""
    cursor.execute(
        "CREATE TEMP VIEW dataio_buyers AS "
        "SELECT customer_id FROM dataio_keyed WHERE interaction_id IS NOT NULL"
    )
    customers_figures_mark_stale_selected(
        cursor=cursor, source="dataio_buyers", requested_at=requested_at
    )
    cursor.execute("DROP VIEW dataio_buyers")
