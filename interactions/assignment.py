"""Who takes a new item of the support queue (issue 21): with assignment on (the admins'
choice in the app, else the setting SUPPORT_ASSIGNMENT),
every new inbound item that waits for an answer goes to a support person at once, in the
transaction that logs it.

- "least_busy": the available person with the fewest open items (waiting for an answer, not
  resolved), the one who waited longest since their last item first on a tie;
- "round_robin": the available person whose last item is the oldest (never given one: first);
- "off" (the default): items wait in the queue's "unassigned" view for someone to take them.

A customer's follow-up in a conversation goes to whoever has the conversation, available or
not. Available: an active support person who has not said "away" on the queue page
(accounts.StaffAvailability). Two items logged at the same instant may go to the same person:
the choice is fair over time, not a lock held across every write.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, OuterRef, Q, Subquery

from accounts.models import StaffAvailability
from accounts.roles import Role

from .choices import AssignmentMode
from .models import SupportSettings

MODES = tuple(AssignmentMode.values)


def assignment_mode() -> str:
    """The admins' choice in the app (/interactions/assignment/), else the deployment's
    setting SUPPORT_ASSIGNMENT. One query."""
    chosen = SupportSettings.objects.filter(pk=SupportSettings.SINGLETON).values_list(
        "assignment", flat=True
    )
    return next(iter(chosen), None) or settings.SUPPORT_ASSIGNMENT


def assignment_chosen() -> SupportSettings | None:
    """The admins' choice with who made it and when; None while the setting decides."""
    return (
        SupportSettings.objects.filter(pk=SupportSettings.SINGLETON)
        .select_related("changed_by")
        .first()
    )


def _available_support():
    away = StaffAvailability.objects.filter(available=False).values("user_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.SUPPORT.value)
        .exclude(pk__in=away)
        .distinct()
    )


def assignee_choose(*, mode: str) -> int | None:
    """The id of the support person who takes the next new item, or None (nobody available,
    or assignment off). One query."""
    if mode not in ("least_busy", "round_robin"):
        return None
    people = _available_support().annotate(last=F("availability__last_assigned_at"))
    if mode == "least_busy":
        people = people.annotate(
            open=Count(
                "assigned_interactions",
                filter=Q(
                    assigned_interactions__requires_response=True,
                    assigned_interactions__resolved_at__isnull=True,
                ),
                distinct=True,
            )
        ).order_by("open", F("last").asc(nulls_first=True), "pk")
    else:
        people = people.order_by(F("last").asc(nulls_first=True), "pk")
    return people.values_list("pk", flat=True).first()


def queue_assignment(*, user) -> tuple[str, bool]:
    """The queue page's line: the assignment mode and whether `user` takes new items, in one
    query (the page's count stays as it was when the mode was only a setting)."""
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            mode=Subquery(
                SupportSettings.objects.filter(pk=SupportSettings.SINGLETON).values("assignment")
            ),
            takes=Subquery(
                StaffAvailability.objects.filter(user_id=OuterRef("pk")).values("available")
            ),
        )
        .values_list("mode", "takes")
        .first()
    )
    mode, takes = row or (None, None)
    return mode or settings.SUPPORT_ASSIGNMENT, takes is not False


def support_people():
    """The support people with whether they take new items and their open items (one
    query), for the admins' assignment page."""
    away = StaffAvailability.objects.filter(user_id=OuterRef("pk")).values("available")
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.SUPPORT.value)
        .annotate(
            takes=Subquery(away),
            open=Count(
                "assigned_interactions",
                filter=Q(
                    assigned_interactions__requires_response=True,
                    assigned_interactions__resolved_at__isnull=True,
                ),
                distinct=True,
            ),
        )
        .order_by("first_name", "username")
        .distinct()
    )
