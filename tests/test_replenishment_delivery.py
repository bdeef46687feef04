"""Replenishment: due subscriptions become interactions exactly once per due date."""

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from customers.models import Customer
from interactions.models import Interaction
from interactions.services import OrderLineInput, interaction_log
from offerings.services import offering_archive
from replenishment import selectors, services
from replenishment.forecasts import purchase_forecasts_refresh
from replenishment.models import PurchaseForecast, ReplenishmentDelivery, ReplenishmentSubscription

from .factories import CustomerFactory, OfferingFactory

TODAY = date(2026, 11, 25)


def subscribe(
    customer, offering, *, next_due, interval_days=14, mode="reminder", status=None, **kwargs
):
    subscription = services.replenishment_subscribe(
        customer=customer,
        offering=offering,
        next_due=next_due,
        interval_days=interval_days,
        mode=mode,
        **kwargs,
    )
    if status:
        services.replenishment_set_status(subscription=subscription, status=status, today=TODAY)
    return subscription


@pytest.mark.django_db
def test_it_places_an_order_with_the_offering_price_and_cost_and_a_to_do_for_the_manager(alice):
    customer = CustomerFactory(owner=alice, preferred_channel="phone")
    beans = OfferingFactory(name="Beans", price=Decimal("24.00"))
    subscription = subscribe(
        customer, beans, next_due=TODAY, mode="auto_order", quantity=Decimal("2")
    )

    assert services.replenishments_deliver_due(today=TODAY) == 1

    order = Interaction.objects.get(customer=customer)
    assert (order.type, order.direction, order.channel) == ("order", "outbound", "phone")
    assert order.subject == "Replenishment order: Beans (due 2026-11-25)"
    assert order.next_step == f"Confirm the replenishment of Beans with {customer.name}"
    assert order.next_step_due == TODAY
    line = order.lines.get()
    assert (line.offering, line.quantity, line.unit_price, line.unit_cost) == (
        beans,
        Decimal("2.00"),
        Decimal("24.00"),
        Decimal("11.50"),
    )
    subscription.refresh_from_db()
    assert subscription.next_due == TODAY + timedelta(days=14)
    assert subscription.deliveries.get().interaction == order


@pytest.mark.django_db
def test_it_sends_a_reminder_without_order_lines(alice):
    customer = CustomerFactory(owner=alice)
    subscribe(customer, OfferingFactory(name="Filters"), next_due=TODAY - timedelta(days=1))

    services.replenishments_deliver_due(today=TODAY)

    reminder = Interaction.objects.get(customer=customer)
    assert (reminder.type, reminder.direction, reminder.channel) == (
        "outreach",
        "outbound",
        "email",
    )
    assert reminder.next_step == f"Ask {customer.name} whether to send Filters again"
    assert reminder.next_step_due == TODAY - timedelta(days=1)
    assert not reminder.lines.exists()


@pytest.mark.django_db
def test_running_twice_on_the_same_day_delivers_each_due_date_once(alice):
    customer = CustomerFactory(owner=alice)
    subscribe(customer, OfferingFactory(), next_due=TODAY, mode="auto_order")
    subscribe(customer, OfferingFactory(), next_due=TODAY)

    assert services.replenishments_deliver_due(today=TODAY) == 2
    assert services.replenishments_deliver_due(today=TODAY) == 0

    assert Interaction.objects.filter(customer=customer).count() == 2


@pytest.mark.django_db
def test_it_catches_up_every_missed_due_date_once(alice):
    customer = CustomerFactory(owner=alice)
    subscription = subscribe(
        customer, OfferingFactory(), next_due=TODAY - timedelta(days=20), interval_days=7
    )

    assert services.replenishments_deliver_due(today=TODAY) == 3

    assert list(subscription.deliveries.order_by("due_on").values_list("due_on", flat=True)) == [
        date(2026, 11, 5),
        date(2026, 11, 12),
        date(2026, 11, 19),
    ]
    subscription.refresh_from_db()
    assert subscription.next_due == date(2026, 11, 26)
    assert services.replenishments_deliver_due(today=TODAY) == 0
    assert services.replenishments_deliver_due(today=date(2026, 11, 26)) == 1


@pytest.mark.django_db
def test_it_does_not_deliver_a_due_date_again_when_next_due_is_moved_back(alice):
    customer = CustomerFactory(owner=alice)
    subscription = subscribe(customer, OfferingFactory(), next_due=TODAY)
    services.replenishments_deliver_due(today=TODAY)

    ReplenishmentSubscription.objects.filter(pk=subscription.pk).update(next_due=TODAY)
    assert services.replenishments_deliver_due(today=TODAY) == 0

    assert Interaction.objects.filter(customer=customer).count() == 1
    subscription.refresh_from_db()
    assert subscription.next_due == TODAY + timedelta(days=14)


@pytest.mark.django_db
def test_it_skips_paused_cancelled_future_and_archived(alice):
    customer = CustomerFactory(owner=alice)
    subscribe(customer, OfferingFactory(), next_due=TODAY, status="paused")
    subscribe(customer, OfferingFactory(), next_due=TODAY + timedelta(days=1))
    subscribe(customer, OfferingFactory(), next_due=TODAY, status="cancelled")
    archived = OfferingFactory()
    subscribe(customer, archived, next_due=TODAY)
    offering_archive(offering=archived)

    assert services.replenishments_deliver_due(today=TODAY) == 0
    assert not Interaction.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_deliver_each_due_date_once(alice):
    customers = [CustomerFactory(owner=alice) for _ in range(3)]
    offerings = [OfferingFactory() for _ in range(10)]
    for customer in customers:
        for offering in offerings:
            subscribe(customer, offering, next_due=TODAY - timedelta(days=14), mode="auto_order")
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            counts.append(services.replenishments_deliver_due(today=TODAY, batch_size=5))
        except BaseException as error:  # reported below, in the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(counts) == 60
    assert ReplenishmentDelivery.objects.count() == 60
    assert Interaction.objects.filter(type="order").count() == 60
    assert set(ReplenishmentSubscription.objects.values_list("next_due", flat=True)) == {
        TODAY + timedelta(days=14)
    }


@pytest.mark.django_db
def test_it_lists_due_replenishments_of_a_managers_portfolio(alice, bob):
    anna = CustomerFactory(owner=alice, name="Anna")
    due = subscribe(anna, OfferingFactory(name="Beans"), next_due=TODAY + timedelta(days=3))
    overdue = subscribe(anna, OfferingFactory(name="Milk"), next_due=TODAY - timedelta(days=2))
    subscribe(anna, OfferingFactory(name="Cups"), next_due=TODAY + timedelta(days=30))
    subscribe(anna, OfferingFactory(name="Sugar"), next_due=TODAY, status="paused")
    subscribe(CustomerFactory(owner=bob), OfferingFactory(name="Tea"), next_due=TODAY)

    listed = list(selectors.replenishments_due(manager=alice, within_days=7, today=TODAY))

    assert listed == [overdue, due]
    assert [s.offering.name for s in selectors.customer_subscriptions(anna.pk)] == [
        "Milk",
        "Beans",
        "Cups",
        "Sugar",
    ]


def order(customer, offering, when: datetime) -> None:
    interaction_log(
        customer=customer,
        logged_by=None,
        channel="web",
        direction="inbound",
        type="order",
        subject="Order",
        occurred_at=when,
        lines=[
            OrderLineInput(
                offering_id=offering.pk,
                quantity=Decimal("1"),
                unit_price=offering.price,
                unit_cost=Decimal("1"),
            )
        ],
    )


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00+00:00")


@pytest.mark.django_db
def test_it_predicts_the_next_purchase_from_the_customers_median_interval(
    alice, django_assert_num_queries
):
    anna, ben = CustomerFactory(owner=alice), CustomerFactory(owner=alice)
    beans, milk, cups, tea = (OfferingFactory(name=n) for n in ("Beans", "Milk", "Cups", "Tea"))
    for day in ("2026-09-01", "2026-09-11", "2026-10-01", "2026-10-01", "2026-10-10"):
        order(anna, beans, at(day))  # distinct days 1 Sep, 11 Sep, 1 Oct, 10 Oct: 10, 20, 9 days
    order(anna, milk, at("2026-10-01"))  # bought once: nothing to predict from
    for day in ("2026-10-01", "2026-10-08"):
        order(anna, tea, at(day))
    subscribe(anna, tea, next_due=TODAY)  # a subscription says when; no prediction
    for day in ("2026-08-01", "2026-09-01", "2026-10-01"):
        order(ben, cups, at(day))

    with django_assert_num_queries(2):
        predictions = selectors.predicted_next_purchases_bulk([anna.pk, ben.pk])

    assert predictions[anna.pk] == [
        (beans, date(2026, 10, 10), 10.0, date(2026, 10, 20)),
    ]
    assert predictions[ben.pk] == [(cups, date(2026, 10, 1), 30.5, date(2026, 10, 31))]
    assert selectors.predicted_next_purchases(anna.pk) == predictions[anna.pk]
    assert Customer.objects.count() == 2

    # The stored forecasts (SQL, for whole portfolios) are the same arithmetic, subscribed
    # offerings included: the median of 30 and 31 days, 30.5, rounds half to even as above
    purchase_forecasts_refresh()
    stored = {
        (f.customer_id, f.offering, f.last_purchase, f.median_interval_days, f.predicted_on)
        for f in PurchaseForecast.objects.all()
    }
    expected = selectors.predicted_next_purchases_bulk([anna.pk, ben.pk], include_subscribed=True)
    assert stored == {(cid, *p) for cid, purchases in expected.items() for p in purchases}
    assert (anna.pk, tea, date(2026, 10, 8), 7.0, date(2026, 10, 15)) in stored
    assert (ben.pk, cups, date(2026, 10, 1), 30.5, date(2026, 10, 31)) in stored


@pytest.mark.django_db
def test_resuming_a_paused_subscription_does_not_replay_the_paused_periods(alice):
    customer = CustomerFactory(owner=alice)
    subscription = subscribe(
        customer, OfferingFactory(), next_due=date(2026, 9, 1), status="paused"
    )

    services.replenishment_set_status(subscription=subscription, status="active", today=TODAY)

    assert subscription.next_due == TODAY
    assert services.replenishments_deliver_due(today=TODAY) == 1


@pytest.mark.django_db
def test_archiving_an_offering_pauses_its_live_subscriptions_through_the_event_seam(alice):
    customer = CustomerFactory(owner=alice)
    archived, kept = OfferingFactory(), OfferingFactory()
    live = subscribe(customer, archived, next_due=TODAY)
    other = subscribe(customer, kept, next_due=TODAY)
    offering_archive(offering=archived)
    live.refresh_from_db()
    other.refresh_from_db()
    assert (live.status, other.status) == ("paused", "active")


@pytest.mark.django_db
def test_a_delivery_run_publishes_one_event_per_batch_and_the_agendas_follow(alice):
    from events.models import Event

    customers = [CustomerFactory(owner=alice) for _ in range(3)]
    offering = OfferingFactory()
    for customer in customers:
        subscribe(customer, offering, next_due=TODAY)
    assert services.replenishments_deliver_due(today=TODAY) == 3
    (due,) = Event.objects.filter(name="subscription.due")
    assert due.payload["customer_ids"] == sorted(c.pk for c in customers)
    for customer in customers:
        customer.refresh_from_db()
        # The reminder's next step, due on the delivered date, is the earliest due action.
        assert customer.agenda.next_due_on == TODAY
