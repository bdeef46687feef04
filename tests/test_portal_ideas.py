"""Tips and the ideas board of the portal (portal/ideas.py, docs/portal.md "Built: tips and
ideas"): holders only for tips, one vote each and withdrawing it, the status set by admins
only, moderation as for reviews, display names only, sanitising, rate limits, and each post
and vote an interaction on the customer's timeline."""

import hashlib

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from interactions.models import Interaction
from portal import ideas
from portal.models import Idea, IdeaVote, PortalAccount, PostReport, Tip

from .factories import CategoryFactory, CustomerFactory, OfferingFactory
from .test_portal import signed_in_client
from .test_portal_community import holder, named, staff

pytestmark = pytest.mark.django_db


def approved(customer):
    """An account whose posts publish at once (an admin approved one before)."""
    PortalAccount.objects.update_or_create(
        customer=customer, defaults={"posts_need_approval": False}
    )


def post_tip(client, offering, text="Grind just before brewing."):
    return client.post(f"/portal/offerings/{offering.pk}/tip/", {"text": text})


def post_idea(client, title="Smaller bags", text="250 g bags would stay fresh.", **extra):
    return client.post("/portal/ideas/post/", {"title": title, "text": text, **extra})


def feedback(customer) -> list[str]:
    return list(
        Interaction.objects.filter(customer=customer, type="feedback", channel="web")
        .order_by("pk")
        .values_list("subject", flat=True)
    )


def clear_rate(scope, customer):
    # Redis keeps counts across test runs, whose databases reuse customer ids.
    cache.delete(f"ratelimit:{scope}:{hashlib.sha256(str(customer.pk).encode()).hexdigest()}")


# --- Tips --------------------------------------------------------------------------------------


def test_only_holders_share_a_tip_and_a_display_name_comes_first():
    offering = OfferingFactory()
    stranger = CustomerFactory()
    response = post_tip(named(stranger, "No Order"), offering)
    assert response.status_code == 403 and b"Only customers who ordered" in response.content
    unnamed = holder(offering)
    response = post_tip(signed_in_client(unnamed), offering)
    assert response.status_code == 400 and b"display name" in response.content
    assert not Tip.objects.exists()
    assert feedback(stranger) == feedback(unnamed) == []


def test_a_new_accounts_tip_waits_then_shows_beside_the_reviews_with_the_display_name_only(ada):
    offering = OfferingFactory(name="Kenya AA")
    author = holder(offering, name="Hildegard Private", email="hilde.private@example.net")
    client = named(author, "Morning Brewer")
    assert (
        post_tip(client, offering, "Rinse the filter <b>first</b>.\nThen bloom.").status_code == 302
    )
    tip = Tip.objects.get(customer=author)
    assert (tip.status, tip.text) == ("pending", "Rinse the filter first.\nThen bloom.")
    public = Client().get(f"/offerings/{offering.pk}/reviews/").content.decode()
    assert "Tips from customers" in public and "Rinse the filter" not in public
    # On the customer's own home, with its status.
    home = client.get("/portal/").content.decode()
    assert 'id="tips"' in home and "Waiting for approval" in home

    moderation = staff(ada).get("/portal/moderation/").content.decode()
    assert "Tips to moderate" in moderation and "Morning Brewer" in moderation
    assert staff(ada).post(f"/portal/moderation/tips/{tip.pk}/approve/").status_code == 302
    answer = {"answer": "Good one <script>x()</script>"}
    assert staff(ada).post(f"/portal/moderation/tips/{tip.pk}/answer/", answer).status_code == 302
    tip.refresh_from_db()
    assert (tip.status, tip.staff_answer, tip.answered_by) == ("published", "Good one", ada)
    assert not PortalAccount.objects.get(customer=author).posts_need_approval

    public = Client().get(f"/offerings/{offering.pk}/reviews/").content.decode()
    assert "Morning Brewer" in public and "Rinse the filter first.<br>Then bloom." in public
    assert "Our answer:</strong> Good one" in public
    for private in ("Hildegard", "Private", "hilde.private"):
        assert private not in public
    # Approved once: the next tip publishes at once.
    post_tip(client, offering, "Use filtered water.")
    assert Tip.objects.get(text="Use filtered water.").status == "published"
    # Each tip is an interaction on the author's timeline, seen by staff.
    assert feedback(author) == ["In the portal, the customer shared a tip on Kenya AA"] * 2
    timeline = staff(ada).get(f"/customers/{author.pk}/").content.decode()
    assert "In the portal, the customer shared a tip on Kenya AA" in timeline


def test_a_tip_is_reported_once_and_hidden(ada):
    offering = OfferingFactory()
    author, reader = holder(offering), CustomerFactory()
    client = named(author, "Tip Author")
    post_tip(client, offering)
    tip = Tip.objects.get()
    reader_client = signed_in_client(reader)
    assert reader_client.post(f"/portal/tips/{tip.pk}/report/").status_code == 400  # pending
    staff(ada).post(f"/portal/moderation/tips/{tip.pk}/approve/")
    assert b"Tip Author" not in staff(ada).get("/portal/moderation/").content
    assert reader_client.post(f"/portal/tips/{tip.pk}/report/").status_code == 302
    again = reader_client.post(f"/portal/tips/{tip.pk}/report/")
    assert again.status_code == 400 and b"already" in again.content
    assert client.post(f"/portal/tips/{tip.pk}/report/").status_code == 400  # one's own
    assert PostReport.objects.filter(tip=tip).count() == 1
    moderation = staff(ada).get("/portal/moderation/").content
    assert b"Tip Author" in moderation and b"reported 1" in moderation
    assert staff(ada).post(f"/portal/moderation/tips/{tip.pk}/hide/").status_code == 302
    assert Tip.objects.get().status == "hidden"
    assert PostReport.objects.get().resolved
    assert b"Tip Author" not in Client().get(f"/offerings/{offering.pk}/reviews/").content


# --- Ideas ------------------------------------------------------------------------------------


def test_an_idea_waits_for_approval_and_others_see_the_display_name_only(ada):
    offering = OfferingFactory(name="Espresso Blend")
    author = CustomerFactory(name="Ottokar Hidden", email="ottokar.hidden@example.net")
    reader = CustomerFactory()
    client = named(author, "Idea Person")
    named(reader, "Reader Person")
    response = post_idea(client, offering=str(offering.pk))
    assert response.status_code == 302
    idea = Idea.objects.get()
    assert (idea.status, idea.stage, idea.offering, idea.category) == (
        "pending",
        "new",
        offering,
        offering.category,  # the offering's category, for the filter by category
    )
    # The author sees it waiting; another customer does not see it at all.
    mine = client.get("/portal/ideas/").content.decode()
    assert "Smaller bags" in mine and "Waiting for approval" in mine
    reader_client = signed_in_client(reader)
    assert "Smaller bags" not in reader_client.get("/portal/ideas/").content.decode()
    assert reader_client.post(f"/portal/ideas/{idea.pk}/vote/").status_code == 404

    assert b"Idea Person" in staff(ada).get("/portal/moderation/").content
    assert staff(ada).post(f"/portal/moderation/ideas/{idea.pk}/approve/").status_code == 302
    board = reader_client.get("/portal/ideas/").content.decode()
    assert "Smaller bags" in board and "Idea Person" in board and "Espresso Blend" in board
    for private in ("Ottokar", "Hidden", "ottokar.hidden"):
        assert private not in board
    assert feedback(author) == ["In the portal, the customer posted an idea: Smaller bags"]


def test_one_vote_per_customer_withdrawn_and_counted_most_voted_first():
    author, voter, other = CustomerFactory(), CustomerFactory(), CustomerFactory()
    for customer in (author, voter, other):
        approved(customer)
    client = named(author, "Author A")
    post_idea(client, title="Loved idea")
    post_idea(client, title="Quiet idea")
    loved, quiet = Idea.objects.get(title="Loved idea"), Idea.objects.get(title="Quiet idea")
    assert loved.status == "published"
    voter_client = signed_in_client(voter)
    assert voter_client.post(f"/portal/ideas/{loved.pk}/vote/").status_code == 302
    twice = voter_client.post(f"/portal/ideas/{loved.pk}/vote/")
    assert twice.status_code == 400 and b"already" in twice.content
    assert signed_in_client(other).post(f"/portal/ideas/{loved.pk}/vote/").status_code == 302
    assert IdeaVote.objects.filter(idea=loved).count() == 2

    board = voter_client.get("/portal/ideas/")
    listed = list(board.context["ideas"])
    assert [(i.title, i.vote_count, i.voted) for i in listed] == [
        ("Loved idea", 2, True),
        ("Quiet idea", 0, False),
    ]
    assert "Withdraw my vote" in board.content.decode()

    assert voter_client.post(f"/portal/ideas/{loved.pk}/unvote/").status_code == 302
    assert voter_client.post(f"/portal/ideas/{loved.pk}/unvote/").status_code == 400
    assert IdeaVote.objects.filter(idea=loved).count() == 1
    assert feedback(voter) == [
        "In the portal, the customer voted for the idea: Loved idea",
        "In the portal, the customer withdrew their vote for the idea: Loved idea",
    ]
    assert quiet.votes.count() == 0


def test_a_concurrent_second_vote_is_refused_by_the_constraint():
    author = CustomerFactory()
    approved(author)
    named(author, "Racer")
    idea = ideas.portal_idea_post(customer=author, title="Race", text="x")
    IdeaVote.objects.create(idea=idea, customer=author)  # as if posted in another request
    with pytest.raises(ValidationError, match="already"):
        ideas.portal_idea_vote(customer=author, idea=idea)
    assert IdeaVote.objects.count() == 1


def test_only_admins_set_the_status_and_answer_managers_view_support_is_refused(
    ada, alice, charlie
):
    author, voter = CustomerFactory(), CustomerFactory()
    approved(author)
    post_idea(named(author, "Author B"), title="Decaf please")
    idea = Idea.objects.get()
    signed_in_client(voter).post(f"/portal/ideas/{idea.pk}/vote/")
    answer = {"stage": "planned", "answer": "Coming in <i>spring</i>."}
    # Managers see the list without the form and may not post it; support sees nothing.
    manager_page = staff(alice).get("/portal/ideas/manage/")
    assert manager_page.status_code == 200 and b"Decaf please" in manager_page.content
    assert b"Save status and answer" not in manager_page.content
    assert staff(alice).post(f"/portal/ideas/manage/{idea.pk}/answer/", answer).status_code == 403
    assert staff(charlie).get("/portal/ideas/manage/").status_code == 403
    assert staff(charlie).post(f"/portal/ideas/manage/{idea.pk}/answer/", answer).status_code == 403
    assert staff(alice).post(f"/portal/moderation/ideas/{idea.pk}/hide/").status_code == 403
    assert staff(charlie).post(f"/portal/moderation/ideas/{idea.pk}/hide/").status_code == 403
    # A customer session is nobody to staff pages: to the staff sign-in.
    customer_client = signed_in_client(voter)
    for path in ("/portal/ideas/manage/", f"/portal/ideas/manage/{idea.pk}/answer/"):
        response = customer_client.post(path, answer)
        assert response.status_code in (302, 405)
        if response.status_code == 302:
            assert response.url.startswith("/accounts/login/")
    assert customer_client.get("/portal/ideas/manage/").url.startswith("/accounts/login/")
    idea.refresh_from_db()
    assert (idea.stage, idea.staff_answer) == ("new", "")

    bad = staff(ada).post(f"/portal/ideas/manage/{idea.pk}/answer/", {"stage": "someday"})
    assert bad.status_code == 400 and b"stage" in bad.content
    assert staff(ada).post(f"/portal/ideas/manage/{idea.pk}/answer/", answer).status_code == 302
    idea.refresh_from_db()
    assert (idea.stage, idea.staff_answer, idea.answered_by) == (
        "planned",
        "Coming in spring.",
        ada,
    )
    # An empty answer keeps the one given; only the status changes.
    staff(ada).post(f"/portal/ideas/manage/{idea.pk}/answer/", {"stage": "done", "answer": ""})
    idea.refresh_from_db()
    assert (idea.stage, idea.staff_answer) == ("done", "Coming in spring.")
    board = signed_in_client(voter).get("/portal/ideas/").content.decode()
    assert "Our answer:</strong> Coming in spring." in board and "Done" in board
    # Done: votes are closed (the vote given can still be withdrawn).
    late = CustomerFactory()
    assert signed_in_client(late).post(f"/portal/ideas/{idea.pk}/vote/").status_code == 400


def test_the_staff_list_filters_by_status_ordered_by_votes(ada):
    author = CustomerFactory()
    approved(author)
    named(author, "Lister")
    few = ideas.portal_idea_post(customer=author, title="Few votes", text="a")
    many = ideas.portal_idea_post(customer=author, title="Many votes", text="b")
    planned = ideas.portal_idea_post(customer=author, title="Planned one", text="c")
    ideas.portal_idea_answer(idea=planned, user=ada, stage="planned")
    for _ in range(3):
        ideas.portal_idea_vote(customer=CustomerFactory(), idea=many)
    ideas.portal_idea_vote(customer=CustomerFactory(), idea=few)
    page = staff(ada).get("/portal/ideas/manage/")
    assert [i.title for i in page.context["ideas"]] == ["Many votes", "Few votes", "Planned one"]
    planned_only = staff(ada).get("/portal/ideas/manage/", {"status": "planned"})
    assert [i.title for i in planned_only.context["ideas"]] == ["Planned one"]
    unknown = staff(ada).get("/portal/ideas/manage/", {"status": "someday"})
    assert unknown.status_code == 200 and len(unknown.context["ideas"]) == 3
    board = signed_in_client(author).get("/portal/ideas/", {"status": "new"})
    assert [i.title for i in board.context["ideas"]] == ["Many votes", "Few votes"]


def test_an_idea_is_reported_once_and_hidden_from_the_board(ada):
    author, reader = CustomerFactory(), CustomerFactory()
    approved(author)
    post_idea(named(author, "Rude Author"), title="Rude idea")
    idea = Idea.objects.get()
    reader_client = signed_in_client(reader)
    assert reader_client.post(f"/portal/ideas/{idea.pk}/report/").status_code == 302
    assert reader_client.post(f"/portal/ideas/{idea.pk}/report/").status_code == 400
    moderation = staff(ada).get("/portal/moderation/").content
    assert b"Rude idea" in moderation and b"reported 1" in moderation
    assert staff(ada).post(f"/portal/moderation/ideas/{idea.pk}/hide/").status_code == 302
    assert b"Rude idea" not in reader_client.get("/portal/ideas/").content
    assert b"Rude idea" not in staff(ada).get("/portal/ideas/manage/").content
    assert reader_client.post(f"/portal/ideas/{idea.pk}/vote/").status_code == 404


def test_scripts_never_come_out_as_markup():
    author = CustomerFactory()
    approved(author)
    client = named(author, "Scripter Two")
    text = 'Idea<script>alert("x")</script> <img src=x onerror=alert(1)> &lt;b&gt;bold'
    assert (
        post_idea(client, title="<b>Bold</b> title<script>y</script>", text=text).status_code == 302
    )
    idea = Idea.objects.get()
    assert idea.title == "Bold title" and "alert" not in idea.text and "<img" not in idea.text
    page = signed_in_client(CustomerFactory()).get("/portal/ideas/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;b&gt;bold" in page  # typed as text, shown as text
    assert post_idea(client, title="<script>no</script>", text="x").status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"title": "", "text": "x"},
        {"title": "ok", "text": "x"},  # too short
        {"title": "t" * 300, "text": "x"},
        {"title": "Fine title", "text": ""},
        {"title": "Fine title", "text": "<script></script>"},
        {"title": "Fine title", "text": "x" * 5000},
        {"title": "Fine title", "text": "x", "offering": "abc"},
        {"title": "Fine title", "text": "x", "category": "999999"},
        {"title": ["a", "b"], "text": ["a", "b"]},
    ],
)
def test_bad_idea_input_is_a_form_error_never_a_5xx(data):
    client = named(CustomerFactory(), "Fuzzy Idea")
    response = client.post("/portal/ideas/post/", data)
    assert response.status_code == 400, response.status_code
    assert b'role="alert"' in response.content
    assert not Idea.objects.exists()


def test_an_offering_of_another_category_than_the_one_chosen_is_refused():
    beans, other = OfferingFactory(), CategoryFactory(name="Machines")
    client = named(CustomerFactory(), "Mismatch")
    response = post_idea(client, category=str(other.pk), offering=str(beans.pk))
    assert response.status_code == 400 and b"not of the category" in response.content
    assert post_idea(client, category=str(other.pk)).status_code == 302
    assert Idea.objects.get().category == other


@pytest.mark.parametrize("text", ["", "<style>x</style>", "x" * 1001])
def test_bad_tip_input_is_a_form_error(text):
    offering = OfferingFactory()
    client = named(holder(offering), "Fuzzy Tip")
    response = post_tip(client, offering, text)
    assert response.status_code == 400 and b'role="alert"' in response.content
    assert not Tip.objects.exists()
    assert client.post("/portal/tips/99999/report/").status_code == 404
    assert client.post("/portal/ideas/99999/vote/").status_code == 404


@override_settings(PORTAL_POST_RATE="2/hour", PORTAL_VOTE_RATE="3/hour")
def test_tips_ideas_and_votes_are_rate_limited_per_customer():
    offering = OfferingFactory()
    quick = holder(offering)
    approved(quick)
    for scope in ("portal-tip-post", "portal-idea-post", "portal-idea-vote"):
        clear_rate(scope, quick)
    client = named(quick, "Quick Tipper")
    assert [post_tip(client, offering).status_code for _ in range(3)] == [302, 302, 429]
    statuses = [post_idea(client, title=f"Idea {n}").status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    limited = post_idea(client, title="One more")
    assert limited["Retry-After"] == "3600" and b"Too many posts" in limited.content
    idea = Idea.objects.first()
    votes = [
        client.post(f"/portal/ideas/{idea.pk}/{action}/").status_code
        for action in ("vote", "unvote", "vote", "unvote")
    ]
    assert votes == [302, 302, 302, 429]
    assert Tip.objects.count() == 2 and Idea.objects.count() == 2


def test_staff_are_nobody_to_the_customers_posts(alice):
    response = staff(alice).post("/portal/ideas/post/", {"title": "Staff idea", "text": "x"})
    assert response.status_code == 302 and response.url == "/portal/sign-in/"
    assert staff(alice).get("/portal/ideas/").url == "/portal/sign-in/"
    assert not Idea.objects.exists()


def test_erasing_the_customer_erases_their_tips_and_ideas(ada):
    from dataio.privacy import customer_erase

    offering = OfferingFactory()
    author, voter = holder(offering), CustomerFactory()
    approved(author)
    named(author, "Soon Gone")
    ideas.portal_tip_post(customer=author, offering=offering, text="Secret tip Zebra")
    idea = ideas.portal_idea_post(customer=author, title="Quokka plan", text="Quokka text")
    ideas.portal_idea_vote(customer=voter, idea=idea)
    approved(voter)
    named(voter, "Stays Here")
    kept = ideas.portal_idea_post(customer=voter, title="Stays", text="x")
    customer_erase(customer_id=author.pk, by=ada, reason="asked by letter")
    assert not Tip.objects.filter(customer=author).exists()
    idea.refresh_from_db()
    assert (idea.title, idea.text, idea.status) == ("Erased", "", "hidden")
    assert idea.votes.count() == 1 and Idea.objects.get(pk=kept.pk).title == "Stays"
    board = signed_in_client(voter).get("/portal/ideas/").content.decode()
    assert "Quokka" not in board and "Erased" not in board


# --- The staff customer page ------------------------------------------------------------------


def test_the_customer_page_shows_tips_ideas_and_votes_in_a_fixed_number_of_queries(alice):
    offering = OfferingFactory(name="Guatemala")
    few, many = (holder(offering, owner=alice) for _ in range(2))
    others = CustomerFactory()
    approved(others)
    named(others, "Other Author")
    theirs = [
        ideas.portal_idea_post(customer=others, title=f"Theirs {n}", text="t") for n in range(5)
    ]
    for customer, count in ((few, 1), (many, 5)):
        approved(customer)
        named(customer, f"Name {customer.pk}")
        for n in range(count):
            ideas.portal_tip_post(customer=customer, offering=offering, text=f"Tip {n}")
            ideas.portal_idea_post(customer=customer, title=f"Own idea {n}", text="x")
            ideas.portal_idea_vote(customer=customer, idea=theirs[n])
    client = staff(alice)
    page = client.get(f"/customers/{many.pk}/").content.decode()
    assert "Tips, ideas and votes in the portal" in page
    assert "Own idea 4" in page and "For <a" in page and "Theirs 4" in page and "Tip 4" in page
    with CaptureQueriesContext(connection) as small:
        client.get(f"/customers/{few.pk}/")
    with CaptureQueriesContext(connection) as large:
        client.get(f"/customers/{many.pk}/")
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_board_and_the_staff_list_take_the_same_queries_for_few_and_many_ideas(ada):
    reader, author = CustomerFactory(), CustomerFactory()
    approved(author)
    named(author, "Prolific")
    client, admin = signed_in_client(reader), staff(ada)
    ideas.portal_idea_post(customer=author, title="First idea", text="x")
    client.get("/portal/ideas/")
    with CaptureQueriesContext(connection) as few_board:
        client.get("/portal/ideas/")
    with CaptureQueriesContext(connection) as few_list:
        admin.get("/portal/ideas/manage/")
    for n in range(8):
        idea = ideas.portal_idea_post(customer=author, title=f"Idea {n}", text="x")
        ideas.portal_idea_vote(customer=reader, idea=idea)
    with CaptureQueriesContext(connection) as many_board:
        page = client.get("/portal/ideas/")
    with CaptureQueriesContext(connection) as many_list:
        admin.get("/portal/ideas/manage/")
    assert len(page.context["ideas"]) == 9
    assert len(many_board.captured_queries) == len(few_board.captured_queries)
    assert len(many_list.captured_queries) == len(few_list.captured_queries)
