"""Privacy (SPEC §7) of what a customer wrote or chose in the portal (portal/privacy.py): the
data export lists their reviews, tips, ideas, votes, reports, display name and sign-in links;
erasure leaves none of their words, name or address in any table nor on the public pages,
while others' posts and the anonymous counts (votes, ratings) stay."""

import pytest
from django.test import Client

from dataio.privacy import customer_erase, customer_everything
from interactions.models import OfferingRating
from portal import community, ideas
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

from .factories import OfferingFactory
from .test_dataio_privacy import api, text_columns_containing
from .test_portal import signed_in_client
from .test_portal_community import holder, named
from .test_portal_ideas import approved

pytestmark = pytest.mark.django_db

EMAIL, DISPLAY_NAME = "wilhelmina.portal@example.org", "Quokka Brewer"
REVIEW_TEXT, TIP_TEXT = "Wilhelmina loves the Zanzibar roast", "Grind Zanzibar coarse"
IDEA_TITLE, IDEA_TEXT = "Okapi-sized bags", "Okapi text of Wilhelmina"
WORDS = (EMAIL, DISPLAY_NAME, REVIEW_TEXT, TIP_TEXT, IDEA_TITLE, IDEA_TEXT, "Zanzibar", "Okapi")


@pytest.fixture
def offering():
    return OfferingFactory(name="Kenya AA")


@pytest.fixture
def other(offering):
    """Another customer, whose posts the erased one votes for and reports."""
    customer = holder(offering, name="Otto Other", email="otto@example.org")
    approved(customer)
    named(customer, "Otto Brews")
    community.portal_review_post(customer=customer, offering=offering, rating=2, text="Too dark.")
    ideas.portal_tip_post(customer=customer, offering=offering, text="Use soft water.")
    ideas.portal_idea_post(customer=customer, title="Decaf please", text="A decaf Kenya.")
    return customer


@pytest.fixture
def wilhelmina(offering, other):
    """A customer with every kind of portal content: a review, a tip, an idea, a vote, a
    report of each kind, a display name, a portal account and sign-in links."""
    customer = holder(offering, name="Wilhelmina Private", email=EMAIL)
    approved(customer)
    named(customer, DISPLAY_NAME)
    signed_in_client(customer)  # a second link, used
    review = community.portal_review_post(
        customer=customer, offering=offering, rating=5, text=REVIEW_TEXT
    )
    ideas.portal_tip_post(customer=customer, offering=offering, text=TIP_TEXT)
    ideas.portal_idea_post(customer=customer, title=IDEA_TITLE, text=IDEA_TEXT, offering=offering)
    their_idea = Idea.objects.get(customer=other)
    ideas.portal_idea_vote(customer=customer, idea=their_idea)
    community.portal_review_report(review=Review.objects.get(customer=other), customer=customer)
    ideas.portal_post_report(customer=customer, tip=Tip.objects.get(customer=other))
    ideas.portal_post_report(customer=customer, idea=their_idea)
    # Others' report on her review, and the other's vote for her idea.
    community.portal_review_report(review=review, customer=other)
    ideas.portal_idea_vote(customer=other, idea=Idea.objects.get(customer=customer))
    return customer


def test_the_export_lists_every_kind_of_portal_content(wilhelmina, other, offering, ada):
    response = api(ada).get(f"/api/customers/{wilhelmina.pk}/export/")

    assert response.status_code == 200
    portal = response.json()["portal"]
    assert portal["display_name"] == DISPLAY_NAME
    assert portal["account"]["display_name"] == DISPLAY_NAME
    assert [link["sent_to"] for link in portal["sign_in_links"]] == [EMAIL, EMAIL]
    assert all("token_hash" not in link for link in portal["sign_in_links"])
    [review] = portal["reviews"]
    assert (review["offering__name"], review["rating"], review["text"], review["status"]) == (
        "Kenya AA",
        5,
        REVIEW_TEXT,
        "published",
    )
    assert [tip["text"] for tip in portal["tips"]] == [TIP_TEXT]
    assert [(i["title"], i["text"], i["offering__name"]) for i in portal["ideas"]] == [
        (IDEA_TITLE, IDEA_TEXT, "Kenya AA")
    ]
    assert [vote["idea__title"] for vote in portal["votes"]] == ["Decaf please"]
    assert [r["review_id"] for r in portal["review_reports"]] == [
        Review.objects.get(customer=other).pk
    ]
    assert sorted(
        (r["tip_id"] is not None, r["idea_id"] is not None) for r in portal["post_reports"]
    ) == [
        (False, True),
        (True, False),
    ]
    # The download from the customer page carries the same section.
    client = Client()
    client.force_login(ada)
    download = client.get(f"/data/customers/{wilhelmina.pk}/export.json")
    assert download.json()["portal"]["tips"][0]["text"] == TIP_TEXT


def test_a_customer_without_portal_content_exports_an_empty_section(other, ada):
    from .factories import CustomerFactory

    portal = customer_everything(customer_id=CustomerFactory().pk)["portal"]
    assert portal["account"] is None and portal["display_name"] == ""
    assert all(
        portal[key] == []
        for key in ("sign_in_links", "reviews", "review_reports", "tips", "ideas", "votes")
    )


def test_erasure_leaves_nothing_of_their_portal_content_and_the_counts_stay(
    wilhelmina, other, offering, ada
):
    for needle in WORDS:
        assert text_columns_containing(needle), needle  # the search finds them before
    rating_before = OfferingRating.objects.get(customer=wilhelmina, offering=offering).rating
    their_idea = Idea.objects.get(customer=other)
    public = Client().get(f"/offerings/{offering.pk}/reviews/").content.decode()
    assert DISPLAY_NAME in public and "Zanzibar" in public  # shown before

    customer_erase(customer_id=wilhelmina.pk, by=ada, reason="asked by letter")

    for needle in WORDS:
        assert text_columns_containing(needle) == [], needle
    mine = {"customer_id": wilhelmina.pk}
    assert Review.objects.filter(**mine).count() == 0
    assert ReviewReport.objects.filter(**mine).count() == 0
    assert ReviewReport.objects.count() == 0  # the other's report went with her review
    assert Tip.objects.filter(**mine).count() == 0
    assert PostReport.objects.filter(**mine).count() == 0
    assert PortalAccount.objects.filter(**mine).count() == 0
    assert PortalSignInToken.objects.filter(**mine).count() == 0
    [idea] = Idea.objects.filter(**mine)
    assert (idea.title, idea.text, idea.staff_answer, idea.status) == ("Erased", "", "", "hidden")
    # Anonymous counts stay: her vote for the other's idea, the other's vote for hers, and
    # the rating her review gave (interactions' OfferingRating of the erased customer).
    assert IdeaVote.objects.filter(**mine).count() == 1 and idea.votes.count() == 1
    assert OfferingRating.objects.get(customer=wilhelmina, offering=offering).rating == (
        rating_before
    )
    # Others' posts stay, and the public pages show nothing of her.
    assert Review.objects.filter(customer=other).count() == Tip.objects.count() == 1
    public = Client().get(f"/offerings/{offering.pk}/reviews/").content.decode()
    assert "Too dark." in public and "Use soft water." in public and "Otto Brews" in public
    assert DISPLAY_NAME not in public and "Zanzibar" not in public
    board = signed_in_client(other).get("/portal/ideas/").content.decode()
    assert "Decaf please" in board and 'aria-label="1 vote"' in board
    assert "Okapi" not in board and DISPLAY_NAME not in board and "Erased" not in board
    assert their_idea.votes.count() == 1
    # Her export now holds no portal content but the hidden idea and the anonymous vote.
    portal = customer_everything(customer_id=wilhelmina.pk)["portal"]
    assert (portal["account"], portal["reviews"], portal["tips"]) == (None, [], [])
    assert [i["title"] for i in portal["ideas"]] == ["Erased"]


def test_an_erased_customer_cannot_sign_in_to_the_portal_again(offering, ada):
    customer = holder(offering, email="gone@example.org")
    client = named(customer, "Soon Gone")
    assert client.get("/portal/").status_code == 200

    customer_erase(customer_id=customer.pk, by=ada, reason="asked by letter")

    assert client.get("/portal/").url == "/portal/sign-in/"
    assert not PortalAccount.objects.filter(customer=customer).exists()


def test_an_export_section_is_registered_once_and_may_not_take_a_key_of_dataio(monkeypatch):
    from events import exports

    def other_portal(customer_id: int) -> dict:
        return {}

    with pytest.raises(ValueError, match="registered already"):
        exports.export_section("portal")(other_portal)
    monkeypatch.setitem(exports._exporters, "profile", other_portal)
    with pytest.raises(ValueError, match="clash"):
        customer_everything(customer_id=holder(OfferingFactory()).pk)
