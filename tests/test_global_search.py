"""Search everywhere (issue 19, SPEC §2): `/search/?q=` finds customers of every portfolio by
name, e-mail (any address, any case) and phone (however it is written), and the interactions
the user may see; a customer of another portfolio opens as a read-only card without money."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import services
from interactions.services import interaction_log
from valuation.models import CustomerFigures

from .factories import UserFactory

pytestmark = pytest.mark.django_db

# Planted money: no page of another portfolio's customer may show these.
WALLET = Decimal("98765.43")
CLV = Decimal("45678.91")


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _figures(customer, **values):
    CustomerFigures.objects.update_or_create(
        customer=customer, defaults={"owner_id": customer.owner_id, **values}
    )


@pytest.fixture
def base(alice, bob):
    """Alice's customer (a most valuable one, with a wallet and an extra address), bob's."""
    anna = services.customer_create(
        name="Anna Keller",
        email="anna.keller@example.net",
        phone="+49 30 1234567",
        external_ref="ERP-0042",
        wallet_annual=WALLET,
        wallet_source="stated",
        owner=alice,
    )
    services.customer_email_add(customer=anna, address="a.keller@work.example")
    _figures(
        anna,
        tier="mvc",
        predicted_clv=CLV,
        last_contact_at=timezone.now() - timedelta(days=3),
    )
    bruno = services.customer_create(name="Bruno Keller", email="bruno@example.net", owner=bob)
    return {"anna": anna, "bruno": bruno}


def _search(user, q, **params):
    return _client(user).get(reverse("search"), {"q": q, **params})


def _href(name, customer) -> str:
    return f'href="{reverse(name, args=[customer.pk])}"'


def _customer_ids(response) -> list[int]:
    return [c.pk for c in response.context["customers"]]


def test_it_lets_a_manager_find_another_portfolios_customer_by_email_in_another_case(base, bob):
    # When bob searches for alice's customer's address written in capitals
    response = _search(bob, "  ANNA.Keller@EXAMPLE.net ")
    # Then he finds her, with her manager by name and her tier in words, as a read-only card
    assert response.status_code == 200
    assert _customer_ids(response) == [base["anna"].pk]
    html = response.content.decode()
    row = html[html.index(f'data-customer="{base["anna"].pk}"') :]
    row = row[: row.index("</tr>")]
    assert _href("customers:card", base["anna"]) in row
    assert _href("customers:detail", base["anna"]) not in row
    assert "<td>Alice</td>" in row
    assert "Most valuable" in row
    assert "read-only" in row
    # And by her other address, and by the address of a customer of his own (a full link)
    assert _customer_ids(_search(bob, "A.Keller@Work.Example")) == [base["anna"].pk]
    own = _search(bob, "bruno@example.net").content.decode()
    assert _href("customers:detail", base["bruno"]) in own


def test_it_lets_a_manager_find_a_customer_by_a_phone_written_another_way(base, bob):
    for written in ("030 1234567", "+49 (30) 123-4567", "0049 30 1234567"):
        assert _customer_ids(_search(bob, written)) == [base["anna"].pk], written
    # Digits that are not her number find nobody
    assert _customer_ids(_search(bob, "030 7654321")) == []


def test_it_finds_customers_of_every_portfolio_by_part_of_the_name_accents_aside(base, bob):
    response = _search(bob, "KELLER")
    assert _customer_ids(response) == [base["anna"].pk, base["bruno"].pk]
    # Accents and punctuation are compared as the duplicate keys compare them
    assert _customer_ids(_search(bob, "Ánna-Kéller")) == [base["anna"].pk]


def test_it_matches_an_external_reference_only_among_the_customers_one_may_open(base, ada, bob):
    # Admins see every reference; a manager learns nothing of another portfolio's references
    assert _customer_ids(_search(ada, "ERP-0042")) == [base["anna"].pk]
    assert _customer_ids(_search(bob, "ERP-0042")) == []


def test_it_shows_the_admin_every_customer_with_a_full_link(base, ada):
    response = _search(ada, "keller")
    assert _customer_ids(response) == [base["anna"].pk, base["bruno"].pk]
    html = response.content.decode()
    for customer in base.values():
        assert _href("customers:detail", customer) in html
    assert "read-only" not in html


def test_it_shows_support_every_customer_and_never_money(base, charlie):
    response = _search(charlie, "keller")
    assert response.status_code == 200
    assert _customer_ids(response) == [base["anna"].pk, base["bruno"].pk]
    html = response.content.decode()
    for amount in ("98765", "98,765", "45678", "45,678"):
        assert amount not in html
    # Support opens full pages as today (their rules hide money there)
    assert _href("customers:detail", base["anna"]) in html


def test_it_finds_only_the_interactions_the_user_may_see(base, alice, bob):
    for customer, by in ((base["anna"], alice), (base["bruno"], bob)):
        interaction_log(
            customer=customer,
            logged_by=by,
            channel="phone",
            direction="inbound",
            type="inquiry",
            subject="Espresso grinder broken",
            notes="The burr is worn.",
        )
    # Bob sees his customer's interaction, not alice's
    response = _search(bob, "grinder")
    assert [i.customer_id for i in response.context["interactions"]] == [base["bruno"].pk]
    assert response.context["interaction_total"] == 1
    # By the notes too; alice sees hers
    response = _search(alice, "BURR")
    assert [i.customer_id for i in response.context["interactions"]] == [base["anna"].pk]
    # Interactions matches do not make customers match
    assert _customer_ids(response) == []


def test_it_sends_anonymous_visitors_to_sign_in(base):
    response = _search(None, "keller")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    card = _client(None).get(reverse("customers:card", args=[base["anna"].pk]))
    assert card.status_code == 302


def test_it_refuses_a_query_longer_than_the_box_takes_naming_the_field(bob):
    response = _search(bob, "x" * 201)
    assert response.status_code == 400
    assert "Search: search for at most 200 characters." in response.content.decode()


def test_an_empty_query_lists_nothing_and_says_what_can_be_searched(base, bob):
    response = _search(bob, "")
    assert response.status_code == 200
    assert "Customers of every portfolio" in response.content.decode()
    assert "customers" not in response.context or not response.context["customers"]


def _queries_for(user, q) -> int:
    client = _client(user)
    client.get(reverse("search"), {"q": q})  # warm: the session, content types
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("search"), {"q": q}).status_code == 200
    return len(queries)


def test_it_answers_in_a_fixed_number_of_queries_whatever_the_number_of_matches(
    base, alice, bob, django_assert_num_queries
):
    few = _queries_for(bob, "keller")
    for n in range(40):
        customer = services.customer_create(
            name=f"Keller {n}", owner=alice if n % 2 else bob, email=f"k{n}@example.net"
        )
        _figures(customer, tier="maintain")
        interaction_log(
            customer=customer,
            logged_by=bob,
            channel="email",
            direction="inbound",
            type="inquiry",
            subject=f"Keller question {n}",
        )
    many = _queries_for(bob, "keller")
    assert few == many
    # Session, user and role, the customers' count and page, the interactions' page and count
    client = _client(bob)
    client.get(reverse("search"), {"q": "keller"})
    with django_assert_num_queries(many):
        response = client.get(reverse("search"), {"q": "keller"})
    # Capped: one page of customers, a few interactions, the totals counted
    assert len(response.context["customers"]) == 25
    assert response.context["customers"].paginator.count == 42
    assert len(response.context["interactions"]) == 10
    assert response.context["interaction_total"] == 20
    second = client.get(reverse("search"), {"q": "keller", "page": "2"})
    assert len(second.context["customers"]) == 17


def test_bob_opens_alices_customers_card_without_money_or_actions(base, bob):
    anna = base["anna"]
    response = _client(bob).get(reverse("customers:card", args=[anna.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    # Who it is, whose, how to reach them, the last contact
    for shown in (
        "Anna Keller",
        "Person",
        "Active" if anna.status == "active" else anna.get_status_display(),
        "Alice",
        "anna.keller@example.net",
        "+49 30 1234567",
        "3\xa0days ago",
    ):
        assert shown in html, shown
    assert "read-only" in html
    # No money, no facts, no actions
    for amount in ("98765", "98,765", "45678", "45,678", "Wallet", "CLV"):
        assert amount not in html, amount
    for action in (
        _href("customers:edit", anna),
        _href("interactions:log", anna),
        _href("customers:detail", anna),
        _href("customers:emails", anna),
    ):
        assert action not in html, action
    assert html.count('method="post"') == 1  # signing out, in the top bar
    # The full page stays closed to him, and so do the writes
    assert _client(bob).get(reverse("customers:detail", args=[anna.pk])).status_code == 404
    assert _client(bob).post(reverse("customers:edit", args=[anna.pk]), {}).status_code == 404
    log = reverse("interactions:log", args=[anna.pk])
    assert _client(bob).post(log, {}).status_code == 404
    # The card takes no writes either
    assert _client(bob).post(reverse("customers:card", args=[anna.pk])).status_code == 405


def test_the_card_links_to_the_full_page_for_those_who_may_open_it(base, alice, charlie):
    for user in (alice, charlie):
        html = _client(user).get(reverse("customers:card", args=[base["anna"].pk])).content
        assert _href("customers:detail", base["anna"]).encode() in html
        assert b"read-only" not in html


def test_every_staff_page_has_the_search_box_with_its_shortcut(base, alice, charlie, ada):
    for user, path in (
        (alice, reverse("customers:portfolio")),
        (charlie, reverse("interactions:queue")),
        (ada, reverse("customers:list")),
    ):
        html = _client(user).get(path).content.decode()
        assert 'role="search"' in html and f'action="{reverse("search")}"' in html, path
        assert 'aria-keyshortcuts="/"' in html
        assert '<label class="sr-only" for="topbar-q">' in html
        assert "js/search.js" in html


def test_people_are_shown_by_name_with_the_username_as_fallback(base, alice, bob, roles):
    from accounts.roles import Role

    nameless = UserFactory(username="dana", role=Role.MANAGER)
    services.customer_create(name="Dora Keller", owner=nameless)
    html = _search(bob, "keller").content.decode()
    assert "<td>Alice</td>" in html and "<td>Bob</td>" in html and "<td>dana</td>" in html
    # The customer list and the customer page too
    alices_list = _client(alice).get(reverse("customers:list")).content.decode()
    assert "<td>Alice</td>" in alices_list and "<td>alice</td>" not in alices_list
    page = _client(alice).get(reverse("customers:detail", args=[base["anna"].pk]))
    assert "<dt>Manager</dt><dd>Alice</dd>" in page.content.decode()
    # "Elsewhere" on the customer list names the owner and links the card
    elsewhere = _client(bob).get(reverse("customers:list"), {"q": "Anna"}).content.decode()
    assert "(managed by Alice)" in elsewhere
    assert _href("customers:card", base["anna"]) in elsewhere


def test_a_single_letter_finds_nobody_rather_than_everybody(base, ada):
    # Too short to say whom: not the whole base (trigrams need more letters)
    assert _customer_ids(_search(ada, "K")) == []
    assert _customer_ids(_search(ada, "Ke")) == [base["anna"].pk, base["bruno"].pk]
    # Longer than any reference: matched as a name only, never as "no reference"
    assert _customer_ids(_search(ada, "x" * 150)) == []
