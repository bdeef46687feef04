"""Poll the mailboxes with IMAP settings now, in this process (for cron instead of celery
beat, or to try a mailbox's settings): `manage.py mail_poll [--mailbox ADDRESS] [--force]`.
Exit status 1 when a poll failed."""

from django.core.management.base import BaseCommand, CommandError

from mail import imap


class Command(BaseCommand):
    help = "Poll the IMAP mailboxes (every enabled one, or --mailbox ADDRESS)."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", help="only the mailbox of this address")
        parser.add_argument(
            "--force", action="store_true", help="poll even a mailbox backing off after failures"
        )

    def handle(self, *args, mailbox=None, force=False, **options):
        mailboxes = imap.mailboxes_pollable()
        if mailbox:
            mailboxes = mailboxes.filter(address__iexact=mailbox)
            if not mailboxes:
                raise CommandError(f"no enabled mailbox with IMAP settings has address {mailbox}")
        failed = []
        for each in mailboxes:
            result = imap.mailbox_poll(each, force=force)
            self.stdout.write(f"{each.address}: {result}")
            if result.error:
                failed.append(each.address)
        if failed:
            raise CommandError(f"polling failed: {', '.join(failed)}")
