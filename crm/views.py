"""The project's own pages: the landing redirect and the admins' overview, which composes
every app's state (only crm sits above them all: workspace may not read dataio or webhooks)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from accounts.roles import Role, role_of
from dataio.selectors import import_jobs_recent
from events.selectors import events_relay_backlog
from interactions.selectors import support_queue_health
from valuation.selectors import figures_staleness, fits_last
from valuation.tasks import STALE_AFTER
from webhooks.selectors import deliveries_health

RECENT_IMPORTS = 5


@login_required
def home(request):
    """Each role lands where its work is: support on the queue, a manager on their
    portfolio, an admin on the overview."""
    role = role_of(request.user)
    if role == Role.MANAGER:
        return redirect("customers:portfolio")
    if role == Role.SUPPORT:
        return redirect("interactions:queue")
    if role == Role.ADMIN:
        return redirect("overview")
    return redirect("customers:list")


def admin_overview_blocks() -> dict:
    """What the overview shows, each block from its app's selector: a fixed number of
    queries whatever the size of the base (tests/test_landing_pages.py counts them)."""
    latest_fit, done_fit = fits_last()
    return {
        "fit": latest_fit,
        "fit_in_use": done_fit,
        "imports": list(import_jobs_recent(limit=RECENT_IMPORTS)),
        "figures": figures_staleness(older_than=STALE_AFTER),
        "queue": support_queue_health(),
        "events": events_relay_backlog(),
        "webhooks": deliveries_health(),
    }


@login_required
def admin_overview(request):
    if role_of(request.user) != Role.ADMIN:
        raise PermissionDenied("The overview is for admins.")
    return render(request, "crm/overview.html", admin_overview_blocks())
