"""The offering admin: computed margin, clear validation, archive instead of delete."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from interactions.services import OrderLineInput, interaction_log
from offerings.models import Offering, Partner

from .factories import CategoryFactory, CustomerFactory, OfferingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_ada(ada):
    client = Client()
    client.force_login(ada)
    return client


def add_form(category, rows):
    data = {
        "name": "Office coffee",
        "category": category.pk,
        "description": "",
        "price": "100.00",
        "active": "on",
        "replenish_every_days": "",
        "suits_mvc": "on",
        "suits_person": "on",
        "components-TOTAL_FORMS": str(len(rows)),
        "components-INITIAL_FORMS": "0",
        "components-MIN_NUM_FORMS": "1",
        "components-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"components-{i}-{key}"] = value
    return data


def test_an_admin_adds_an_offering_and_sees_its_margin(admin_client_ada):
    category = CategoryFactory()
    partner = Partner.objects.create(name="Brew Techs")
    rows = [
        {"name": "Beans", "kind": "product", "partner": "", "price": "60", "cost": "33.10"},
        {
            "name": "Cleaning",
            "kind": "service",
            "partner": partner.pk,
            "price": "50",
            "cost": "20.25",
        },
    ]

    response = admin_client_ada.post("/admin/offerings/offering/add/", add_form(category, rows))

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    offering = Offering.objects.get(name="Office coffee")
    assert offering.cost == Decimal("53.35")
    page = admin_client_ada.get(f"/admin/offerings/offering/{offering.pk}/change/").content.decode()
    assert '<div class="readonly">53.35</div>' in page
    assert '<div class="readonly">46.65</div>' in page
    assert '<div class="readonly">46.7 %</div>' in page
    assert "offerings/offering_margin.js" in page


def test_it_names_what_is_wrong_and_saves_nothing(admin_client_ada):
    category = CategoryFactory()

    none = admin_client_ada.post("/admin/offerings/offering/add/", add_form(category, []))
    negative = admin_client_ada.post(
        "/admin/offerings/offering/add/",
        add_form(category, [{"name": "Beans", "kind": "product", "price": "-1", "cost": "2"}]),
    )

    assert "An offering needs at least one component" in none.content.decode()
    formset = negative.context["inline_admin_formsets"][0].formset
    assert formset.errors == [{"price": ["Ensure this value is greater than or equal to 0."]}]
    assert not Offering.objects.exists()


def test_the_list_shows_cost_and_margin_in_a_fixed_number_of_queries(admin_client_ada):
    OfferingFactory(name="Offering 0")
    admin_client_ada.get("/admin/offerings/offering/")
    with CaptureQueriesContext(connection) as one:
        admin_client_ada.get("/admin/offerings/offering/")

    for n in range(1, 6):
        OfferingFactory(name=f"Offering {n}")
    with CaptureQueriesContext(connection) as six:
        page = admin_client_ada.get("/admin/offerings/offering/").content.decode()

    assert len(six) == len(one)
    assert page.count('<td class="field-bundle_margin">12.50</td>') == 6
    assert '<td class="field-bundle_margin_percent">52.1 %</td>' in page


def test_a_sold_offering_cannot_be_deleted_but_is_archived(admin_client_ada, alice):
    offering = OfferingFactory(name="Beans")
    interaction_log(
        customer=CustomerFactory(owner=alice),
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="order",
        subject="Order",
        lines=[OrderLineInput(offering.pk, Decimal("1"), offering.price, offering.cost)],
    )

    delete = admin_client_ada.get(f"/admin/offerings/offering/{offering.pk}/delete/")
    archive = admin_client_ada.post(
        "/admin/offerings/offering/",
        {"action": "archive", "_selected_action": [offering.pk]},
        follow=True,
    )

    assert delete.status_code == 403
    assert "Archived 1 offering(s)." in archive.content.decode()
    offering.refresh_from_db()
    assert offering.archived and not offering.active


def test_an_admin_edits_the_schedule_partners_and_categories(admin_client_ada):
    for url in (
        "/admin/django_celery_beat/periodictask/",
        "/admin/offerings/partner/",
        "/admin/offerings/category/",
        "/admin/replenishment/replenishmentsubscription/",
    ):
        assert admin_client_ada.get(url).status_code == 200, url
    schedule = admin_client_ada.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "replenishments-run" in schedule
