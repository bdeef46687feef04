"""New senders to check: prospects created from a message or a web form by someone we did not
know, listed with their first message for support (managers: their own portfolio's), with a
badge in the navigation, cleared by "Checked"."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db
URL = "/workspace/new-senders/"


def flagged(name, owner=None, message="Do you deliver to Malmö?", **fields):
    customer = CustomerFactory(
        name=name,
        owner=owner,
        status="prospect",
        needs_triage=True,
        acquisition_source="web form: Contact us",
        **fields,
    )
    InteractionFactory(
        customer=customer,
        channel="web",
        type="inquiry",
        subject=f"Contact us: {message}",
        notes=f"{message}\nThanks, {name}",
    )
    return customer


def nav(response) -> str:
    return response.content.decode().split('<nav aria-label="Main">')[1].split("</nav>")[0]


def test_support_sees_each_new_sender_with_their_first_message_and_checks_them(
    client, charlie, alice
):
    greta = flagged("Greta Lind", email="greta@example.org")
    flagged("Other Person", owner=alice)
    client.force_login(charlie)

    page = client.get(URL)

    html = page.content.decode()
    assert page.status_code == 200
    assert "Greta Lind" in html and "greta@example.org" in html
    assert "Contact us: Do you deliver to Malmö?" in html and "Thanks, Greta Lind" in html
    assert "web form: Contact us" in html
    first = greta.interactions.get()
    assert f'href="/conversations/{first.pk}/">Open the conversation</a>' in html
    conversation = client.get(f"/conversations/{first.pk}/")
    assert conversation.status_code == 200
    assert "Thanks, Greta Lind" in conversation.content.decode()
    assert '<span class="badge" aria-label="2 to check">2</span>' in nav(page)

    checked = client.post(f"/workspace/new-senders/{greta.pk}/checked/", follow=True)

    assert "Greta Lind checked." in checked.content.decode()
    greta.refresh_from_db()
    assert not greta.needs_triage
    assert "Greta Lind" not in [s.name for s in checked.context["senders"]]
    assert 'aria-label="1 to check"' in nav(checked)


def test_a_manager_sees_only_their_own_portfolios_new_senders(client, alice, bob):
    flagged("Alices Sender", owner=alice)
    flagged("Bobs Sender", owner=bob)
    flagged("Nobodys Sender")
    client.force_login(alice)

    page = client.get(URL)

    assert [s.name for s in page.context["senders"]] == ["Alices Sender"]
    assert 'aria-label="1 to check"' in nav(page)


def test_a_manager_cannot_check_another_portfolios_sender(client, alice, bob):
    bobs = flagged("Bobs Sender", owner=bob)
    client.force_login(alice)

    assert client.post(f"/workspace/new-senders/{bobs.pk}/checked/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.needs_triage


def test_a_namesake_already_known_is_suggested(client, charlie, alices_customer):
    flagged("anna keller", email="anna.k@work.example")
    client.force_login(charlie)

    html = client.get(URL).content.decode()

    assert "Maybe the same person as:" in html
    assert f'href="/customers/{alices_customer.pk}/">Anna Keller</a> (anna@example.net)' in html


def test_nobody_to_check_shows_no_badge(client, charlie, alices_customer):
    client.force_login(charlie)

    page = client.get(URL)

    assert "Nobody new to check." in page.content.decode()
    assert 'class="badge"' not in nav(page)


def test_the_list_costs_the_same_queries_for_two_senders_or_twenty(client, charlie):
    client.force_login(charlie)
    for n in range(2):
        flagged(f"Sender {n}")
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for n in range(2, 20):
        flagged(f"Sender {n}")
        CustomerFactory(name=f"Sender {n}")  # a namesake each
    with CaptureQueriesContext(connection) as many:
        page = client.get(URL)

    assert len(page.context["senders"]) == 20
    assert len(many) == len(few), [q["sql"][:120] for q in many]


def test_the_customer_page_asks_to_check_a_new_sender_and_goes_back_there(client, charlie):
    greta = flagged("Greta Lind")
    client.force_login(charlie)

    page = client.get(f"/customers/{greta.pk}/").content.decode()
    assert "New sender to check." in page

    response = client.post(f"/workspace/new-senders/{greta.pk}/checked/", {"back": "customer"})

    assert response["Location"] == f"/customers/{greta.pk}/"
    assert not Customer.objects.get(pk=greta.pk).needs_triage
