"""Business-hours arithmetic (interactions.business_hours): hand-worked cases and properties."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interactions.business_hours import (
    ALWAYS_OPEN,
    Calendar,
    business_add,
    business_between,
    from_epoch,
    to_epoch,
)

H = 3600
WEEKDAYS_9_TO_5 = {d: [(time(9), time(17))] for d in range(5)}
BERLIN = Calendar("Europe/Berlin", WEEKDAYS_9_TO_5)
NEW_YORK = Calendar("America/New_York", WEEKDAYS_9_TO_5)


def at(zone: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


def add(calendar, when: datetime, hours: float) -> datetime:
    [due] = from_epoch(business_add(calendar, to_epoch([when]), np.array([int(hours * H)])))
    return due


def between(calendar, a: datetime, b: datetime, paused=()) -> float:
    spans = [(to_epoch([s]), to_epoch([e])) for s, e in paused]
    [seconds] = business_between(calendar, to_epoch([a]), to_epoch([b]), paused=spans)
    return seconds / H


def test_a_friday_evening_complaint_is_due_on_monday_morning():
    # Friday 2026-11-27 19:00 Berlin, 4 business hours: Monday 09:00 + 4 h = 13:00
    due = add(BERLIN, at("Europe/Berlin", 2026, 11, 27, 19), 4)
    assert due == at("Europe/Berlin", 2026, 11, 30, 13)
    # Friday 15:00 with 4 h: 2 h on Friday, 2 h on Monday
    assert add(BERLIN, at("Europe/Berlin", 2026, 11, 27, 15), 4) == at(
        "Europe/Berlin", 2026, 11, 30, 11
    )
    assert between(BERLIN, at("Europe/Berlin", 2026, 11, 27, 15), due) == 2 + 4


def test_a_holiday_is_skipped():
    christmas = Calendar(
        "Europe/Berlin",
        WEEKDAYS_9_TO_5,
        holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25)}),
    )
    # Wednesday 23 Dec 16:00 + 3 h: 1 h Wednesday, Thu and Fri closed, 2 h on Monday 28th
    assert add(christmas, at("Europe/Berlin", 2026, 12, 23, 16), 3) == at(
        "Europe/Berlin", 2026, 12, 28, 11
    )


def test_a_dst_change_in_berlin_keeps_a_night_shift_as_long_as_it_really_is():
    # A night desk 00:00–06:00 on Sunday 2026-03-29: clocks go from 02:00 to 03:00, so it is
    # open 5 real hours that night; on Sunday 2026-10-25 (03:00 back to 02:00) 7 hours.
    nights = Calendar("Europe/Berlin", {6: [(time(0), time(6))]})
    spring = at("Europe/Berlin", 2026, 3, 29, 0)
    autumn = at("Europe/Berlin", 2026, 10, 25, 0)
    assert between(nights, spring, spring + timedelta(days=1)) == 5
    assert between(nights, autumn, autumn + timedelta(days=1)) == 7
    # 5 h from the spring midnight ends at 06:00 local (04:00 UTC), not 05:00
    assert add(nights, spring, 5) == at("Europe/Berlin", 2026, 3, 29, 6)
    assert add(nights, spring, 5).astimezone(UTC).hour == 4


def test_a_dst_change_in_new_york_moves_the_utc_opening():
    # New York leaves DST on Sunday 2026-11-01: 09:00 is 13:00 UTC on Friday, 14:00 on Monday
    friday = at("America/New_York", 2026, 10, 30, 16)
    due = add(NEW_YORK, friday, 2)
    assert due == at("America/New_York", 2026, 11, 2, 10)
    assert due.astimezone(UTC) == datetime(2026, 11, 2, 15, tzinfo=UTC)
    # Across the weekend the calendar counts 2 h, the clock 67 h
    assert between(NEW_YORK, friday, due) == 2
    assert (due - friday) == timedelta(hours=67)  # the night of the change is 25 h long


def test_two_time_zones_give_different_due_times_for_the_same_instant():
    # 16:00 UTC on Wednesday 2 Dec 2026 is 17:00 in Berlin (closed) and 11:00 in New York
    instant = datetime(2026, 12, 2, 16, tzinfo=UTC)
    assert add(BERLIN, instant, 1) == at("Europe/Berlin", 2026, 12, 3, 10)
    assert add(NEW_YORK, instant, 1) == at("America/New_York", 2026, 12, 2, 12)


def test_pauses_do_not_count():
    start = at("Europe/Berlin", 2026, 12, 1, 9)  # a Tuesday
    end = at("Europe/Berlin", 2026, 12, 2, 17)  # 16 business hours later
    waiting = (at("Europe/Berlin", 2026, 12, 1, 15), at("Europe/Berlin", 2026, 12, 2, 10))
    # paused 15:00–17:00 Tuesday and 09:00–10:00 Wednesday: 3 business hours
    assert between(BERLIN, start, end) == 16
    assert between(BERLIN, start, end, paused=[waiting]) == 13
    assert between(ALWAYS_OPEN, start, end, paused=[waiting]) == 32 - 19


def test_around_the_clock_is_plain_time_and_a_calendar_needs_hours():
    when = datetime(2026, 12, 5, 22, tzinfo=UTC)
    assert add(ALWAYS_OPEN, when, 4) == when + timedelta(hours=4)
    with pytest.raises(ValueError):
        Calendar("Europe/Berlin", {})
    with pytest.raises(Exception):  # noqa: B017 - zoneinfo's own error for an unknown zone
        Calendar("Mars/Olympus", WEEKDAYS_9_TO_5)


def test_a_whole_queue_is_computed_in_one_pass():
    base = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())
    instants = base + np.arange(0, 100_000) * 337  # about a year of items
    durations = np.full(len(instants), 4 * H)
    due = business_add(BERLIN, instants, durations)
    assert np.all(business_between(BERLIN, instants, due) == durations)


CALENDARS = st.sampled_from(
    [
        BERLIN,
        NEW_YORK,
        ALWAYS_OPEN,
        Calendar("Asia/Tokyo", {d: [(time(8), time(12)), (time(13), time(18))] for d in range(6)}),
        Calendar(
            "Europe/Berlin", {6: [(time(0), time(6))]}, holidays=frozenset({date(2026, 3, 29)})
        ),
    ]
)
INSTANTS = st.integers(
    int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2028, 1, 1, tzinfo=UTC).timestamp()),
)


@settings(max_examples=200, deadline=None)
@given(CALENDARS, INSTANTS, st.integers(0, 500 * H))
def test_adding_then_measuring_gives_the_duration_back(calendar, t, seconds):
    due = business_add(calendar, np.array([t]), np.array([seconds]))
    assert due[0] >= t
    assert business_between(calendar, np.array([t]), due)[0] == seconds


@settings(max_examples=200, deadline=None)
@given(CALENDARS, INSTANTS, st.integers(0, 300 * H), st.integers(0, 300 * H))
def test_adding_is_monotone_and_adds_up(calendar, t, d1, d2):
    low, high = sorted((d1, d2))
    a = business_add(calendar, np.array([t, t]), np.array([low, high]))
    assert a[0] <= a[1]
    # adding in two steps lands where one step does (after the first step's instant)
    one = business_add(calendar, np.array([t]), np.array([low + high]))[0]
    two = business_add(
        calendar, business_add(calendar, np.array([t]), np.array([low])), np.array([high])
    )[0]
    assert business_between(calendar, np.array([t]), np.array([one]))[0] == low + high
    assert business_between(calendar, np.array([t]), np.array([two]))[0] == low + high


@settings(max_examples=200, deadline=None)
@given(CALENDARS, INSTANTS, st.integers(0, 40 * 86_400), st.integers(0, 40 * 86_400))
def test_measuring_is_monotone_and_never_more_than_the_clock(calendar, a, x, y):
    near, far = sorted((x, y))
    measured = business_between(calendar, np.array([a, a]), np.array([a + near, a + far]))
    assert 0 <= measured[0] <= measured[1]
    assert measured[1] <= far
