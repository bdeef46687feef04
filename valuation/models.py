"""What the valuation engine stores: its settings, population fits, running summaries, snapshots.

The numerics live apart in valuation.numerics (no Django); valuation.services feeds them.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from .declared import FIGURES, TIER_RECOMMENDATION, Figure, FigureType


class ValuationSettings(models.Model):
    """The admin's valuation settings (SPEC §5). One row, created by migration."""

    horizon_months = models.PositiveSmallIntegerField(
        default=36, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    annual_discount_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.10"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="0.10 = 10 % a year; applied monthly.",
    )
    target_share_of_customer = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.60"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="The share of wallet growth potential is measured against.",
    )
    mvc_share = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.10"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Top share of customers by predicted CLV who are MVCs.",
    )
    mgc_share = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.20"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Top share by growth potential (not MVC) who are MGCs.",
    )
    min_customers_to_fit = models.PositiveIntegerField(
        default=50, help_text="Below this many buying customers, use the simple estimate."
    )
    tenure_half_life_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(1)],
        help_text="Tenure factor of the experience score: halfway to 1 after this many days.",
    )

    class Meta:
        verbose_name = "valuation settings"
        verbose_name_plural = "valuation settings"

    def __str__(self) -> str:
        return "Valuation settings"

    @classmethod
    def current(cls) -> "ValuationSettings":
        return cls.objects.get_or_create(pk=1)[0]


class FitStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class FitMethod(models.TextChoices):
    # The value predates the choice of purchase model (chosen_model says which).
    MODEL = "bgnbd_gg", "Purchase model + Gamma-Gamma"
    FALLBACK = "fallback", "Simple estimate (too few customers to fit)"


class PurchaseModelName(models.TextChoices):
    """valuation.numerics.purchase.MODEL_NAMES"""

    BGNBD = "bgnbd", "BG/NBD"
    MBGNBD = "mbgnbd", "MBG/NBD"
    PARETO_NBD = "pareto_nbd", "Pareto/NBD"


class ChosenBy(models.TextChoices):
    HOLDOUT = "holdout", "Holdout forecast"
    LOG_LIKELIHOOD = "log_likelihood", "Log-likelihood (too little history for a holdout)"


class ModelFit(models.Model):
    """One population fit of the purchase models, with its quality (SPEC §5, §10)."""

    created_at = models.DateTimeField(auto_now_add=True)
    fitted_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateField(help_text="Only transactions up to this date were used.")
    status = models.CharField(max_length=20, choices=FitStatus, default=FitStatus.RUNNING)
    method = models.CharField(max_length=20, choices=FitMethod, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    customers = models.PositiveIntegerField(default=0, help_text="Customers with a transaction.")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    time_unit_days = models.FloatField(default=7.0)
    bgnbd_r = models.FloatField(null=True, blank=True)
    bgnbd_alpha = models.FloatField(null=True, blank=True)
    bgnbd_a = models.FloatField(null=True, blank=True)
    bgnbd_b = models.FloatField(null=True, blank=True)
    bgnbd_log_likelihood = models.FloatField(null=True, blank=True)
    gg_p = models.FloatField(null=True, blank=True)
    gg_q = models.FloatField(null=True, blank=True)
    gg_gamma = models.FloatField(null=True, blank=True)
    gg_log_likelihood = models.FloatField(null=True, blank=True)
    gg_customers = models.PositiveIntegerField(default=0)
    # Every purchase model fitted on all history: {name: {"params": {...}, "log_likelihood",
    # "converged"}}; the figures use chosen_model's (docs/valuation.md, "Choosing the purchase
    # model"). The bgnbd_* columns repeat BG/NBD's for the pages and fits made before.
    candidates = models.JSONField(default=dict, blank=True)
    chosen_model = models.CharField(max_length=20, choices=PurchaseModelName, blank=True)
    chosen_by = models.CharField(max_length=20, choices=ChosenBy, blank=True)
    # valuation.numerics.purchase.Holdout.as_dict(): each model fitted on the calibration
    # period and its forecast of the holdout beside what happened; null without a holdout.
    holdout = models.JSONField(null=True, blank=True)
    # Tier thresholds across the base at fit time; per-customer recomputes apply them.
    clv_threshold = models.FloatField(null=True, blank=True)
    growth_threshold = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "fitted_at"
        constraints = [
            # What the recompute relies on: a done fit says when it was fitted (the latest
            # fit is the latest fitted_at), a model fit has every parameter.
            models.CheckConstraint(
                condition=~Q(status=FitStatus.DONE) | Q(fitted_at__isnull=False),
                name="done_fit_has_fitted_at",
            ),
            models.CheckConstraint(
                condition=~Q(method=FitMethod.MODEL)
                | (
                    Q(gg_p__isnull=False, gg_q__isnull=False, gg_gamma__isnull=False)
                    & (
                        ~Q(chosen_model="")
                        # a fit from before the choice: BG/NBD, in its columns
                        | Q(
                            bgnbd_r__isnull=False,
                            bgnbd_alpha__isnull=False,
                            bgnbd_a__isnull=False,
                            bgnbd_b__isnull=False,
                        )
                    )
                ),
                name="model_fit_has_parameters",
            ),
        ]

    def __str__(self) -> str:
        return f"Fit {self.pk} as of {self.as_of} ({self.get_status_display()})"


class CustomerSummary(models.Model):
    """A customer's purchase history in a few numbers, kept current as interactions are logged.

    The per-interaction recompute reads this one row instead of the whole history, so its cost
    does not grow with the customer's age. Orders on the same calendar day are one transaction.
    `valuation.summary.customer_summaries_rebuild` recomputes it from scratch.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="summary"
    )
    transaction_days = models.PositiveIntegerField(default=0)
    first_transaction_on = models.DateField(null=True, blank=True)
    last_transaction_on = models.DateField(null=True, blank=True)
    revenue_total = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))
    margin_total = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))
    first_day_revenue = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))
    first_day_margin = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))
    interactions = models.PositiveIntegerField(default=0)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    service_interactions = models.PositiveIntegerField(default=0)
    cost_to_serve_total = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))

    class Meta:
        verbose_name_plural = "customer summaries"

    def __str__(self) -> str:
        return f"Summary of customer {self.customer_id}"

    @property
    def frequency(self) -> int:
        """Repeat transactions, as the BG/NBD model counts them."""
        return max(self.transaction_days - 1, 0)


def figure_field(figure: Figure) -> models.Field:
    """The column of a declared figure (valuation.declared), the same in both tables."""
    if figure.type == FigureType.MONEY:
        return models.DecimalField(
            figure.label, max_digits=16, decimal_places=2, null=True, blank=True
        )
    if figure.type == FigureType.RATIO:
        return models.FloatField(figure.label, null=True, blank=True)
    if figure.type == FigureType.COUNT:
        return models.PositiveIntegerField(figure.label, default=0)
    if figure.type == FigureType.MOMENT:
        return models.DateTimeField(figure.label, null=True, blank=True)
    return models.CharField(
        figure.label, max_length=figure.max_length, choices=figure.choices, blank=True
    )


def _declared_figures(name: str, figures) -> type[models.Model]:
    """An abstract model with a column per declared figure."""
    meta = type("Meta", (), {"abstract": True})
    columns = {figure.name: figure_field(figure) for figure in figures}
    return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **columns})


DeclaredFigures = _declared_figures("DeclaredFigures", FIGURES)
DeclaredSnapshotFigures = _declared_figures(
    "DeclaredSnapshotFigures", [figure for figure in FIGURES if figure.snapshot]
)


class CustomerFigures(DeclaredFigures):  # type: ignore[valid-type,misc]  # built from FIGURES
    """A customer's current figures (valuation.declared), written only by valuation.services.

    Every customer created through the services has a row (valuation.services
    customer_figures_request); readers treat a missing one as "no figures yet", and the
    recompute creates it.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="figures"
    )
    # A copy of the customer's owner, so that a portfolio's totals, median and CLV order read
    # this table alone (no join of the whole portfolio). Written with every figures request
    # and recompute (valuation.services); an owner change requests the figures.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    computed_at = models.DateTimeField(null=True, blank=True)
    # Every change that affects the figures bumps figures_version in its own transaction; the
    # recompute records the version it saw. A customer whose computed version lags is stale,
    # which is how the sweeper finds recomputes whose task was lost.
    figures_version = models.PositiveBigIntegerField(default=0)
    figures_computed_version = models.PositiveBigIntegerField(default=0)
    figures_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "customer figures"
        indexes = [
            # PostgreSQL also has (owner_id, predicted_clv DESC NULLS LAST, customer_id), for
            # the portfolio's default order: created by migration 0002 (SQLite cannot index
            # NULLS LAST).
            # The customers whose figures wait for a recompute, longest waiting first: the
            # recompute worker catches up on them in bulk, the sweeper finds the lost ones.
            models.Index(
                fields=["figures_requested_at"],
                name="figures_waiting_idx",
                condition=Q(figures_computed_version__lt=F("figures_version")),
            ),
        ]

    def __str__(self) -> str:
        return f"Figures of customer {self.customer_id}"

    @property
    def stale(self) -> bool:
        return self.figures_computed_version < self.figures_version

    @property
    def recommendation(self) -> str:
        return TIER_RECOMMENDATION.get(self.tier, "")


class CustomerSnapshot(DeclaredSnapshotFigures):  # type: ignore[valid-type,misc]  # FIGURES
    """A customer's snapshotted figures on one day, for trend charts (SPEC §3 metric history)."""

    # The nightly writes a snapshot of every customer: no index of its own (the unique
    # (customer, taken_on) index serves every lookup by customer) and no database constraint
    # (a million deferred key checks at commit, each locking its customer's row, were a
    # tenth of the nightly at 1,000,000 customers). Deleting a customer still deletes their
    # snapshots (Django's CASCADE); nothing writes a snapshot but valuation.services/bulk,
    # for customers it has just read.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="snapshots",
        db_index=False,
        db_constraint=False,
    )
    taken_on = models.DateField()
    computed_at = models.DateTimeField()
    # Rebuilt afterwards from the history up to taken_on (valuation.services
    # customers_figures_history_build), not taken on the day: a rebuild replaces these and
    # never a snapshot taken on its day.
    backfilled = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-taken_on"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "taken_on"], name="one_snapshot_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} on {self.taken_on}"


class FitPriors(models.Model):
    """What a fit learnt for the customers their own purchases cannot value (docs/valuation.md,
    "Prospects" and "Inferred wallets"): the value of a customer who has not bought yet, and
    the wallet of similar customers by segment. Written with the fit, applied by every
    recompute that applies the fit (a lookup, no query of the peers)."""

    fit = models.OneToOneField(
        ModelFit, on_delete=models.CASCADE, primary_key=True, related_name="priors"
    )
    # Prospects: of the customers first seen at least the window before as_of, those who
    # bought within the window of being first seen.
    conversion_window_days = models.PositiveIntegerField()
    prospects_seen = models.PositiveIntegerField()
    prospects_converted = models.PositiveIntegerField()
    conversion_rate = models.FloatField()
    conversion_observed = models.BooleanField(
        help_text="False: too few customers seen long enough, the assumed rate is used."
    )
    mean_spend = models.FloatField(help_text="Expected revenue per transaction of a newcomer.")
    margin_ratio = models.FloatField(help_text="Margin / revenue over every customer.")
    expected_transactions = models.FloatField(
        help_text="A newcomer's transactions over the horizon: the first and the repeats."
    )
    new_customer_value = models.FloatField(help_text="Discounted margin of a newcomer.")
    prospect_value = models.FloatField(help_text="conversion_rate × new_customer_value.")
    # A prospect who let a whole window pass without buying: of the customers first seen two
    # windows or more before as_of who had not bought in the first, those who did in the second.
    late_prospects_seen = models.PositiveIntegerField(default=0)
    late_prospects_converted = models.PositiveIntegerField(default=0)
    late_conversion_rate = models.FloatField(default=0.0)
    late_conversion_observed = models.BooleanField(default=False)
    late_prospect_value = models.FloatField(
        default=0.0, help_text="late_conversion_rate × new_customer_value."
    )
    # Inferred wallets: per segment (valuation.numerics.wallets), the wallet, its peers and the
    # level of the group it was drawn from.
    wallet_quantile = models.FloatField()
    wallet_min_peers = models.PositiveIntegerField()
    wallet_samples = models.PositiveIntegerField(help_text="Customers with a known annual spend.")
    peer_wallets = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "fit priors"

    def __str__(self) -> str:
        return f"Priors of fit {self.fit_id}"
