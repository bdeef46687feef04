from django.core.management.base import BaseCommand

from workspace.services import offering_affinities_refresh


class Command(BaseCommand):
    help = (
        "Draw the next best offerings again now from every customer's purchases (the nightly "
        "task does it every night; bin/run does it after seed_demo)."
    )

    def handle(self, *args, **options):
        offering_affinities_refresh()
        self.stdout.write("Next best offerings drawn again from every customer's purchases.")
