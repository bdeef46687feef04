from django.core.management.base import BaseCommand

from dataio.models import ImportKind

from ._common import add_arguments, run_import


class Command(BaseCommand):
    help = (
        "Import customers from a CSV file (columns: external_ref,name and optionally email, "
        "phone, kind, status, owner, acquired_on, acquisition_source, preferred_channel, "
        "wallet_annual). Rows are matched by external_ref; see README 'Bulk data'."
    )

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        run_import(
            self,
            kind=ImportKind.CUSTOMERS,
            path=options["file"],
            report=options["report"],
            quiet=options["quiet"],
            as_of=options["as_of"],
        )
