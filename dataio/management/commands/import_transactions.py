from django.core.management.base import BaseCommand

from dataio.models import ImportKind

from ._common import add_arguments, run_import


class Command(BaseCommand):
    help = (
        "Import a transaction log: CSV with customer_ref,date,amount and optionally margin, "
        "offering, channel, order_ref (the rows of one order_ref are one order's lines; "
        "without it identical rows count by occurrence); or --format cdnow for CDNOW's "
        "whitespace-separated customer date(YYYYMMDD) quantity dollars. Unknown customers "
        "are created; rows already imported are skipped; the figures are rebuilt once at the end."
    )

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.add_argument("--format", choices=["csv", "cdnow"], default="csv")

    def handle(self, *args, **options):
        run_import(
            self,
            kind=ImportKind.CDNOW if options["format"] == "cdnow" else ImportKind.TRANSACTIONS,
            path=options["file"],
            report=options["report"],
            quiet=options["quiet"],
            as_of=options["as_of"],
        )
