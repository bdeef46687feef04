"""The email channel of the demo (`seed_demo`): a support mailbox, a rule that makes a
complaint, two canned replies, and a few messages from demo customers and one stranger
(dataio/demo_mail/*.eml), received through the same service as real mail (mail.inbound)."""

from email.utils import format_datetime
from pathlib import Path
from string import Template

from django.conf import settings
from django.utils import timezone

from customers.models import Customer
from mail.inbound import mail_receive
from mail.models import CannedReply, Mailbox, Rule, Via

SAMPLES = Path(__file__).resolve().parent / "demo_mail"
CANNED = {
    "Thanks, we are on it": (
        "Dear {{ customer.first_name }},\n\nthank you for writing to us. We are looking into it "
        "and will come back to you today.\n\nKind regards,\n{{ me }}"
    ),
    "Service visit": (
        "Dear {{ customer.first_name }},\n\na technician can come by this week. Which day suits "
        "you best?\n\nKind regards,\n{{ me }}"
    ),
}


def demo_mail_seed() -> int:
    """Set up the channel and receive the sample messages; returns how many were new."""
    support, _ = Mailbox.objects.get_or_create(
        address=settings.DEFAULT_FROM_EMAIL,
        defaults={"name": "Support", "is_default": not Mailbox.objects.exists()},
    )
    Rule.objects.get_or_create(
        field="subject", contains="complaint", defaults={"type": "complaint"}
    )
    for title, body in CANNED.items():
        CannedReply.objects.get_or_create(title=title, defaults={"body": body})
    people = list(Customer.objects.exclude(email="").filter(owner__isnull=False).order_by("id")[:3])
    if len(people) < 3:
        return 0
    now = timezone.now()
    values = {"support": support.address}
    for index, person in enumerate(people, start=1):
        suffix = "" if index == 1 else str(index)
        values[f"name{suffix}"] = person.name
        values[f"first{suffix}"] = person.name.split()[0]
        values[f"email{suffix}"] = person.email
    for hours, key in ((30, "date1"), (3, "date2"), (1, "date3")):
        values[key] = format_datetime(now - timezone.timedelta(hours=hours))
    created = 0
    for sample in sorted(SAMPLES.glob("*.eml")):
        raw = Template(sample.read_text()).substitute(values).replace("\n", "\r\n")
        created += mail_receive(raw.encode(), via=Via.LOCAL, mailbox=support).created
    return created
