from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core import bounds
from valuation import services
from valuation.models import FitMethod, ModelFit
from valuation.numerics.purchase import LABELS, MODEL_NAMES, PARAMETER_NAMES


class Command(BaseCommand):
    help = (
        "Refit the population models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma) on all "
        "customers, choose the purchase model by its holdout forecast, recompute every "
        "customer's figures and tiers, and print the parameters and the holdout check."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="Fit on transactions up to this date (YYYY-MM-DD). With --holdout-until: the "
            "end of the calibration period.",
        )
        parser.add_argument(
            "--holdout-until",
            type=date.fromisoformat,
            default=None,
            help="Fit the models on transactions up to --as-of and compare each one's forecast "
            "of repeat transactions after it, up to this date, with what happened; the chosen "
            "model is then refitted on everything up to this date for the figures.",
        )

    def _check(self, name: str, value: date | None) -> None:
        if value is not None and value > timezone.localdate():
            raise CommandError(f"{name} cannot be in the future.")
        try:
            bounds.validate_happened_on(value)
        except ValidationError as error:
            raise CommandError(f"{name}: {' '.join(error.messages)}") from None

    def handle(self, *args, as_of, holdout_until, **options):
        self._check("--as-of", as_of)
        self._check("--holdout-until", holdout_until)
        calibration_end = None
        if holdout_until is not None:
            if as_of is None or holdout_until <= as_of:
                raise CommandError("--holdout-until needs an earlier --as-of.")
            calibration_end, as_of = as_of, holdout_until
        # The same work as POST /api/valuation/fits/, run here and now rather than queued.
        fit = ModelFit.objects.create(as_of=as_of or timezone.localdate())
        fit = services.valuation_fit_run(fit_id=fit.pk, calibration_end=calibration_end)
        self.stdout.write(
            f"Fit {fit.pk} as of {fit.as_of}: {fit.customers} customers with a "
            f"transaction, {fit.duration_ms} ms, {fit.get_method_display()}."
        )
        for name in MODEL_NAMES:
            entry = fit.candidates.get(name)
            if entry is None:
                continue
            params = " ".join(f"{k}={entry['params'][k]:.4f}" for k in PARAMETER_NAMES[name])
            state = "" if entry["converged"] else " (not converged)"
            self.stdout.write(
                f"{LABELS[name]:<12} {params} log-likelihood={entry['log_likelihood']:.2f}{state}"
            )
        if fit.method == FitMethod.MODEL:
            self.stdout.write(
                f"Gamma-Gamma  p={fit.gg_p:.4f} q={fit.gg_q:.4f} gamma={fit.gg_gamma:.4f} "
                f"log-likelihood={fit.gg_log_likelihood:.2f} ({fit.gg_customers} repeat customers)"
            )
        holdout = fit.holdout
        if holdout is not None:
            self.stdout.write(
                f"Holdout {holdout['calibration_end']} .. {holdout['holdout_end']} "
                f"({holdout['customers']} calibration customers): "
                f"{holdout['actual']:.0f} repeat transactions happened"
            )
            for name, predicted in holdout["predicted"].items():
                error = predicted - holdout["actual"]
                self.stdout.write(
                    f"  {LABELS[name]:<12} forecast {predicted:.1f} (error {error:+.1f})"
                )
        if fit.chosen_model:
            self.stdout.write(
                f"Chosen: {fit.get_chosen_model_display()} by {fit.get_chosen_by_display()}."
            )
        self.stdout.write(
            f"Tier thresholds: CLV >= {fit.clv_threshold}, "
            f"growth potential >= {fit.growth_threshold}"
        )
