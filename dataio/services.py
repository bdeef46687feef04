"""Imports of bulk data: in batches, each row whole or not at all (privacy erasure is in
`dataio.privacy`; sending an import to a worker in `dataio.tasks`)."""

import dataclasses
import functools
import logging
import os
import socket
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from core.tasks import TRANSIENT_ERRORS
from customers import duplicates
from customers import services as customers_services
from customers.models import Customer, LifecycleStatus
from events.names import EventName
from events.services import event_publish
from interactions import services as interactions_services
from interactions.choices import Direction, InteractionType
from interactions.models import Interaction, OrderLine
from offerings import services as offerings_services
from offerings.models import Offering
from valuation import services as valuation_services
from valuation.services import valuation_rebuild_everything

from . import copy_import, imports
from .imports import (
    INTERACTION_COLUMNS,
    LINE_COLUMNS,
    LINE_COLUMNS_NO_MARGIN,
    NEW_CUSTOMER_COLUMNS,
    FileRejected,
    RawRow,
    RowError,
    TransactionRow,
)
from .models import (
    ImportedTransaction,
    ImportJob,
    ImportKind,
    ImportProblem,
    ImportStatus,
    KeyRule,
    RowOutcome,
)

BATCH_ROWS = 5000
# Transaction files keyed by occurrence go through COPY on PostgreSQL (dataio.copy_import);
# False sends them through the batches of rows, the reference the tests compare it with.
COPY_IMPORTS = True
# A running import reports progress (a heartbeat) with every batch of rows; one silent for
# this long is taken for stopped. Its rebuild reports none and takes minutes at a million
# customers (docs/dataio.md), hence the margin.
IMPORT_SILENT_AFTER = timedelta(minutes=30)
logger = logging.getLogger(__name__)
IMPORTED_CATEGORY = "Imported"
IMPORTED_OFFERING = "Imported purchase"
IMPORTED_ORDER = "Imported order"  # the subject of an order with an order_ref, before it

Progress = Callable[[ImportJob], None]


def import_job_create(
    *, kind: str, content: bytes, file_name: str = "", by=None, as_of=None
) -> ImportJob:
    job = ImportJob(
        kind=kind, content=content, file_name=file_name[:255], created_by=by, as_of=as_of
    )
    job.full_clean(exclude=["content"])
    job.save()
    return job


def _this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:255]


def _process_gone(worker: str) -> bool:
    """Whether the process `host:pid` is known to be gone: only a process of this host can
    be looked at; one elsewhere counts as alive (its heartbeat says whether it is)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ImportJobLost(Exception):
    """The job was taken from this process (failed by the check of stopped jobs)."""


ACTIVE = (ImportStatus.RUNNING, ImportStatus.REBUILDING)


def _import_job_claim(job_id: int) -> ImportJob | None:
    """Take the job for this process: a queued one, or one whose process is gone or silent
    (a task redelivered after its worker died resumes it). None: finished, or running in a
    live process."""
    me = _this_process()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.finished:
            return None
        if job.status in ACTIVE and job.worker != me and not _stopped(job):
            return None
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.RUNNING, worker=me, heartbeat_at=timezone.now()
        )
    return job


def _stopped(job: ImportJob) -> bool:
    silent = job.heartbeat_at is None or job.heartbeat_at < timezone.now() - IMPORT_SILENT_AFTER
    return silent or _process_gone(job.worker)


def import_job_run(
    *, job_id: int, progress: Progress | None = None, retrying: bool = False
) -> ImportJob:
    """Apply a queued import: every good row in full, every bad row reported, then one
    bulk rebuild of the figures. Idempotent: a finished job is left alone, a job interrupted
    half-way picks up again (rows already imported are recognised by their key).

    The job never stays running: whatever stops it (a bug, the database, an interrupt) fails
    it, saying why, and dates the stale mark of the customers it wrote now, so that the
    sweeper recomputes them; with `retrying` (the task will run again) a transient database
    error leaves it queued instead. A process killed outright is found by
    `import_jobs_check`."""
    job = _import_job_claim(job_id)
    if job is None:
        return ImportJob.objects.defer("content").get(pk=job_id)
    me = _this_process()
    try:
        return _import_job_apply(job, me, progress)
    except ImportJobLost:
        return ImportJob.objects.defer("content").get(pk=job_id)
    except BaseException as error:
        _import_job_stop(job_id=job.pk, worker=me, error=error, retrying=retrying)
        raise


def _import_job_apply(job: ImportJob, me: str, progress: Progress | None) -> ImportJob:
    ImportProblem.objects.filter(job=job).delete()
    content = bytes(job.content)
    lines = imports.split_lines(content)
    header = job.kind != ImportKind.CDNOW or imports.cdnow_has_header(lines)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        total_rows=imports.count_rows(lines, header=header),
        processed_rows=0,
        created_rows=0,
        updated_rows=0,
        unchanged_rows=0,
        duplicate_rows=0,
        error_rows=0,
        customers_created=0,
        key_rule="",
    )
    job.refresh_from_db()
    mine = ImportJob.objects.filter(pk=job.pk, worker=me, status__in=ACTIVE)
    try:
        # The customers the import creates, each with the line that created it.
        created: dict[int, int] = {}
        if job.kind == ImportKind.CUSTOMERS:
            _, rows = imports.csv_rows(
                lines, required=imports.CUSTOMER_COLUMNS, optional=imports.CUSTOMER_OPTIONAL
            )
            apply = functools.partial(_apply_customers, created=created)
            _run_batches(job, mine, rows, apply, progress)
        elif (columns := _copy_columns(job, lines)) is not None:
            mine.update(key_rule=KeyRule.OCCURRENCE)
            job.key_rule = KeyRule.OCCURRENCE
            _run_copy(job, mine, lines, columns, progress, created)
        else:
            transactions, rule = _transaction_rows(job, lines)
            mine.update(key_rule=rule)
            job.key_rule = rule
            _run_batches(
                job,
                mine,
                transactions,
                _TransactionBatch(job, created),
                progress,
                together=imports.order_ref_of,
            )
        _lookalikes_report(job, created)
    except FileRejected as rejected:
        ImportProblem.objects.create(
            job=job,
            line=rejected.line,
            outcome=RowOutcome.ERROR,
            field=rejected.field[:60],
            reason=rejected.reason[:500],
        )
        mine.update(
            status=ImportStatus.FAILED,
            error=rejected.reason,
            finished_at=timezone.now(),
            content=b"",
        )
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    if job.created_rows or job.updated_rows:
        if not mine.update(status=ImportStatus.REBUILDING, heartbeat_at=timezone.now()):
            raise ImportJobLost
        _analyze_loaded_tables()
        if progress:
            job.refresh_from_db()
            progress(job)
        valuation_rebuild_everything(as_of=job.as_of)
    # The file is not kept once imported: the report holds line numbers and reasons only.
    with transaction.atomic():
        if not mine.update(status=ImportStatus.DONE, finished_at=timezone.now(), content=b""):
            raise ImportJobLost
        job.refresh_from_db()
        event_publish(
            EventName.IMPORT_FINISHED,
            payload={
                "job_id": job.pk,
                "kind": job.kind,
                "created_rows": job.created_rows,
                "updated_rows": job.updated_rows,
            },
        )
    if progress:
        progress(job)
    return job


def _transaction_rows(job: ImportJob, lines: list[bytes]) -> tuple[Iterable, KeyRule]:
    """The rows of a transaction file and the rule that keys them: its order_ref column when
    it has one (the lines of an order brought together), else every row by its content and
    occurrence (CDNOW too)."""
    if job.kind == ImportKind.CDNOW:
        return imports.cdnow_rows(lines), KeyRule.OCCURRENCE
    read = functools.partial(
        imports.csv_rows,
        lines,
        required=imports.TRANSACTION_COLUMNS,
        optional=imports.TRANSACTION_OPTIONAL,
    )
    columns, rows = read()
    if "order_ref" not in columns:
        return rows, KeyRule.OCCURRENCE
    return imports.orders_together(rows, read()[1]), KeyRule.ORDER_REF


def _copy_columns(job: ImportJob, lines: list[bytes]) -> list[str] | None:
    """The columns of a transaction file that the COPY path applies (PostgreSQL, CSV keyed by
    occurrence: dataio.copy_import), None for the others. FileRejected for a bad header."""
    if not COPY_IMPORTS or job.kind != ImportKind.TRANSACTIONS or connection.vendor != "postgresql":
        return None
    columns, _ = imports.csv_rows(
        lines, required=imports.TRANSACTION_COLUMNS, optional=imports.TRANSACTION_OPTIONAL
    )
    return None if "order_ref" in columns else columns


def _run_copy(
    job: ImportJob,
    mine,
    lines: list[bytes],
    columns: list[str],
    progress: Progress | None,
    created: dict[int, int],
) -> None:
    """The whole file in one transaction: every good row applied, every bad one reported,
    or nothing (a job failed meanwhile by the check keeps it out, as a batch)."""
    steps = copy_import.Steps()
    with transaction.atomic():
        counts = copy_import.transactions_copy(
            job,
            lines,
            columns,
            _TransactionBatch(job, created),
            subject=IMPORTED_OFFERING,
            steps=steps,
            **_figures_wait_for_rebuild(),
        )
        if not mine.update(
            heartbeat_at=timezone.now(), **{name: F(name) + value for name, value in counts.items()}
        ):
            raise ImportJobLost
        steps("counts")
    steps("commit")
    steps.log(job)
    if progress:
        job.refresh_from_db()
        progress(job)


def _lookalikes_report(job: ImportJob, created: dict[int, int]) -> None:
    """Each row that created a customer who looks like another one, in the report: "looks
    like customer #34 (same e-mail, different case)". Found for the whole file at once
    (customers.duplicates.lookalikes_of), after its rows: the import goes on either way. A
    transaction file names its customers by reference only, so only equal names count there."""
    if not created:
        return
    found = duplicates.lookalikes_of(list(created), fuzzy_names=job.kind == ImportKind.CUSTOMERS)
    ImportProblem.objects.bulk_create(
        [
            ImportProblem(
                job=job,
                line=created[customer_id],
                outcome=RowOutcome.LOOKALIKE,
                reason=f"looks like customer #{candidate.customer_id} "
                f"({', '.join(candidate.reasons)})"[:500],
            )
            for customer_id, candidates in found.items()
            for candidate in candidates
        ],
        batch_size=BATCH_ROWS,
    )


def _import_job_stop(*, job_id: int, worker: str, error: BaseException, retrying: bool) -> None:
    """Record why the job stopped; never hides `error` (the database may be what failed)."""
    try:
        mine = ImportJob.objects.filter(pk=job_id, worker=worker, status__in=ACTIVE)
        if retrying and isinstance(error, TRANSIENT_ERRORS):
            mine.update(status=ImportStatus.QUEUED, worker="")
            return
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        if isinstance(error, KeyboardInterrupt | SystemExit):
            reason = "the import was interrupted"
        elif not isinstance(error, DatabaseError):
            logger.error("import %s failed", job_id, exc_info=error)
        _import_job_fail(mine, error=f"{reason}. {RESUME_HINT}")
    except DatabaseError:
        logger.exception("could not record that import %s stopped", job_id)


RESUME_HINT = (
    "The rows applied before were kept and their figures are recomputed; import the file "
    "again to apply the rest (rows already applied are skipped or unchanged)"
)


def _import_job_fail(jobs, *, error: str) -> int:
    """Fail the jobs; the customers imports wrote, waiting for a rebuild that will not come,
    become due for the sweeper now (see IMPORT_SILENT_AFTER)."""
    with transaction.atomic():
        failed = jobs.update(
            status=ImportStatus.FAILED, error=error[:2000], finished_at=timezone.now()
        )
        if failed:
            valuation_services.figures_requests_due_now(now=timezone.now())
    return failed


def import_jobs_check() -> int:
    """Fail the running jobs whose process is gone (this host) or that have not reported
    progress for IMPORT_SILENT_AFTER (any host), so that none stays "running" for good; the
    periodic task runs it every minute. Returns how many were failed."""
    failed = 0
    for job in ImportJob.objects.filter(status__in=ACTIVE).only(
        "id", "worker", "heartbeat_at", "processed_rows", "total_rows"
    ):
        if _process_gone(job.worker):
            why = f"its process ({job.worker}) is gone"
        elif job.heartbeat_at is None or job.heartbeat_at < timezone.now() - IMPORT_SILENT_AFTER:
            why = f"no progress for {IMPORT_SILENT_AFTER.seconds // 60} minutes"
        else:
            continue
        error = (
            f"The import stopped after {job.processed_rows} of {job.total_rows} rows: {why}. "
            f"{RESUME_HINT}"
        )
        jobs = ImportJob.objects.filter(pk=job.pk, worker=job.worker, status__in=ACTIVE)
        jobs = jobs.filter(heartbeat_at=job.heartbeat_at)
        if _import_job_fail(jobs, error=error):
            logger.warning("import %s failed: %s", job.pk, why)
            failed += 1
    return failed


LOADED_MODELS = (Customer, Interaction, OrderLine, ImportedTransaction)


def _analyze_loaded_tables() -> None:
    """Refresh PostgreSQL's statistics after a bulk load. With the statistics of the empty
    tables the planner picks a nested loop over a sequential scan of the order lines for the
    summaries' first-day query, quadratic in the number of lines (hours for a million)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in LOADED_MODELS:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def _run_batches(
    job: ImportJob,
    mine,
    rows: Iterable,
    apply,
    progress: Progress | None,
    *,
    together: Callable[[Any], str] | None = None,
) -> None:
    """Apply the rows in batches of BATCH_ROWS; consecutive rows with the same non-empty
    `together(row)` (the lines of one order) stay in one batch, so they are applied whole."""
    batch: list = []

    def flush():
        with transaction.atomic():
            counts, problems = apply(batch)
            ImportProblem.objects.bulk_create(
                ImportProblem(
                    job=job,
                    line=p.line,
                    outcome=p.outcome,
                    field=p.field[:60],
                    reason=p.reason[:500],
                )
                for p in problems
            )
            # Conflicts count with the duplicates: rows already imported, left as they were.
            errors = sum(1 for p in problems if p.outcome == RowOutcome.ERROR)
            # The heartbeat, and the proof that the job is still this process's: a job failed
            # meanwhile by the check keeps this batch out.
            if not mine.update(
                heartbeat_at=timezone.now(),
                processed_rows=F("processed_rows") + len(batch),
                error_rows=F("error_rows") + errors,
                duplicate_rows=F("duplicate_rows") + len(problems) - errors,
                **{name: F(name) + value for name, value in counts.items()},
            ):
                raise ImportJobLost
        batch.clear()
        if progress:
            job.refresh_from_db()
            progress(job)

    for row in rows:
        if len(batch) >= BATCH_ROWS and not (
            together and (group := together(row)) and group == together(batch[-1])
        ):
            flush()
        batch.append(row)
    if batch:
        flush()


def _figures_wait_for_rebuild() -> dict:
    """The stale mark of customers an import writes (valuation.services
    customers_figures_mark_stale): figures_version bumped and recompute requested
    IMPORT_SILENT_AFTER ahead, so that the import's one
    rebuild, not the sweeper, computes them, unless the import stops (then it is dated now)."""
    return {"requested_at": timezone.now() + IMPORT_SILENT_AFTER}


# --- Transactions -------------------------------------------------------------------------


def _imported_offering() -> Offering:
    return offerings_services.offering_stand_in_get_or_create(
        name=IMPORTED_OFFERING,
        description="Stands for a purchase whose offering the imported file did not name.",
        category_name=IMPORTED_CATEGORY,
        category_description="Purchases brought in by imports.",
    )


def _cost_ratio(offering: Offering) -> Decimal:
    """Cost as a share of the price, from the offering's components; 0 without a price."""
    if not offering.price:
        return Decimal("0")
    return offering.cost / offering.price


class _TransactionBatch:
    """Applies batches of transaction rows: customers created on demand, then one order
    interaction per purchase with its lines and one key, all with bulk inserts.

    A purchase is the rows that share a key (`TransactionRow.key`): one row numbered by its
    occurrence, or the lines of one order_ref, which the batches receive together
    (`imports.orders_together`)."""

    def __init__(self, job: ImportJob, created: dict[int, int]):
        self.job = job
        self.created = created  # the customers created: the line of each
        self.offerings = {o.name: o for o in Offering.objects.prefetch_related("components")}
        self.offering_names = set(self.offerings)
        self.ratios = {name: _cost_ratio(o) for name, o in self.offerings.items()}
        self.today = timezone.localdate()
        self.customers: dict[str, int] = {}
        self.default_offering: Offering | None = None
        # How often each row's content was seen so far in the file, for its occurrence.
        self.occurrences: dict[bytes, int] = {}

    def __call__(self, batch: list[RawRow | RowError]) -> tuple[dict, list[RowError]]:
        problems: list[RowError] = []
        units: dict[bytes, list[TransactionRow]] = {}
        built: dict[int, tuple[Interaction, OrderLine]] = {}
        refused_orders: dict[str, int] = {}  # order_ref: its first line refused
        for raw in batch:
            parsed = raw if isinstance(raw, RowError) else self._row(raw)
            if isinstance(parsed, RowError):
                problems.append(parsed)
                if ref := imports.order_ref_of(raw):
                    refused_orders.setdefault(ref, parsed.line)
                continue
            row, interaction, line = parsed
            row = self._numbered(row)
            units.setdefault(row.key, []).append(row)
            built[row.line] = interaction, line
        kept, skipped = self._new_purchases(units, refused_orders)
        problems += skipped
        if not kept:
            return {}, problems
        rows = [row for unit in kept for row in unit]
        created_customers, refused = self._customers_for(rows)
        if refused:
            # A customer is the same for all the lines of an order: refused together.
            problems += [
                dataclasses.replace(refused[row.customer_ref], line=row.line)
                for row in rows
                if row.customer_ref in refused
            ]
            kept = [unit for unit in kept if unit[0].customer_ref not in refused]
            rows = [row for unit in kept for row in unit]
        # The figures of the customers who bought now wait for the import's rebuild.
        valuation_services.customers_figures_mark_stale(
            customer_ids={self.customers[row.customer_ref] for row in rows},
            **_figures_wait_for_rebuild(),
        )
        orders, lines = [], []
        for unit in kept:
            order = built[unit[0].line][0]
            order.customer_id = self.customers[unit[0].customer_ref]
            orders.append(order)
            for row in unit:
                line = built[row.line][1]
                line.interaction = order
                lines.append(line)
        interactions = interactions_services.interactions_bulk_log(
            interactions=orders, lines=lines, batch_size=BATCH_ROWS
        )
        ImportedTransaction.objects.bulk_create(
            [
                ImportedTransaction(key=unit[0].key, interaction=i, job=self.job, line=unit[0].line)
                for unit, i in zip(kept, interactions, strict=True)
            ],
            batch_size=BATCH_ROWS,
        )
        return {"created_rows": len(rows), "customers_created": len(created_customers)}, problems

    def stand_in(self) -> Offering:
        """The offering of the rows that name none, created on demand."""
        if self.default_offering is None:
            self.default_offering = _imported_offering()
            self.ratios[IMPORTED_OFFERING] = _cost_ratio(self.default_offering)
        return self.default_offering

    def _numbered(self, row: TransactionRow) -> TransactionRow:
        """The row with its occurrence in the file (counted over all batches); an order's
        lines need none, its order_ref is their key."""
        if row.order_ref:
            return row
        key = row.key
        seen = self.occurrences.get(key, 0)
        self.occurrences[key] = seen + 1
        return dataclasses.replace(row, occurrence=seen) if seen else row

    def _new_purchases(
        self, units: dict[bytes, list[TransactionRow]], refused_orders: dict[str, int]
    ) -> tuple[list[list[TransactionRow]], list[RowError]]:
        """The purchases to import, and why each row of the others is not: its key already
        imported (the same values: a duplicate; other values: a conflict, left unchanged), or
        its order refused (an order is imported whole or not at all)."""
        earlier = {
            bytes(key): (job_id, line, interaction_id)
            for key, job_id, line, interaction_id in ImportedTransaction.objects.filter(
                key__in=list(units)
            ).values_list("key", "job_id", "line", "interaction_id")
        }
        imported = self._imported_orders(
            [earlier[key][2] for key, unit in units.items() if key in earlier and unit[0].order_ref]
        )
        kept, skipped = [], []
        for key, unit in units.items():
            if key in earlier:
                job_id, line, interaction_id = earlier[key]
                where = f"line {line}" if job_id == self.job.pk else f"import {job_id}, line {line}"
                order = imported.get(interaction_id)
                for index, row in enumerate(unit):
                    column = order and _order_differs(row, order, index)
                    if column:
                        what = "fewer lines" if column == "order_ref" else f"another {column}"
                        skipped.append(
                            RowError(
                                row.line,
                                column,
                                f"conflict: order_ref already imported ({where}) with {what}; "
                                "not changed",
                                RowOutcome.CONFLICT,
                            )
                        )
                    else:
                        skipped.append(
                            RowError(
                                row.line,
                                "",
                                f"duplicate: already imported ({where})",
                                RowOutcome.DUPLICATE,
                            )
                        )
                continue
            head = unit[0]
            refused = refused_orders.get(head.order_ref) if head.order_ref else None
            contradicting = []
            for row in unit[1:]:
                column = next(
                    (c for c, v in _order_head(row).items() if v != _order_head(head)[c]), None
                )
                if column:
                    refused = min(refused or row.line, row.line)
                    contradicting.append(
                        RowError(
                            row.line,
                            column,
                            f"{column}: not the one of line {head.line} with the same order_ref "
                            "(an order has one customer, date and channel)",
                        )
                    )
            if refused is None:
                kept.append(unit)
                continue
            failed = {p.line for p in contradicting}
            skipped += contradicting
            skipped += [
                RowError(
                    row.line,
                    "order_ref",
                    f"order_ref: the order was not imported, its line {refused} was refused",
                )
                for row in unit
                if row.line not in failed
            ]
        return kept, skipped

    @staticmethod
    def _imported_orders(interaction_ids: list[int]) -> dict[int, tuple[dict, list[tuple]]]:
        """The orders imported before under these ids: their head (as `_order_head` reads a
        row) and their lines (offering, price, cost) in the order of the file. Two queries."""
        if not interaction_ids:
            return {}
        orders: dict[int, tuple[dict, list[tuple]]] = {
            pk: (
                {
                    "customer_ref": ref,
                    "date": timezone.localtime(occurred_at).date(),
                    "channel": channel,
                },
                [],
            )
            for pk, ref, occurred_at, channel in Interaction.objects.filter(
                pk__in=interaction_ids
            ).values_list("pk", "customer__external_ref", "occurred_at", "channel")
        }
        for interaction_id, *line in (
            OrderLine.objects.filter(interaction_id__in=interaction_ids)
            .order_by("id")
            .values_list("interaction_id", "offering__name", "unit_price", "unit_cost")
        ):
            orders[interaction_id][1].append(tuple(line))
        return orders

    def _row(self, raw: RawRow) -> tuple[TransactionRow, Interaction, OrderLine] | RowError:
        """The row read, and its interaction and order line (customer and interaction still
        to set) checked by the models' own validators; or why not."""
        try:
            row = imports.transaction_row(raw, offerings=self.offering_names, today=self.today)
            if isinstance(row, RowError):
                return row
            interaction = self._interaction(row)
            line = self._line(row)
            return (
                imports.field_error(interaction, line=row.line, columns=INTERACTION_COLUMNS)
                or imports.field_error(
                    line,
                    line=row.line,
                    columns=LINE_COLUMNS if row.margin is not None else LINE_COLUMNS_NO_MARGIN,
                )
                or (row, interaction, line)
            )
        except ROW_VALUE_ERRORS as error:
            return RowError(raw.line, "", f"a value is out of range ({type(error).__name__})")

    @staticmethod
    def _new_customer(ref: str, first_day) -> Customer:
        return Customer(
            name=ref,
            external_ref=ref,
            status=LifecycleStatus.ACTIVE,
            acquired_on=first_day,
            acquisition_source="import",
        )

    def _customers_for(self, rows: list[TransactionRow]) -> tuple[set[int], dict[str, RowError]]:
        """Look up the customers of the rows, create the missing ones (checked by the model's
        validators, once per customer); the ids created, and why the refused were refused."""
        wanted = {row.customer_ref for row in rows} - set(self.customers)
        if not wanted:
            return set(), {}
        self.customers.update(
            # Not None: the filter keeps the customers whose reference is one of `wanted`.
            cast(
                "QuerySet[Customer, tuple[str, int]]",
                Customer.objects.filter(external_ref__in=wanted).values_list("external_ref", "id"),
            )
        )
        missing = sorted(wanted - set(self.customers))
        first_day: dict[str, date] = {}
        for row in rows:
            if row.customer_ref in missing:
                first_day[row.customer_ref] = min(first_day.get(row.customer_ref, row.day), row.day)
        customers, refused = [], {}
        for ref in missing:
            customer = self._new_customer(ref, first_day[ref])
            error = imports.field_error(customer, line=0, columns=NEW_CUSTOMER_COLUMNS)
            if error:
                refused[ref] = error
                continue
            customers.append(customer)
        created = customers_services.customers_bulk_create(
            customers=customers, with_history=False, batch_size=BATCH_ROWS
        )
        # Not None: _new_customer sets the reference.
        self.customers.update((cast(str, c.external_ref), c.pk) for c in created)
        first_line: dict[str, int] = {}
        for row in rows:
            first_line[row.customer_ref] = min(first_line.get(row.customer_ref, row.line), row.line)
        self.created.update((c.pk, first_line[cast(str, c.external_ref)]) for c in created)
        return {c.pk for c in created}, refused

    def _interaction(self, row: TransactionRow) -> Interaction:
        """The row's order, its customer still to set."""
        if row.order_ref:
            subject = f"{IMPORTED_ORDER} {row.order_ref}"
        elif row.quantity:
            subject = f"{IMPORTED_OFFERING} ({row.quantity} items)"
        else:
            subject = IMPORTED_OFFERING
        return Interaction(
            channel=row.channel,
            direction=Direction.INBOUND,
            type=InteractionType.ORDER,
            subject=subject[:200],
            occurred_at=timezone.make_aware(datetime.combine(row.day, time(12))),
        )

    def _line(self, row: TransactionRow) -> OrderLine:
        """The row's order line, its interaction still to set."""
        offering = self.offerings[row.offering] if row.offering else self.stand_in()
        if row.margin is not None:
            cost = row.amount - row.margin
        else:
            cost = (row.amount * self.ratios[offering.name]).quantize(
                imports.CENT, rounding=ROUND_HALF_UP
            )
        return OrderLine(
            offering=offering,
            quantity=Decimal("1"),
            unit_price=row.amount,
            unit_cost=cost,
        )


def _order_head(row: TransactionRow) -> dict:
    """What the lines of one order share: the columns of its interaction."""
    return {"customer_ref": row.customer_ref, "date": row.day, "channel": row.channel}


def _order_differs(row: TransactionRow, order: tuple[dict, list[tuple]], index: int) -> str:
    """The first column in which the row, the order's line `index`, differs from the order
    imported before ("" for none). The cost is compared only when the file gives a margin
    (else it was derived from the offering's price, which may have changed since)."""
    head, lines = order
    column = next((c for c, v in _order_head(row).items() if v != head[c]), "")
    if column:
        return column
    if index >= len(lines):
        return "order_ref"
    offering, price, cost = lines[index]
    if row.amount != price:
        return "amount"
    if (row.offering or IMPORTED_OFFERING) != offering:
        return "offering"
    if row.margin is not None and row.amount - row.margin != cost:
        return "margin"
    return ""


# What a value out of every range can raise while a row is read (a bug if it gets that far,
# but one row's, reported on its line).
ROW_VALUE_ERRORS = (InvalidOperation, ValueError, OverflowError)


# --- Customers ----------------------------------------------------------------------------

CUSTOMER_FIELDS = ("name", *(name for name in imports.CUSTOMER_OPTIONAL if name != "owner"))


def _apply_customers(
    batch: list[RawRow | RowError], *, created: dict[int, int]
) -> tuple[dict, list[RowError]]:
    problems = [row for row in batch if isinstance(row, RowError)]
    raws = [row for row in batch if isinstance(row, RawRow)]
    refs = {raw.values["external_ref"] for raw in raws}
    existing = {c.external_ref: c for c in Customer.objects.filter(external_ref__in=refs)}
    usernames = {raw.values.get("owner", "") for raw in raws} - {""}
    owners = {u.username: u for u in get_user_model().objects.filter(username__in=usernames)}
    seen: dict[str, int] = {}
    to_create, to_update = [], []
    unchanged = 0
    for raw in raws:
        values, line = raw.values, raw.line
        ref = values["external_ref"]
        if not ref:
            problems.append(RowError(line, "external_ref", "external_ref: empty"))
            continue
        if ref in seen:
            problems.append(
                RowError(line, "", f"duplicate of line {seen[ref]}", RowOutcome.DUPLICATE)
            )
            continue
        seen[ref] = line
        current = existing.get(ref)
        customer = Customer(external_ref=ref) if current is None else current
        before = {name: getattr(customer, name) for name in (*CUSTOMER_FIELDS, "owner_id")}
        try:
            error = _set_customer_fields(
                customer, values, owners, line=line
            ) or imports.field_error(customer, line=line, columns=CUSTOMER_COLUMNS)
        except ROW_VALUE_ERRORS as failure:
            error = RowError(line, "", f"a value is out of range ({type(failure).__name__})")
        if error:
            problems.append(error)
            continue
        if current is None:
            to_create.append(customer)
        elif before != {name: getattr(customer, name) for name in before}:
            to_update.append(customer)
        else:
            unchanged += 1
    if to_create:
        customers_services.customers_bulk_create(
            customers=to_create, with_history=True, batch_size=BATCH_ROWS
        )
        created.update((c.pk, seen[cast(str, c.external_ref)]) for c in to_create)
    if to_update:
        customers_services.customers_bulk_update(
            customers=to_update, fields=[*CUSTOMER_FIELDS, "owner"], batch_size=BATCH_ROWS
        )
    # Their figures wait for the import's rebuild (stale until it has run).
    valuation_services.customers_figures_mark_stale(
        customer_ids=[c.pk for c in to_create + to_update], **_figures_wait_for_rebuild()
    )
    counts = {
        "created_rows": len(to_create),
        "updated_rows": len(to_update),
        "unchanged_rows": unchanged,
        "customers_created": len(to_create),
    }
    return counts, problems


# The fields a customers row fills, each its own column ("owner" is resolved in bulk).
CUSTOMER_COLUMNS = {name: name for name in ("external_ref", *CUSTOMER_FIELDS)}


def _set_customer_fields(
    customer: Customer, values: dict, owners: dict, *, line: int
) -> RowError | None:
    for name in CUSTOMER_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "acquired_on":
            if value and imports.parse_date(value) is None:
                return RowError(line, name, "bad date: expected YYYY-MM-DD")
            value = imports.parse_date(value) if value else None
        elif name == "wallet_annual" and value:
            try:
                value = imports.parse_money(value)
            except imports.BadValue as bad:
                return RowError(line, name, f"wallet_annual: {bad}")
        elif name == "wallet_annual":
            value = None
        setattr(customer, name, value)
    if "owner" in values:
        username = values["owner"]
        if username and username not in owners:
            return RowError(line, "owner", "owner: no such user")
        customer.owner = owners.get(username)
    return None
