"""Automatic assignment of new support items (issue 21): least busy or in turn among the
support staff who are available, a conversation staying with whoever has it, and each person
saying whether they take new items."""

import pytest
from django.test import Client, override_settings

from accounts.roles import Role
from accounts.services import staff_availability_set
from interactions.models import Interaction
from interactions.services import interaction_log, interaction_resolve

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def _complaint(customer, by, **extra) -> Interaction:
    return interaction_log(
        customer=customer,
        logged_by=by,
        channel="email",
        direction="inbound",
        type="complaint",
        subject="Beans tasted stale",
        requires_response=True,
        **extra,
    )


@pytest.fixture
def dora(roles):
    return UserFactory(username="dora", first_name="Dora", role=Role.SUPPORT)


@override_settings(SUPPORT_ASSIGNMENT="least_busy")
def test_new_items_go_to_the_least_busy_available_person(alice, charlie, dora, alices_customer):
    first = _complaint(alices_customer, alice)
    second = _complaint(alices_customer, alice)
    # Both free at first: charlie (never given one, lowest id) then dora (now less busy)
    assert (first.assignee_id, second.assignee_id) == (charlie.pk, dora.pk)
    assert (
        Interaction.objects.get(pk=first.pk).assignee_id == charlie.pk
    )  # stored, not only in memory
    # charlie resolves his: he is the least busy again
    interaction_resolve(interaction=first)
    assert _complaint(alices_customer, alice).assignee_id == charlie.pk
    # Away: charlie takes nothing new, dora takes everything
    staff_availability_set(user=charlie, available=False)
    assert {_complaint(alices_customer, alice).assignee_id for _ in range(3)} == {dora.pk}


@override_settings(SUPPORT_ASSIGNMENT="round_robin")
def test_in_turn_each_available_person_gets_the_next_item(alice, charlie, dora, alices_customer):
    given = [_complaint(alices_customer, alice).assignee_id for _ in range(4)]
    assert given == [charlie.pk, dora.pk, charlie.pk, dora.pk]


@override_settings(SUPPORT_ASSIGNMENT="least_busy")
def test_a_follow_up_stays_with_whoever_has_the_conversation(alice, charlie, dora, alices_customer):
    root = _complaint(alices_customer, alice)
    assert root.assignee_id == charlie.pk
    staff_availability_set(user=charlie, available=False)  # even away: it is his conversation
    follow_up = _complaint(alices_customer, alice, thread=root)
    assert follow_up.assignee_id == charlie.pk


@override_settings(SUPPORT_ASSIGNMENT="least_busy")
def test_only_items_that_wait_for_an_answer_are_assigned(alice, charlie, alices_customer):
    order = interaction_log(
        customer=alices_customer,
        logged_by=alice,
        channel="web",
        direction="inbound",
        type="order",
        subject="Web order",
    )
    note = interaction_log(
        customer=alices_customer,
        logged_by=alice,
        channel="phone",
        direction="outbound",
        type="inquiry",
        subject="Called back",
    )
    assert order.assignee_id is None and note.assignee_id is None
    # Nobody available: the item waits unassigned
    staff_availability_set(user=charlie, available=False)
    assert _complaint(alices_customer, alice).assignee_id is None


def test_assignment_is_off_unless_the_firm_turns_it_on(alice, charlie, alices_customer):
    assert _complaint(alices_customer, alice).assignee_id is None


def test_a_support_person_says_they_are_away_and_back_on_the_queue_page(charlie, alice):
    client = Client()
    client.force_login(charlie)
    page = client.get("/interactions/queue/")
    assert "I'm away" in page.content.decode()
    assert client.post("/interactions/queue/availability/", {"available": "no"}).status_code == 302
    assert b"Away: new items go to others." in client.get("/interactions/queue/").content
    # Bad input says what is wrong and changes nothing
    answer = client.post("/interactions/queue/availability/", {"available": "maybe"}, follow=True)
    assert b"available: choose yes or no." in answer.content
    assert b"Away: new items go to others." in answer.content
    client.post("/interactions/queue/availability/", {"available": "yes"})
    assert "I'm away" in client.get("/interactions/queue/").content.decode()
    # The queue's views: mine, unassigned, everyone's
    mine = client.get("/interactions/queue/?assignee=me").content.decode()
    assert 'href="/interactions/queue/?assignee=me" aria-current="page"' in mine


# --- The admins' choice in the app (/interactions/assignment/, /api/support-assignment/) ----


def test_an_admin_chooses_the_mode_in_the_app_over_the_setting(
    ada, alice, charlie, dora, alices_customer, settings
):
    from interactions.assignment import assignment_mode

    settings.SUPPORT_ASSIGNMENT = "off"
    assert assignment_mode() == "off"
    assert _complaint(alices_customer, alice).assignee_id is None  # the setting: off

    admin = Client()
    admin.force_login(ada)
    page = admin.get("/interactions/assignment/")
    html = page.content.decode()
    assert page.status_code == 200 and "the deployment's default" in html
    assert 'data-user="charlie"' in html and 'data-user="dora"' in html
    saved = admin.post("/interactions/assignment/", {"assignment": "round_robin"})
    assert saved.status_code == 302
    assert assignment_mode() == "round_robin"
    assert "chosen by" in admin.get("/interactions/assignment/").content.decode()
    # in turn, whatever the setting says
    first, second = _complaint(alices_customer, alice), _complaint(alices_customer, alice)
    assert {first.assignee_id, second.assignee_id} == {charlie.pk, dora.pk}
    # back to off: nobody is given the next one
    admin.post("/interactions/assignment/", {"assignment": "off"})
    assert _complaint(alices_customer, alice).assignee_id is None

    empty = admin.post("/interactions/assignment/", {})
    assert empty.status_code == 400 and "This field is required." in empty.content.decode()
    bad = admin.post("/interactions/assignment/", {"assignment": "lottery"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    for user in (alice, charlie):
        other = Client()
        other.force_login(user)
        assert other.get("/interactions/assignment/").status_code == 403
        assert other.post("/interactions/assignment/", {"assignment": "off"}).status_code == 403
    assert assignment_mode() == "off"


def test_the_queue_says_the_mode_the_admins_chose_in_its_queries(ada, charlie, settings):
    from interactions.services import support_assignment_set

    settings.SUPPORT_ASSIGNMENT = "off"
    support_assignment_set(mode="least_busy", by=ada)
    client = Client()
    client.force_login(charlie)
    html = client.get("/interactions/queue/").content.decode()
    assert "You get new items when you are the least busy." in html
    assert "/interactions/assignment/" not in html  # the admins' link only
    admin = Client()
    admin.force_login(ada)
    assert "/interactions/assignment/" in admin.get("/interactions/queue/").content.decode()


def test_the_api_reads_and_sets_the_mode_for_admins_only(ada, alice, charlie, settings):
    from rest_framework.test import APIClient

    settings.SUPPORT_ASSIGNMENT = "least_busy"
    api = APIClient()
    api.force_authenticate(ada)
    assert api.get("/api/support-assignment/").json() == {
        "assignment": "least_busy",
        "default": "least_busy",
        "chosen": False,
        "changed_at": None,
        "changed_by": None,
    }
    put = api.put("/api/support-assignment/", {"assignment": "round_robin"}, format="json")
    assert put.status_code == 200, put.json()
    body = put.json()
    assert (body["assignment"], body["chosen"], body["changed_by"]) == ("round_robin", True, ada.pk)
    bad = api.put("/api/support-assignment/", {"assignment": "lottery"}, format="json")
    assert (bad.status_code, list(bad.json())) == (400, ["assignment"])
    missing = api.put("/api/support-assignment/", {}, format="json")
    assert (missing.status_code, list(missing.json())) == (400, ["assignment"])
    for user in (alice, charlie):
        other = APIClient()
        other.force_authenticate(user)
        assert other.get("/api/support-assignment/").status_code == 403
        refused = other.put("/api/support-assignment/", {"assignment": "off"}, format="json")
        assert refused.status_code == 403
    assert api.get("/api/support-assignment/").json()["assignment"] == "round_robin"
    assert api.options("/api/support-assignment/").status_code == 200
