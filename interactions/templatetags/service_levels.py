"""How an item stands against its first-response target, in words a person reads at a glance."""

from dataclasses import dataclass
from datetime import timedelta

from django import template

register = template.Library()


@dataclass(frozen=True)
class ServiceLevelLabel:
    css: str
    text: str


def duration_words(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


@register.simple_tag
def service_level(item) -> ServiceLevelLabel:
    """Uses the annotations of `interactions.selectors.with_service_level`."""
    due = getattr(item, "response_due_at", None)
    if due is None:
        return ServiceLevelLabel("none", "no target")
    if item.first_response_at is not None:
        if item.first_response_at <= due:
            return ServiceLevelLabel("met", "answered in time")
        return ServiceLevelLabel("late", "answered late")
    left = item.response_time_left
    if left < timedelta(0):
        return ServiceLevelLabel("overdue", f"{duration_words(left)} overdue")
    return ServiceLevelLabel("due", f"{duration_words(left)} left")
