"""Who may reach what: every URL pattern of the project (UI pages and API endpoints) × role
(admin ada, alice the customer's manager, bob another manager, charlie support staff,
anonymous) × action, with the exact status. A new URL pattern fails this test until it is added
to the matrix. Money figures are hidden from support staff; guessing ids reveals nothing.
"""

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.money import MONEY_FIELDS
from customers.models import FactKey
from dataio.models import ImportJob
from interactions.models import BusinessCalendar, ChannelCost, Notice, ServiceLevelTarget
from mail.models import Attachment, Message
from offerings.models import Partner
from portal.models import Idea, Review, Tip
from replenishment.services import replenishment_subscribe
from webforms.models import ContactForm
from webhooks.models import Delivery, Endpoint

from .factories import CustomerFactory, OfferingFactory
from .valuation.history import log_contact, log_order

pytestmark = pytest.mark.django_db

ROLES = ("ada", "alice", "bob", "charlie", "anonymous")
PUBLIC = "same for everyone"  # /healthz answers 200 or 503 depending on the worker, not the role

# GET of every named URL pattern: expected status for ada, alice, bob, charlie, anonymous.
# 302 for anonymous UI pages is the redirect to the sign-in page; the API answers 403.
GET_MATRIX = {
    "home": (302, 302, 302, 302, 302),
    # The admins' landing page (tests/test_landing_pages.py).
    "overview": (200, 403, 403, 403, 302),
    "healthz": PUBLIC,
    "login": (302, 302, 302, 302, 200),
    "logout": (405, 405, 405, 405, 405),
    "customers:list": (200, 200, 200, 200, 302),
    "customers:portfolio": (302, 200, 200, 302, 302),
    "customers:create": (200, 200, 200, 403, 302),
    "customers:detail": (200, 200, 404, 200, 302),
    "customers:edit": (200, 200, 404, 404, 302),
    # The read-only card: every staff member, bob too (alice's customer, no money, no
    # actions); the full page above stays 404 for bob.
    "customers:card": (200, 200, 200, 200, 302),
    # Search everywhere (the top bar's box): staff.
    "search": (200, 200, 200, 200, 302),
    "customers:preference-link-rotate": (405, 405, 405, 405, 302),
    # Other addresses: those who edit the customer and support staff add; editors remove.
    "customers:emails": (200, 200, 404, 200, 302),
    "customers:email-remove": (405, 405, 405, 405, 302),
    # Merging a duplicate in: as the API (support staff see the customer, merge none).
    "customers:merge": (200, 200, 404, 403, 302),
    "interactions:search": (200, 200, 200, 200, 302),
    "interactions:queue": (200, 200, 200, 200, 302),
    "interactions:availability": (405, 405, 405, 405, 302),
    "interactions:service-levels": (200, 200, 200, 200, 302),
    # The admins' choice of assignment mode.
    "interactions:assignment": (200, 403, 403, 403, 302),
    # Escalation notices: each staff member's own list; marking read is a POST.
    "notices:list": (200, 200, 200, 200, 302),
    "notices:read": (405, 405, 405, 405, 302),
    "notices:email": (405, 405, 405, 405, 302),
    "interactions:log": (200, 200, 404, 200, 302),
    "interactions:rate": (200, 200, 404, 200, 302),
    "interactions:resolve": (405, 405, 405, 405, 302),
    "interactions:take": (405, 405, 405, 405, 302),
    "interactions:wait": (405, 405, 405, 405, 302),
    "admin:index": (200, 302, 302, 302, 302),
    "api-token": (405, 405, 405, 405, 405),
    "api-customers": (200, 200, 200, 200, 403),
    "api-customer": (200, 200, 404, 200, 403),
    "api-customer-timeline": (200, 200, 404, 200, 403),
    "api-customer-facts": (200, 200, 404, 200, 403),
    "api-customer-figures-history": (200, 200, 404, 200, 403),
    "api-interactions": (200, 200, 200, 200, 403),
    # Batches take POST only (tests/api_batch).
    "api-interactions-batch": (405, 405, 405, 405, 403),
    "api-customers-batch": (405, 405, 405, 405, 403),
    # Before creating: who this looks like (a name is required); creators only.
    "api-customers-lookalikes": (400, 400, 400, 403, 403),
    "api-interaction": (200, 200, 404, 200, 403),
    "api-offerings": (200, 200, 200, 200, 403),
    "api-offering": (200, 200, 200, 200, 403),
    "api-valuation-fits": (200, 403, 403, 403, 403),
    "schema": (200, 200, 200, 200, 200),
    "api-docs": (200, 200, 200, 200, 200),
    "api-customer-next-best-offerings": (200, 200, 404, 200, 403),
    # The customer's own page: the signed link is the credential, whoever opens it.
    "preference-centre": (200, 200, 200, 200, 200),
    # A public contact form (webforms): no sign-in, the same page for everyone.
    "webforms:form": (200, 200, 200, 200, 200),
    # The to-do list: managers and admins (a to-do may be handed to an admin); its actions
    # take POST only.
    "workspace:todo": (200, 200, 200, 403, 302),
    "workspace:todo-done": (405, 405, 405, 405, 302),
    "workspace:todo-reopen": (405, 405, 405, 405, 302),
    "workspace:todo-snooze": (405, 405, 405, 405, 302),
    "workspace:todo-reassign": (405, 405, 405, 405, 302),
    "workspace:map": (403, 200, 200, 403, 302),
    "workspace:scorecards": (200, 403, 403, 403, 302),
    # The purchase models' check: admins (the fits' view permission); it shows spend.
    "workspace:models": (200, 403, 403, 403, 302),
    "workspace:offer-make": (405, 405, 405, 405, 302),
    "workspace:offer-outcome": (405, 405, 405, 405, 302),
    # New senders to check: everyone sees those of the customers they see.
    "workspace:triage": (200, 200, 200, 200, 302),
    "workspace:triage-clear": (405, 405, 405, 405, 302),
    # Bulk data and privacy: exports scoped by role, imports and privacy actions for admins.
    "api-customer-erase": (405, 405, 405, 405, 403),
    "api-customer-export": (200, 403, 403, 403, 403),
    "api-customers-export": (200, 200, 200, 200, 403),
    "api-import": (200, 403, 403, 403, 403),
    "api-imports": (405, 405, 405, 405, 403),
    "dataio:customer-erase": (200, 403, 403, 403, 302),
    "dataio:customer-export": (200, 403, 403, 403, 302),
    "dataio:customers-csv": (200, 200, 200, 200, 302),
    "dataio:home": (200, 200, 200, 200, 302),
    "dataio:job": (200, 403, 403, 403, 302),
    "dataio:job-progress": (200, 403, 403, 403, 302),
    "dataio:job-report": (200, 403, 403, 403, 302),
    "dataio:job-status": (200, 403, 403, 403, 302),
    "dataio:upload": (405, 405, 405, 405, 302),
    # The email channel: a conversation is its customer's (bob: another portfolio's).
    "mail:conversation": (200, 200, 404, 200, 302),
    "mail:attachment": (200, 200, 404, 200, 302),
    "mail:reply": (405, 405, 405, 405, 302),
    "mail:send-again": (405, 405, 405, 405, 302),
    "mail:address-add": (405, 405, 405, 405, 302),
    "mail:triage-clear": (405, 405, 405, 405, 302),
    "api-interaction-reply": (405, 405, 405, 405, 403),
    # The inbound mail endpoint takes only its own token or signature, never a staff session.
    "api-mail-inbound": (405, 405, 405, 405, 405),
    # The local mailbox exists only in the embedded default (tests/mail/test_local_mailbox.py).
    "mail-local:list": (404, 404, 404, 404, 302),
    "mail-local:write": (404, 404, 404, 404, 302),
    "mail-local:answer": (404, 404, 404, 404, 302),
    # The rest of the model (issue 17): configuration read by staff, written by admins;
    # subscriptions scoped like customers; users admins only.
    "api-categories": (200, 200, 200, 200, 403),
    "api-category": (200, 200, 200, 200, 403),
    "api-partners": (200, 200, 200, 200, 403),
    "api-partner": (200, 200, 200, 200, 403),
    "api-fact-keys": (200, 200, 200, 200, 403),
    "api-fact-key": (200, 200, 200, 200, 403),
    "api-channel-costs": (200, 200, 200, 200, 403),
    "api-channel-cost": (200, 200, 200, 200, 403),
    "api-service-level-targets": (200, 200, 200, 200, 403),
    "api-service-level-target": (200, 200, 200, 200, 403),
    # Business calendars: admins only, read and write.
    "api-business-calendars": (200, 403, 403, 403, 403),
    "api-support-assignment": (200, 403, 403, 403, 403),
    "api-business-calendar": (200, 403, 403, 403, 403),
    "api-subscriptions": (200, 200, 200, 200, 403),
    "api-subscription": (200, 200, 404, 200, 403),
    "api-subscription-pause": (405, 405, 405, 405, 403),
    "api-subscription-resume": (405, 405, 405, 405, 403),
    "api-subscription-skip": (405, 405, 405, 405, 403),
    "api-subscription-interval": (405, 405, 405, 405, 403),
    "api-subscription-cancel": (405, 405, 405, 405, 403),
    "api-users": (200, 403, 403, 403, 403),
    "api-user": (200, 403, 403, 403, 403),
    "api-customers-reassign": (405, 405, 405, 405, 403),
    # Merging a duplicate in (the preview without ?duplicate= is refused naming it): admins and
    # the customer's manager; support staff see the customer but merge none.
    "api-customer-merge": (400, 400, 404, 403, 403),
    # Webhooks: admins only (the endpoints hold signing secrets and see every customer's events).
    "api-webhooks": (200, 403, 403, 403, 403),
    "api-webhook": (200, 403, 403, 403, 403),
    "api-webhook-deliveries": (200, 403, 403, 403, 403),
    "api-webhook-delivery-resend": (405, 405, 405, 405, 403),
    # The customer's portal: staff are nobody there (a customer session is its own key, not
    # request.user), so they see it as anonymous does: its pages go to the portal's sign-in.
    "portal:home": (302, 302, 302, 302, 302),
    "portal:sign-in": (200, 200, 200, 200, 200),
    "portal:sign-in-confirm": (200, 200, 200, 200, 200),  # a real link: the button only
    "portal:sign-out": (405, 405, 405, 405, 405),
    "portal:preferences": (302, 302, 302, 302, 302),
    "portal:subscription-pause": (405, 405, 405, 405, 405),
    "portal:subscription-resume": (405, 405, 405, 405, 405),
    "portal:subscription-skip": (405, 405, 405, 405, 405),
    "portal:subscription-interval": (405, 405, 405, 405, 405),
    # The community (docs/portal.md): the customer's posts are POSTs of a portal session;
    # moderation is the admins' (request.user); an offering's reviews are public.
    "portal:display-name": (405, 405, 405, 405, 405),
    "portal:review-post": (405, 405, 405, 405, 405),
    "portal:review-report": (405, 405, 405, 405, 405),
    "portal:moderation": (200, 403, 403, 403, 302),
    "portal:review-approve": (405, 405, 405, 405, 405),
    "portal:review-hide": (405, 405, 405, 405, 405),
    "portal:review-answer": (405, 405, 405, 405, 405),
    # Tips and the ideas board: the customer's pages and posts are a portal session's; the
    # staff's list of ideas is for admins and managers (support refused), its answer admins'.
    "portal:tip-post": (405, 405, 405, 405, 405),
    "portal:tip-report": (405, 405, 405, 405, 405),
    "portal:ideas": (302, 302, 302, 302, 302),
    "portal:idea-post": (405, 405, 405, 405, 405),
    "portal:idea-vote": (405, 405, 405, 405, 405),
    "portal:idea-unvote": (405, 405, 405, 405, 405),
    "portal:idea-report": (405, 405, 405, 405, 405),
    "portal:ideas-manage": (200, 200, 200, 403, 302),
    "portal:idea-answer": (405, 405, 405, 405, 405),
    "portal:tip-approve": (405, 405, 405, 405, 405),
    "portal:tip-hide": (405, 405, 405, 405, 405),
    "portal:tip-answer": (405, 405, 405, 405, 405),
    "portal:idea-approve": (405, 405, 405, 405, 405),
    "portal:idea-hide": (405, 405, 405, 405, 405),
    # The customer's requests (portal/requests.py): a portal session's pages.
    "portal:requests": (302, 302, 302, 302, 302),
    "portal:request-detail": (302, 302, 302, 302, 302),
    "portal:request-reply": (405, 405, 405, 405, 405),
    # Staff's answer to a review (the to-do's link): whoever sees its customer.
    "portal:review-answer-page": (200, 200, 404, 200, 302),
    "offering-reviews": (200, 200, 200, 200, 200),
}

# Writes with an empty body: 400 means "allowed, but say what you want"; 403/404 mean refused.
WRITE_MATRIX = {
    ("post", "api-token"): (400, 400, 400, 400, 400),
    ("post", "api-customers"): (400, 400, 400, 403, 403),
    ("patch", "api-customer"): (200, 200, 404, 403, 403),
    ("post", "api-customer-facts"): (400, 400, 404, 400, 403),
    ("post", "api-interactions"): (400, 400, 400, 400, 403),
    ("post", "api-interactions-batch"): (400, 400, 400, 400, 403),
    # Support staff neither create nor edit customers.
    ("post", "api-customers-batch"): (400, 400, 400, 403, 403),
    ("patch", "api-interaction"): (200, 200, 404, 200, 403),
    ("post", "api-offerings"): (400, 403, 403, 403, 403),
    ("patch", "api-offering"): (200, 403, 403, 403, 403),
    ("post", "api-valuation-fits"): (202, 403, 403, 403, 403),
    # UI actions on alice's customer's interaction (sign-in redirect for anonymous).
    ("post", "customers:edit"): (200, 200, 404, 404, 302),
    # The read-only card and the search take no writes.
    ("post", "customers:card"): (405, 405, 405, 405, 302),
    ("post", "search"): (405, 405, 405, 405, 302),
    # A new preference-centre link: staff who see the customer (back to the customer page).
    ("post", "customers:preference-link-rotate"): (302, 302, 404, 302, 302),
    # An empty log form is refused (400) and re-rendered with its errors.
    ("post", "interactions:log"): (400, 400, 404, 400, 302),
    # Saying whether one takes new items: anyone who works the queue (back to the queue).
    ("post", "interactions:availability"): (302, 302, 302, 302, 302),
    ("post", "interactions:take"): (302, 302, 404, 302, 302),
    # Waiting on the customer: whoever sees the item (back to the queue with a message).
    ("post", "interactions:wait"): (302, 302, 404, 302, 302),
    # alice's notice: only she marks it read; anyone else's reads like none at all.
    ("post", "notices:read"): (404, 302, 404, 404, 302),
    # One's own choice of notice e-mails: every staff member (an empty choice: back with a
    # message naming the field).
    ("post", "notices:email"): (302, 302, 302, 302, 302),
    # An empty address is refused (400) on the page that asks for it; removing one is the
    # editors' (support staff do not reach it: 404, as for the profile's edit page).
    ("post", "customers:emails"): (400, 400, 404, 400, 302),
    ("post", "customers:email-remove"): (400, 400, 404, 404, 302),
    # An empty merge is refused naming the duplicate, shown again with the error.
    ("post", "customers:merge"): (400, 400, 404, 403, 302),
    # The actions on a to-do of alice's customer's item: an empty form goes back to the list
    # with a message naming the field; bob (another portfolio's) 404, support 403.
    ("post", "workspace:todo-done"): (302, 302, 404, 403, 302),
    ("post", "workspace:todo-reopen"): (302, 302, 404, 403, 302),
    ("post", "workspace:todo-snooze"): (302, 302, 404, 403, 302),
    ("post", "workspace:todo-reassign"): (302, 302, 404, 403, 302),
    # "Checked" on a sender: whoever sees the customer (back to the list).
    ("post", "workspace:triage-clear"): (302, 302, 404, 302, 302),
    # An empty contact form is refused and shown again with its errors, to anyone.
    ("post", "webforms:form"): (400, 400, 400, 400, 400),
    # An empty reply is refused naming the body; the other actions go back to the page.
    ("post", "api-interaction-reply"): (400, 400, 404, 400, 403),
    ("post", "mail:reply"): (400, 400, 404, 400, 302),
    ("post", "mail:send-again"): (302, 302, 404, 302, 302),
    ("post", "mail:address-add"): (302, 302, 404, 302, 302),
    ("post", "mail:triage-clear"): (302, 302, 404, 302, 302),
    # Off until MAIL_INBOUND_TOKEN or _SECRET is set (tests/mail/test_ways_in.py: with one).
    ("post", "api-mail-inbound"): (404, 404, 404, 404, 404),
    # The rest of the model (issue 17). A category or partner still referred to stays (409).
    ("post", "api-categories"): (400, 403, 403, 403, 403),
    ("patch", "api-category"): (200, 403, 403, 403, 403),
    ("delete", "api-category"): (409, 403, 403, 403, 403),
    ("post", "api-partners"): (400, 403, 403, 403, 403),
    ("patch", "api-partner"): (200, 403, 403, 403, 403),
    ("delete", "api-partner"): (409, 403, 403, 403, 403),
    ("post", "api-fact-keys"): (400, 403, 403, 403, 403),
    ("patch", "api-fact-key"): (200, 403, 403, 403, 403),
    ("post", "api-channel-costs"): (400, 403, 403, 403, 403),
    ("patch", "api-channel-cost"): (200, 403, 403, 403, 403),
    ("delete", "api-channel-cost"): (204, 403, 403, 403, 403),
    ("post", "api-service-level-targets"): (400, 403, 403, 403, 403),
    ("patch", "api-service-level-target"): (200, 403, 403, 403, 403),
    ("delete", "api-service-level-target"): (204, 403, 403, 403, 403),
    ("post", "api-business-calendars"): (400, 403, 403, 403, 403),
    # The assignment mode: admins only; an empty choice names the field.
    ("put", "api-support-assignment"): (400, 403, 403, 403, 403),
    ("post", "interactions:assignment"): (400, 403, 403, 403, 302),
    ("patch", "api-business-calendar"): (200, 403, 403, 403, 403),
    ("delete", "api-business-calendar"): (204, 403, 403, 403, 403),
    # Subscriptions: the customer's manager and admins change them, support reads them.
    ("post", "api-subscriptions"): (400, 400, 400, 403, 403),
    ("post", "api-subscription-pause"): (200, 200, 404, 403, 403),
    ("post", "api-subscription-resume"): (200, 200, 404, 403, 403),
    ("post", "api-subscription-skip"): (200, 200, 404, 403, 403),
    ("post", "api-subscription-interval"): (400, 400, 404, 403, 403),
    ("post", "api-subscription-cancel"): (200, 200, 404, 403, 403),
    ("post", "api-users"): (400, 403, 403, 403, 403),
    ("patch", "api-user"): (200, 403, 403, 403, 403),
    ("post", "api-customers-reassign"): (400, 403, 403, 403, 403),
    ("post", "api-customer-merge"): (400, 400, 404, 403, 403),
    ("post", "api-webhooks"): (400, 403, 403, 403, 403),
    ("patch", "api-webhook"): (200, 403, 403, 403, 403),
    ("post", "api-webhook-delivery-resend"): (202, 403, 403, 403, 403),
    ("delete", "api-webhook"): (204, 403, 403, 403, 403),
    # The portal: an empty address is a form error; the one real link signs the first
    # browser in (whoever was signed in there is not any more) and is spent for the others;
    # the subscription actions send every non-customer to the portal's sign-in.
    ("post", "portal:sign-in"): (400, 400, 400, 400, 400),
    ("post", "portal:sign-in-confirm"): (302, 410, 410, 410, 410),
    ("post", "portal:sign-out"): (302, 302, 302, 302, 302),
    ("post", "portal:subscription-pause"): (302, 302, 302, 302, 302),
    ("post", "portal:subscription-resume"): (302, 302, 302, 302, 302),
    ("post", "portal:subscription-skip"): (302, 302, 302, 302, 302),
    ("post", "portal:subscription-interval"): (302, 302, 302, 302, 302),
    # Staff are nobody to the customer's posts (to the portal's sign-in); moderation: the
    # admin reaches the review (the world's has an empty answer: the form error), others not.
    ("post", "portal:display-name"): (302, 302, 302, 302, 302),
    ("post", "portal:review-post"): (302, 302, 302, 302, 302),
    ("post", "portal:review-report"): (302, 302, 302, 302, 302),
    ("post", "portal:review-approve"): (302, 403, 403, 403, 302),
    ("post", "portal:review-hide"): (302, 403, 403, 403, 302),
    ("post", "portal:review-answer"): (400, 403, 403, 403, 302),
    ("post", "portal:tip-post"): (302, 302, 302, 302, 302),
    ("post", "portal:tip-report"): (302, 302, 302, 302, 302),
    ("post", "portal:idea-post"): (302, 302, 302, 302, 302),
    ("post", "portal:idea-vote"): (302, 302, 302, 302, 302),
    ("post", "portal:idea-unvote"): (302, 302, 302, 302, 302),
    ("post", "portal:idea-report"): (302, 302, 302, 302, 302),
    ("post", "portal:idea-answer"): (400, 403, 403, 403, 302),  # ada: no status given
    ("post", "portal:tip-approve"): (302, 403, 403, 403, 302),
    ("post", "portal:tip-hide"): (302, 403, 403, 403, 302),
    ("post", "portal:tip-answer"): (400, 403, 403, 403, 302),
    ("post", "portal:idea-approve"): (302, 403, 403, 403, 302),
    ("post", "portal:idea-hide"): (302, 403, 403, 403, 302),
    ("post", "portal:request-reply"): (302, 302, 302, 302, 302),
    ("post", "portal:review-answer-page"): (400, 400, 404, 400, 302),
}


def url_names(patterns=None, namespace=""):
    """Every named URL pattern of the project; the admin counts as its index only."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                yield "admin:index"
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


@pytest.fixture
def world(ada, alice, bob, charlie):
    customer = CustomerFactory(owner=alice)
    offering = OfferingFactory()
    log_order(customer, offering, days_ago=40)
    interaction = log_contact(customer, days_ago=1, requires_response=True)
    users = {"ada": ada, "alice": alice, "bob": bob, "charlie": charlie, "anonymous": None}
    notice = Notice.objects.create(user=alice, interaction=interaction, kind="breached")
    import_job = ImportJob.objects.create(kind="transactions", file_name="log.csv")
    contact_form = ContactForm.objects.create(name="Contact us", slug="contact")
    # The item came by mail, with an attachment (the conversation page's links and actions).
    message = Message.objects.create(
        direction="inbound",
        via="imap",
        match="thread",
        message_id="world@example.net",
        interaction=interaction,
        from_address="other-address@example.net",
        subject=interaction.subject,
        text="Hello",
    )
    attachment = Attachment.objects.create(
        message=message,
        filename="note.txt",
        content_type="text/plain",
        size=5,
        file=ContentFile(b"hello", name="note.txt"),
    )
    # A partner who delivers the offering's component (so it stays), a subscription of
    # alice's customer, and one of each configuration row (the migrations' defaults).
    partner = Partner.objects.create(name="Brew Techs")
    offering.components.update(partner=partner)
    subscription = replenishment_subscribe(
        customer=customer, offering=offering, next_due=timezone.localdate(), interval_days=30
    )
    ids = {
        "api-category": offering.category_id,
        "api-partner": partner.pk,
        "api-fact-key": FactKey.objects.get(key="delivery_window").pk,
        "api-channel-cost": ChannelCost.objects.get(channel="phone").pk,
        "api-service-level-target": ServiceLevelTarget.objects.get(type="inquiry", channel="").pk,
        "api-business-calendar": BusinessCalendar.objects.create(
            name="Office", time_zone="Europe/Berlin", weekly_hours={"0": [["09:00", "17:00"]]}
        ).pk,
        "api-user": alice.pk,
        **{
            name: subscription.pk
            for name in (
                "api-subscription",
                "api-subscription-pause",
                "api-subscription-resume",
                "api-subscription-skip",
                "api-subscription-interval",
                "api-subscription-cancel",
            )
        },
    }
    endpoint = Endpoint.objects.create(
        url="https://hooks.example.com/crm", events=["customer.created"], secret="whsec_x"
    )
    delivery = Delivery.objects.create(
        endpoint=endpoint, event_id="evt_1", event_type="customer.created", body="{}"
    )
    return {
        "contact_form": contact_form,
        "message": message,
        "attachment": attachment,
        "ids": ids,
        "customer": customer,
        "offering": offering,
        "interaction": interaction,
        "users": users,
        "import_job": import_job,
        "endpoint": endpoint,
        "delivery": delivery,
        "subscription": subscription,
        # A pending review in the portal, for the moderation actions.
        "review": Review.objects.create(customer=customer, offering=offering, rating=4, text="ok"),
        # A pending tip and idea, for theirs.
        "tip": Tip.objects.create(customer=customer, offering=offering, text="Grind fine"),
        "idea": Idea.objects.create(customer=customer, title="Smaller bags", text="250 g"),
        "notice": notice,
    }


def path_for(name: str, world) -> str:
    pattern_kwargs = {
        "customer_id": world["customer"].pk,
        "interaction_id": world["interaction"].pk,
        "root_id": world["interaction"].pk,
        "message_id": world["message"].pk,
        "attachment_id": world["attachment"].pk,
        "notice_id": world["notice"].pk if "notice" in world else 1,
    }
    if "subscription" in world:
        pattern_kwargs["subscription_id"] = world["subscription"].pk
    pattern_kwargs["offering_id"] = world["offering"].pk
    # Worlds of other modules have no review: an id of nothing, refused all the same.
    pattern_kwargs["review_id"] = world["review"].pk if "review" in world else 1
    pattern_kwargs["tip_id"] = world["tip"].pk if "tip" in world else 1
    pattern_kwargs["idea_id"] = world["idea"].pk if "idea" in world else 1
    if name == "portal:sign-in-confirm":
        from portal.signin import portal_sign_in_issue

        customer = world["customer"]
        token = portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
        return reverse(name, args=[token])
    if name in world.get("ids", {}):
        return reverse(name, kwargs={"pk": world["ids"][name]})
    if name in {"api-webhook", "api-webhook-deliveries"} and "endpoint" in world:
        return reverse(name, kwargs={"pk": world["endpoint"].pk})
    if name == "api-webhook-delivery-resend":
        # Worlds of other modules have no endpoint: ids of nothing, refused all the same.
        endpoint, delivery = world.get("endpoint"), world.get("delivery")
        return reverse(
            name,
            kwargs={
                "pk": endpoint.pk if endpoint else 1,
                "delivery_id": delivery.pk if delivery else 1,
            },
        )
    if name == "customers:merge" and "merge_duplicate" in world:
        # The form fuzz's world: the preview of a merge, with its confirmation form.
        path = reverse(name, kwargs={"customer_id": world["customer"].pk})
        return f"{path}?duplicate={world['merge_duplicate']}"
    if name in {"api-offering"}:
        return reverse(name, kwargs={"pk": world["offering"].pk})
    if name == "preference-centre":
        from customers.preference_links import preference_link_token

        return reverse(name, args=[preference_link_token(customer=world["customer"])])
    if name in {"dataio:job", "dataio:job-progress", "dataio:job-report", "dataio:job-status"}:
        return reverse(name, kwargs={"job_id": world["import_job"].pk})
    if name == "webforms:form":
        form = (
            world.get("contact_form")
            or ContactForm.objects.get_or_create(slug="contact", defaults={"name": "Contact us"})[0]
        )  # the worlds of other modules have none
        return reverse(name, args=[form.slug])
    if name == "api-import":
        return reverse(name, kwargs={"pk": world["import_job"].pk})
    if name in {"api-interaction", "api-interaction-reply"}:
        return reverse(name, kwargs={"pk": world["interaction"].pk})
    if name == "mail-local:answer":
        return reverse(name, kwargs={"key": "1733000000.M1P1.host"})
    for kwargs in ({}, {"pk": world["customer"].pk}, *({k: v} for k, v in pattern_kwargs.items())):
        try:
            return reverse(name, kwargs=kwargs)
        except Exception:
            continue
    raise AssertionError(f"cannot build a path for {name}")


def client_as(user, *, api: bool):
    client = APIClient() if api else Client()
    if user is not None:
        client.force_login(user)
    return client


def test_it_covers_every_url_pattern_of_the_project():
    names = set(url_names())
    missing = names - set(GET_MATRIX)
    assert not missing, f"add these URL patterns to the access matrix: {sorted(missing)}"
    assert not set(GET_MATRIX) - names, "the matrix lists patterns that no longer exist"


@pytest.mark.parametrize("name", sorted(GET_MATRIX))
def test_it_answers_a_get_with_the_exact_status_for_each_role(name, world):
    path = path_for(name, world)
    statuses = tuple(
        client_as(world["users"][role], api=False).get(path).status_code for role in ROLES
    )
    expected = GET_MATRIX[name]
    if expected == PUBLIC:
        assert len(set(statuses)) == 1 and statuses[0] in (200, 503), statuses
    else:
        assert statuses == expected


@pytest.mark.parametrize(("method", "name"), sorted(WRITE_MATRIX))
def test_it_answers_a_write_with_the_exact_status_for_each_role(method, name, world):
    path = path_for(name, world)
    statuses = []
    for role in ROLES:
        api = name.startswith("api")
        client = client_as(world["users"][role], api=api)
        if api:
            response = getattr(client, method)(path, {}, format="json")
        else:
            response = getattr(client, method)(path, {})
        statuses.append(response.status_code)
    assert tuple(statuses) == WRITE_MATRIX[(method, name)]


def test_it_hides_money_figures_from_support_staff(world):
    customer = world["customer"]
    for role, sees_money in (("ada", True), ("alice", True), ("charlie", False)):
        client = client_as(world["users"][role], api=True)
        detail = client.get(f"/api/customers/{customer.pk}/").json()
        listed = client.get("/api/customers/").json()["results"][0]
        history = client.get(f"/api/customers/{customer.pk}/figures-history/").json()
        for body in (detail, listed, *history.get("results", [])):
            assert (set(MONEY_FIELDS) & set(body) != set()) == sees_money, (role, body)


def test_it_answers_a_guessed_id_exactly_like_a_missing_one(world):
    bob = client_as(world["users"]["bob"], api=True)
    taken = world["customer"].pk
    missing = taken + 100_000
    for template in (
        "/api/customers/{}/",
        "/api/customers/{}/timeline/",
        "/api/customers/{}/facts/",
    ):
        someone_elses = bob.get(template.format(taken))
        nonexistent = bob.get(template.format(missing))
        assert someone_elses.status_code == nonexistent.status_code == 404
        assert someone_elses.json() == nonexistent.json()
    interaction = world["interaction"].pk
    assert bob.get(f"/api/interactions/{interaction}/").json() == (
        bob.get(f"/api/interactions/{interaction + 100_000}/").json()
    )
    # And bob's list of interactions does not include alice's customer's.
    ids = {row["id"] for row in bob.get("/api/interactions/").json()["results"]}
    assert interaction not in ids


# The portal's staff pages (moderation, the ideas by votes, their actions): a customer's
# session is nobody there, as anonymous is (tests/test_portal.py walks the rest of the matrix).
PORTAL_STAFF = [
    "portal:moderation",
    "portal:review-approve",
    "portal:review-hide",
    "portal:review-answer",
    "portal:tip-approve",
    "portal:tip-hide",
    "portal:tip-answer",
    "portal:idea-approve",
    "portal:idea-hide",
    "portal:ideas-manage",
    "portal:idea-answer",
]


def test_a_customer_session_is_anonymous_to_the_portals_staff_pages(world):
    from portal.signin import portal_sign_in_issue

    customer = world["customer"]
    client = Client()
    token = portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
    assert client.post(f"/portal/sign-in/{token}/").status_code == 302
    for name in PORTAL_STAFF:
        path = path_for(name, world)
        assert client.get(path).status_code == GET_MATRIX[name][-1], name
        if ("post", name) in WRITE_MATRIX:
            response = client.post(path, {"stage": "done", "answer": "x"})
            assert response.status_code == WRITE_MATRIX[("post", name)][-1], name
            assert response.url.startswith("/accounts/login/"), name
    world["idea"].refresh_from_db()
    assert (world["idea"].status, world["idea"].stage) == ("pending", "new")
    assert client.get("/portal/").status_code == 200  # still the customer's session
