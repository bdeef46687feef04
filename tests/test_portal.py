"""The customer's portal (issue 22): sign-in by a one-time link mailed through a real SMTP
server, the customer's home and subscriptions, and the wall between a customer session and
everything staff-side."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from crm.celery import app
from customers.facts import customer_fact_record
from customers.models import CustomerEmail, FactKey
from interactions.models import Interaction
from portal.models import PortalAccount, PortalSignInToken
from portal.signin import SESSION_KEY, portal_sign_in_issue, token_hash
from replenishment.models import ReplenishmentSubscription
from replenishment.services import replenishment_subscribe

from .factories import PASSWORD, CustomerFactory, OfferingFactory
from .mailservers import smtp_server, smtp_settings  # noqa: F401 - fixtures
from .test_security_access import GET_MATRIX, PUBLIC, WRITE_MATRIX, path_for, world  # noqa: F401
from .valuation.history import log_order

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s/]+(/portal/sign-in/([A-Za-z0-9_-]+)/)")


@pytest.fixture
def eager():
    """Tasks run in this process when the transaction commits (the worker's path is the same
    task; tests/mail cover the broker and the worker themselves)."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def unique_address() -> str:
    return f"c{uuid.uuid4().hex[:10]}@example.net"


def ask_for_link(client, address, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/portal/sign-in/", {"email": address}, **extra)


def link_from(received) -> tuple[str, str]:
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    match = LINK.search(body)
    assert match, body
    return match.group(1), match.group(2)


def signed_in_client(customer) -> Client:
    client = Client()
    token = portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
    response = client.post(f"/portal/sign-in/{token}/")
    assert response.status_code == 302 and response.url == "/portal/"
    return client


# --- Sign-in -------------------------------------------------------------------------------


def test_the_whole_sign_in_goes_by_a_link_read_from_the_mail_server(
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    django_capture_on_commit_callbacks,
    alice,
):
    customer = CustomerFactory(owner=alice, email=unique_address(), phone="+33 1 23 45 67 89")
    client = Client()
    assert client.get("/portal/").url == "/portal/sign-in/"

    page = ask_for_link(client, customer.email.upper(), django_capture_on_commit_callbacks)

    assert page.status_code == 200 and "Check your inbox" in page.content.decode()
    (received,) = smtp_settings.wait_for(1)
    assert received.rcpt_tos == [customer.email]
    assert received.message["Subject"] == "Your sign-in link"
    path, token = link_from(received)
    # Only the hash is stored, bound to the customer, for PORTAL_SIGN_IN_MINUTES.
    stored = PortalSignInToken.objects.get(customer=customer)
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    assert not PortalSignInToken.objects.filter(token_hash=token).exists()
    lifetime = stored.expires_at - stored.created_at
    assert timedelta(minutes=14) < lifetime <= timedelta(minutes=15)

    # A GET (a mail scanner) shows a button and uses nothing.
    confirm = client.get(path)
    assert confirm.status_code == 200 and "Sign me in" in confirm.content.decode()
    assert PortalSignInToken.objects.get(pk=stored.pk).used_at is None
    assert SESSION_KEY not in client.session

    signed_in = client.post(path)

    assert signed_in.status_code == 302 and signed_in.url == "/portal/"
    assert client.session[SESSION_KEY] == customer.pk
    assert "_auth_user_id" not in client.session
    home = client.get("/portal/").content.decode()
    assert customer.name in home and customer.email in home and "+33 1 23 45 67 89" in home
    assert PortalAccount.objects.get(customer=customer).last_signed_in_at is not None
    # Nothing of the sign-in on the customer's timeline (docs/portal.md).
    assert not Interaction.objects.filter(customer=customer).exists()

    client.post("/portal/sign-out/")
    assert SESSION_KEY not in client.session
    assert client.get("/portal/").url == "/portal/sign-in/"


def test_a_link_works_once(client):
    customer = CustomerFactory(email=unique_address())
    token = portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
    assert client.post(f"/portal/sign-in/{token}/").status_code == 302

    other = Client()
    again = other.post(f"/portal/sign-in/{token}/")

    assert again.status_code == 410
    page = again.content.decode()
    assert "used already" in page and 'href="/portal/sign-in/"' in page
    assert SESSION_KEY not in other.session
    assert other.get(f"/portal/sign-in/{token}/").status_code == 410


def test_an_expired_link_signs_nobody_in_and_offers_a_new_one(client, settings):
    customer = CustomerFactory(email=unique_address())
    token = portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
    PortalSignInToken.objects.filter(customer=customer).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = client.post(f"/portal/sign-in/{token}/")

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert "Get a new sign-in link" in response.content.decode()
    assert SESSION_KEY not in client.session
    assert PortalSignInToken.objects.get(customer=customer).used_at is None


def test_the_lifetime_is_the_setting(settings):
    settings.PORTAL_SIGN_IN_MINUTES = 3
    customer = CustomerFactory(email=unique_address())
    portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
    stored = PortalSignInToken.objects.get(customer=customer)
    assert stored.expires_at - stored.created_at <= timedelta(minutes=3)
    assert stored.expires_at - stored.created_at > timedelta(minutes=2)


@pytest.mark.parametrize("token", ["nope", "x" * 300, "%00", "a.b.c"])
def test_a_made_up_link_is_refused_clearly(client, token):
    for method in ("get", "post"):
        response = getattr(client, method)(f"/portal/sign-in/{token}/")
        assert response.status_code in (400, 404)
        if response.status_code == 400:
            assert "not valid" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_unknown_and_shared_addresses_get_the_same_answer_and_no_mail(
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    django_capture_on_commit_callbacks,
):
    known = CustomerFactory(email=unique_address())
    shared = unique_address()
    CustomerFactory(email=shared)
    CustomerEmail.objects.create(customer=CustomerFactory(), address=shared)

    answers = [
        ask_for_link(Client(), address, django_capture_on_commit_callbacks)
        for address in (unique_address(), shared, known.email)
    ]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].content == answers[1].content == answers[2].content
    (received,) = smtp_settings.wait_for(1)
    assert received.rcpt_tos == [known.email]
    assert PortalSignInToken.objects.count() == 1


def test_another_address_of_the_customer_gets_the_link_to_it(
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    django_capture_on_commit_callbacks,
):
    customer = CustomerFactory(email=unique_address())
    other = unique_address()
    CustomerEmail.objects.create(customer=customer, address=other)
    ask_for_link(Client(), other, django_capture_on_commit_callbacks)
    (received,) = smtp_settings.wait_for(1)
    assert received.rcpt_tos == [other]
    assert PortalSignInToken.objects.get().customer == customer


def test_links_are_rate_limited_per_address_and_per_client_address(
    settings,
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    django_capture_on_commit_callbacks,
):
    customer = CustomerFactory(email=unique_address())
    settings.PORTAL_SIGN_IN_RATE_PER_ADDRESS = "2/hour"
    statuses = [
        ask_for_link(
            Client(REMOTE_ADDR=f"10.9.{n}.{uuid.uuid4().int % 250}"),
            customer.email,
            django_capture_on_commit_callbacks,
        ).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert len(smtp_settings.wait_for(2)) == 2
    assert PortalSignInToken.objects.count() == 2

    settings.PORTAL_SIGN_IN_RATE_PER_ADDRESS = "100000/hour"
    settings.PORTAL_SIGN_IN_RATE_PER_IP = "2/hour"
    ip = f"10.8.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    from_one_place = [
        ask_for_link(Client(REMOTE_ADDR=ip), unique_address(), django_capture_on_commit_callbacks)
        for _ in range(3)
    ]
    assert [r.status_code for r in from_one_place] == [200, 200, 429]
    assert from_one_place[2]["Retry-After"] == "3600"
    assert "Too many" in from_one_place[2].content.decode()


def test_a_bad_address_is_a_form_error(client):
    for value in ("", "not-an-address", "x" * 300 + "@example.net"):
        response = client.post("/portal/sign-in/", {"email": value})
        assert response.status_code == 400, value
        assert 'class="error"' in response.content.decode()
    # A NUL anywhere is refused before any view (the project's middleware): a 400 too.
    assert client.post("/portal/sign-in/", {"email": "a\x00@b.c"}).status_code == 400


def test_signing_in_as_a_customer_ends_the_staff_session_in_that_browser(alice):
    customer = CustomerFactory(email=unique_address())
    client = Client()
    client.force_login(alice)
    token = portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
    client.post(f"/portal/sign-in/{token}/")
    assert "_auth_user_id" not in client.session
    assert client.get("/customers/").status_code == 302  # to the staff sign-in


# --- The customer's home -------------------------------------------------------------------


@pytest.fixture
def shop(alice):
    customer = CustomerFactory(owner=alice, email=unique_address(), phone="0123")
    offering = OfferingFactory(name="House espresso beans")
    log_order(customer, offering, days_ago=5, quantity="3", price="12.50")
    budget = FactKey.objects.create(
        key="budget_note", label="Budget note", customer_editable=True, money=True
    )
    internal = FactKey.objects.create(
        key="internal_note", label="Internal note", customer_editable=False
    )
    customer_fact_record(
        customer=customer, key="delivery_window", value="morning", recorded_by=alice
    )
    customer_fact_record(customer=customer, key=budget.key, value="lots", recorded_by=alice)
    customer_fact_record(customer=customer, key=internal.key, value="secret", recorded_by=alice)
    subscription = replenishment_subscribe(
        customer=customer,
        offering=offering,
        next_due=timezone.localdate() + timedelta(days=3),
        interval_days=30,
    )
    return customer, offering, subscription


def test_the_home_shows_profile_facts_orders_and_subscriptions(shop):
    customer, _, subscription = shop
    page = signed_in_client(customer).get("/portal/").content.decode()
    assert "morning" in page  # customer-editable, not money
    assert "lots" not in page and "Budget note" not in page  # money
    assert "secret" not in page  # staff-only fact
    assert "House espresso beans" in page and "€37.50" in page  # their own order: 3 × 12.50
    assert f'action="/portal/subscriptions/{subscription.pk}/pause/"' in page
    assert "Quantity 1, every 30 days. Next delivery:" in page


def test_the_preference_centre_opens_for_the_signed_in_customer_and_old_links_still_work(shop):
    from customers.preference_links import preference_link_token

    customer, _, _ = shop
    old = preference_link_token(customer=customer)
    client = signed_in_client(customer)
    response = client.get("/portal/preferences/")
    assert response.status_code == 302 and response.url.startswith("/preferences/")
    assert client.get(response.url).status_code == 200
    assert Client().get(f"/preferences/{old}/").status_code == 200
    assert Client().get("/portal/preferences/").url == "/portal/sign-in/"


def the_logs(customer):
    return list(
        Interaction.objects.filter(customer=customer, channel="web", type="service")
        .order_by("pk")
        .values_list("subject", "direction", "logged_by", "requires_response")
    )


def test_each_subscription_action_changes_it_and_logs_a_web_interaction(shop):
    customer, _, subscription = shop
    client = signed_in_client(customer)
    base = f"/portal/subscriptions/{subscription.pk}"
    due = subscription.next_due

    assert client.post(f"{base}/pause/").status_code == 302
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).status == "paused"
    assert "Resume" in client.get("/portal/").content.decode()
    assert client.post(f"{base}/resume/").status_code == 302
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).status == "active"
    assert client.post(f"{base}/skip/").status_code == 302
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).next_due == due + timedelta(
        days=30
    )
    assert client.post(f"{base}/interval/", {"interval_days": "21"}).status_code == 302
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).interval_days == 21

    logs = the_logs(customer)
    assert [subject for subject, *_ in logs] == [
        "In the portal, the customer paused House espresso beans",
        "In the portal, the customer resumed House espresso beans",
        "In the portal, the customer skipped the next delivery of House espresso beans",
        "In the portal, the customer changed how often they receive House espresso beans",
    ]
    assert {tuple(rest) for _, *rest in logs} == {("inbound", None, False)}
    notes = Interaction.objects.filter(customer=customer, type="service").latest("pk").notes
    assert notes == "Every 30 days before, every 21 days now."


@pytest.mark.parametrize("value", ["", "0", "-4", "abc", "1e400", "9" * 30, "1.5"])
def test_a_bad_interval_is_a_400_naming_the_field_and_changes_nothing(shop, value):
    customer, _, subscription = shop
    response = signed_in_client(customer).post(
        f"/portal/subscriptions/{subscription.pk}/interval/", {"interval_days": value}
    )
    assert response.status_code == 400
    assert "interval days:" in response.content.decode()
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).interval_days == 30
    assert the_logs(customer) == []


def test_a_cancelled_subscription_is_refused_clearly(shop):
    customer, _, subscription = shop
    ReplenishmentSubscription.objects.filter(pk=subscription.pk).update(status="cancelled")
    response = signed_in_client(customer).post(f"/portal/subscriptions/{subscription.pk}/skip/")
    assert response.status_code == 400
    assert the_logs(customer) == []


# --- Separation ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["pause", "resume", "skip", "interval"])
def test_another_customers_subscription_is_a_missing_one(shop, action):
    customer, offering, _ = shop
    someone_else = CustomerFactory(email=unique_address())
    theirs = replenishment_subscribe(
        customer=someone_else, offering=offering, next_due=timezone.localdate(), interval_days=9
    )
    client = signed_in_client(customer)
    response = client.post(f"/portal/subscriptions/{theirs.pk}/{action}/", {"interval_days": "5"})
    assert response.status_code == 404
    stored = ReplenishmentSubscription.objects.get(pk=theirs.pk)
    assert (stored.status, stored.interval_days, stored.next_due) == (
        "active",
        9,
        timezone.localdate(),
    )
    assert not Interaction.objects.filter(customer=someone_else).exists()
    assert someone_else.name not in client.get("/portal/").content.decode()


def test_a_customer_session_reaches_every_staff_url_as_anonymous_does(world):  # noqa: F811
    customer = world["customer"]
    client = signed_in_client(customer)
    for name, expected in sorted(GET_MATRIX.items()):
        if name.startswith("portal:") or expected == PUBLIC:
            continue
        path = path_for(name, world)
        assert client.get(path).status_code == expected[-1], name
    for (method, name), expected in sorted(WRITE_MATRIX.items()):
        if name.startswith("portal:"):
            continue
        path = path_for(name, world)
        if name.startswith("api"):
            response = getattr(client, method)(path, {}, content_type="application/json")
        else:
            response = getattr(client, method)(path, {})
        assert response.status_code == expected[-1], (method, name)
    # the customer is still signed in to the portal after all that
    assert client.get("/portal/").status_code == 200


def test_a_staff_sign_in_in_the_same_browser_ends_the_customer_session(alice):
    customer = CustomerFactory(email=unique_address())
    client = signed_in_client(customer)
    assert client.get("/portal/").status_code == 200
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert client.session.get("_auth_user_id") == str(alice.pk)
    assert SESSION_KEY not in client.session
    assert client.get("/portal/").url == "/portal/sign-in/"
