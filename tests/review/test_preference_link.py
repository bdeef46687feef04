"""Issue 14 item 4: the preference-centre link.

Nothing money-related is shown or changed through it; what the customer states is recorded as
stated by the customer, whoever's browser opens it; it is throttled per link and per address;
a bad answer is a 400; erasure withdraws every link and staff can issue a new one, after which
the old ones answer 410 with a page that says so.
"""

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from customers.facts import customer_fact_record
from customers.models import ChannelConsent, CustomerFact, FactSource
from customers.preference_links import preference_link_token
from dataio.privacy import customer_erase
from interactions.models import Interaction

from ..factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anna(alice):
    customer = CustomerFactory(name="Anna Keller", owner=alice)
    customer_fact_record(customer=customer, key="wallet_annual", value="123456", recorded_by=alice)
    customer.refresh_from_db()
    return customer


def link_of(customer) -> str:
    return f"/preferences/{preference_link_token(customer=customer)}/"


def link_on_customer_page(client, customer) -> str:
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    match = re.search(r'value="https?://[^/"]+(/preferences/[^"]+/)"', page)
    assert match, "the customer page shows the link"
    return match.group(1)


def test_it_shows_no_money_and_takes_none(client, anna):
    # Given a customer whose manager recorded a wallet of 123456
    url = link_of(anna)
    # When the link is opened, and a wallet is posted through it
    page = client.get(url)
    posted = client.post(url, {"fact__wallet_annual": "5", "fact__delivery_window": "morning"})
    # Then the page neither shows nor asks the wallet, and the stored wallet is unchanged
    assert page.status_code == 200
    body = page.content.decode()
    assert "123456" not in body and "fact__wallet_annual" not in body
    assert "fact__wallet_annual" not in page.context["form"].fields
    assert posted.status_code == 200
    anna.refresh_from_db()
    assert anna.wallet_annual == Decimal("123456")
    wallet = CustomerFact.objects.get(customer=anna, key__key="wallet_annual", is_current=True)
    assert (wallet.value, wallet.recorded_by.username) == ("123456", "alice")


def test_it_records_what_the_customer_states_as_stated_by_the_customer(anna, alice):
    # Given alice, signed in, opening the link she sends her customer
    browser = Client()
    browser.force_login(alice)
    url = link_on_customer_page(browser, anna)
    # When the form is posted from her browser
    response = browser.post(
        url,
        {"preferred_channel": "email", "consent__email": "on", "fact__delivery_window": "evening"},
    )
    # Then everything is recorded as stated by the customer, not by alice
    assert response.status_code == 200
    fact = CustomerFact.objects.get(customer=anna, key__key="delivery_window")
    assert (fact.value, fact.recorded_by, fact.source) == ("evening", None, FactSource.CUSTOMER)
    teaching = Interaction.objects.get(customer=anna, type="teaching")
    assert teaching.logged_by is None and fact.source_interaction == teaching
    consent = ChannelConsent.objects.get(customer=anna, channel="email")
    assert {h.history_user for h in consent.history.all()} == {None}
    assert anna.history.latest("history_date").history_user is None
    # And the customer page says who stated it
    page = browser.get(f"/customers/{anna.pk}/").content.decode()
    assert "stated by the customer" in page


def test_it_throttles_posts_per_link(client, anna, settings):
    # Given a limit of three submissions per link
    settings.PREFERENCE_CENTRE_RATE_PER_LINK = "3/hour"
    url = link_of(anna)
    # When the same link is posted five times
    statuses = [
        client.post(url, {"fact__delivery_window": "morning"}).status_code for _ in range(5)
    ]
    # Then the first three go through and the rest answer 429, storing nothing
    assert statuses == [200, 200, 200, 429, 429]
    assert Interaction.objects.filter(customer=anna).count() == 3


def test_it_throttles_posts_per_address(client, alice, settings):
    # Given a limit of four submissions per address, and five customers' links
    settings.PREFERENCE_CENTRE_RATE_PER_IP = "4/hour"
    links = [link_of(CustomerFactory(owner=alice)) for _ in range(5)]
    # When one address posts each link once
    statuses = [client.post(url, {"fact__delivery_window": "noon"}).status_code for url in links]
    # Then the fifth answers 429 though its link is fresh
    assert statuses == [400, 400, 400, 400, 429]


def test_it_answers_a_bad_answer_with_400_and_saves_nothing(client, anna):
    # Given the link
    url = link_of(anna)
    # When an answer is not among the allowed values
    response = client.post(url, {"fact__delivery_window": "noon", "preferred_channel": "fax"})
    # Then the form comes back with 400, naming the fields, and nothing is stored
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"fact__delivery_window", "preferred_channel"}
    assert not Interaction.objects.filter(customer=anna).exists()


def test_it_withdraws_every_link_when_the_customer_is_erased(client, anna, ada):
    # Given a link sent before the customer asked to be erased
    url = link_of(anna)
    customer_erase(customer_id=anna.pk, by=ada, reason="Asked by e-mail")
    # When the old link is opened and posted
    opened = client.get(url)
    posted = client.post(url, {"consent__email": "on", "fact__delivery_window": "morning"})
    # Then both answer 410 with a page that says why, and nothing is stored
    assert (opened.status_code, posted.status_code) == (410, 410)
    assert "no longer valid" in opened.content.decode()
    assert not ChannelConsent.objects.filter(customer=anna).exists()
    assert not Interaction.objects.filter(customer=anna, type="teaching").exists()
    # And the customer page offers no new link
    staff = Client()
    staff.force_login(ada)
    page = staff.get(f"/customers/{anna.pk}/").content.decode()
    assert "/preferences/" not in page


@pytest.mark.parametrize("who", ["alice", "charlie", "ada"])
def test_it_lets_staff_issue_a_new_link_that_withdraws_the_old(anna, who, request):
    # Given the link the customer page shows
    staff = Client()
    staff.force_login(request.getfixturevalue(who))
    old = link_on_customer_page(staff, anna)
    # When staff ask for a new link from the customer page
    response = staff.post(f"/customers/{anna.pk}/preference-link/")
    # Then the page shows a new link that works, and the old one answers 410
    assert response.status_code == 302 and response.url == f"/customers/{anna.pk}/"
    new = link_on_customer_page(staff, anna)
    assert new != old
    anyone = Client()
    assert anyone.get(new).status_code == 200
    gone = anyone.get(old)
    assert gone.status_code == 410
    assert "no longer valid" in gone.content.decode()


def test_it_lets_no_other_manager_reissue_a_link(anna, bob):
    # Given bob, who manages another portfolio
    staff = Client()
    staff.force_login(bob)
    url = link_of(anna)
    # When he asks for a new link for alice's customer
    response = staff.post(f"/customers/{anna.pk}/preference-link/")
    # Then it is not found and the link still works
    assert response.status_code == 404
    assert Client().get(url).status_code == 200
