"""Writes of bulk data: imports (in batches, each row whole or not at all) and erasure."""

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from crm.dispatch import enqueue_on_commit
from customers.models import ChannelConsent, Customer, CustomerFact, LifecycleStatus
from interactions.choices import Direction, InteractionType
from interactions.models import Interaction, OrderLine
from offerings.models import Category, Offering
from valuation.services import valuation_rebuild_everything

from . import imports
from .imports import FileRejected, RawRow, RowError, TransactionRow
from .models import (
    ErasureRecord,
    ImportedTransaction,
    ImportJob,
    ImportKind,
    ImportProblem,
    ImportStatus,
    RowOutcome,
)

BATCH_ROWS = 5000
IMPORTED_CATEGORY = "Imported"
IMPORTED_OFFERING = "Imported purchase"
ERASED = "[erased]"

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


def import_job_enqueue(*, kind: str, content: bytes, file_name: str = "", by=None) -> ImportJob:
    from .tasks import dataio_import_run

    with transaction.atomic():
        job = import_job_create(kind=kind, content=content, file_name=file_name, by=by)
        enqueue_on_commit(dataio_import_run, job.pk)
    return job


def import_job_run(*, job_id: int, progress: Progress | None = None) -> ImportJob:
    """Apply a queued import: every good row in full, every bad row reported, then one
    bulk rebuild of the figures. Idempotent: a finished job is left alone, a job interrupted
    half-way picks up again (rows already imported are recognised by their key)."""
    job = ImportJob.objects.get(pk=job_id)
    if job.finished:
        return job
    ImportProblem.objects.filter(job=job).delete()
    content = bytes(job.content)
    lines = imports.split_lines(content)
    header = job.kind != ImportKind.CDNOW or imports.cdnow_has_header(lines)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        started_at=timezone.now(),
        total_rows=imports.count_rows(lines, header=header),
        processed_rows=0,
        created_rows=0,
        updated_rows=0,
        unchanged_rows=0,
        duplicate_rows=0,
        error_rows=0,
        customers_created=0,
    )
    job.refresh_from_db()
    try:
        if job.kind == ImportKind.CUSTOMERS:
            _, rows = imports.csv_rows(
                lines, required=imports.CUSTOMER_COLUMNS, optional=imports.CUSTOMER_OPTIONAL
            )
            _run_batches(job, rows, _apply_customers, progress)
        else:
            if job.kind == ImportKind.CDNOW:
                rows = imports.cdnow_rows(lines)
            else:
                _, rows = imports.csv_rows(
                    lines,
                    required=imports.TRANSACTION_COLUMNS,
                    optional=imports.TRANSACTION_OPTIONAL,
                )
            _run_batches(job, rows, _TransactionBatch(job), progress)
    except FileRejected as rejected:
        ImportProblem.objects.create(
            job=job,
            line=rejected.line,
            outcome=RowOutcome.ERROR,
            field=rejected.field,
            reason=rejected.reason,
        )
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            error=rejected.reason,
            finished_at=timezone.now(),
            content=b"",
        )
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    if job.created_rows or job.updated_rows:
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.REBUILDING)
        _analyze_loaded_tables()
        if progress:
            job.refresh_from_db()
            progress(job)
        valuation_rebuild_everything(as_of=job.as_of)
    # The file is not kept once imported: the report holds line numbers and reasons only.
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE, finished_at=timezone.now(), content=b""
    )
    job.refresh_from_db()
    if progress:
        progress(job)
    return job


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


def import_job_fail(*, job_id: int, error: str) -> None:
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportStatus.DONE).update(
        status=ImportStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def _run_batches(job: ImportJob, rows: Iterable, apply, progress: Progress | None) -> None:
    batch: list = []

    def flush():
        with transaction.atomic():
            counts, problems = apply(batch)
            ImportProblem.objects.bulk_create(
                ImportProblem(
                    job=job,
                    line=p.line,
                    outcome=RowOutcome.DUPLICATE if p.duplicate else RowOutcome.ERROR,
                    field=p.field,
                    reason=p.reason[:500],
                )
                for p in problems
            )
            errors = sum(1 for p in problems if not p.duplicate)
            ImportJob.objects.filter(pk=job.pk).update(
                processed_rows=F("processed_rows") + len(batch),
                error_rows=F("error_rows") + errors,
                duplicate_rows=F("duplicate_rows") + len(problems) - errors,
                **{name: F(name) + value for name, value in counts.items()},
            )
        batch.clear()
        if progress:
            job.refresh_from_db()
            progress(job)

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()


# --- Transactions -------------------------------------------------------------------------


def _imported_offering() -> Offering:
    category, _ = Category.objects.get_or_create(
        name=IMPORTED_CATEGORY, defaults={"description": "Purchases brought in by imports."}
    )
    offering, _ = Offering.objects.get_or_create(
        name=IMPORTED_OFFERING,
        defaults={
            "category": category,
            "price": Decimal("0"),
            "active": False,
            "description": "Stands for a purchase whose offering the imported file did not name.",
        },
    )
    return offering


def _cost_ratio(offering: Offering) -> Decimal:
    """Cost as a share of the price, from the offering's components; 0 without a price."""
    if not offering.price:
        return Decimal("0")
    return offering.cost / offering.price


class _TransactionBatch:
    """Applies batches of transaction rows: customers created on demand, then one order
    interaction with one line and one content key per row, all with bulk inserts."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.offerings = {o.name: o for o in Offering.objects.prefetch_related("components")}
        self.offering_names = set(self.offerings)
        self.ratios = {name: _cost_ratio(o) for name, o in self.offerings.items()}
        self.today = timezone.localdate()
        self.customers: dict[str, int] = {}
        self.default_offering: Offering | None = None
        self.occurrences: dict[bytes, int] | None = {} if job.kind == ImportKind.CDNOW else None

    def __call__(self, batch: list[RawRow | RowError]) -> tuple[dict, list[RowError]]:
        problems: list[RowError] = []
        rows: list[TransactionRow] = []
        for raw in batch:
            row = (
                raw
                if isinstance(raw, RowError)
                else imports.transaction_row(raw, offerings=self.offering_names, today=self.today)
            )
            (problems if isinstance(row, RowError) else rows).append(row)
        if self.occurrences is not None:
            rows = [self._numbered(row) for row in rows]
        rows, duplicates = self._without_duplicates(rows)
        problems += duplicates
        if not rows:
            return {}, problems
        created_customers = self._customers_for(rows)
        if any(not row.offering for row in rows) and self.default_offering is None:
            self.default_offering = _imported_offering()
            self.ratios[IMPORTED_OFFERING] = _cost_ratio(self.default_offering)
        interactions = Interaction.objects.bulk_create(
            [self._interaction(row) for row in rows], batch_size=BATCH_ROWS
        )
        OrderLine.objects.bulk_create(
            [self._line(row, i) for row, i in zip(rows, interactions, strict=True)],
            batch_size=BATCH_ROWS,
        )
        ImportedTransaction.objects.bulk_create(
            [
                ImportedTransaction(key=row.key, interaction=i, job=self.job, line=row.line)
                for row, i in zip(rows, interactions, strict=True)
            ],
            batch_size=BATCH_ROWS,
        )
        return {"created_rows": len(rows), "customers_created": created_customers}, problems

    def _numbered(self, row: TransactionRow) -> TransactionRow:
        key = row.key
        seen = self.occurrences.get(key, 0)
        self.occurrences[key] = seen + 1
        return dataclasses.replace(row, occurrence=seen) if seen else row

    def _without_duplicates(self, rows):
        seen: dict[bytes, int] = {}
        earlier = {
            bytes(key): (job_id, line)
            for key, job_id, line in ImportedTransaction.objects.filter(
                key__in=[row.key for row in rows]
            ).values_list("key", "job_id", "line")
        }
        kept, duplicates = [], []
        for row in rows:
            key = row.key
            if key in seen:
                duplicates.append(
                    RowError(row.line, "", f"duplicate of line {seen[key]}", duplicate=True)
                )
            elif key in earlier:
                job_id, line = earlier[key]
                where = f"line {line}" if job_id == self.job.pk else f"import {job_id}, line {line}"
                duplicates.append(
                    RowError(row.line, "", f"duplicate: already imported ({where})", True)
                )
            else:
                seen[key] = row.line
                kept.append(row)
        return kept, duplicates

    def _customers_for(self, rows: list[TransactionRow]) -> int:
        wanted = {row.customer_ref for row in rows} - set(self.customers)
        if not wanted:
            return 0
        self.customers.update(
            Customer.objects.filter(external_ref__in=wanted).values_list("external_ref", "id")
        )
        missing = sorted(wanted - set(self.customers))
        first_day: dict[str, object] = {}
        for row in rows:
            if row.customer_ref in missing:
                first_day[row.customer_ref] = min(first_day.get(row.customer_ref, row.day), row.day)
        created = Customer.objects.bulk_create(
            [
                Customer(
                    name=ref,
                    external_ref=ref,
                    status=LifecycleStatus.ACTIVE,
                    acquired_on=first_day[ref],
                    acquisition_source="import",
                )
                for ref in missing
            ],
            batch_size=BATCH_ROWS,
        )
        self.customers.update((c.external_ref, c.pk) for c in created)
        return len(created)

    def _interaction(self, row: TransactionRow) -> Interaction:
        subject = (
            IMPORTED_OFFERING if not row.quantity else f"{IMPORTED_OFFERING} ({row.quantity} items)"
        )
        return Interaction(
            customer_id=self.customers[row.customer_ref],
            channel=row.channel,
            direction=Direction.INBOUND,
            type=InteractionType.ORDER,
            subject=subject[:200],
            occurred_at=timezone.make_aware(datetime.combine(row.day, time(12))),
        )

    def _line(self, row: TransactionRow, interaction: Interaction) -> OrderLine:
        offering = self.offerings[row.offering] if row.offering else self.default_offering
        if row.margin is not None:
            cost = row.amount - row.margin
        else:
            cost = (row.amount * self.ratios[offering.name]).quantize(
                imports.CENT, rounding=ROUND_HALF_UP
            )
        return OrderLine(
            interaction=interaction,
            offering=offering,
            quantity=Decimal("1"),
            unit_price=row.amount,
            unit_cost=cost,
        )


# --- Customers ----------------------------------------------------------------------------

CUSTOMER_FIELDS = ("name", *(name for name in imports.CUSTOMER_OPTIONAL if name != "owner"))


def _apply_customers(batch: list[RawRow | RowError]) -> tuple[dict, list[RowError]]:
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
            problems.append(RowError(line, "", f"duplicate of line {seen[ref]}", duplicate=True))
            continue
        seen[ref] = line
        current = existing.get(ref)
        customer = Customer(external_ref=ref) if current is None else current
        before = {name: getattr(customer, name) for name in (*CUSTOMER_FIELDS, "owner_id")}
        error = _set_customer_fields(customer, values, owners)
        if error:
            problems.append(RowError(line, error[0], error[1]))
            continue
        try:
            customer.full_clean(validate_unique=False)
        except ValidationError as invalid:
            field, messages = next(iter(invalid.message_dict.items()))
            problems.append(RowError(line, field, f"{field}: {' '.join(messages)}"))
            continue
        if current is None:
            to_create.append(customer)
        elif before != {name: getattr(customer, name) for name in before}:
            to_update.append(customer)
        else:
            unchanged += 1
    if to_create:
        bulk_create_with_history(to_create, Customer, batch_size=BATCH_ROWS)
    if to_update:
        bulk_update_with_history(
            to_update,
            Customer,
            fields=[*CUSTOMER_FIELDS, "owner"],
            batch_size=BATCH_ROWS,
        )
        Customer.objects.filter(pk__in=[c.pk for c in to_update]).update(
            figures_version=F("figures_version") + 1
        )
    counts = {
        "created_rows": len(to_create),
        "updated_rows": len(to_update),
        "unchanged_rows": unchanged,
        "customers_created": len(to_create),
    }
    return counts, problems


def _set_customer_fields(customer: Customer, values: dict, owners: dict):
    for name in CUSTOMER_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "acquired_on":
            if value and imports.parse_date(value) is None:
                return name, "bad date: expected YYYY-MM-DD"
            value = imports.parse_date(value) if value else None
        elif name == "wallet_annual":
            if value and imports.parse_money(value) is None:
                return name, "wallet_annual: not a number"
            value = imports.parse_money(value) if value else None
        setattr(customer, name, value)
    if "owner" in values:
        username = values["owner"]
        if username and username not in owners:
            return "owner", "owner: no such user"
        customer.owner = owners.get(username)
    return None


# --- Privacy ------------------------------------------------------------------------------


@transaction.atomic
def customer_erase(*, customer_id: int, by, reason: str) -> ErasureRecord:
    """Remove a customer's personal data on request (SPEC §7): identity, contact details,
    what they told us and what was said in interactions, here and in the audit history.
    Orders, lines and figures stay, without identity, so the firm's totals do not change."""
    record = ErasureRecord(customer_id=customer_id, erased_by=by, reason=reason.strip())
    record.full_clean()
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    # Deleting a consent writes a history record of it: delete first, then the history.
    ChannelConsent.objects.filter(customer_id=customer_id).delete()
    Customer.history.filter(id=customer_id).delete()
    CustomerFact.history.filter(customer_id=customer_id).delete()
    ChannelConsent.history.filter(customer_id=customer_id).delete()
    CustomerFact.objects.filter(customer_id=customer_id).update(value=ERASED)
    Interaction.objects.filter(customer_id=customer_id).update(
        subject=ERASED, notes="", next_step=""
    )
    ImportedTransaction.objects.filter(interaction__customer_id=customer_id).delete()
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer_id)
    ).update(object_repr=f"Customer {customer_id}", change_message="")
    customer.name = f"Erased customer {customer_id}"
    customer.email = ""
    customer.phone = ""
    customer.external_ref = None
    customer.acquisition_source = ""
    customer.referred_by = None
    customer.preference_link_version = None  # withdraws every preference-centre link for good
    customer._change_reason = "Personal data erased on request"
    customer._history_user = by
    customer.save()
    record.save()
    return record
