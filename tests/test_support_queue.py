"""The support queue (SPEC §6): urgency order, filters, respond and resolve, access."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer
from interactions import selectors, services
from interactions.models import Interaction

from .factories import CustomerFactory, InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_tasks(woken):
    return woken


def inbound(customer, subject, type_="complaint", hours_ago=0.0, **extra):
    return InteractionFactory(
        customer=customer,
        subject=subject,
        type=type_,
        requires_response=True,
        occurred_at=timezone.now() - timedelta(hours=hours_ago),
        **extra,
    )


@pytest.fixture
def queue_items(alices_customer, bobs_customer):
    """Five open items, one answered, plus items that do not belong in the queue."""
    inbound(
        alices_customer, "Answered, not resolved", hours_ago=9, first_response_at=timezone.now()
    )
    inbound(bobs_customer, "Inquiry 20 h left", type_="inquiry", hours_ago=4)
    inbound(alices_customer, "Complaint 3 h overdue", hours_ago=7)
    inbound(bobs_customer, "Complaint 1 h left", hours_ago=3)
    inbound(alices_customer, "Inquiry 2 h overdue", type_="inquiry", hours_ago=26)
    inbound(bobs_customer, "Feedback, no target", type_="feedback", hours_ago=50)
    inbound(alices_customer, "Already resolved", hours_ago=20, resolved_at=timezone.now())
    InteractionFactory(customer=alices_customer, subject="Outbound", direction="outbound")
    InteractionFactory(customer=alices_customer, subject="No answer needed", type="teaching")


URGENCY_ORDER = [
    "Complaint 3 h overdue",
    "Inquiry 2 h overdue",
    "Complaint 1 h left",
    "Inquiry 20 h left",
    "Feedback, no target",
    "Answered, not resolved",
]


def subjects(items):
    return [i.subject for i in items]


def test_it_orders_open_items_by_urgency(charlie, queue_items):
    assert subjects(selectors.support_queue(user=charlie)) == URGENCY_ORDER


def test_it_shows_the_queue_most_urgent_first_with_time_left_or_overdue(
    client, charlie, queue_items
):
    client.force_login(charlie)
    response = client.get("/interactions/queue/")
    assert response.status_code == 200
    assert subjects(response.context["page"]) == URGENCY_ORDER
    html = response.content.decode()
    assert "3 h 00 min overdue" in html or "2 h 59 min overdue" in html
    assert "answered late" in html  # 9 h after a complaint with a 4 h target
    assert 'src="/static/js/htmx.min.js"' in html


def test_it_renders_the_queue_with_a_fixed_number_of_queries(
    client, charlie, django_assert_num_queries
):
    client.force_login(charlie)
    inbound(CustomerFactory(), "One")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/interactions/queue/").status_code == 200
    for n in range(12):
        customer = (
            CustomerFactory(figures__tier="mvc") if hasattr(Customer, "tier") else CustomerFactory()
        )
        inbound(customer, f"Item {n}", hours_ago=n)
        InteractionFactory(customer=customer, subject="Earlier", type="teaching")
    with django_assert_num_queries(len(few)):
        response = client.get("/interactions/queue/")
    assert len(response.context["page"]) == 13


def test_it_names_the_customers_tier_in_words_not_its_code(client, charlie):
    inbound(CustomerFactory(figures__tier="below_zero"), "Refund please")
    client.force_login(charlie)
    html = client.get("/interactions/queue/").content.decode()
    pill = html[html.index('class="pill tier') :].split("</span>")[0]
    assert pill.endswith(">Below zero") and ">below_zero" not in html


def test_it_filters_by_channel_type_and_assignee(client, charlie, alice, alices_customer):
    inbound(alices_customer, "Phone complaint", channel="phone", assignee=charlie)
    inbound(alices_customer, "Email complaint", channel="email")
    inbound(alices_customer, "Email inquiry", type_="inquiry", channel="email", assignee=alice)
    client.force_login(charlie)

    def shown(**params):
        return subjects(client.get("/interactions/queue/", params).context["page"])

    assert shown(channel="phone") == ["Phone complaint"]
    assert shown(type="inquiry") == ["Email inquiry"]
    assert shown(assignee="me") == ["Phone complaint"]
    assert shown(assignee="none") == ["Email complaint"]
    assert shown(assignee=str(alice.pk)) == ["Email inquiry"]
    assert shown(channel="pigeon") == ["Phone complaint", "Email complaint", "Email inquiry"]


def test_it_shows_a_manager_only_their_own_customers(client, alice, queue_items):
    client.force_login(alice)
    shown = subjects(client.get("/interactions/queue/").context["page"])
    assert shown == ["Complaint 3 h overdue", "Inquiry 2 h overdue", "Answered, not resolved"]


def test_it_keeps_the_queue_from_anonymous_and_roleless_users(client, queue_items):
    assert client.get("/interactions/queue/").url.startswith("/accounts/login/")
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/interactions/queue/").status_code == 403


def test_it_refuses_to_answer_another_portfolios_item(client, alice, bobs_customer):
    item = inbound(bobs_customer, "Not yours")
    client.force_login(alice)
    reply = client.post(f"/conversations/{item.pk}/reply/", {"reply_to": item.pk, "body": "x"})
    assert reply.status_code == 404
    assert client.post(f"/interactions/{item.pk}/resolve/").status_code == 404
    item.refresh_from_db()
    assert (item.first_response_at, item.resolved_at) == (None, None)


def test_the_queue_answers_in_the_conversation_never_by_stamping_a_time(
    client, charlie, alices_customer, sent_tasks
):
    """SPEC §12: the queue's Answer opens the conversation; a call back logged there, in the
    thread, is the response, and the item is resolved by a plain form post."""
    item = inbound(alices_customer, "Broken grinder", type_="complaint", hours_ago=2)
    client.force_login(charlie)

    queue = client.get("/interactions/queue/").content.decode()
    assert (
        f'href="/conversations/{item.pk}/?reply_to={item.pk}#reply" data-action="answer"' in queue
    )
    assert "/respond/" not in queue

    logged = client.post(
        f"/interactions/log/{alices_customer.pk}/",
        {
            "channel": "phone",
            "direction": "outbound",
            "type": "complaint",
            "subject": "Called back about the grinder",
            "thread": item.pk,
        },
    )
    assert logged.status_code == 302, logged.content
    item.refresh_from_db()
    call = Interaction.objects.get(subject="Called back about the grinder")
    assert item.first_response_at == call.occurred_at and item.resolved_at is None

    response = client.post(f"/interactions/{item.pk}/resolve/", {"next": "https://evil.example/"})
    assert (response.status_code, response.url) == (302, "/interactions/queue/")
    item.refresh_from_db()
    assert item.resolved_at is not None
    assert client.get(f"/interactions/{item.pk}/resolve/").status_code == 405


def test_it_answers_htmx_with_the_reordered_queue(client, charlie, alices_customer, sent_tasks):
    urgent = inbound(alices_customer, "Most urgent", hours_ago=6)
    inbound(alices_customer, "Next one", hours_ago=5)
    client.force_login(charlie)

    response = client.post(
        f"/interactions/{urgent.pk}/resolve/",
        {"next": "/interactions/queue/?type=complaint"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.startswith(f'<div id="queue" data-focus="{urgent.pk}"')
    assert subjects(response.context["page"]) == ["Next one"]
    assert "Resolved: Most urgent" in html
    # Without JavaScript the re-rendered forms (take, wait on customer, resolve) still return
    # to the filtered queue.
    assert html.count('name="next" value="/interactions/queue/?type=complaint"') == 3


def test_it_records_a_response_once_and_queues_the_recompute_after_commit(
    charlie, alices_customer, sent_tasks, django_capture_on_commit_callbacks
):
    item = inbound(alices_customer, "Where is my order?", hours_ago=1)
    first = timezone.now() - timedelta(minutes=30)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.interaction_respond(interaction=item, at=first) is True
        assert sent_tasks == []
    # A second click, or a colleague answering from a stale page, changes nothing.
    stale = Interaction.objects.get(pk=item.pk)
    stale.first_response_at = None
    with django_capture_on_commit_callbacks(execute=True):
        assert services.interaction_respond(interaction=stale, at=timezone.now()) is False

    item.refresh_from_db()
    assert item.first_response_at == first
    assert stale.first_response_at == first
    assert sent_tasks == [alices_customer.pk]
    alices_customer.refresh_from_db()
    assert alices_customer.figures.figures_version == 1


def test_it_resolves_once_and_counts_the_resolution_as_the_first_response(
    charlie, alices_customer, sent_tasks
):
    item = inbound(alices_customer, "Refund", hours_ago=2)
    at = timezone.now() - timedelta(minutes=5)
    assert services.interaction_resolve(interaction=item, at=at) is True
    assert services.interaction_resolve(interaction=item) is False
    item.refresh_from_db()
    assert (item.first_response_at, item.resolved_at) == (at, at)
    alices_customer.refresh_from_db()
    assert alices_customer.figures.figures_version == 1


def test_it_keeps_an_earlier_response_when_resolving(alices_customer, sent_tasks):
    responded = timezone.now() - timedelta(hours=1)
    item = inbound(alices_customer, "Noise", hours_ago=2, first_response_at=responded)
    services.interaction_resolve(interaction=item)
    item.refresh_from_db()
    assert item.first_response_at == responded
    assert item.resolved_at > responded


def test_it_lets_staff_take_an_item_and_then_filter_for_their_own(
    client, charlie, alice, alices_customer
):
    item = inbound(alices_customer, "Unassigned", assignee=alice)
    inbound(alices_customer, "Someone else's")
    client.force_login(charlie)

    response = client.post(f"/interactions/{item.pk}/take/", HTTP_HX_REQUEST="true")
    assert "Yours now: Unassigned" in response.content.decode()
    assert client.post(f"/interactions/{item.pk}/take/").status_code == 302
    item.refresh_from_db()
    assert item.assignee == charlie
    assert subjects(client.get("/interactions/queue/?assignee=me").context["page"]) == [
        "Unassigned"
    ]
