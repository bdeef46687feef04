"""Service levels end to end in a real Chromium (issue 21): an admin turns automatic assignment
on in the app, a complaint goes to the available support person, the escalation run notifies
her (response overdue, resolution due soon) in the top bar and on /notices/, she marks them
read, and the report shows the resolution beside the responses, by tier."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services import staff_availability_set
from interactions import services
from interactions.models import CustomerServiceTier, Interaction, Notice, ServiceLevelTarget
from interactions.tasks import service_level_escalate

from .browser import shot, sign_in
from .factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(alice, charlie, settings):
    from accounts.roles import Role

    settings.SUPPORT_ASSIGNMENT = "off"
    # Transactional tests flush the migration's defaults: the targets this test relies on.
    ServiceLevelTarget.objects.update_or_create(
        type="complaint", channel="", tier="",
        defaults={"first_response_hours": 4, "resolution_hours": 8},
    )  # fmt: skip
    dave = UserFactory(username="dave", first_name="Dave", role=Role.SUPPORT)
    staff_availability_set(user=dave, available=False)  # away: nothing goes to him
    anna = CustomerFactory(name="Anna Keller", owner=alice)
    CustomerServiceTier.objects.create(customer=anna, tier="mvc")
    return {"anna": anna, "dave": dave}


def test_an_admin_turns_assignment_on_and_the_assignee_is_escalated(page, ada, charlie, desk):
    # The admin chooses automatic assignment on the queue's "Assignment" page.
    sign_in(page, "ada")
    page.goto("/interactions/queue/")
    page.get_by_role("link", name="Assignment").click()
    expect(page.get_by_role("heading", name="Assignment of new support items")).to_be_visible()
    expect(page.locator("#assignment-now")).to_contain_text("the deployment's default")
    expect(page.locator('#support-people tr[data-user="dave"]')).to_contain_text("Away")
    page.get_by_label("Least busy").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#assignment-now")).to_contain_text("Least busy")
    expect(page.locator("#assignment-now")).to_contain_text("chosen by ada")
    shot(page, "support-assignment-admin")

    # A complaint logged seven hours ago goes to charlie (dave is away): its response is
    # overdue (4 h) and its resolution due within the hour (1 h of 8 left).
    item = services.interaction_log(
        customer=desk["anna"], logged_by=None, channel="email", direction="inbound",
        type="complaint", subject="Grinder broken again",
        occurred_at=timezone.now() - timedelta(hours=7),
    )  # fmt: skip
    assert Interaction.objects.get(pk=item.pk).assignee_id == charlie.pk
    assert service_level_escalate() == 4  # charlie and alice (the manager), two kinds each
    page.context.clear_cookies()

    # charlie sees the badge, opens the notices, and marks them read.
    sign_in(page, "charlie")
    badge = page.locator('[data-nav="notices"] .badge').first
    expect(badge).to_have_text("2")
    page.locator('[data-nav="notices"]').first.click()
    expect(page.get_by_role("heading", name="Notices")).to_be_visible()
    rows = page.locator("#notices tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#notices")).to_contain_text("Overdue")
    expect(page.locator("#notices")).to_contain_text("Resolution due soon")
    expect(page.locator("#notices")).to_contain_text("Grinder broken again")
    expect(page.locator("#notice-emails")).to_contain_text("also come by e-mail")
    shot(page, "support-notices")
    page.locator("#notices tbody tr").first.get_by_role("button", name="Mark read").click()
    page.locator("#notices tbody tr.unread").first.get_by_role("button", name="Mark read").click()
    expect(page.locator("#notices tbody tr.unread")).to_have_count(0)
    expect(page.locator('[data-nav="notices"] .badge')).to_have_count(0)
    assert not Notice.objects.filter(user=charlie, read_at__isnull=True).exists()

    # She turns the e-mails off.
    page.get_by_role("button", name="Stop the e-mails").click()
    expect(page.locator("#notice-emails")).to_contain_text("Notices stay in the app")

    # The report by tier: the complaint is the most valuable tier's, its response breached.
    page.goto("/interactions/service-levels/?by=tier")
    row = page.locator('#service-level-rows tr[data-key="mvc"]')
    expect(row).to_contain_text("Most valuable")
    expect(row.locator('[data-col="resolution-breaches"]')).to_have_text("0")
    expect(page.locator('[data-stat="breaches"]')).to_have_text("1")
    shot(page, "service-levels-by-tier")
