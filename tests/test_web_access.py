"""Who sees and edits what in the browser (SPEC §2): a matrix of role × action × portfolio."""

import pytest
from django.urls import reverse

from customers.models import Customer
from interactions.models import Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def test_it_sends_anonymous_visitors_to_the_login_page(client, alices_customer):
    for url in ["/", "/customers/", f"/customers/{alices_customer.pk}/", "/customers/portfolio/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_serves_the_login_page(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_it_signs_in_with_a_password_and_lands_a_manager_on_their_portfolio(client, alice):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "correct-horse-battery"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("customers:portfolio")


def test_it_rejects_a_wrong_password_with_a_clear_message(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


@pytest.mark.parametrize(
    ("user", "visible", "hidden"),
    [
        (
            "alice",
            ["My portfolio", "Find a customer", "Ideas"],
            ["Administration", "Offerings", "Community"],
        ),
        (
            "charlie",
            ["Customers"],
            ["My portfolio", "To-do", "Administration", "Offerings", "Ideas", "Community"],
        ),
        (
            "ada",
            ["Customers", "To-do", "Offerings", "Administration", "Users", "Community"],
            ["My portfolio"],
        ),
    ],
)
def test_it_shows_each_role_its_own_navigation(as_user, request, user, visible, hidden):
    page = as_user(request.getfixturevalue(user)).get("/customers/", follow=True)
    nav = page.content.decode().split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for label in visible:
        assert label in nav
    for label in hidden:
        assert label not in nav


# role, customer (own = alice's, other = bob's), expected status of view / edit
MATRIX = [
    ("alice", "alices_customer", 200, 200),
    ("alice", "bobs_customer", 404, 404),
    ("charlie", "alices_customer", 200, 404),
    ("charlie", "bobs_customer", 200, 404),
    ("ada", "bobs_customer", 200, 200),
]


@pytest.mark.parametrize(("user", "customer", "view", "edit"), MATRIX)
def test_it_enforces_portfolios_on_the_customer_page(as_user, request, user, customer, view, edit):
    client = as_user(request.getfixturevalue(user))
    target = request.getfixturevalue(customer)
    assert client.get(f"/customers/{target.pk}/").status_code == view
    assert client.get(f"/customers/{target.pk}/edit/").status_code == edit
    response = client.post(
        f"/customers/{target.pk}/edit/", {"name": "Renamed", "kind": "person", "status": "active"}
    )
    assert response.status_code == (302 if edit == 200 else 404)
    renamed = Customer.objects.get(pk=target.pk).name == "Renamed"
    assert renamed is (edit == 200)


def test_it_lists_only_the_managers_own_portfolio(as_user, alice, alices_customer, bobs_customer):
    page = as_user(alice).get("/customers/portfolio/").content.decode()
    assert alices_customer.name in page
    assert bobs_customer.name not in page


def test_it_tells_a_manager_about_a_duplicate_in_another_portfolio(as_user, alice, bobs_customer):
    page = as_user(alice).get("/customers/", {"q": "bruno"}).content.decode()
    assert "Already a customer in another portfolio" in page
    assert "Bruno Rossi" in page
    # The read-only card (issue 19), never the profile
    assert f'href="/customers/{bobs_customer.pk}/"' not in page
    assert f'href="/customers/{bobs_customer.pk}/card/"' in page


def test_it_hides_money_from_support_staff(as_user, charlie, alices_customer, alice):
    alices_customer.wallet_annual = 1234
    alices_customer.wallet_source = "stated"
    alices_customer.save()
    assert (
        "Wallet" not in as_user(charlie).get(f"/customers/{alices_customer.pk}/").content.decode()
    )
    assert "1,234" in as_user(alice).get(f"/customers/{alices_customer.pk}/").content.decode()


def test_it_lets_support_log_an_interaction_for_any_customer(as_user, charlie, bobs_customer):
    response = as_user(charlie).post(
        f"/interactions/log/{bobs_customer.pk}/",
        {
            "channel": "phone",
            "direction": "inbound",
            "type": "complaint",
            "subject": "Machine leaking",
        },
    )
    assert response.status_code == 302
    logged = Interaction.objects.get(customer=bobs_customer)
    assert (logged.type, logged.logged_by, logged.requires_response) == ("complaint", charlie, True)


def test_it_names_the_missing_field_when_logging_fails(as_user, alice, alices_customer):
    response = as_user(alice).post(
        f"/interactions/log/{alices_customer.pk}/",
        {"channel": "phone", "direction": "inbound", "type": "inquiry", "subject": ""},
    )
    assert response.status_code == 400  # the refused form is shown again
    assert response.context["form"].errors == {"subject": ["This field is required."]}
    assert not Interaction.objects.exists()


def test_it_preselects_the_customers_preferred_channel(as_user, alice, alices_customer):
    alices_customer.preferred_channel = "chat"
    alices_customer.save()
    form = as_user(alice).get(f"/interactions/log/{alices_customer.pk}/").context["form"]
    assert form["channel"].value() == "chat"


def test_it_puts_a_managers_new_customer_in_their_own_portfolio(as_user, alice):
    response = as_user(alice).post(
        "/customers/new/",
        {"name": "New Person", "kind": "person", "status": "prospect", "external_ref": ""},
    )
    assert response.status_code == 302
    created = Customer.objects.get(name="New Person")
    assert created.owner == alice
    assert created.external_ref is None


def test_it_asks_where_a_wallet_figure_comes_from(as_user, alice, alices_customer):
    response = as_user(alice).post(
        f"/customers/{alices_customer.pk}/edit/",
        {"name": "Anna Keller", "kind": "person", "status": "active", "wallet_annual": "500"},
    )
    assert response.status_code == 200
    assert "wallet_source" in response.context["form"].errors


def test_it_keeps_support_staff_from_creating_customers(as_user, charlie):
    assert as_user(charlie).get("/customers/new/").status_code == 403
