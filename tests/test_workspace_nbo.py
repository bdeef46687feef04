"""Next best offerings: co-occurrence over the base, ranking, feedback, API, making an offer."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from interactions.models import Interaction
from workspace.models import OfferingAffinity
from workspace.schedule import AFFINITY_TASK, AFFINITY_TASK_NAME
from workspace.selectors.next_best import next_best_offerings
from workspace.services import offering_affinities_refresh

from .factories import CustomerFactory, OfferingFactory
from .workspace_helpers import figures, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def base(alice):
    """Tom holds A. Of the four customers who hold A, two also hold B and one holds C.

    holds: Tom A · c1 A,B · c2 A,B · c3 A,C · c4 C,D · c5 B
    """
    a, b, c, d = (OfferingFactory(name=n) for n in "ABCD")
    tom = CustomerFactory(name="Tom", owner=alice)
    figures(tom, p_alive=1.0)
    order(tom, a)
    holdings = [(a, b), (a, b), (a, c), (c, d), (b,)]
    for n, held in enumerate(holdings, start=1):
        order(CustomerFactory(name=f"c{n}", owner=alice), *held)
    offering_affinities_refresh()
    return {"tom": tom, "a": a, "b": b, "c": c, "d": d}


def test_it_counts_co_occurrence_across_the_whole_base(base):
    a, b, c, d = base["a"], base["b"], base["c"], base["d"]
    pairs = {
        (p.offering_id, p.other_id): (p.customers_both, p.holders, p.share)
        for p in OfferingAffinity.objects.all()
    }
    assert pairs[(a.pk, b.pk)] == (2, 4, 0.5)  # c1, c2 of Tom, c1, c2, c3
    assert pairs[(a.pk, c.pk)] == (1, 4, 0.25)  # c3
    assert pairs[(c.pk, a.pk)] == (1, 2, 0.5)  # c3 of c3, c4
    assert pairs[(c.pk, d.pk)] == (1, 2, 0.5)
    assert pairs[(b.pk, a.pk)] == (2, 3, pytest.approx(2 / 3))
    assert (a.pk, d.pk) not in pairs and (a.pk, a.pk) not in pairs
    assert len(pairs) == 6  # A-B, A-C, C-D both ways; nobody holds B with C or D


def test_it_ranks_by_share_times_margin_times_acceptance_times_p_alive(base):
    # Given equal margins (24 - 11.50), Tom's P(alive) 1 and no offer answered yet (0.5)
    ranked = next_best_offerings(customer=base["tom"])

    # Then B (0.5 × 12.5 × 0.5) comes before C (0.25 × 12.5 × 0.5); D co-occurs with nothing
    # Tom holds and A is held already
    assert [(n.offering.name, n.score) for n in ranked] == [("B", 3.125), ("C", 1.5625)]
    assert ranked[0].reason == "held by 50 % of customers who hold A"


def test_it_weights_by_margin_and_by_how_often_an_offering_was_accepted(base, alice):
    # Given C is now far more profitable and was accepted twice by other customers
    c = base["c"]
    c.price = Decimal("100.00")
    c.save()
    for _ in range(2):
        Interaction.objects.create(
            customer=CustomerFactory(owner=alice),
            channel="phone",
            direction="outbound",
            type="offer",
            subject="Offer",
            offer=c,
            offer_outcome="accepted",
        )

    ranked = next_best_offerings(customer=base["tom"])

    # Then C: 0.25 × 88.5 × (2+1)/(2+2) × 1 comes first
    assert [(n.offering.name, n.score) for n in ranked] == [("C", 16.5938), ("B", 3.125)]


def test_it_never_repeats_an_offer_declined_in_the_last_90_days(base):
    tom, b = base["tom"], base["b"]
    Interaction.objects.create(
        customer=tom,
        channel="phone",
        direction="outbound",
        type="offer",
        subject="Offer",
        offer=b,
        offer_outcome="declined",
        occurred_at=timezone.now() - timedelta(days=89),
    )
    assert [n.offering.name for n in next_best_offerings(customer=tom)] == ["C"]


def test_it_offers_what_most_customers_hold_to_a_customer_who_holds_nothing(base, alice):
    newcomer = CustomerFactory(name="New", owner=alice)
    ranked = next_best_offerings(customer=newcomer)
    # A is held by 4 of 6 buying customers, B by 3, C by 2, D by 1
    assert [n.offering.name for n in ranked] == ["A", "B", "C", "D"]
    assert ranked[0].reason == "held by 67 % of our customers"


def test_it_serves_the_ranking_only_for_customers_the_user_may_see(base, alice, bob, charlie):
    api = APIClient()
    url = reverse("api-customer-next-best-offerings", args=[base["tom"].pk])

    api.force_authenticate(alice)
    response = api.get(url)
    assert response.status_code == 200
    assert response.json() == [
        {
            "offering": {"id": base["b"].pk, "name": "B"},
            "score": 3.125,
            "reason": "held by 50 % of customers who hold A",
        },
        {
            "offering": {"id": base["c"].pk, "name": "C"},
            "score": 1.5625,
            "reason": "held by 25 % of customers who hold A",
        },
    ]

    api.force_authenticate(bob)
    assert api.get(url).status_code == 404
    api.force_authenticate(charlie)
    assert api.get(url).status_code == 200


def test_it_records_an_offer_and_its_outcome_feeds_back(client, base, alice):
    tom, b = base["tom"], base["b"]
    client.force_login(alice)

    # When alice makes the top offer from the customer page
    response = client.post(reverse("workspace:offer-make", args=[tom.pk]), {"offering": b.pk})

    # Then an outbound offer interaction is on the timeline, awaiting an answer, and B is not
    # offered again while it waits
    assert response.status_code == 302
    offer = Interaction.objects.get(customer=tom, type="offer")
    assert (offer.offer, offer.direction, offer.offer_outcome) == (b, "outbound", "")
    page = client.get(reverse("customers:detail", args=[tom.pk]))
    assert b"Offered B" in page.content
    assert [n.offering.name for n in next_best_offerings(customer=tom)] == ["C"]

    # When the customer declines it
    client.post(reverse("workspace:offer-outcome", args=[offer.pk]), {"outcome": "declined"})

    # Then it is recorded and B's acceptance rate drops to 1/3 for everyone else
    offer.refresh_from_db()
    assert offer.offer_outcome == "declined"
    other = CustomerFactory(owner=alice, name="Other")
    order(other, base["a"])
    ranked = {n.offering.name: n for n in next_best_offerings(customer=other)}
    assert ranked["B"].acceptance == pytest.approx(1 / 3)


def test_it_names_the_field_when_an_offer_or_outcome_is_wrong(client, base, alice, bob):
    tom = base["tom"]
    client.force_login(alice)
    response = client.post(
        reverse("workspace:offer-make", args=[tom.pk]), {"offering": base["a"].pk}, follow=True
    )
    assert "offering: choose one of the next best offerings shown." in response.content.decode()
    assert not Interaction.objects.filter(type="offer").exists()

    client.force_login(bob)
    assert (
        client.post(
            reverse("workspace:offer-make", args=[tom.pk]), {"offering": base["b"].pk}
        ).status_code
        == 404
    )


def test_it_schedules_the_nightly_refresh():
    task = PeriodicTask.objects.get(name=AFFINITY_TASK_NAME)
    assert task.task == AFFINITY_TASK
    assert (task.crontab.hour, task.crontab.minute) == ("2", "30")
