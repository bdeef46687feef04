"""Plausible windows for dates and bounds for numbers, defined once (docs/bounds.md).

Every date a user or a file gives falls in one of three windows:

- **happened** (an interaction's time, an order's date, a rating, an acquisition date): not
  before `DATE_FLOOR`, not later than now plus `CLOCK_SKEW` (a date: not later than the date it
  already is somewhere on Earth, UTC+14);
- **planned** (a next step's due date, a replenishment's next due date): not before
  `DATE_FLOOR`, not later than today plus `PLANNING_HORIZON`;
- **report** (a report's start and end, a date filter in a query string): the same window as
  planned, so that a range can reach into the future a little, never out of the calendar.

The validators are plain functions that read the constants when they run: model fields refer
to them (so `full_clean`, model forms, the admin and imports see them), and changing a value
here needs no migration. The `*_safe` helpers keep arithmetic on data already stored (however
extreme) inside the calendar Python and the database driver can represent.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

DATE_FLOOR = date(1900, 1, 1)
CLOCK_SKEW = timedelta(minutes=5)
PLANNING_HORIZON = timedelta(days=3653)  # ten years
# The date it already is somewhere on Earth when it is `now` in UTC (UTC+14, Kiribati).
EARLIEST_ZONE_AHEAD = timedelta(hours=14)

# What a computed date or time is clamped to: the last day Python (and psycopg) represent.
DATE_CEILING = date.max
DATETIME_CEILING = datetime.combine(date.max, time(0, 0), tzinfo=UTC) - timedelta(days=1)
DATETIME_FLOOR = datetime.combine(date.min, time(0, 0), tzinfo=UTC) + timedelta(days=1)

# --- Numbers -------------------------------------------------------------------------------
# Per order line (and per subscription): what a quantity, a unit amount and their product
# may be. A line's revenue and cost fit the running summary's totals (18 digits, 4 places)
# for a hundred thousand lines at the maximum.
QUANTITY_MAX = Decimal("1000000")
UNIT_AMOUNT_MAX = Decimal("1000000000")
LINE_AMOUNT_MAX = Decimal("1000000000")
# A service-level target longer than a year is not a target.
SERVICE_TARGET_HOURS_MAX = 24 * 366
# Intervals between replenishments: at most the planning horizon.
INTERVAL_DAYS_MAX = PLANNING_HORIZON.days


def floor_datetime() -> datetime:
    return datetime.combine(DATE_FLOOR, time(0, 0), tzinfo=UTC)


def latest_happened_at() -> datetime:
    return timezone.now() + CLOCK_SKEW


def latest_happened_on() -> date:
    return (timezone.now() + CLOCK_SKEW + EARLIEST_ZONE_AHEAD).astimezone(UTC).date()


def latest_planned_on() -> date:
    return timezone.localdate() + PLANNING_HORIZON


def _day(value: date) -> str:
    return value.isoformat()


def _moment_from_floor(value: datetime) -> datetime:
    """The moment, made aware, or a ValidationError if it lies before DATE_FLOOR."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value < floor_datetime():
        raise ValidationError(f"Must not be before {_day(DATE_FLOOR)}.", code="before_floor")
    return value


def _day_from_floor(value: date) -> date:
    """The day (of a date-time too), or a ValidationError if it lies before DATE_FLOOR."""
    if isinstance(value, datetime):
        value = value.date()
    if value < DATE_FLOOR:
        raise ValidationError(f"Must not be before {_day(DATE_FLOOR)}.", code="before_floor")
    return value


def validate_happened_at(value: datetime | None) -> None:
    """A moment that has happened: from DATE_FLOOR to now (plus the clock-skew allowance)."""
    if value is None:
        return
    value = _moment_from_floor(value)
    if value > latest_happened_at():
        raise ValidationError("Must not be in the future.", code="in_future")


def validate_happened_on(value: date | None) -> None:
    """A day on which something happened: from DATE_FLOOR to today (anywhere on Earth)."""
    if value is None:
        return
    value = _day_from_floor(value)
    if value > latest_happened_on():
        raise ValidationError("Must not be in the future.", code="in_future")


def validate_planned_on(value: date | None) -> None:
    """A day something is planned for: from DATE_FLOOR to ten years ahead."""
    if value is None:
        return
    value = _day_from_floor(value)
    if value > latest_planned_on():
        raise ValidationError(
            f"Must not be more than {PLANNING_HORIZON.days // 365} years ahead "
            f"(after {_day(latest_planned_on())}).",
            code="beyond_horizon",
        )


def validate_report_on(value: date | None) -> None:
    """A report range's start or end, or a date filter: the planning window."""
    validate_planned_on(value)


def validate_report_at(value: datetime | None) -> None:
    """A date-time filter of a report or a list: the planning window, as moments."""
    if value is None:
        return
    value = _moment_from_floor(value)
    if value >= datetime.combine(latest_planned_on() + timedelta(days=1), time(0, 0), tzinfo=UTC):
        raise ValidationError(
            f"Must not be after {_day(latest_planned_on())}.", code="beyond_horizon"
        )


# --- Safe arithmetic on stored values -------------------------------------------------------


def add_days_safe(day: date, days: float) -> date:
    """`day + days`, clamped to the calendar (date.min .. date.max) instead of overflowing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return DATE_CEILING if days > 0 else date.min


def add_safe(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, clamped to the calendar instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        return DATETIME_CEILING if delta > timedelta(0) else DATETIME_FLOOR


def _at_most(value, limit, what: str) -> None:
    if value is not None and value > limit:
        raise ValidationError(f"{what} must not exceed {limit:,}.", code="too_large")


def validate_quantity(value) -> None:
    _at_most(value, QUANTITY_MAX, "A quantity")


def validate_unit_amount(value) -> None:
    """A price or a cost of one unit."""
    _at_most(value, UNIT_AMOUNT_MAX, "An amount per unit")


def validate_service_target_hours(value) -> None:
    _at_most(value, SERVICE_TARGET_HOURS_MAX, "A first-response target (hours)")


def validate_interval_days(value) -> None:
    _at_most(value, INTERVAL_DAYS_MAX, "An interval (days)")


def validate_line_amounts(*, quantity, unit_price, unit_cost) -> None:
    """An order line's quantity × unit price (and × unit cost) fits LINE_AMOUNT_MAX."""
    if quantity is None:
        return
    errors = {}
    if unit_price is not None and quantity * unit_price > LINE_AMOUNT_MAX:
        errors["unit_price"] = (
            f"Quantity × unit price must not exceed {LINE_AMOUNT_MAX:,} for one line."
        )
    if unit_cost is not None and quantity * unit_cost > LINE_AMOUNT_MAX:
        errors["unit_cost"] = (
            f"Quantity × unit cost must not exceed {LINE_AMOUNT_MAX:,} for one line."
        )
    if errors:
        raise ValidationError(errors)
