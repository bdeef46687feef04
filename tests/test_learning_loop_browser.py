"""The learning loop in a real browser: what a customer teaches is never asked again."""

import pytest
from playwright.sync_api import expect

from customers.models import CustomerFact, FactKey
from customers.preference_links import preference_link_token
from interactions.models import Interaction

from .browser import shot, sign_in
from .factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def brewing(roles):
    return FactKey.objects.create(
        key="brewing_method",
        label="Brewing method",
        question="How do you brew at home?",
        kind="specification",
        value_type="choice",
        choices=["espresso", "filter", "moka"],
        value_weight=85,
    )


def test_support_teaches_two_facts_and_the_next_form_does_not_ask_them(
    page, charlie, alice, brewing
):
    anna = CustomerFactory(name="Anna Keller", owner=alice, preferred_channel="chat")
    sign_in(page, "charlie")
    page.goto(f"/interactions/log/{anna.pk}/")

    # The two most valuable unknowns are asked: the wallet, then the brewing method.
    teach = page.locator("#teach")
    expect(teach).to_contain_text("Roughly what do you spend a year")
    expect(teach).to_contain_text("How do you brew at home?")
    expect(teach).not_to_contain_text("When do deliveries suit you best?")
    expect(page.get_by_label("Channel")).to_have_value("chat")
    page.get_by_label("Subject").fill("Asked about grinders")
    page.get_by_label("Roughly what do you spend a year on this, with anyone?").fill("1200")
    page.get_by_label("How do you brew at home?").select_option("moka")
    shot(page, "loop-teach-two-facts")
    page.get_by_role("button", name="Save interaction").click()
    expect(page.get_by_text("Interaction saved")).to_be_visible()
    expect(page.locator("#facts")).to_contain_text("moka")

    page.get_by_role("link", name="Log an interaction").click()
    known = page.locator("#known-facts")
    expect(known).to_contain_text("Brewing method: moka")
    expect(known).to_contain_text("wallet): known")  # support staff never see money
    teach = page.locator("#teach")
    expect(teach).not_to_contain_text("How do you brew at home?")
    expect(teach).not_to_contain_text("Roughly what do you spend a year")
    # The suggestion moved on to what is now the most valuable unknown.
    expect(teach).to_contain_text("When do deliveries suit you best?")
    shot(page, "loop-next-form")
    facts = CustomerFact.objects.filter(customer=anna, is_current=True)
    assert {f.key.key: f.value for f in facts} == {
        "wallet_annual": "1200",
        "brewing_method": "moka",
    }
    assert {f.recorded_by for f in facts} == {charlie}


def test_a_customer_states_preferences_and_staff_see_them_as_teaching(page, alice, brewing):
    anna = CustomerFactory(name="Anna Keller", owner=alice)
    page.goto(f"/preferences/{preference_link_token(customer=anna)}/")
    expect(page.get_by_role("heading", name="Your preferences, Anna Keller")).to_be_visible()
    page.get_by_label("How would you like us to contact you?").select_option("email")
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("How do you brew at home?").select_option("espresso")
    shot(page, "preference-centre")
    page.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_role("heading", name="Thank you, Anna Keller")).to_be_visible()

    sign_in(page, "alice")
    page.goto(f"/customers/{anna.pk}/")
    expect(page.locator(".timeline")).to_contain_text("Preferences stated in the preference centre")
    expect(page.locator(".timeline")).to_contain_text("Teaching")
    expect(page.locator("#facts")).to_contain_text("espresso")
    expect(page.locator("#facts")).to_contain_text("preference centre")
    shot(page, "preference-centre-seen-by-manager")
    assert Interaction.objects.get(customer=anna).type == "teaching"
