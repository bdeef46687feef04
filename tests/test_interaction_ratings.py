"""Offering ratings (SPEC §3): a customer rates offerings they hold, recorded by staff."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from interactions import selectors, services
from interactions.models import OfferingRating

from .factories import InteractionFactory, OfferingFactory

pytestmark = pytest.mark.django_db


def order(customer, offering):
    interaction = InteractionFactory(customer=customer, type="order")
    interaction.lines.create(
        offering=offering, quantity=Decimal("1"), unit_price=Decimal("24"), unit_cost=Decimal("11")
    )
    return interaction


def test_it_records_one_current_rating_per_customer_and_offering(charlie, alices_customer):
    beans = OfferingFactory(name="House blend")
    order(alices_customer, beans)
    services.offering_rating_record(
        customer=alices_customer, offering=beans, rating=2, recorded_by=charlie
    )
    services.offering_rating_record(
        customer=alices_customer, offering=beans, rating=5, recorded_by=charlie
    )
    ratings = selectors.offering_ratings(customer_id=alices_customer.pk)
    assert [(r.offering.name, r.rating, r.recorded_by) for r in ratings] == [
        ("House blend", 5, charlie)
    ]
    alices_customer.refresh_from_db()
    assert alices_customer.figures.figures_version == 2


def test_it_refuses_a_rating_of_an_offering_the_customer_does_not_hold(charlie, alices_customer):
    with pytest.raises(ValidationError) as error:
        services.offering_rating_record(
            customer=alices_customer, offering=OfferingFactory(), rating=4, recorded_by=charlie
        )
    assert list(error.value.message_dict) == ["offering"]


def test_it_names_a_rating_out_of_range(charlie, alices_customer):
    beans = OfferingFactory()
    order(alices_customer, beans)
    with pytest.raises(ValidationError) as error:
        services.offering_rating_record(
            customer=alices_customer, offering=beans, rating=6, recorded_by=charlie
        )
    assert list(error.value.message_dict) == ["rating"]
    assert not OfferingRating.objects.exists()


def test_staff_record_a_rating_from_the_log_page(client, charlie, alices_customer):
    beans = OfferingFactory(name="House blend")
    OfferingFactory(name="Never ordered")
    order(alices_customer, beans)
    client.force_login(charlie)
    page = client.get(f"/interactions/log/{alices_customer.pk}/").content.decode()
    rating_section = page[page.index('id="ratings"') :]
    assert "House blend" in rating_section and "Never ordered" not in rating_section

    response = client.post(
        f"/interactions/rate/{alices_customer.pk}/",
        {"rating-offering": beans.pk, "rating-rating": 4},
    )
    assert response.status_code == 302
    assert OfferingRating.objects.get().rating == 4


def test_it_names_the_field_of_a_bad_rating_form(client, alice, alices_customer, bobs_customer):
    other = OfferingFactory()
    client.force_login(alice)
    response = client.post(
        f"/interactions/rate/{alices_customer.pk}/",
        {"rating-offering": other.pk, "rating-rating": 9},
    )
    assert response.status_code == 400
    assert set(response.context["rating_form"].errors) == {"offering", "rating"}
    assert client.post(f"/interactions/rate/{bobs_customer.pk}/").status_code == 404
