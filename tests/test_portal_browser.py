"""The customer's portal in a real browser: sign in by the link read from the SMTP test
server's mailbox, pause a subscription, and the manager sees it on the customer's page; post
an idea and vote for another's, and an admin approves it, sets its status and answers."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.celery import app
from portal.models import Idea, IdeaVote, PortalAccount, Review
from replenishment.models import ReplenishmentSubscription
from replenishment.services import replenishment_subscribe

from .browser import shot, sign_in
from .factories import CustomerFactory, OfferingFactory
from .mailservers import smtp_server, smtp_settings  # noqa: F401 - fixtures
from .valuation.history import log_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^\s/]+(/portal/sign-in/[A-Za-z0-9_-]+/)")


@pytest.fixture
def eager():
    # The live server runs in this process: the task runs in its thread after the commit and
    # sends to the SMTP test server (tests/test_portal.py does the same without a browser).
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def test_a_customer_signs_in_by_mail_and_pauses_a_subscription(
    page,
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    alice,
):
    anna = CustomerFactory(name="Anna Keller", owner=alice, email="anna.portal@example.net")
    beans = OfferingFactory(name="House espresso beans")
    log_order(anna, beans, days_ago=12, quantity="2", price="14.00")
    subscription = replenishment_subscribe(
        customer=anna,
        offering=beans,
        next_due=timezone.localdate() + timedelta(days=4),
        interval_days=30,
    )

    page.goto("/portal/")
    expect(page.get_by_role("heading", name="Sign in to your customer portal")).to_be_visible()
    page.get_by_label("Your e-mail address").fill("Anna.Portal@example.net")
    shot(page, "portal-sign-in")
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    (received,) = smtp_settings.wait_for(1)
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    path = LINK.search(body).group(1)
    page.goto(path)
    shot(page, "portal-sign-in-confirm")
    page.get_by_role("button", name="Sign me in").click()

    expect(page.get_by_role("heading", name="Hello, Anna Keller")).to_be_visible()
    card = page.locator(f"#subscription-{subscription.pk}")
    expect(card).to_contain_text("Quantity 1, every 30 days. Next delivery:")
    expect(page.locator("table.grid")).to_contain_text("House espresso beans")
    card.get_by_role("button", name="Pause").click()
    expect(card).to_contain_text("Paused: nothing is delivered until you resume.")
    expect(card.get_by_role("button", name="Resume")).to_be_visible()
    shot(page, "portal-home-paused")
    assert ReplenishmentSubscription.objects.get(pk=subscription.pk).status == "paused"

    # The link is spent: opening it again offers a new one.
    page.goto(path)
    expect(page.get_by_role("link", name="Get a new sign-in link")).to_be_visible()

    # The manager sees the change on the customer's timeline.
    page.get_by_role("link", name="Get a new sign-in link").click()
    sign_in(page, "alice")
    page.goto(f"/customers/{anna.pk}/")
    expect(
        page.get_by_text("In the portal, the customer paused House espresso beans")
    ).to_be_visible()


def portal_sign_in(page, smtp_settings, address: str) -> None:  # noqa: F811 - the fixture
    page.goto("/portal/sign-in/")
    page.get_by_label("Your e-mail address").fill(address)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    (received,) = smtp_settings.wait_for(1)
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    page.goto(LINK.search(body).group(1))
    page.get_by_role("button", name="Sign me in").click()


def test_a_customer_posts_an_idea_votes_for_another_and_an_admin_answers_it(
    page,
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    alice,
    ada,
):
    anna = CustomerFactory(name="Anna Keller", owner=alice, email="anna.ideas@example.net")
    beans = OfferingFactory(name="House espresso beans")
    log_order(anna, beans, days_ago=12, quantity="2", price="14.00")
    # Another customer's published idea, with two votes already.
    ben = CustomerFactory(name="Benedikt Private", email="benedikt.private@example.net")
    PortalAccount.objects.create(
        customer=ben, display_name="Bean Counter", posts_need_approval=False
    )
    theirs = Idea.objects.create(
        customer=ben,
        title="Oat milk in the shop",
        text="Barista oat milk with the beans would save me a trip.",
        status="published",
    )
    for _ in range(2):
        IdeaVote.objects.create(idea=theirs, customer=CustomerFactory())

    portal_sign_in(page, smtp_settings, "anna.ideas@example.net")
    expect(page.get_by_role("heading", name="Hello, Anna Keller")).to_be_visible()
    page.get_by_label("Your display name").fill("Night Owl")
    page.get_by_role("button", name="Save the name").click()
    # A tip on what she ordered: it waits for approval too.
    page.get_by_label("A tip on House espresso beans").fill("Let the shot run 28 seconds.")
    page.get_by_role("button", name="Share the tip").click()
    tips = page.locator("#tips")
    expect(tips).to_contain_text("Let the shot run 28 seconds.")
    expect(tips).to_contain_text("Waiting for approval")
    tips.scroll_into_view_if_needed()
    shot(page, "portal-home-tips")
    # She reviews what she ordered: a new account's review waits for approval as well.
    form = page.locator(f"#review-{beans.pk}")
    form.get_by_label("Rating").select_option("4")
    form.get_by_label("Your review").fill("Rich and even, a <i>little</i> bitter.")
    form.get_by_role("button", name="Post the review").click()
    expect(page.locator(f"#review-{beans.pk} .badge")).to_have_text("Waiting for approval")
    review = Review.objects.get(customer=anna, offering=beans)
    assert (review.rating, review.text) == (4, "Rich and even, a little bitter.")
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Ideas").click()
    expect(page.get_by_role("heading", name="Ideas", exact=True)).to_be_visible()

    page.get_by_label("Title").fill("Decaf of the house beans")
    page.get_by_label("Your idea").fill("The same roast <b>without</b> caffeine,\nfor the evening.")
    page.get_by_label("About an offering (optional)").select_option(label="House espresso beans")
    page.get_by_role("button", name="Post the idea").click()
    mine = Idea.objects.get(customer=anna)
    card = page.locator(f"#idea-{mine.pk}")
    expect(card).to_contain_text("Waiting for approval")  # a new account's post waits
    expect(card).to_contain_text("Night Owl (you)")
    expect(card).to_contain_text("The same roast without caffeine,")

    other = page.locator(f"#idea-{theirs.pk}")
    expect(other.locator(".votes")).to_contain_text("2")
    other.get_by_role("button", name="Vote").click()
    other = page.locator(f"#idea-{theirs.pk}")
    expect(other.locator(".votes")).to_contain_text("3")
    expect(other.get_by_role("button", name="Withdraw my vote")).to_be_visible()
    expect(other).to_contain_text("Bean Counter")
    body = page.content()
    assert "Benedikt" not in body and "benedikt.private" not in body
    shot(page, "portal-ideas-board")

    # The admin approves the idea, then sets its status and answers it.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "ada")
    page.goto("/portal/moderation/")
    page.locator(f"#review-{review.pk}").get_by_role("button", name="Approve").click()
    expect(page.locator(f"#review-{review.pk}")).to_have_count(0)
    pending = page.locator(f"#ideas #idea-{mine.pk}")
    expect(pending).to_contain_text("Night Owl")
    shot(page, "portal-moderation-ideas")
    pending.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("No idea waits for moderation.")).to_be_visible()
    page.locator("#tips").get_by_role("button", name="Approve").click()
    expect(page.get_by_text("No tip waits for moderation.")).to_be_visible()
    page.goto(f"/offerings/{beans.pk}/reviews/")
    published = page.locator(f"#review-{review.pk}")
    expect(published).to_contain_text("Night Owl")
    expect(published).to_contain_text("4 / 5")
    expect(published).to_contain_text("Rich and even, a little bitter.")
    expect(page.locator("#tips")).to_contain_text("Night Owl")
    expect(page.locator("#tips")).to_contain_text("Let the shot run 28 seconds.")
    assert "Anna" not in page.locator("main").inner_text()
    shot(page, "portal-offering-tips")

    page.goto("/portal/ideas/manage/")
    listed = page.locator("article.idea h3")
    expect(listed.first).to_contain_text("Oat milk in the shop")  # most voted first
    card = page.locator(f"#idea-{mine.pk}")
    card.get_by_label("Status").select_option(label="Planned")
    card.get_by_label("Answer (shown to customers)").fill("We roast a decaf from March.")
    card.get_by_role("button", name="Save status and answer").click()
    card = page.locator(f"#idea-{mine.pk}")
    expect(card.locator(".pill")).to_have_text("Planned")
    expect(card).to_contain_text("Our answer: We roast a decaf from March.")
    page.get_by_label("Status", exact=True).first.select_option(label="Planned")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("article.idea")).to_have_count(1)
    shot(page, "portal-ideas-manage")
    stored = Idea.objects.get(pk=mine.pk)
    assert (stored.status, stored.stage, stored.answered_by) == ("published", "planned", ada)

    # The idea and the vote are on each customer's timeline and the customer page.
    page.goto(f"/customers/{anna.pk}/")
    expect(
        page.get_by_text("In the portal, the customer posted an idea: Decaf of the house beans")
    ).to_be_visible()
    expect(
        page.get_by_text("In the portal, the customer voted for the idea: Oat milk")
    ).to_be_visible()
    ideas_card = page.locator("#portal-ideas")
    expect(ideas_card).to_contain_text("Decaf of the house beans")
    expect(ideas_card).to_contain_text("For Oat milk in the shop")
    ideas_card.scroll_into_view_if_needed()
    shot(page, "portal-customer-ideas")


def test_a_customer_opens_a_request_replies_and_reads_the_staff_answer(
    page,
    smtp_settings,  # noqa: F811 - the fixture
    eager,
    alice,
):
    from interactions.models import Interaction
    from mail.inbound import mail_receive
    from mail.models import Mailbox, Via
    from mail.services import mail_reply_send

    from .mail.messages import raw

    Mailbox.objects.get_or_create(
        address="support@firm.example", defaults={"name": "Support", "is_default": True}
    )
    anna = CustomerFactory(name="Anna Keller", owner=alice, email="anna.requests@example.net")
    root = mail_receive(
        raw(
            sender="Anna Keller <anna.requests@example.net>",
            subject="My grinder makes a noise",
            body="Since yesterday my grinder rattles when it starts.\nWhat can I do?",
        ),
        via=Via.IMAP,
    ).interaction
    assert root.customer_id == anna.pk
    mail_reply_send(
        interaction=root, body="Sorry to hear it. Is the noise there with no beans?", sent_by=alice
    )

    portal_sign_in(page, smtp_settings, "anna.requests@example.net")
    expect(page.get_by_role("heading", name="Hello, Anna Keller")).to_be_visible()

    shot(page, "portal-home-requests")
    page.get_by_role("link", name="see your requests and reply").click()
    expect(page.get_by_role("heading", name="Your requests")).to_be_visible()
    expect(page.locator(f"#request-{root.pk}")).to_contain_text("Answered")
    shot(page, "portal-requests")
    page.get_by_role("link", name="My grinder makes a noise").click()
    expect(page.locator("ol.conversation")).to_contain_text("rattles when it starts")
    expect(page.locator("ol.conversation")).to_contain_text("Is the noise there with no beans?")
    page.get_by_label("Your reply").fill("Yes, even with no beans. It is the 2023 model.")
    page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply was sent")
    expect(page.locator("#latest")).to_contain_text("Yes, even with no beans.")
    expect(page.get_by_role("heading", name="My grinder makes a noise")).to_contain_text(
        "Waiting for our answer"
    )
    shot(page, "portal-request-replied")

    # Staff answer in the thread (by mail, as the conversation page does) ...
    reply = Interaction.objects.get(thread=root, direction="inbound")
    assert reply.message.via == Via.PORTAL
    mail_reply_send(
        interaction=reply, body="Thank you. We send you a new burr set today.", sent_by=alice
    )
    # ... and the customer reads it in the portal.
    page.reload()
    expect(page.locator("#latest")).to_contain_text("We send you a new burr set today.")
    expect(page.get_by_role("status")).to_have_count(0)  # the reply's notice is history
    expect(page.get_by_role("heading", name="My grinder makes a noise")).to_contain_text("Answered")
    shot(page, "portal-request-answered")

    # The manager reads the portal reply in the staff conversation page.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "alice")
    page.goto(f"/conversations/{root.pk}/")
    expect(page.get_by_text("Yes, even with no beans. It is the 2023 model.")).to_be_visible()
    expect(page.get_by_text("Written in the customer portal")).to_be_visible()
    shot(page, "portal-request-staff-conversation")
