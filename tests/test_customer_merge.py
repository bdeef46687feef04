"""Merging a duplicate customer into its survivor (customers.services.customer_merge and the
`customer.merged` subscribers of the apps above customers; issue 20)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.facts import customer_fact_record
from customers.models import ChannelConsent, Customer, CustomerFact, CustomerMerge, DuplicatePair
from customers.services import (
    _label,
    customer_email_add,
    customer_merge,
    customer_merge_related_models,
)
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction, OfferingRating, OrderLine
from interactions.services import OrderLineInput, interaction_log, offering_rating_record
from offerings.models import Offering
from portal.models import (
    Idea,
    IdeaVote,
    PortalAccount,
    PortalSignInToken,
    PostReport,
    Review,
    ReviewReport,
    Tip,
)
from replenishment.forecasts import purchase_forecasts_refresh
from replenishment.services import replenishment_subscribe
from valuation.models import CustomerFigures, CustomerSnapshot, CustomerSummary
from webforms.models import ContactForm, Submission
from workspace.models import CustomerAgenda

from .factories import OfferingFactory

pytestmark = pytest.mark.django_db

# Rows derived from the others: the duplicate's go, the survivor's are rebuilt (documented in
# each app's merge service and docs/architecture.md).
DERIVED = {
    "customers.DuplicatePair.first",
    "customers.DuplicatePair.second",
    "replenishment.PurchaseForecast.customer",
    "valuation.CustomerSummary.customer",
    "valuation.CustomerFigures.customer",
    "valuation.CustomerSnapshot.customer",
    "workspace.CustomerAgenda.customer",
}


def _order(customer, user, offering, days_ago: int, quantity: str = "2"):
    return interaction_log(
        customer=customer,
        logged_by=user,
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        type=InteractionType.ORDER,
        subject=f"Order {days_ago} days ago",
        occurred_at=timezone.now() - timedelta(days=days_ago),
        lines=[
            OrderLineInput(
                offering_id=offering.pk,
                quantity=Decimal(quantity),
                unit_price=Decimal("24.00"),
                unit_cost=Decimal("11.50"),
            )
        ],
    )


def _customer(name, owner, email, **fields):
    from customers.services import customer_create

    return customer_create(name=name, owner=owner, email=email, **fields)


@pytest.fixture
def brewing():
    from customers.models import FactKey

    return FactKey.objects.create(
        key="brewing_method",
        label="Brewing method",
        kind="specification",
        value_type="choice",
        choices=["espresso", "filter", "moka"],
        value_weight=80,
    )


@pytest.fixture
def pair(alice, charlie, brewing):
    """Two customers of alice's with rows in every table that points at a customer; returns
    (survivor, duplicate, the relations the rows cover)."""
    covered = set()
    survivor = _customer("Anna Keller", alice, "anna@example.net", phone="")
    duplicate = _customer(
        "Anna Keler", alice, "anna.k@example.net", phone="+41 44 123 45 67", acquired_on=None
    )
    beans, cups = OfferingFactory(name="Beans"), OfferingFactory(name="Cups")

    # A customer merged into the duplicate earlier: its merge record follows (and its old id
    # is redirected through both merges).
    older = _customer("A. Keller", alice, "a.keller@example.net")
    customer_merge(survivor_id=duplicate.pk, duplicate_id=older.pk, by=alice)
    covered.add("customers.CustomerMerge.survivor")

    _customer("Referred", alice, "ref@example.net", referred_by=duplicate)
    covered.add("customers.Customer.referred_by")
    customer_email_add(customer=duplicate, address="anna.work@example.net")
    customer_email_add(customer=survivor, address="anna.work@example.net")
    covered.add("customers.CustomerEmail.customer")

    taught = _order(duplicate, alice, beans, days_ago=40)
    customer_fact_record(customer=survivor, key=brewing, value="filter", recorded_by=alice)
    customer_fact_record(
        customer=duplicate,
        key=brewing,
        value="espresso",
        recorded_by=charlie,
        source_interaction=taught,
    )
    covered.add("customers.CustomerFact.customer")
    ChannelConsent.objects.create(customer=survivor, channel="email", granted=True, how="form")
    ChannelConsent.objects.create(customer=duplicate, channel="email", granted=False, how="phone")
    ChannelConsent.objects.create(customer=duplicate, channel="phone", granted=True, how="phone")
    covered.add("customers.ChannelConsent.customer")
    DuplicatePair.objects.create(
        first=survivor, second=duplicate, score=0.9, found_at=timezone.now()
    )
    DuplicatePair.objects.create(
        first=duplicate, second=survivor, score=0.8, found_at=timezone.now()
    )
    covered |= {"customers.DuplicatePair.first", "customers.DuplicatePair.second"}

    _order(survivor, alice, beans, days_ago=30)
    _order(duplicate, alice, beans, days_ago=20)
    _order(duplicate, alice, cups, days_ago=20)
    question = interaction_log(
        customer=duplicate,
        logged_by=alice,
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        type=InteractionType.INQUIRY,
        subject="Where is my order?",
    )
    interaction_log(
        customer=duplicate,
        logged_by=charlie,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        type=InteractionType.INQUIRY,
        subject="Re: Where is my order?",
        thread=question,
    )
    covered.add("interactions.Interaction.customer")
    now = timezone.now()
    offering_rating_record(
        customer=survivor, offering=beans, rating=3, recorded_by=alice, rated_at=now
    )
    offering_rating_record(
        customer=duplicate,
        offering=beans,
        rating=5,
        recorded_by=alice,
        rated_at=now - timedelta(days=1),
    )
    offering_rating_record(customer=duplicate, offering=cups, rating=4, recorded_by=alice)
    covered.add("interactions.OfferingRating.customer")
    replenishment_subscribe(
        customer=duplicate,
        offering=cups,
        next_due=date.today() + timedelta(days=10),
        interval_days=30,
    )
    covered.add("replenishment.ReplenishmentSubscription.customer")
    purchase_forecasts_refresh(customer_ids=[survivor.pk, duplicate.pk])
    assert duplicate.purchase_forecasts.exists()
    covered.add("replenishment.PurchaseForecast.customer")
    for customer in (survivor, duplicate):
        CustomerSnapshot.objects.create(
            customer=customer, taken_on=date.today() - timedelta(days=1), computed_at=now
        )
    covered |= {
        "valuation.CustomerSummary.customer",
        "valuation.CustomerFigures.customer",
        "valuation.CustomerSnapshot.customer",
        "workspace.CustomerAgenda.customer",  # customer_create's (workspace.handlers)
    }
    form = ContactForm.objects.create(name="Contact us", slug="contact")
    Submission.objects.create(form=form, customer=duplicate, nonce="n1", fields={"a": "b"})
    covered.add("webforms.Submission.customer")
    # Both signed in to the portal; the duplicate also has a link outstanding
    for customer, signed_in_days_ago in ((survivor, 5), (duplicate, 1)):
        PortalAccount.objects.create(
            customer=customer, last_signed_in_at=now - timedelta(days=signed_in_days_ago)
        )
    PortalSignInToken.objects.create(
        customer=duplicate,
        token_hash="0" * 64,
        sent_to="anna@example.net",
        expires_at=now + timedelta(minutes=15),
    )
    covered |= {"portal.PortalAccount.customer", "portal.PortalSignInToken.customer"}
    # Both reviewed the beans (the duplicate more recently); the duplicate reported a review
    beans = Offering.objects.get(name="Beans")
    Review.objects.create(
        customer=survivor, offering=beans, rating=2, text="Old", updated_at=now - timedelta(days=9)
    )
    fresh = Review.objects.create(customer=duplicate, offering=beans, rating=5, text="New")
    ReviewReport.objects.create(review=fresh, customer=duplicate)
    covered |= {"portal.Review.customer", "portal.ReviewReport.customer"}
    # Tips and ideas of both; both voted for one idea (and reported one tip), the duplicate
    # also for another.
    Tip.objects.create(customer=duplicate, offering=beans, text="Grind fine", status="published")
    shared = Idea.objects.create(customer=survivor, title="Shared", text="x", status="published")
    other = Idea.objects.create(customer=duplicate, title="Theirs", text="y", status="published")
    someone = _customer("Someone Else", alice, "someone@example.net")
    tip = Tip.objects.create(customer=someone, offering=beans, text="Rude", status="published")
    for customer in (survivor, duplicate):
        IdeaVote.objects.create(idea=shared, customer=customer)
        PostReport.objects.create(tip=tip, customer=customer)
    IdeaVote.objects.create(idea=other, customer=duplicate)
    PostReport.objects.create(idea=shared, customer=duplicate)
    covered |= {
        "portal.Tip.customer",
        "portal.Idea.customer",
        "portal.IdeaVote.customer",
        "portal.PostReport.customer",
    }
    return survivor, duplicate, covered


def _counts(ids) -> dict[str, int]:
    return {
        _label(rel): rel.related_model._base_manager.filter(
            **{f"{rel.field.name}__in": ids}
        ).count()
        for rel in customer_merge_related_models()
    }


def test_every_row_of_the_duplicate_moves_to_the_survivor(alice, charlie, pair):
    survivor, duplicate, covered = pair
    related = {_label(rel) for rel in customer_merge_related_models()}
    # A new relation to the customer fails here until this test gives it rows (and the merge
    # a step that handles them).
    assert related == covered
    before = _counts([survivor.pk, duplicate.pk])
    for label in related:
        assert before[label] > 0, f"the test gave {label} no rows"
    lines_before = OrderLine.objects.filter(interaction__customer__in=[survivor, duplicate]).count()

    record = customer_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, by=alice)

    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    after = _counts([survivor.pk, duplicate.pk])
    survivor_only = _counts([survivor.pk])
    assert after == survivor_only  # nothing left under the duplicate's id
    assert set(record.moved) >= related
    for label in related - DERIVED:
        step = record.moved[label]
        lost = step.get("dropped", 0) + step.get("merged", 0)
        expected = before[label] - lost + step.get("added_main_address", 0)
        if label == "customers.CustomerMerge.survivor":
            expected += 1  # this merge's own record
        assert after[label] == expected, (label, step)
    for label in DERIVED:
        assert "why" in record.moved[label], label
    assert OrderLine.objects.filter(interaction__customer=survivor).count() == lines_before

    # What is unique per customer: one rating per offering (the more recent kept), one
    # consent per channel (a refusal wins), each address once.
    assert record.moved["interactions.OfferingRating.customer"]["dropped"] == 1
    assert OfferingRating.objects.get(customer=survivor, offering__name="Beans").rating == 3
    assert OfferingRating.objects.get(customer=survivor, offering__name="Cups").rating == 4
    assert ChannelConsent.objects.get(customer=survivor, channel="email").granted is False
    assert ChannelConsent.objects.get(customer=survivor, channel="phone").granted is True
    assert list(survivor.other_emails.values_list("address", flat=True).order_by("address")) == [
        "a.keller@example.net",  # the customer merged into the duplicate earlier
        "anna.k@example.net",
        "anna.work@example.net",
    ]
    # The thread moved whole.
    reply = Interaction.objects.get(subject="Re: Where is my order?")
    assert reply.customer_id == survivor.pk and reply.thread.customer_id == survivor.pk

    # Derived rows: one summary, figures row and agenda, the survivor's, rebuilt from the
    # whole history (the figures marked stale for their recompute).
    summary = CustomerSummary.objects.get(customer=survivor)
    assert summary.interactions == Interaction.objects.filter(customer=survivor).count() == 6
    assert summary.transaction_days == 3
    figures = CustomerFigures.objects.get(customer=survivor)
    assert figures.figures_computed_version < figures.figures_version
    assert CustomerAgenda.objects.filter(customer=survivor).count() == 1
    assert CustomerSnapshot.objects.filter(customer=survivor).count() == 1
    assert Submission.objects.get().customer_id == survivor.pk


def test_facts_keep_both_values_with_their_provenance(alice, charlie, pair):
    survivor, duplicate, _ = pair
    customer_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, by=alice)

    facts = CustomerFact.objects.filter(customer=survivor, key__key="brewing_method")
    by_value = {fact.value: fact for fact in facts}
    assert set(by_value) == {"filter", "espresso"}
    # The duplicate's was the more recent: it stays current, the survivor's becomes history.
    assert by_value["espresso"].is_current and not by_value["filter"].is_current
    assert by_value["espresso"].recorded_by == charlie
    assert by_value["espresso"].source_interaction.customer_id == survivor.pk
    assert by_value["filter"].recorded_by == alice


def test_a_fact_choice_keeps_the_survivors_value_current(alice, pair):
    survivor, duplicate, _ = pair
    customer_merge(
        survivor_id=survivor.pk,
        duplicate_id=duplicate.pk,
        by=alice,
        fact_choices={"brewing_method": "survivor"},
    )
    current = CustomerFact.objects.get(
        customer=survivor, key__key="brewing_method", is_current=True
    )
    assert current.value == "filter"


def test_the_merge_record_keeps_the_duplicate_and_what_moved(alice, pair):
    survivor, duplicate, _ = pair
    record = customer_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, by=alice)
    stored = CustomerMerge.objects.get(duplicate_id=duplicate.pk)
    assert stored == record and stored.survivor_id == survivor.pk
    assert stored.duplicate_profile["phone"] == "+41 44 123 45 67"
    assert stored.moved["interactions.Interaction.customer"] == {"moved": 5}
    survivor.refresh_from_db()
    assert survivor.phone == "+41 44 123 45 67"  # a blank filled from the duplicate


# --- The API: POST/GET /api/customers/{survivor}/merge/ ----------------------------------


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_a_manager_merges_two_customers_of_their_portfolio(alice, pair):
    survivor, duplicate, _ = pair
    url = f"/api/customers/{survivor.pk}/merge/"

    preview = _api(alice).get(url, {"duplicate": duplicate.pk})
    assert preview.status_code == 200
    body = preview.json()
    moves = {move["table"]: move["rows"] for move in body["moves"]}
    assert moves["interactions.Interaction.customer"] == 5
    assert body["rows"] == sum(moves.values())
    assert [fact["key"] for fact in body["facts"]] == ["brewing_method"]
    assert body["across_portfolios"] is False
    assert Customer.objects.filter(pk=duplicate.pk).exists()  # a preview writes nothing

    response = _api(alice).post(
        url, {"duplicate": duplicate.pk, "facts": {"brewing_method": "survivor"}}, format="json"
    )
    assert response.status_code == 200, response.json()
    merged = response.json()
    assert merged["survivor"] == survivor.pk and merged["duplicate"] == duplicate.pk
    assert merged["merged_by"] == "alice"
    assert merged["moved"]["interactions.Interaction.customer"] == {"moved": 5}
    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    assert (
        CustomerFact.objects.get(
            customer=survivor, key__key="brewing_method", is_current=True
        ).value
        == "filter"
    )


def test_support_staff_may_not_merge(charlie, pair):
    survivor, duplicate, _ = pair
    url = f"/api/customers/{survivor.pk}/merge/"
    assert _api(charlie).get(url, {"duplicate": duplicate.pk}).status_code == 403
    assert _api(charlie).post(url, {"duplicate": duplicate.pk}, format="json").status_code == 403
    assert Customer.objects.filter(pk=duplicate.pk).exists()


def test_another_portfolios_customer_reads_as_missing(alice, bob, bobs_customer, pair):
    survivor, _, _ = pair
    # bob cannot see alice's customer: 404 as GET /api/customers/{id}/.
    response = _api(bob).post(
        f"/api/customers/{survivor.pk}/merge/", {"duplicate": bobs_customer.pk}, format="json"
    )
    assert response.status_code == 404
    # alice naming bob's customer as the duplicate: the same answer as an id nobody has.
    url = f"/api/customers/{survivor.pk}/merge/"
    someone_elses = _api(alice).post(url, {"duplicate": bobs_customer.pk}, format="json")
    nobody = _api(alice).post(url, {"duplicate": bobs_customer.pk + 10_000}, format="json")
    assert someone_elses.status_code == nobody.status_code == 400
    assert someone_elses.json() == nobody.json() == {"duplicate": ["No such customer."]}
    preview = _api(alice).get(url, {"duplicate": bobs_customer.pk})
    assert preview.status_code == 400 and preview.json() == {"duplicate": ["No such customer."]}
    assert Customer.objects.filter(pk=bobs_customer.pk).exists()


def test_an_admin_merges_across_portfolios(ada, bobs_customer, pair):
    survivor, _, _ = pair
    url = f"/api/customers/{survivor.pk}/merge/"
    preview = _api(ada).get(url, {"duplicate": bobs_customer.pk}).json()
    assert preview["across_portfolios"] is True
    assert {"field": "owner", "kept": "alice", "other": "bob"} in preview["conflicts"]
    response = _api(ada).post(url, {"duplicate": bobs_customer.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert not Customer.objects.filter(pk=bobs_customer.pk).exists()


def test_the_service_refuses_a_manager_across_portfolios(alice, bobs_customer, pair):
    from django.core.exceptions import ValidationError

    survivor, _, _ = pair
    with pytest.raises(ValidationError) as refused:
        customer_merge(survivor_id=survivor.pk, duplicate_id=bobs_customer.pk, by=alice)
    assert "duplicate" in refused.value.message_dict


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "duplicate"),
        ({"duplicate": "x"}, "duplicate"),
        ({"duplicate": 0}, "duplicate"),
        ({"duplicate": "self"}, "duplicate"),
        ({"duplicate": "dup", "facts": {"brewing_method": "both"}}, "facts.brewing_method"),
        ({"duplicate": "dup", "facts": ["survivor"]}, "facts"),
    ],
)
def test_bad_input_answers_400_naming_the_field(alice, pair, body, field):
    survivor, duplicate, _ = pair
    ids = {"self": survivor.pk, "dup": duplicate.pk}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    url = f"/api/customers/{survivor.pk}/merge/"
    response = _api(alice).post(url, body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Customer.objects.filter(pk=duplicate.pk).exists()
    if "facts" not in body:
        preview = _api(alice).get(url, body)
        assert preview.status_code == 400 and field in preview.json()


# --- The old id redirects to the survivor -------------------------------------------------


def test_the_old_id_redirects_to_the_survivor(alice, bob, charlie, pair):
    from django.test import Client

    survivor, duplicate, _ = pair
    older = CustomerMerge.objects.get(survivor=duplicate).duplicate_id
    customer_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, by=alice)

    for old in (duplicate.pk, older):  # followed through both merges
        for user in (alice, charlie):
            api = _api(user).get(f"/api/customers/{old}/", {"fields": "x"})
            assert api.status_code == 301
            assert api["Location"] == f"/api/customers/{survivor.pk}/?fields=x"
            page = Client()
            page.force_login(user)
            response = page.get(f"/customers/{old}/")
            assert response.status_code == 302
            assert response["Location"] == f"/customers/{survivor.pk}/"
        assert _api(alice).get(f"/api/customers/{old}/", follow=True).json()["id"] == survivor.pk

    # bob sees neither: exactly the 404 of an id nobody has.
    missing = survivor.pk + 10_000
    assert _api(bob).get(f"/api/customers/{duplicate.pk}/").status_code == 404
    assert (
        _api(bob).get(f"/api/customers/{duplicate.pk}/").json()
        == _api(bob).get(f"/api/customers/{missing}/").json()
    )
    page = Client()
    page.force_login(bob)
    assert page.get(f"/customers/{duplicate.pk}/").status_code == 404


# --- The pages: the customer page's link, the preview, the confirmation ------------------


def _page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_customer_page_offers_the_merge_to_those_who_may(alice, charlie, pair):
    survivor, _, _ = pair
    merge_url = f"/customers/{survivor.pk}/merge/"
    assert merge_url in _page_client(alice).get(f"/customers/{survivor.pk}/").content.decode()
    assert merge_url not in _page_client(charlie).get(f"/customers/{survivor.pk}/").content.decode()


def test_a_manager_previews_and_confirms_a_merge_on_the_page(alice, pair):
    survivor, duplicate, _ = pair
    client = _page_client(alice)
    url = f"/customers/{survivor.pk}/merge/"

    chooser = client.get(url).content.decode()
    # The duplicate looks like the survivor (an address both have): suggested.
    assert f"?duplicate={duplicate.pk}" in chooser

    preview = client.get(url, {"duplicate": duplicate.pk})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Interactions" in page and "Brewing method" in page
    assert 'name="fact-brewing_method"' in page
    assert Customer.objects.filter(pk=duplicate.pk).exists()

    done = client.post(url, {"duplicate": duplicate.pk, "fact-brewing_method": "survivor"})
    assert done.status_code == 302 and done["Location"] == f"/customers/{survivor.pk}/"
    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    current = CustomerFact.objects.get(
        customer=survivor, key__key="brewing_method", is_current=True
    )
    assert current.value == "filter"
    assert "was merged into" in client.get(done["Location"]).content.decode()


def test_the_merge_page_refuses_bad_input_naming_the_field(alice, bobs_customer, pair):
    survivor, duplicate, _ = pair
    client = _page_client(alice)
    url = f"/customers/{survivor.pk}/merge/"
    for data in (
        {"duplicate": bobs_customer.pk},  # another portfolio's: as if missing
        {"duplicate": bobs_customer.pk + 10_000},
        {"duplicate": survivor.pk},
        {"duplicate": "x"},
        {"duplicate": duplicate.pk, "fact-brewing_method": "both"},
    ):
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert 'class="error"' in response.content.decode()
    # The preview's parameter too (the form fuzz opens the preview itself, not the chooser).
    assert client.get(url, {"duplicate": "\x00"}).status_code == 400  # core's middleware
    for value in ("", "x", "-1", "0", "1e400", "9" * 30, str(survivor.pk)):
        response = client.get(url, {"duplicate": value})
        assert response.status_code == 400, value
        assert 'class="error"' in response.content.decode()
    page = client.post(url, {"duplicate": bobs_customer.pk}).content.decode()
    assert "No such customer." in page and "Bruno" not in page
    assert Customer.objects.filter(pk__in=[duplicate.pk, bobs_customer.pk]).count() == 2


def test_the_portal_account_and_links_follow_the_survivor(alice, pair):
    survivor, duplicate, _ = pair
    later = PortalAccount.objects.get(customer=duplicate).last_signed_in_at
    record = customer_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, by=alice)
    # One account a customer: the survivor's kept, with the later sign-in
    assert record.moved["portal.PortalAccount.customer"]["dropped"] == 1
    assert PortalAccount.objects.get(customer=survivor).last_signed_in_at == later
    # The link the duplicate asked for now signs in the survivor (the same person)
    assert PortalSignInToken.objects.get(token_hash="0" * 64).customer_id == survivor.pk


def test_the_more_recent_review_of_an_offering_is_kept(alice, pair):
    survivor, duplicate, _ = pair
    record = customer_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, by=alice)
    assert record.moved["portal.Review.customer"]["dropped"] == 1
    assert list(Review.objects.filter(customer=survivor).values_list("text", flat=True)) == ["New"]
    assert ReviewReport.objects.get().customer_id == survivor.pk


def test_tips_ideas_and_votes_follow_the_survivor_one_vote_each(alice, pair):
    survivor, duplicate, _ = pair
    record = customer_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, by=alice)
    assert record.moved["portal.Tip.customer"] == {"moved": 1}
    assert record.moved["portal.Idea.customer"] == {"moved": 1}
    assert Tip.objects.get(text="Grind fine").customer_id == survivor.pk
    assert Idea.objects.get(title="Theirs").customer_id == survivor.pk
    # Both voted for the shared idea: one vote stays; the duplicate's other vote moves.
    assert record.moved["portal.IdeaVote.customer"]["dropped"] == 1
    assert sorted(
        IdeaVote.objects.filter(customer=survivor).values_list("idea__title", flat=True)
    ) == ["Shared", "Theirs"]
    assert IdeaVote.objects.filter(idea__title="Shared").count() == 1
    assert record.moved["portal.PostReport.customer"] == {
        "moved": 1,
        "dropped": 1,
        "why": "one report a customer and tip or idea",
    }
    assert PostReport.objects.filter(customer=survivor).count() == 2
