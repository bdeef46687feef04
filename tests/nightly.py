"""What the nightly-recompute tests compare: every customer's figures and snapshot, and the fit,
against one call over the whole base (the path before chunking)."""

from django.utils import timezone

from valuation import services
from valuation.declared import FIGURE_NAMES as FIGURE_FIELDS
from valuation.declared import SNAPSHOT_FIGURES
from valuation.models import CustomerFigures, CustomerSnapshot, ModelFit

SNAPSHOT_VALUES = [
    *SNAPSHOT_FIGURES,
]
FIT_VALUES = [
    "method",
    "customers",
    "bgnbd_r",
    "bgnbd_alpha",
    "bgnbd_a",
    "bgnbd_b",
    "gg_p",
    "gg_q",
    "gg_gamma",
    "chosen_model",
    "candidates",
    "clv_threshold",
    "growth_threshold",
]


def figures_of_everyone() -> dict:
    rows = CustomerFigures.objects.values("customer_id", *FIGURE_FIELDS)
    return {row.pop("customer_id"): row for row in rows}


def snapshots_of_everyone() -> dict:
    # The snapshots of the day (a rebuild also writes the backfilled past: test_history.py).
    rows = CustomerSnapshot.objects.filter(backfilled=False).values(
        "customer_id", "taken_on", *SNAPSHOT_VALUES
    )
    return {row.pop("customer_id"): row for row in rows}


def forget_figures() -> None:
    CustomerFigures.objects.update(
        **{name: CustomerFigures._meta.get_field(name).get_default() for name in FIGURE_FIELDS},
        computed_at=None,
    )
    CustomerSnapshot.objects.all().delete()


def one_shot_reference() -> tuple[dict, dict, dict]:
    """What the refit wrote before chunking: one call over the whole base, thresholds drawn
    from the same figures (customers_figures_recompute_all with the fit). Returns the fit's
    values, every customer's figures and every snapshot."""
    fit = ModelFit.objects.create(as_of=timezone.localdate())
    services.valuation_fit_run(fit_id=fit.pk)
    services.customers_figures_recompute_all(fit=ModelFit.objects.get(pk=fit.pk))
    fit = ModelFit.objects.values(*FIT_VALUES).get(pk=fit.pk)
    return fit, figures_of_everyone(), snapshots_of_everyone()
