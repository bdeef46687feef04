from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core import bounds
from valuation import services
from valuation.models import FitMethod, ModelFit


class Command(BaseCommand):
    help = (
        "Refit the population purchase models (BG/NBD + Gamma-Gamma) on all customers, "
        "recompute every customer's figures and tiers, and print the parameters."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="Fit on transactions up to this date (YYYY-MM-DD).",
        )

    def handle(self, *args, as_of, **options):
        if as_of is not None and as_of > timezone.localdate():
            raise CommandError("--as-of cannot be in the future.")
        try:
            bounds.validate_happened_on(as_of)
        except ValidationError as error:
            raise CommandError(f"--as-of: {' '.join(error.messages)}") from None
        # The same work as POST /api/valuation/fits/, run here and now rather than queued.
        fit = ModelFit.objects.create(as_of=as_of or timezone.localdate())
        fit = services.valuation_fit_run(fit_id=fit.pk)
        self.stdout.write(
            f"Fit {fit.pk} as of {fit.as_of}: {fit.customers} customers with a "
            f"transaction, {fit.duration_ms} ms, {fit.get_method_display()}."
        )
        if fit.method == FitMethod.MODEL:
            self.stdout.write(
                f"BG/NBD       r={fit.bgnbd_r:.4f} alpha={fit.bgnbd_alpha:.4f} "
                f"a={fit.bgnbd_a:.4f} b={fit.bgnbd_b:.4f} "
                f"log-likelihood={fit.bgnbd_log_likelihood:.2f}"
            )
            self.stdout.write(
                f"Gamma-Gamma  p={fit.gg_p:.4f} q={fit.gg_q:.4f} gamma={fit.gg_gamma:.4f} "
                f"log-likelihood={fit.gg_log_likelihood:.2f} ({fit.gg_customers} repeat customers)"
            )
        self.stdout.write(
            f"Tier thresholds: CLV >= {fit.clv_threshold}, "
            f"growth potential >= {fit.growth_threshold}"
        )
