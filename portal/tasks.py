"""The sign-in link's message, sent by a worker after the commit (docs/portal.md): Django's
mail API, not `mail`'s outbound path, which would store the body (the token in clear) on a
`mail.Message` and put every sign-in on the customer's timeline."""

import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from core.dispatch import enqueue_on_commit
from core.tasks import retry_transient
from customers.models import Customer, email_normalise
from customers.selectors import customers_by_email

from . import signin

SUBJECT = "Your sign-in link"
BODY = """Hello {name},

Open this link to sign in to your customer portal:

{link}

It works once, within {minutes} minutes. If you did not ask for it, ignore this message:
nobody can sign in without it.
"""


def portal_sign_in_request(*, address: str, link_base: str) -> bool:
    """Queue a sign-in link for the one customer the address belongs to. Returns whether one
    was queued (tests and logs); the page answers the same either way (no enumeration)."""
    address = email_normalise(address)
    found = customers_by_email([address]).get(address, [])
    if len(found) != 1:
        return False  # nobody, or several customers share it: we cannot know who asks
    enqueue_on_commit(portal_sign_in_send, found[0], address, link_base)
    return True


# A mail server away for a moment is tried again (each try makes a new link; the unsent ones
# are never known to anyone); a refused address is not.
SMTP_TRANSIENT = (ConnectionError, smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected)


@shared_task(**retry_transient(max_retries=3, also=SMTP_TRANSIENT))
def portal_sign_in_send(customer_id: int, address: str, link_base: str) -> bool:
    """Make a link and mail it. `link_base` is the sign-in page's absolute URL, as the
    request that asked saw it (a host Django's ALLOWED_HOSTS let through)."""
    customer = Customer.objects.filter(
        pk=customer_id, preference_link_version__isnull=False
    ).first()
    if customer is None:  # erased meanwhile
        return False
    token = signin.portal_sign_in_issue(customer_id=customer.pk, address=address)
    send_mail(
        SUBJECT,
        BODY.format(
            name=customer.name,
            link=f"{link_base.rstrip('/')}/{token}/",
            minutes=settings.PORTAL_SIGN_IN_MINUTES,
        ),
        settings.DEFAULT_FROM_EMAIL,
        [address],
    )
    return True
