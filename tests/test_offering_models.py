"""Offerings: bundle cost and margin in Decimal, archiving instead of deleting, eligibility."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models.deletion import ProtectedError

from customers.models import CustomerKind
from interactions.services import OrderLineInput, interaction_log
from offerings import selectors, services
from offerings.models import Offering, Partner
from offerings.services import ComponentInput
from replenishment.models import SubscriptionStatus
from replenishment.services import replenishment_subscribe

from .factories import CategoryFactory, CustomerFactory, OfferingFactory

pytestmark = pytest.mark.django_db


def make_bundle(name="Office coffee", price="100.00", category=None) -> Offering:
    partner = Partner.objects.create(name="Brew Techs")
    return services.offering_create(
        name=name,
        category=category or CategoryFactory(name="Coffee supply"),
        price=Decimal(price),
        components=[
            ComponentInput(
                name="Beans 1 kg", kind="product", price=Decimal("60.00"), cost=Decimal("33.10")
            ),
            ComponentInput(
                name="Machine cleaning",
                kind="service",
                price=Decimal("50.00"),
                cost=Decimal("20.25"),
                partner=partner,
            ),
        ],
    )


def sell(offering: Offering, customer) -> None:
    interaction_log(
        customer=customer,
        logged_by=None,
        channel="phone",
        direction="inbound",
        type="order",
        subject="Order",
        lines=[
            OrderLineInput(
                offering_id=offering.pk,
                quantity=Decimal("1"),
                unit_price=offering.price,
                unit_cost=offering.cost,
            )
        ],
    )


def test_it_derives_cost_margin_and_margin_percent_in_decimal():
    offering = make_bundle(price="100.00")

    assert offering.cost == Decimal("53.35")
    assert offering.margin == Decimal("46.65")
    assert offering.margin_percent == Decimal("46.7")
    assert [c.provider for c in offering.components.all()] == ["in-house", "Brew Techs"]


def test_it_computes_the_same_cost_in_sql_for_lists():
    make_bundle(price="100.00")
    listed = selectors.offerings_with_figures().get(name="Office coffee")

    assert listed.components_cost == Decimal("53.35")
    assert listed.margin == Decimal("46.65")


def test_it_shows_no_margin_percent_for_a_free_offering_and_a_negative_margin_when_underpriced():
    free = make_bundle(name="Free sample", price="0.00")
    assert free.margin_percent is None
    assert free.margin == Decimal("-53.35")


def test_it_refuses_a_bundle_without_components():
    with pytest.raises(ValidationError) as error:
        services.offering_create(
            name="Empty", category=CategoryFactory(), price=Decimal("10"), components=[]
        )
    assert error.value.message_dict == {"components": ["An offering needs at least one component."]}
    assert not Offering.objects.filter(name="Empty").exists()


def test_it_refuses_a_negative_component_cost_naming_the_component_and_field():
    with pytest.raises(ValidationError) as error:
        services.offering_create(
            name="Broken",
            category=CategoryFactory(),
            price=Decimal("10"),
            components=[
                ComponentInput(name="A", kind="product", price=Decimal("5"), cost=Decimal("1")),
                ComponentInput(name="B", kind="service", price=Decimal("5"), cost=Decimal("-1")),
            ],
        )
    assert list(error.value.message_dict) == ["components[1].cost"]
    assert not Offering.objects.filter(name="Broken").exists()


def test_it_refuses_to_delete_an_offering_that_was_sold_and_archives_it_instead(alice):
    offering = make_bundle()
    sell(offering, CustomerFactory(owner=alice))

    with pytest.raises(ValidationError, match="Archive it instead"):
        services.offering_delete(offering=offering)
    with pytest.raises(ProtectedError):
        offering.delete()

    services.offering_archive(offering=offering)
    offering.refresh_from_db()
    assert offering.archived and not offering.active
    assert offering.order_lines.count() == 1


def test_it_deletes_an_offering_never_sold():
    offering = make_bundle()
    services.offering_delete(offering=offering)
    assert not Offering.objects.filter(pk=offering.pk).exists()


def test_an_archived_offering_is_not_orderable_and_cannot_be_switched_back_on(alice):
    offering = make_bundle()
    customer = CustomerFactory(owner=alice)
    subscription = replenishment_subscribe(
        customer=customer, offering=offering, next_due="2026-12-01", interval_days=30
    )

    services.offering_archive(offering=offering)

    assert offering not in selectors.offerings_orderable()
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAUSED
    with pytest.raises(ValidationError) as error:
        replenishment_subscribe(
            customer=customer, offering=offering, next_due="2026-12-01", interval_days=30
        )
    assert "offering" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.offering_update(offering=offering, data={"active": True})
    assert error.value.message_dict == {
        "active": ["An archived offering cannot be active; restore it first."]
    }

    services.offering_restore(offering=offering)
    services.offering_update(offering=offering, data={"active": True})
    assert offering in selectors.offerings_orderable()


def test_it_filters_eligible_offerings_by_segment_tier_and_need():
    coffee = CategoryFactory(name="Coffee supply")
    maintenance = CategoryFactory(name="Machine maintenance")
    for_everyone = OfferingFactory(name="Beans", category=coffee)
    for_firms = OfferingFactory(name="Office plan", category=coffee, suits_person=False)
    for_valuable = OfferingFactory(
        name="Barista day",
        category=maintenance,
        suits_mgc=False,
        suits_below_zero=False,
        suits_maintain=False,
    )
    descaling = OfferingFactory(name="Descaling", category=maintenance)
    descaling.eligible_needs.add(coffee)
    OfferingFactory(name="Old blend", category=coffee, active=False)
    person = CustomerFactory(kind=CustomerKind.PERSON)
    firm = CustomerFactory(kind=CustomerKind.ORGANIZATION)

    def names(**kwargs):
        return sorted(o.name for o in selectors.offerings_eligible_for(**kwargs))

    assert names(customer=person) == ["Barista day", "Beans", "Descaling"]
    assert names(customer=firm) == ["Barista day", "Beans", "Descaling", "Office plan"]
    assert names(customer=person, tier="maintain") == ["Beans", "Descaling"]
    assert names(customer=firm, tier="mvc", needs=[coffee]) == ["Beans", "Descaling", "Office plan"]
    assert names(customer=firm, needs=[maintenance.pk]) == ["Barista day", "Descaling"]
    assert names(customer=firm, needs=[]) == []
    assert for_everyone.pk and for_firms.pk and for_valuable.pk


def test_it_rejects_an_unknown_tier():
    with pytest.raises(ValueError, match="unknown tier"):
        selectors.offerings_eligible_for(customer=CustomerFactory(), tier="gold")
