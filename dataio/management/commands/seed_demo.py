from django.core.management.base import BaseCommand

from dataio.demo import demo_data_seed
from dataio.demo_mail import demo_mail_seed
from valuation.services import valuation_rebuild_everything


class Command(BaseCommand):
    help = (
        "Create demo users (one per role), offerings, customers and two years of history, "
        "valued at once. The next best offerings come from `offering_affinities_refresh` "
        "(bin/run runs it next) or the nightly task."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--days", type=int, default=730, help="Length of the history.")
        parser.add_argument(
            "--seed", type=int, default=7, help="Random seed (same seed, same data)."
        )

    def handle(self, *args, customers, days, seed, **options):
        summary = demo_data_seed(customers=customers, days=days, seed=seed)
        # Before the figures are computed: the sample mail brings a new prospect.
        received = demo_mail_seed()
        if received:
            self.stdout.write(f"Received {received} sample emails (support queue, local mailbox).")
        if summary.skipped:
            self.stdout.write("Customers already exist: demo history left as it is.")
        else:
            # The history was bulk-inserted: summaries, a population fit and every customer's
            # figures are computed in bulk once, not one task per interaction.
            fit = valuation_rebuild_everything()
            self.stdout.write(
                f"Fitted the purchase models on {fit.customers} customers "
                f"({fit.get_method_display()})."
            )
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created {summary.customers} customers, {summary.interactions} interactions, "
                    f"{summary.order_lines} order lines."
                )
            )
        self.stdout.write("Demo sign-ins (local use only):")
        for username, password, role in summary.users:
            self.stdout.write(f"  {username:<8} {password:<22} {role}")
