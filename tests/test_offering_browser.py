"""An admin configures a blended offering in the Django admin with a real Chromium."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from offerings.models import Offering, Partner

from .browser import shot, sign_in
from .factories import CategoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_creates_a_product_and_partner_service_offering_and_sees_its_margin(page, ada):
    CategoryFactory(name="Coffee supply")
    Partner.objects.create(name="Brew Techs")

    sign_in(page, "ada")
    page.goto("/admin/offerings/offering/add/")
    page.locator("#id_name").fill("Office coffee")
    page.locator("#id_category").select_option(label="Coffee supply")
    page.locator("#id_price").fill("100.00")
    page.locator("#id_components-0-name").fill("Beans 1 kg")
    page.locator("#id_components-0-kind").select_option("product")
    page.locator("#id_components-0-price").fill("60.00")
    page.locator("#id_components-0-cost").fill("33.10")
    page.locator(".add-row a").click()
    page.locator("#id_components-1-name").fill("Machine cleaning")
    page.locator("#id_components-1-kind").select_option("service")
    page.locator("#id_components-1-partner").select_option(label="Brew Techs")
    page.locator("#id_components-1-price").fill("50.00")
    page.locator("#id_components-1-cost").fill("20.25")

    # Live, while typing: the cost and margin of the bundle.
    expect(page.locator(".field-bundle_cost .readonly")).to_have_text("53.35")
    expect(page.locator(".field-bundle_margin .readonly")).to_have_text("46.65")
    expect(page.locator(".field-bundle_margin_percent .readonly")).to_have_text("46.7 %")
    shot(page, "admin-offering-live-margin")

    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    # After saving: the same figures, now computed by the server.
    expect(page.locator(".field-bundle_margin .readonly")).to_have_text("46.65")
    shot(page, "admin-offering-saved")

    page.goto("/admin/offerings/offering/")
    row = page.locator("#result_list tbody tr", has_text="Office coffee")
    expect(row.locator(".field-bundle_margin")).to_have_text("46.65")
    expect(row.locator(".field-bundle_margin_percent")).to_have_text("46.7 %")
    shot(page, "admin-offering-list")
    offering = Offering.objects.get(name="Office coffee")
    assert offering.margin == Decimal("46.65")
    assert [c.provider for c in offering.components.all()] == ["in-house", "Brew Techs"]


def test_an_admin_is_told_which_fields_are_wrong(page, ada):
    CategoryFactory(name="Coffee supply")

    sign_in(page, "ada")
    page.goto("/admin/offerings/offering/add/")
    page.locator("#id_name").fill("Nothing inside")
    page.locator("#id_category").select_option(label="Coffee supply")
    page.locator("#id_price").fill("-5")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("#id_price_error")).to_have_text(
        "Ensure this value is greater than or equal to 0."
    )
    expect(page.locator("#id_components-0-name_error")).to_have_text("This field is required.")
    shot(page, "admin-offering-errors")
    assert not Offering.objects.exists()
