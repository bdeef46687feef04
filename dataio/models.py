"""Bulk imports with their report, and the record of erasures (SPEC §7, §11)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", "Customers (CSV)"
    TRANSACTIONS = "transactions", "Transaction log (CSV)"
    CDNOW = "cdnow", "Transaction log (CDNOW format)"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing rows"
    REBUILDING = "rebuilding", "Recomputing figures"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class KeyRule(models.TextChoices):
    """How a transaction import tells a purchase it already has from a new one."""

    OCCURRENCE = "occurrence", "identical rows counted by occurrence"
    ORDER_REF = "order_ref", "order_ref as key"


class ImportJob(models.Model):
    """One uploaded file and what became of each of its rows.

    The file is kept in the database (so any worker can read it) until the import finished,
    then emptied: the report keeps line numbers and reasons only, never the row's content.
    """

    kind = models.CharField(max_length=20, choices=ImportKind)
    file_name = models.CharField(max_length=255, blank=True)
    content = models.BinaryField(blank=True, default=b"", editable=False)
    status = models.CharField(max_length=20, choices=ImportStatus, default=ImportStatus.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_rows = models.PositiveIntegerField(default=0)
    updated_rows = models.PositiveIntegerField(default=0)
    unchanged_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    key_rule = models.CharField(
        max_length=20,
        choices=KeyRule,
        blank=True,
        help_text="Transactions: the rule that recognised rows already imported.",
    )
    error = models.TextField(blank=True, help_text="Why the whole file failed, if it did.")
    as_of = models.DateField(
        null=True,
        blank=True,
        help_text="Rebuild the figures as of this date (historic data sets); empty: today.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(
        max_length=255, blank=True, help_text="The process running the job (host:pid)."
    )
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the running job last reported progress; a silent one is failed.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=models.F("total_rows")),
                name="importjob_processed_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.get_kind_display()}, {self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


class RowOutcome(models.TextChoices):
    ERROR = "error", "Error"
    DUPLICATE = "duplicate", "Duplicate"
    # Its order_ref was imported before with other values: left as it was, not changed.
    CONFLICT = "conflict", "Conflict"
    # Imported, but the customer it created looks like another one (customers.duplicates).
    LOOKALIKE = "lookalike", "Looks like another customer"


class ImportProblem(models.Model):
    """A row of a file that was not applied, with its line number and why; or one that was,
    whose new customer looks like another one (RowOutcome.LOOKALIKE)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="problems")
    line = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=RowOutcome)
    field = models.CharField(max_length=60, blank=True)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["job", "line", "id"]
        indexes = [models.Index(fields=["job", "line"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportedTransaction(models.Model):
    """The key of every imported purchase (dataio.imports.TransactionRow.key: its order_ref, or
    its content and occurrence in the file): a second import finds it here and skips the row."""

    key = models.BinaryField(max_length=32, unique=True)
    interaction = models.OneToOneField(
        "interactions.Interaction", on_delete=models.CASCADE, related_name="import_key"
    )
    job = models.ForeignKey(ImportJob, null=True, on_delete=models.SET_NULL, related_name="+")
    line = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"Imported as interaction {self.interaction_id}"


class ErasureRecord(models.Model):
    """That a customer's personal data was erased on request: who, when, which id, why.
    Holds no personal data itself."""

    customer_id = models.PositiveBigIntegerField(db_index=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="erasures",
    )
    erased_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(
        max_length=300, help_text="E.g. 'request by e-mail of 2026-11-20'. No personal data."
    )

    class Meta:
        ordering = ["-erased_at", "-id"]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} erased on {self.erased_at:%Y-%m-%d}"
