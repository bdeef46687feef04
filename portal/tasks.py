"""The sign-in link's message, sent by a worker after the commit (docs/portal.md): Django's
mail API, not `mail`'s outbound path, which would store the body (the token in clear) on a
`mail.Message` and put every sign-in on the customer's timeline."""

import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from core.dispatch import enqueue_on_commit
from core.tasks import retry_transient
from customers.choices import Channel
from customers.models import ChannelConsent, Customer, email_normalise
from customers.selectors import customers_by_email
from mail.models import BouncingAddress
from mail.services import one_line

from . import signin
from .models import Idea, Review, ReviewStatus, Tip

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


# --- Telling a post's author (docs/portal.md, "Reviews: the author is told"; tips and ideas
# alike) ----------------------------------------------------------------------------------

NEWS_SUBJECTS = {
    "approved": "Your {post} is published",
    "answered": "Your {post} was answered",
    "stage": "Your {post} is now {stage}",
}
NEWS_BODIES = {
    "approved": """Hello {name},

Your {post} is published: other customers read it now.

Your portal: {link}
""",
    "answered": """Hello {name},

We answered your {post}:{stage_line}

{answer}

Your portal: {link}
""",
    "stage": """Hello {name},

Your {post} is now {stage}.

Your portal: {link}
""",
}


def review_news_request(review_id: int, news: str, *, portal_link: str) -> None:
    """In the moderation's transaction (portal.community's `tell`): the message is sent by a
    worker after the commit; a broker away is logged, never a failed moderation."""
    enqueue_on_commit(review_news_send, review_id, news, portal_link)


def post_news_request(kind: str, post_id: int, news: str, *, portal_link: str) -> None:
    """As review_news_request, for a tip or an idea (`kind` "tip" or "idea")."""
    enqueue_on_commit(post_news_send, kind, post_id, news, portal_link)


def review_news_refusal(customer: Customer) -> str:
    """Why the author is not mailed ("" when they are). The news is a service message about
    their own post, as a reply is: it needs no consent to be contacted by e-mail, but a
    customer who said no to e-mail is not mailed (they read it in the portal), nor an address
    that bounces."""
    if not customer.email:
        return "no e-mail address"
    if ChannelConsent.objects.filter(
        customer=customer, channel=Channel.EMAIL, granted=False
    ).exists():
        return "declined e-mail"
    if BouncingAddress.objects.filter(address=email_normalise(customer.email)).exists():
        return "the address bounces"
    return ""


POSTS: dict[str, type[Review] | type[Tip] | type[Idea]] = {
    "review": Review,
    "tip": Tip,
    "idea": Idea,
}


def _post_named(kind: str, post) -> str:
    if kind == "idea":
        return f"idea “{one_line(post.title)}”"
    return f"{kind} {'of' if kind == 'review' else 'on'} {one_line(post.offering.name)}"


def post_news_mail(kind: str, post_id: int, news: str, portal_link: str) -> str:
    """Mail the author their post's news; returns "sent" or why not (tests and logs)."""
    model = POSTS.get(kind)
    if model is None or news not in NEWS_SUBJECTS or (news == "stage" and kind != "idea"):
        return "gone"
    related = ["customer"] if kind == "idea" else ["customer", "offering"]
    post = (
        model.objects.select_related(*related)  # type: ignore[attr-defined]
        .filter(pk=post_id, customer__preference_link_version__isnull=False)
        .first()
    )
    if post is None:
        return "gone"  # erased or deleted meanwhile
    if (news == "approved" and post.status != ReviewStatus.PUBLISHED) or (
        news == "answered" and not post.staff_answer
    ):
        return "outdated"  # hidden or its answer removed before the worker ran
    refused = review_news_refusal(post.customer)
    if refused:
        return refused
    named = _post_named(kind, post)
    stage = post.get_stage_display().lower() if kind == "idea" else ""
    send_mail(
        NEWS_SUBJECTS[news].format(post=named, stage=stage)[:200],
        NEWS_BODIES[news].format(
            name=post.customer.name,
            post=named,
            stage=stage,
            stage_line=f" it is {stage}." if stage else "",
            answer=post.staff_answer,
            link=portal_link,
        ),
        settings.DEFAULT_FROM_EMAIL,
        [post.customer.email],
    )
    return "sent"


@shared_task(**retry_transient(max_retries=3, also=SMTP_TRANSIENT))
def review_news_send(review_id: int, news: str, portal_link: str) -> str:
    return post_news_mail("review", review_id, news, portal_link)


@shared_task(**retry_transient(max_retries=3, also=SMTP_TRANSIENT))
def post_news_send(kind: str, post_id: int, news: str, portal_link: str) -> str:
    return post_news_mail(kind, post_id, news, portal_link)
