"""Due times of service-level policies (docs/service-levels.md), computed in Python once, when
an interaction is logged or a policy, calendar or tier changes, and stored on the interaction
(`response_due_at`, `resolution_due_at`): the queue and the stats then read a column.

The policy of an item is the most specific `ServiceLevelTarget` of its type: the customer's
tier before any tier, then the item's channel before any channel. Its hours are clock hours,
or business hours on the policy's calendar (else the channel's own, else the default one; with
no calendar at all, the clock). Items are grouped by calendar and each group is one
vectorised `business_hours.business_add` pass, never a loop of arithmetic per item. Paused
business seconds ("waiting on the customer") are added to the target.

Bounds as before (selectors' `_safe_due`): the target is capped at its bound, the due time at
the calendar's ceiling, and an item too close to that ceiling is due at it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db.models import Min, Q
from django.db.models.functions import Coalesce

from core import bounds

from . import business_hours
from .choices import Direction
from .models import BusinessCalendar, CustomerServiceTier, Interaction, ServiceLevelTarget

HOUR = 3600
# Items later than this are due at the ceiling (clock hours: adding the longest target to them
# would leave the calendar; business hours: the layout of a rare calendar could).
LATEST_SAFE_OCCURRED_AT = bounds.DATETIME_CEILING - timedelta(hours=bounds.SERVICE_TARGET_HOURS_MAX)
LATEST_SAFE_BUSINESS = bounds.DATETIME_CEILING - timedelta(days=366 * 31)


@dataclass(frozen=True)
class Policies:
    """Every policy and calendar, read once (a few rows) for a pass."""

    by_key: dict[tuple[str, str, str], ServiceLevelTarget]
    channel_calendars: dict[str, BusinessCalendar]
    default_calendar: BusinessCalendar | None
    tiered: bool
    next_reply: bool = False

    @classmethod
    def load(cls) -> Policies:
        targets = list(ServiceLevelTarget.objects.select_related("calendar"))
        calendars = list(BusinessCalendar.objects.all())
        return cls(
            by_key={(t.type, t.channel, t.tier): t for t in targets},
            channel_calendars={c.channel: c for c in calendars if c.channel},
            default_calendar=next((c for c in calendars if c.is_default), None),
            tiered=any(t.tier for t in targets),
            next_reply=any(t.next_reply_hours for t in targets),
        )

    def policy(self, type: str, channel: str, tier: str) -> ServiceLevelTarget | None:
        for key in ((type, channel, tier), (type, "", tier), (type, channel, ""), (type, "", "")):
            found = self.by_key.get(key)
            if found is not None:
                return found
        return None

    def calendar(self, policy: ServiceLevelTarget, channel: str) -> BusinessCalendar | None:
        """None: clock hours."""
        if not policy.business_hours:
            return None
        return policy.calendar or self.channel_calendars.get(channel) or self.default_calendar


def tiers_of(customer_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted({i for i in customer_ids if i is not None})
    if not ids:
        return {}
    return dict(
        CustomerServiceTier.objects.filter(customer_id__in=ids).values_list("customer_id", "tier")
    )


def next_replies(items: Sequence[Interaction]) -> set[int]:
    """Positions in `items` of the customer's messages that follow an answer: inbound, on a
    thread where one of our outbound messages came at or before them. Their response target
    is the policy's next_reply_hours. Two queries whatever the number of items (the threads'
    roots, then the first answer in each); items of one batch not yet saved are not seen."""
    asking = [
        (i, item)
        for i, item in enumerate(items)
        if item.direction == Direction.INBOUND and item.thread_id is not None
    ]
    if not asking:
        return set()
    parents = {item.thread_id for _, item in asking}
    root_of = {
        pk: root or pk
        for pk, root in Interaction.objects.filter(pk__in=parents).values_list("pk", "thread_id")
    }
    roots = set(root_of.values())
    answered = dict(
        Interaction.objects.filter(Q(pk__in=roots) | Q(thread_id__in=roots))
        .filter(direction=Direction.OUTBOUND)
        .annotate(root=Coalesce("thread_id", "pk"))
        .values("root")
        .annotate(first=Min("occurred_at"))
        .values_list("root", "first")
    )
    found = set()
    for i, item in asking:
        first = answered.get(root_of.get(item.thread_id))
        if first is not None and first <= item.occurred_at:
            found.add(i)
    return found


def _add(calendar: BusinessCalendar | None, starts: list[datetime], seconds: list[int]):
    """starts + seconds on the calendar (None: the clock), bounded at the ceiling."""
    ceiling = bounds.DATETIME_CEILING
    if calendar is None:
        return [
            ceiling if at > LATEST_SAFE_OCCURRED_AT else min(at + timedelta(seconds=s), ceiling)
            for at, s in zip(starts, seconds, strict=True)
        ]
    safe = [i for i, at in enumerate(starts) if at <= LATEST_SAFE_BUSINESS]
    due: list[datetime] = [ceiling] * len(starts)
    if not safe:
        return due
    t = business_hours.to_epoch(starts[i] for i in safe)
    d = np.array([seconds[i] for i in safe], dtype=np.int64)
    try:
        reached = business_hours.business_add(calendar.calendar(), t, d)
    except ValueError:  # a calendar open too rarely to reach the target: as late as can be
        return due
    for i, s in zip(safe, reached, strict=True):
        due[i] = min(datetime.fromtimestamp(int(s), tz=UTC), ceiling)
    return due


def due_times_set(
    items: Sequence[Interaction],
    *,
    policies: Policies | None = None,
    tiers: dict[int, str] | None = None,
) -> None:
    """Set `response_due_at`, `resolution_due_at` and `resolved_in_time` on each item (not
    saved; the items need `resolved_at` loaded). Two small
    queries (policies and calendars), a third for the tiers when a policy names one, two
    more for the threads' answers when a policy has a next-reply target. An item that waits
    for no answer (an order, our own message) is due nothing, and a pass of only such items
    reads nothing: most interactions logged are orders (issue 17, the request path)."""
    for item in items:
        item.response_due_at = item.resolution_due_at = None
    if not any(item.requires_response for item in items):
        return
    policies = policies or Policies.load()
    if tiers is None:
        tiers = tiers_of(i.customer_id for i in items) if policies.tiered else {}
    follow_ups = next_replies(items) if policies.next_reply else set()
    # (calendar id or None, "response" | "resolution") -> [(item, hours)]
    groups: dict[tuple[int | None, str], list[tuple[Interaction, int]]] = defaultdict(list)
    calendars: dict[int | None, BusinessCalendar | None] = {None: None}
    for position, item in enumerate(items):
        if not item.requires_response:
            continue
        policy = policies.policy(item.type, item.channel, tiers.get(item.customer_id, ""))
        if policy is None:
            continue
        calendar = policies.calendar(policy, item.channel)
        key = calendar.pk if calendar is not None else None
        calendars[key] = calendar
        hours = policy.first_response_hours
        if position in follow_ups and policy.next_reply_hours:
            hours = policy.next_reply_hours  # the customer writes again after our answer
        groups[key, "response"].append((item, hours))
        if policy.resolution_hours:
            groups[key, "resolution"].append((item, policy.resolution_hours))
    for (key, kind), members in groups.items():
        seconds = [
            min(hours, bounds.SERVICE_TARGET_HOURS_MAX) * HOUR + (item.paused_seconds or 0)
            for item, hours in members
        ]
        due = _add(calendars[key], [item.occurred_at for item, _ in members], seconds)
        for (item, _), at in zip(members, due, strict=True):
            setattr(item, f"{kind}_due_at", at)
    for item in items:
        item.resolved_in_time = resolved_in_time(item.resolved_at, item.resolution_due_at)


def resolved_in_time(resolved_at: datetime | None, due: datetime | None) -> bool | None:
    """None while it is open or has no resolution target."""
    if resolved_at is None or due is None:
        return None
    return resolved_at <= due


def due_at_for(*, type: str, channel: str, occurred_at: datetime) -> datetime | None:
    """The first-response due time of an item of no tier, as it would be stored."""
    item = Interaction(type=type, channel=channel, occurred_at=occurred_at, requires_response=True)
    due_times_set([item])
    return item.response_due_at
