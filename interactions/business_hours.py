"""Business-hours arithmetic for service levels (SPEC §15), vectorised with numpy.

A calendar is a time zone, weekly opening hours (local wall-clock times) and holidays (local
dates when it is closed), or open around the clock. Its opening intervals are laid out in UTC
over the span the instants need, each with the business seconds before it, so that

- `business_position(t)`: business seconds from the span's start up to t,
- `business_between(a, b)` = position(b) - position(a), minus the paused spans given,
- `business_add(t, d)`: the instant whose position is position(t) + d,

are binary searches (`numpy.searchsorted`) over whole arrays of instants: one pass for a
queue's worth of items, never a Python loop per item. Instants are UTC epoch seconds (int64).
A DST change needs nothing special: local opening times are converted to UTC day by day, so a
business day that contains the change is as long as it really was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

DAY = 86_400
# The span is laid out this far beyond what the instants and durations need, and at most this
# far in all: a calendar open a few hours a year still answers, one never open is refused.
MAX_SPAN_DAYS = 366 * 30


@dataclass(frozen=True)
class Calendar:
    """Weekly hours by weekday (0 = Monday): (opens, closes) local times; closes at
    time(0) means midnight at the end of the day."""

    time_zone: str = "UTC"
    weekly: Mapping[int, Sequence[tuple[time, time]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    def __post_init__(self) -> None:
        ZoneInfo(self.time_zone)  # an unknown zone fails here, not in the middle of a pass
        if not self.always_open and not any(self.weekly.get(d) for d in range(7)):
            raise ValueError("A calendar that is not open around the clock needs weekly hours.")


ALWAYS_OPEN = Calendar(always_open=True)


def to_epoch(instants: Iterable[datetime]) -> np.ndarray:
    return np.array([int(t.timestamp()) for t in instants], dtype=np.int64)


def from_epoch(seconds: Iterable[int]) -> list[datetime]:
    return [datetime.fromtimestamp(int(s), tz=UTC) for s in seconds]


def _intervals(calendar: Calendar, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Opening intervals [starts, ends) in epoch seconds covering the local days of
    [start, end], sorted and not overlapping."""
    zone = ZoneInfo(calendar.time_zone)
    first = datetime.fromtimestamp(start, tz=zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, tz=zone).date() + timedelta(days=1)
    starts: list[int] = []
    ends: list[int] = []
    day = first
    while day <= last:  # one step per day of the span, not per item
        if day not in calendar.holidays:
            for opens, closes in calendar.weekly.get(day.weekday(), ()):
                begin = datetime.combine(day, opens, tzinfo=zone)
                close_day = day + timedelta(days=1) if closes == time(0) else day
                finish = datetime.combine(close_day, closes, tzinfo=zone)
                a, b = int(begin.timestamp()), int(finish.timestamp())
                if b > a:
                    starts.append(a)
                    ends.append(b)
        day += timedelta(days=1)
    order = np.argsort(starts, kind="stable")
    return np.array(starts, dtype=np.int64)[order], np.array(ends, dtype=np.int64)[order]


@dataclass(frozen=True)
class _Layout:
    starts: np.ndarray
    ends: np.ndarray
    before: np.ndarray  # business seconds before each interval

    @property
    def total(self) -> int:
        return int(self.before[-1] + self.ends[-1] - self.starts[-1]) if len(self.starts) else 0

    def position(self, t: np.ndarray) -> np.ndarray:
        if not len(self.starts):  # a span without an opening (a Sunday-only desk, mid-week)
            return np.zeros(len(t), dtype=np.int64)
        k = np.searchsorted(self.starts, t, side="right") - 1
        inside = k >= 0
        kk = np.where(inside, k, 0)
        length = self.ends[kk] - self.starts[kk]
        offset = np.clip(t - self.starts[kk], 0, length)
        return np.where(inside, self.before[kk] + offset, 0)


def _layout(calendar: Calendar, start: int, end: int) -> _Layout:
    starts, ends = _intervals(calendar, start, end)
    lengths = ends - starts
    before = (np.cumsum(lengths) - lengths).astype(np.int64)
    return _Layout(starts, ends, before)


def business_between(
    calendar: Calendar,
    a: np.ndarray,
    b: np.ndarray,
    *,
    paused: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> np.ndarray:
    """Business seconds from a to b (0 where b <= a), less the business seconds of each
    paused span (pause_start, pause_end arrays, clipped to [a, b])."""
    a = np.asarray(a, dtype=np.int64)
    b = np.maximum(np.asarray(b, dtype=np.int64), a)
    if calendar.always_open:
        measured = b - a
        for ps, pe in paused:
            lo, hi = np.maximum(ps, a), np.minimum(pe, b)
            measured = measured - np.maximum(hi - lo, 0)
        return measured
    if not len(a):
        return np.zeros(0, dtype=np.int64)
    layout = _layout(calendar, int(a.min()), int(b.max()))
    measured = layout.position(b) - layout.position(a)
    for ps, pe in paused:
        lo = np.clip(np.asarray(ps, dtype=np.int64), a, b)
        hi = np.clip(np.asarray(pe, dtype=np.int64), a, b)
        measured = measured - (layout.position(np.maximum(hi, lo)) - layout.position(lo))
    return measured


def business_add(calendar: Calendar, t: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """The instant `seconds` of business time after each t (t itself for 0 seconds).

    Time before an opening counts from the opening: an item at 20:00 with a 1 h target on
    09:00–17:00 hours is due at 10:00 the next business day."""
    t = np.asarray(t, dtype=np.int64)
    seconds = np.asarray(seconds, dtype=np.int64)
    if np.any(seconds < 0):
        raise ValueError("A business duration cannot be negative.")
    if calendar.always_open or not len(t):
        return t + seconds
    start, need = int(t.min()), int(seconds.max())
    span = max(need // DAY + 8, 14)
    while True:
        layout = _layout(calendar, start, int(t.max()) + span * DAY)
        target = layout.position(t) + seconds
        if layout.total >= int(target.max()):
            break
        if span > MAX_SPAN_DAYS:
            raise ValueError("The calendar is open too rarely to reach this duration.")
        span *= 2
    ends_before = layout.before + (layout.ends - layout.starts)
    k = np.searchsorted(ends_before, target, side="left")
    due = layout.starts[k] + (target - layout.before[k])
    return np.where(seconds == 0, t, due)
