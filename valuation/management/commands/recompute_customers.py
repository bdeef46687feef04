from django.core.management.base import BaseCommand
from django.db.models import F

from customers.models import Customer
from valuation import selectors, services
from valuation.summary import customer_summaries_rebuild

CHUNK = 5000


class Command(BaseCommand):
    help = (
        "Recompute customers' figures in bulk: the stale ones, or --all from scratch; "
        "--history rebuilds the snapshots as of every past month end."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="Rebuild every summary from the full history and recompute all.",
        )
        parser.add_argument(
            "--history",
            action="store_true",
            help="Then rebuild every customer's figures as of each past month end (the trend "
            "charts' past) and the portfolios' equity on those days.",
        )

    def handle(self, *args, all, history, **options):
        customers = Customer.objects.order_by("pk")
        if not all:
            customers = customers.filter(
                figures__figures_computed_version__lt=F("figures__figures_version")
            )
        ids = list(customers.values_list("pk", flat=True))
        done = 0
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            if all:
                customer_summaries_rebuild(
                    customer_ids=chunk, channel_costs=selectors.channel_costs_decimal()
                )
            done += services.customers_figures_recompute_all(customer_ids=chunk)
            self.stdout.write(f"\r{_bar(done, len(ids))}", ending="")
            self.stdout.flush()
        self.stdout.write(f"\nRecomputed {done} customers.")
        if history:
            days = services.valuation_history_rebuild()
            span = f"{days[0]} to {days[-1]}" if days else "nothing before this month"
            self.stdout.write(f"Rebuilt the figures as of {len(days)} month ends ({span}).")


def _bar(done: int, total: int, width: int = 40) -> str:
    filled = width * done // total if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
