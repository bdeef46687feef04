"""Landing pages per role (issue 19): `/` and the sign-in send each role to its work, the
admins' overview of fits, imports, stale figures, the queue and lagging relays, and the
styled error pages."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.template import loader
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.tasks import RETRY_MAX
from dataio import selectors as dataio_selectors
from dataio.models import ImportJob
from events import selectors as event_selectors
from events.models import Event
from interactions import selectors as interaction_selectors
from valuation import selectors as valuation_selectors
from valuation.models import CustomerFigures, FitMethod, FitStatus, ModelFit
from valuation.tasks import STALE_AFTER
from webhooks import selectors as webhook_selectors
from webhooks.models import Delivery, Endpoint

from .factories import PASSWORD, CustomerFactory, InteractionFactory
from .valuation.history import log_contact

pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def overdue_item(customer, subject="Grinder broken", hours_ago=7.0, **extra):
    # A complaint's first-response target is 4 h (the starting service levels).
    return InteractionFactory(
        customer=customer,
        subject=subject,
        type="complaint",
        requires_response=True,
        occurred_at=timezone.now() - timedelta(hours=hours_ago),
        **extra,
    )


def fit(**fields):
    defaults = {
        "status": FitStatus.DONE,
        "fitted_at": timezone.now(),
        "as_of": date.today(),
        "method": FitMethod.MODEL,
        "customers": 42,
        "chosen_model": "bgnbd",
        "gg_p": 6.0,
        "gg_q": 4.0,
        "gg_gamma": 15.0,
    }
    return ModelFit.objects.create(**{**defaults, **fields})


def endpoint(url="https://hooks.example.com/crm", **fields):
    return Endpoint.objects.create(url=url, events=["customer.created"], secret="s", **fields)


def some_of_everything(owner, n: int, tag: str) -> None:
    """n of each thing the overview counts, so that a second helping shows whether its
    queries grow with the data."""
    hook = endpoint(url=f"https://hooks.example.com/{tag}", disabled_at=timezone.now())
    for i in range(n):
        customer = CustomerFactory(name=f"{tag} {i}", owner=owner)
        overdue_item(customer, subject=f"{tag} overdue {i}")
        log_contact(customer, days_ago=1, requires_response=False)  # queues a recompute
        fit(customers=i)
        ImportJob.objects.create(kind="customers", file_name=f"{tag}{i}.csv", status="done")
        Event.objects.create(name="customer.changed", attempts=RETRY_MAX)
        Delivery.objects.create(
            endpoint=hook,
            event_id=f"{tag}{i}",
            event_type="customer.created",
            body="{}",
            status="failed",
        )


# --- Where each role lands -----------------------------------------------------------------


@pytest.mark.parametrize(
    "who, landing",
    [
        ("ada", "overview"),
        ("alice", "customers:portfolio"),
        ("charlie", "interactions:queue"),
    ],
)
def test_home_sends_each_role_to_its_page(request, who, landing):
    user = request.getfixturevalue(who)
    response = as_user(user).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse(landing)


@pytest.mark.parametrize(
    "who, heading",
    [("ada", "Overview"), ("alice", "My portfolio"), ("charlie", "Support queue")],
)
def test_signing_in_lands_on_the_role_page(request, who, heading):
    request.getfixturevalue(who)
    response = Client().post(reverse("login"), {"username": who, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[0] == ("/", 302)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.content.decode()


def test_anonymous_home_asks_to_sign_in():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


# --- The admins' overview ------------------------------------------------------------------


def test_the_overview_shows_the_last_fit_imports_stale_figures_queue_and_lagging_work(
    ada, alice, alices_customer
):
    fit(customers=1234, fitted_at=timezone.now() - timedelta(days=1))
    failed = fit(status=FitStatus.FAILED, fitted_at=None, method="", error="Too few buyers")
    job = ImportJob.objects.create(
        kind="transactions",
        file_name="orders-june.csv",
        status="done",
        total_rows=120,
        processed_rows=120,
        created_rows=100,
        updated_rows=7,
        error_rows=13,
    )
    overdue_item(alices_customer)
    overdue_item(alices_customer, subject="Answered", first_response_at=timezone.now())
    # Figures computed before the customer's last interaction, and one waiting for a recompute.
    log_contact(alices_customer, days_ago=0.5, requires_response=False)
    CustomerFigures.objects.filter(pk=alices_customer.pk).update(
        figures_computed_version=10**6, computed_at=timezone.now() - timedelta(days=2)
    )
    log_contact(CustomerFactory(owner=alice), days_ago=0.1, requires_response=False)
    Event.objects.create(name="customer.changed", attempts=RETRY_MAX)
    Event.objects.create(name="customer.changed", attempts=1)
    Event.objects.create(name="customer.changed", relayed_at=timezone.now())
    hook = endpoint(disabled_at=timezone.now())
    Delivery.objects.create(
        endpoint=hook, event_id="e1", event_type="customer.created", body="{}", status="failed"
    )
    Delivery.objects.create(
        endpoint=hook, event_id="e2", event_type="customer.created", body="{}", attempts=2
    )

    response = as_user(ada).get(reverse("overview"))

    assert response.status_code == 200
    page = response.content.decode()
    # The last fit (it failed), and the one the figures still use.
    assert f"#{failed.pk}" in page and 'data-status="failed"' in page
    assert "Too few buyers" in page
    assert "The figures use fit #" in page
    # The recent import with its status and counts, linked to its report.
    assert f'href="{reverse("dataio:job", args=[job.pk])}"' in page
    assert "orders-june.csv" in page and ">13<" in page and ">100<" in page
    # Stale figures: one behind its last interaction, one queued.
    assert 'data-stale="2"' in page and 'data-queued="1"' in page
    # The queue: two open, one overdue.
    assert 'data-open="2"' in page and 'data-overdue="1"' in page
    # Lagging work.
    assert 'data-events-waiting="1"' in page and 'data-events-given-up="1"' in page
    assert 'data-webhooks-failed="1"' in page and 'data-webhooks-retrying="1"' in page
    assert 'data-endpoints-disabled="1"' in page
    # Each block links to where its work is done.
    for url in (
        reverse("workspace:models"),
        reverse("dataio:home"),
        reverse("interactions:queue"),
        reverse("admin:events_event_changelist") + "?relayed_at__isempty=1",
        reverse("admin:webhooks_delivery_changelist") + "?status__exact=failed",
    ):
        assert f'href="{url}"' in page, url
    # The site's look: the base template, its stylesheet and the admin's navigation.
    assert "css/app.css" in page and 'data-nav="overview"' in page


def test_the_overview_of_an_empty_base_says_so(ada):
    page = as_user(ada).get(reverse("overview")).content.decode()
    assert "No fit yet" in page and "No imports yet" in page
    assert 'data-open="0"' in page and 'data-stale="0"' in page


def test_the_overview_lists_the_last_five_imports_newest_first(ada):
    jobs = [ImportJob.objects.create(kind="customers", file_name=f"f{i}.csv") for i in range(7)]
    page = as_user(ada).get(reverse("overview")).content.decode()
    shown = [job.pk for job in jobs if f'data-job="{job.pk}"' in page]
    assert shown == [job.pk for job in jobs[2:]]
    assert page.index(f'data-job="{jobs[6].pk}"') < page.index(f'data-job="{jobs[2].pk}"')


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_the_overview_is_for_admins_only(request, who):
    response = as_user(request.getfixturevalue(who)).get(reverse("overview"))
    assert response.status_code == 403
    assert "The overview is for admins." in response.content.decode()


def test_the_overview_asks_anonymous_visitors_to_sign_in():
    response = Client().get(reverse("overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_each_block_reads_in_one_query(alice, django_assert_num_queries):
    some_of_everything(alice, 3, "a")
    with django_assert_num_queries(1):
        latest, done = valuation_selectors.fits_last()
    assert latest is not None and done is not None
    with django_assert_num_queries(1):
        assert valuation_selectors.figures_staleness(older_than=STALE_AFTER).queued == 3
    with django_assert_num_queries(1):
        assert interaction_selectors.support_queue_health().overdue == 3
    with django_assert_num_queries(1):
        assert event_selectors.events_relay_backlog().given_up == 3
    with django_assert_num_queries(1):
        assert len(dataio_selectors.import_jobs_recent(limit=5)) == 3
    with django_assert_num_queries(2):  # the deliveries, the disabled endpoints
        health = webhook_selectors.deliveries_health()
    assert (health.failed, health.endpoints_disabled) == (3, 1)


def test_the_overview_page_queries_do_not_grow_with_the_data(ada, alice):
    client = as_user(ada)
    client.get(reverse("overview"))  # the session and the role once, like any later request

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("overview")).status_code == 200
        return len(captured)

    some_of_everything(alice, 1, "a")
    few = queries()
    some_of_everything(alice, 8, "b")
    assert queries() == few
    # The blocks' own share: fits, imports, figures, queue, events, deliveries, endpoints.
    from crm.views import admin_overview_blocks

    with CaptureQueriesContext(connection) as captured:
        admin_overview_blocks()
    assert len(captured) == 7


# --- The error pages -----------------------------------------------------------------------


@pytest.fixture
def production(settings):
    settings.DEBUG = False  # Django shows its technical pages instead when DEBUG is on


def test_a_missing_page_answers_404_in_the_site_look(production, alice):
    response = as_user(alice).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist" in page
    assert "css/app.css" in page and 'class="topbar"' in page and 'data-nav="portfolio"' in page


def test_a_missing_record_says_nothing_about_it(production, alice, bobs_customer):
    response = as_user(alice).get(reverse("customers:detail", args=[bobs_customer.pk]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist" in page and "Customer" not in page.split("<main>")[1]


def test_a_refused_page_answers_403_with_the_reason(production, charlie):
    response = as_user(charlie).get(reverse("workspace:scorecards"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "This page is not for your role" in page and "Scorecards are for admins." in page
    assert "css/app.css" in page and 'data-nav="queue"' in page


def test_a_server_error_answers_500_in_the_site_look(production, ada, monkeypatch):
    def broken():
        raise RuntimeError("the database is on fire")

    monkeypatch.setattr("crm.views.fits_last", broken)
    client = Client(raise_request_exception=False)
    client.force_login(ada)
    response = client.get(reverse("overview"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "css/app.css" in page and 'class="topbar"' in page
    assert "on fire" not in page


def test_the_500_page_needs_no_request_and_no_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        page = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in page and "css/app.css" in page


def test_a_bad_request_answers_400_in_the_site_look(production):
    # A host outside ALLOWED_HOSTS is Django's SuspiciousOperation: the 400 handler.
    response = Client().get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    page = response.content.decode()
    assert "This request could not be used" in page and "css/app.css" in page
