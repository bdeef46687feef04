"""POST /api/interactions/batch/: per-item results by path, all-or-nothing, access, bulk
statements, the same figures as one-by-one posting, source references."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from interactions.models import Interaction, OrderLine
from valuation.declared import FIGURE_NAMES
from valuation.models import CustomerFigures, CustomerSummary
from valuation.selectors import channel_costs_decimal
from valuation.services import customer_figures_recompute
from valuation.summary import SUMMARY_FIELDS, customer_summaries_rebuild

from ..factories import CustomerFactory, OfferingFactory

pytestmark = pytest.mark.django_db

URL = "/api/interactions/batch/"


NOW = timezone.now().replace(microsecond=0)


def order(customer, offering, *, quantity="2", price="12.50", days_ago=0, **more):
    return {
        "customer": customer.pk,
        "channel": "web",
        "direction": "inbound",
        "type": "order",
        "subject": "Web order",
        "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "lines": [
            {"offering": offering.pk, "quantity": quantity, "unit_price": price, "unit_cost": "5"}
        ],
        **more,
    }


def inquiry(customer, **more):
    return {
        "customer": customer.pk,
        "channel": "email",
        "direction": "inbound",
        "type": "inquiry",
        "subject": "A question",
        **more,
    }


def test_it_answers_one_result_per_item_in_order_naming_fields_by_path(
    api, alice, alices_customer, recomputes
):
    beans = OfferingFactory()
    response = api(alice).post(
        URL,
        {
            "items": [
                order(alices_customer, beans),
                order(alices_customer, beans, quantity="0"),
                inquiry(alices_customer, lines=[order(alices_customer, beans)["lines"][0]]),
                {"customer": alices_customer.pk},
                inquiry(alices_customer),
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert len(results) == 5
    created = [r["id"] for r in results if r["id"] is not None]
    assert created == [results[0]["id"], results[4]["id"]]
    assert "lines[0].quantity" in results[1]["errors"]
    assert results[2]["errors"] == {"lines": ["Only order interactions have lines."]}
    assert set(results[3]["errors"]) == {"channel", "direction", "type", "subject"}
    assert set(Interaction.objects.values_list("pk", flat=True)) == set(created)
    assert OrderLine.objects.get().interaction_id == results[0]["id"]
    # One recompute for the one customer, after the commit.
    assert recomputes == [alices_customer.pk]


def test_it_commits_nothing_of_an_atomic_batch_with_one_refused_item(
    api, alice, alices_customer, recomputes
):
    beans = OfferingFactory()
    response = api(alice).post(
        URL,
        {
            "atomic": True,
            "items": [order(alices_customer, beans), order(alices_customer, beans, price="-1")],
        },
        format="json",
    )
    assert response.status_code == 422
    results = response.json()["results"]
    assert results[0]["id"] is None and results[0]["errors"]
    assert "lines[0].unit_price" in results[1]["errors"]
    assert not Interaction.objects.exists()
    assert recomputes == []


def test_it_treats_another_portfolios_customer_as_no_such_customer_and_commits_the_rest(
    api, alice, alices_customer, bobs_customer, recomputes
):
    response = api(alice).post(
        URL,
        {
            "items": [
                inquiry(bobs_customer),
                inquiry(alices_customer),
                inquiry({"pk": 0} and bobs_customer, thread=1),
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0] == {"id": None, "errors": {"customer": ["No such customer."]}}
    assert results[1]["id"] is not None
    assert results[2]["errors"]["customer"] == ["No such customer."]
    assert list(Interaction.objects.values_list("customer_id", flat=True)) == [alices_customer.pk]


def test_it_refuses_another_customers_thread_and_archived_or_missing_offerings(
    api, ada, alices_customer, bobs_customer, recomputes
):
    bobs_thread = api(ada).post("/api/interactions/", inquiry(bobs_customer), format="json")
    archived = OfferingFactory(archived_at=timezone.now(), active=False)
    results = (
        api(ada)
        .post(
            URL,
            {
                "items": [
                    inquiry(alices_customer, thread=bobs_thread.json()["id"]),
                    order(alices_customer, archived),
                    {
                        **order(alices_customer, archived),
                        "lines": [
                            {
                                "offering": 999999,
                                "quantity": "1",
                                "unit_price": "1",
                                "unit_cost": "1",
                            }
                        ],
                    },
                    inquiry(alices_customer, assignee=999999),
                ]
            },
            format="json",
        )
        .json()["results"]
    )
    assert results[0]["errors"] == {"thread": ["No such thread for this customer."]}
    assert results[1]["errors"] == {
        "lines[0].offering": ["An archived offering cannot be ordered."]
    }
    assert results[2]["errors"] == {"lines[0].offering": ["No such offering."]}
    assert results[3]["errors"] == {"assignee": ["No such active user."]}


def test_it_refuses_support_nothing_and_anonymous_everything(
    api, charlie, alices_customer, client, recomputes
):
    assert (
        api(charlie).post(URL, {"items": [inquiry(alices_customer)]}, format="json").status_code
        == 200
    )
    assert client.post(URL, {"items": []}, content_type="application/json").status_code == 403


def test_it_refuses_a_batch_of_1001_items_with_400(api, alice, alices_customer):
    response = api(alice).post(URL, {"items": [inquiry(alices_customer)] * 1001}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()
    assert not Interaction.objects.exists()


def test_it_learns_facts_item_by_item_with_their_paths(api, alice, alices_customer, recomputes):
    results = (
        api(alice)
        .post(
            URL,
            {
                "items": [
                    inquiry(alices_customer, facts=[{"key": "taste_profile", "value": "fruity"}]),
                    inquiry(alices_customer, facts=[{"key": "no_such_fact", "value": "x"}]),
                ]
            },
            format="json",
        )
        .json()["results"]
    )
    assert results[0]["id"] is not None
    assert "facts[0].key" in results[1]["errors"]
    assert alices_customer.facts.get().value == "fruity"
    assert Interaction.objects.count() == 1


def _mixed_batch(customers, offering, size):
    items = []
    for n in range(size):
        customer = customers[n % len(customers)]
        if n % 5 == 4:
            items.append(inquiry(customer))
        else:
            items.append(order(customer, offering, quantity=str(1 + n % 3), days_ago=n % 40))
    return items


def test_its_queries_do_not_grow_with_the_number_of_items(
    api, ada, recomputes, django_assert_max_num_queries
):
    offering = OfferingFactory()
    customers = CustomerFactory.create_batch(50)
    client = api(ada)
    client.post(URL, {"items": _mixed_batch(customers, offering, 1)}, format="json")  # warm up
    counts = []
    for size in (10, 1000):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                URL, {"items": _mixed_batch(customers, offering, size)}, format="json"
            )
        assert response.status_code == 200
        assert all(r["id"] for r in response.json()["results"])
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(20):
        client.post(URL, {"items": _mixed_batch(customers, offering, 1000)}, format="json")
    assert Interaction.objects.count() == 2011


def _twin_customers(n):
    acquired = timezone.localdate() - timedelta(days=400)
    return [
        [CustomerFactory(name=f"{side} {i}", acquired_on=acquired) for i in range(n)]
        for side in ("one", "batch")
    ]


def _figures(customer_id):
    figures = CustomerFigures.objects.values(*FIGURE_NAMES).get(customer_id=customer_id)
    summary = CustomerSummary.objects.values(*SUMMARY_FIELDS).get(customer_id=customer_id)
    return figures, summary


def test_it_ends_with_the_figures_of_posting_the_items_one_by_one(api, ada, recomputes):
    offering = OfferingFactory(price=Decimal("20"))
    one, batch = _twin_customers(6)
    client = api(ada)
    # The same history before: an order 90 days ago for each.
    for customer in (*one, *batch):
        assert (
            client.post(
                "/api/interactions/", order(customer, offering, days_ago=90), format="json"
            ).status_code
            == 201
        )

    def items(customers):
        return [
            *(
                order(c, offering, quantity="3", days_ago=d)
                for c in customers
                for d in (0, 0, 5, 120)
            ),
            *(inquiry(c, occurred_at=NOW.isoformat()) for c in customers[:3]),
            *(order(c, offering, days_ago=90) for c in customers[3:]),  # the same day as before
        ]

    for item in items(one):
        assert client.post("/api/interactions/", item, format="json").status_code == 201
    response = client.post(URL, {"items": items(batch)}, format="json")
    assert all(r["id"] for r in response.json()["results"])
    # One recompute per distinct customer of the batch.
    assert sorted(recomputes[-len(batch) :]) == sorted(c.pk for c in batch)
    for customer in (*one, *batch):
        customer_figures_recompute(customer_id=customer.pk)
    for single, batched in zip(one, batch, strict=True):
        assert _figures(single.pk) == _figures(batched.pk)
    # And the folded summaries equal a rebuild from the full history.
    folded = [_figures(c.pk)[1] for c in batch]
    customer_summaries_rebuild(
        customer_ids=[c.pk for c in batch], channel_costs=channel_costs_decimal()
    )
    assert folded == [_figures(c.pk)[1] for c in batch]


def test_it_recognises_a_re_sent_source_reference(
    api, alice, alices_customer, bobs_customer, bob, recomputes
):
    client = api(alice)
    first = client.post(
        "/api/interactions/",
        inquiry(alices_customer, source="shop", source_id="o-1"),
        format="json",
    )
    assert first.status_code == 201
    again = client.post(
        "/api/interactions/",
        inquiry(alices_customer, source="shop", source_id="o-1", subject="x"),
        format="json",
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["subject"] == "A question"
    results = client.post(
        URL,
        {
            "items": [
                inquiry(alices_customer, source="shop", source_id="o-1"),
                inquiry(alices_customer, source="shop", source_id="o-2"),
                inquiry(alices_customer, source="shop", source_id="o-2"),
                inquiry(alices_customer, source="till", source_id="o-1"),
            ]
        },
        format="json",
    ).json()["results"]
    assert results[0] == {"id": first.json()["id"], "duplicate": True}
    assert results[1]["id"] and "duplicate" not in results[1]
    assert results[2] == {"id": results[1]["id"], "duplicate": True}
    assert results[3]["id"] not in (None, results[1]["id"])
    assert Interaction.objects.count() == 3
    # Bob cannot learn whose reference it is.
    bobs = api(bob).post(
        "/api/interactions/", inquiry(bobs_customer, source="shop", source_id="o-1"), format="json"
    )
    assert bobs.status_code == 400
    assert bobs.json() == {"source_id": ["This source reference is already recorded."]}


def test_an_outbound_item_in_a_thread_answers_what_waits_there(
    api, charlie, alices_customer, recomputes
):
    """A reply the contact centre's system sends in a batch is the first response to the
    customer's messages waiting in that thread, as when it is logged alone."""

    def message(subject, hours_ago, thread=None):
        return Interaction.objects.create(
            customer=alices_customer,
            channel="email",
            direction="inbound",
            type="inquiry",
            subject=subject,
            occurred_at=NOW - timedelta(hours=hours_ago),
            requires_response=True,
            thread=thread,
        )

    asked = message("Where is my parcel?", 3)
    again = message("Re: Where is my parcel?", 2, thread=asked)
    later = message("And another thing", 0, thread=asked)
    reply_at = NOW - timedelta(hours=1)
    response = api(charlie).post(
        URL,
        {
            "items": [
                inquiry(
                    alices_customer,
                    direction="outbound",
                    subject="Re: Where is my parcel?",
                    thread=again.pk,
                    occurred_at=reply_at.isoformat(),
                )
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["results"][0]["id"] is not None
    for item in (asked, again):
        item.refresh_from_db()
        assert item.first_response_at == reply_at
    later.refresh_from_db()
    assert later.first_response_at is None  # written after the answer: still waiting


def test_the_customers_message_in_a_thread_resumes_what_waits_on_them(
    api, charlie, alices_customer, recomputes
):
    """A paused item ("waiting on the customer") resumes when their reply arrives in a
    batch, as when it is logged alone (interaction_log)."""
    from interactions.services import interaction_wait_on_customer

    asked = Interaction.objects.create(
        customer=alices_customer,
        channel="email",
        direction="inbound",
        type="complaint",
        subject="Broken grinder",
        occurred_at=NOW - timedelta(hours=5),
        requires_response=True,
    )
    assert interaction_wait_on_customer(interaction=asked, at=NOW - timedelta(hours=4))
    response = api(charlie).post(
        URL,
        {
            "items": [
                inquiry(
                    alices_customer,
                    subject="Re: Broken grinder",
                    thread=asked.pk,
                    occurred_at=(NOW - timedelta(hours=1)).isoformat(),
                )
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    asked.refresh_from_db()
    assert asked.waiting_since is None
    assert asked.paused_seconds == 3 * 3600
