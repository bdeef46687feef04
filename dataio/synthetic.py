"""The one synthetic customer base: seeded, drawn with NumPy, inserted in bulk.

`base_generate(shape, owners=..., offerings=..., seed=...)` adds `shape.customers` customers
with a history to a migrated database: purchase days from the BG/NBD story (each customer buys
at their own rate until they quietly drop out) or a fixed rhythm, orders of one to a few lines
with quantities scaled by the customer's own spending level (Gamma-Gamma's heterogeneity),
service contacts answered fast, slowly or never and sometimes rated, outreach with or without
a next step, open inquiries, ratings of what they bought, known needs, stated wallets and
replenishment subscriptions, each in the share the shape says. `figures_fake` writes given
figures and daily snapshots for pages that take them as the given.

The demo (`dataio.demo`, its own words and stories layered on top), the benchmarks and the
tests call it; `NIGHTLY`, `PORTFOLIO`, `INGEST`, `VALUATION_TESTS`, `BUYERS_ONLY` and
`TODO` are their shapes.

Every draw is a NumPy array; rows go in with one INSERT ... SELECT FROM unnest(...) per batch
on PostgreSQL (no model instances), with executemany elsewhere (the embedded SQLite demo).
Columns not given take the model's default, so the inserts follow the models.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import connection, models, transaction
from django.utils import timezone

from customers.models import Customer, CustomerFact
from interactions.models import Interaction, OfferingRating, OrderLine
from offerings.models import Offering
from replenishment.models import ReplenishmentSubscription
from valuation.models import CustomerFigures, CustomerSnapshot
from valuation.numerics.bgnbd import BgNbdParams
from valuation.numerics.simulate import simulate_bgnbd
from valuation.selectors import channel_costs_decimal
from valuation.summary import customer_summaries_rebuild

BATCH = 20_000
# The purchase story (weeks) of the benchmarks' and tests' bases.
PURCHASES = BgNbdParams(r=0.6, alpha=8.0, a=0.8, b=3.0)


@dataclass(frozen=True)
class Words:
    """What the generated rows say. With no first names, customers are "<prefix>000001"."""

    prefix: str = "Customer "
    first_names: Sequence[str] = ()
    last_names: Sequence[str] = ()
    org_words: Sequence[str] = ()
    org_share: float = 0.0
    email_domain: str = ""  # "example": first.n@example.net, last.n@example.com
    sources: Sequence[str] = ("",)
    channels: Sequence[str] = ("",)  # preferred channels, drawn with channel_weights
    channel_weights: Sequence[float] = (1.0,)
    order_subject: str = "Order"
    order_channel: str = "web"
    inquiry_subjects: Sequence[str] = ("Question",)
    complaint_subjects: Sequence[str] = ("Question",)
    contact_channels: Sequence[str] = ("phone", "email", "chat")
    outreach_subject: str = "Call"
    outreach_channel: str = "phone"
    next_step: str = "Call back"
    external_ref: str = ""  # a format with {n}, e.g. "DEMO-{n:05d}"


@dataclass(frozen=True)
class Shape:
    """How a generated base looks; every share is of customers unless it says otherwise."""

    customers: int
    tenure_days: tuple[int, int] = (30, 730)  # acquired this many days ago (uniform)
    buyers: float = 0.9  # the others are prospects who never bought
    purchases: BgNbdParams | None = PURCHASES  # weeks; None: `orders` orders each
    first_order_within_days: int = 30  # of being acquired (BG/NBD story)
    orders: int = 0  # without a purchase story: this many orders each ...
    orders_every_days: int = 30  # ... this many days apart, the last one this long ago ...
    order_jitter_days: tuple[int, int] = (0, 16)  # ... plus this many days
    lines: Sequence[float] = (0.699, 0.238, 0.063)  # shares of one, two, three ... lines an order
    distinct_lines: bool = False  # no offering twice in one order
    level_quantities: bool = True  # quantities scale with a per-customer Gamma(4, 1/4) level
    quantities: tuple[int, int] = (1, 1)  # otherwise drawn in this range
    discount_share: float = 0.1  # of order lines, at 10 %
    cost_ratio: float = 0.45  # unit cost / price
    # Service contacts (inquiries, complaints) per customer: the floor of an exponential of
    # this scale (1.0: 0.58 on average, most have none, a few several).
    contacts: float = 1.0
    complaint_share: float = 1 / 3
    answered_share: float = 0.9  # of contacts
    answer_hours: tuple[float, float] = (0.0, 48.0)
    slow_share: float = 0.0  # of answered contacts, answered in slow_hours instead
    slow_hours: tuple[float, float] = (30.0, 90.0)
    resolved_after_hours: float | None = None  # answered contacts resolved this long after
    rated_share: float = 0.33  # of contacts: a satisfaction, 1-5 (slow ones 1-3, fast 3-5)
    open_inquiries: float = 0.0  # share with an inquiry waiting for an answer now
    outreach: float = 0.5
    outreach_days: int = 90  # within the last
    next_step_due: tuple[int, int] | None = None  # outreach with a next step due in days
    ratings: float = 0.1  # rate one offering they bought
    needs: float = 0.2  # a known need, met by us or elsewhere
    wallets: float = 0.6
    wallet_range: tuple[int, int] = (300, 5000)
    wallet_step: float = 0.01  # rounded to
    subscription_every: int = 0  # every n-th customer subscribes to the first offering
    derived_status: bool = False  # prospect / active (bought within 180 days) / lapsed
    summaries: bool = True  # rebuild the running summaries at the end

    def sized(self, customers: int) -> Shape:
        return dataclasses.replace(self, customers=customers)


# bench/bench_nightly.py: the nightly recompute of a realistic base.
NIGHTLY = Shape(customers=100_000)
# bench/bench_workspace.py: pages over given figures; one order, a next step each.
PORTFOLIO = Shape(
    customers=1_000,
    tenure_days=(300, 730),
    buyers=1.0,
    purchases=None,
    orders=1,
    orders_every_days=0,
    order_jitter_days=(1, 300),
    lines=(2, 1, 1),
    distinct_lines=True,
    level_quantities=False,
    discount_share=0.0,
    contacts=0.0,
    open_inquiries=0.05,
    outreach=1.0,
    outreach_days=30,
    next_step_due=(-30, 60),
    ratings=0.0,
    needs=0.0,
    wallets=0.0,
    subscription_every=20,
    summaries=False,
)
# bench/bench_ingest.py: three monthly orders each, nothing else.
INGEST = Shape(
    customers=2_000,
    tenure_days=(120, 730),
    buyers=1.0,
    purchases=None,
    orders=3,
    lines=(1,),
    level_quantities=False,
    quantities=(1, 3),
    discount_share=0.0,
    contacts=0.0,
    outreach=0.0,
    ratings=0.0,
    needs=0.0,
    wallets=1.0,
    wallet_range=(600, 1500),
)
# tests/valuation: a varied small base on which both models fit.
VALUATION_TESTS = Shape(
    customers=120,
    tenure_days=(40, 700),
    first_order_within_days=0,
    lines=(1, 1),
    distinct_lines=True,
    contacts=1.5,
    rated_share=0.3,
    outreach=0.0,
    ratings=0.3,
    needs=0.3,
    wallet_range=(200, 5000),
)

# tests/valuation: every customer buys, observed 20-100 weeks, one line an order, quantities
# from their spending level (so Gamma-Gamma has a heterogeneity to fit).
BUYERS_ONLY = Shape(
    customers=150,
    tenure_days=(140, 700),
    buyers=1.0,
    first_order_within_days=0,
    lines=(1,),
    discount_share=0.0,
    cost_ratio=11.5 / 24,
    contacts=0.0,
    outreach=0.0,
    ratings=0.0,
    needs=0.0,
    wallets=0.0,
    summaries=False,
)

# tests/test_workspace_*: every customer with an order 30 and 60 days ago, a next step due
# today and an inquiry waiting for an answer.
TODO = Shape(
    customers=30,
    tenure_days=(90, 90),
    buyers=1.0,
    purchases=None,
    orders=2,
    orders_every_days=30,
    order_jitter_days=(0, 0),
    lines=(1,),
    level_quantities=False,
    discount_share=0.0,
    contacts=0.0,
    open_inquiries=1.0,
    outreach=1.0,
    outreach_days=0,
    next_step_due=(0, 0),
    ratings=0.0,
    needs=0.0,
    wallets=0.0,
    summaries=False,
)


@dataclass
class Generated:
    customer_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def customers(self) -> int:
        return len(self.customer_ids)


# --- Bulk insert ----------------------------------------------------------------------------


def _default(f: models.Field, now: datetime):
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        return now
    if f.has_default() or (f.empty_strings_allowed and not f.null):
        return f.get_default()
    if f.null:
        return None
    raise ValueError(f"{f.model.__name__}.{f.name} needs a value")


def bulk_insert(model: type[models.Model], values: dict[str, object]) -> list[int]:
    """Insert rows given column-wise (`values`: attname -> sequence, or one value for every
    row); other columns take the model's default. Returns the new ids in insertion order."""
    now = timezone.now()
    sizes = {len(v) for v in values.values() if isinstance(v, (list, tuple, np.ndarray))}
    assert len(sizes) == 1, sizes
    n = sizes.pop()
    if n == 0:
        return []
    table, pk = model._meta.db_table, str(model._meta.pk.column)
    columns, data = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        if f.attname in values:
            value = values[f.attname]
        elif f.name in values:
            value = values[f.name]
        else:
            value = _default(f, now)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        columns.append(f)
        data.append(value)
    unknown = set(values) - {f.attname for f in columns} - {f.name for f in columns}
    assert not unknown, unknown
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max({quote(pk)}), 0) FROM {quote(table)}")
        before = cursor.fetchone()[0]
        for start in range(0, n, BATCH):
            stop = min(n, start + BATCH)
            if connection.vendor == "postgresql":
                # The SELECT list's constants come first in the SQL text, then the arrays.
                selects, constants, arrays, array_params = [], [], [], []
                for f, value in zip(columns, data, strict=True):
                    kind = f.db_type(connection)
                    if isinstance(value, list):
                        arrays.append(f"%s::{kind}[]")
                        array_params.append(value[start:stop])
                        selects.append(f"u.c{len(arrays)}")
                    else:
                        selects.append(f"%s::{kind}")
                        constants.append(f.get_db_prep_save(value, connection))
                aliases = ", ".join(f"c{k + 1}" for k in range(len(arrays)))
                cursor.execute(
                    f"INSERT INTO {quote(table)} ({names}) SELECT {', '.join(selects)} "
                    f"FROM unnest({', '.join(arrays)}) AS u({aliases})",
                    [*constants, *array_params],
                )
            else:
                prepared = [
                    [f.get_db_prep_save(v, connection) for v in value[start:stop]]
                    if isinstance(value, list)
                    else [f.get_db_prep_save(value, connection)] * (stop - start)
                    for f, value in zip(columns, data, strict=True)
                ]
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})",
                    list(zip(*prepared, strict=True)),
                )
        cursor.execute(
            f"SELECT {quote(pk)} FROM {quote(table)} WHERE {quote(pk)} > %s ORDER BY {quote(pk)}",
            [before],
        )
        return [row[0] for row in cursor.fetchall()]


# --- The base -------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, options: Sequence, size: int, weights=None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    picks = rng.choice(len(options), size=size, p=p)
    return np.array(list(options), dtype=object)[picks]


def _ago(now: datetime, days: np.ndarray) -> list[datetime]:
    """now - days (fractional) as datetimes."""
    return [now - timedelta(days=float(d)) for d in days]


def _people(words: Words, shape: Shape, rng: np.random.Generator, first: int) -> dict:
    n = shape.customers
    numbers = np.arange(first, first + n)
    if not words.first_names:
        return {
            "kind": "person",
            "name": [f"{words.prefix}{k:06d}" for k in numbers],
            "email": "",
        }
    org = rng.random(n) < words.org_share
    firsts = _choice(rng, words.first_names, n)
    lasts = _choice(rng, words.last_names, n)
    orgs = _choice(rng, words.org_words or ("",), n)
    names = [
        f"{last} {word}" if is_org else f"{first_name} {last}"
        for is_org, first_name, last, word in zip(org, firsts, lasts, orgs, strict=True)
    ]
    emails = [
        f"{(last if is_org else first_name).lower()}.{k}@{words.email_domain}."
        f"{'com' if is_org else 'net'}"
        if words.email_domain
        else ""
        for is_org, first_name, last, k in zip(org, firsts, lasts, numbers - 1, strict=True)
    ]
    return {
        "kind": np.where(org, "organization", "person"),
        "name": names,
        "email": emails,
        "phone": [
            f"+31 20 {a} {b}"
            for a, b in zip(rng.integers(100, 1000, n), rng.integers(1000, 10000, n), strict=True)
        ],
    }


def _purchase_days(shape: Shape, tenure: np.ndarray, buys: np.ndarray, rng) -> tuple:
    """(customer index, days ago) of every purchase day."""
    n = len(tenure)
    if shape.purchases is None:
        index = np.repeat(np.flatnonzero(buys), shape.orders)
        k = np.tile(np.arange(shape.orders), int(buys.sum()))
        low, high = shape.order_jitter_days
        days = shape.orders_every_days * (k + 1) + rng.integers(low, high + 1, len(index))
        return index, days.astype(np.int64)
    first_ago = np.maximum(tenure - rng.integers(0, shape.first_order_within_days + 1, n), 1)
    frequency, recency, _ = simulate_bgnbd(shape.purchases, first_ago / 7, rng=rng, day_grid=1 / 7)
    chosen_of: list[int] = []
    chosen_days: list[int] = []
    for i in np.flatnonzero(buys):
        first = int(first_ago[i])
        last = first - round(float(recency[i]) * 7)
        repeats = int(frequency[i])
        chosen = {first, last} if repeats else {first}
        if repeats > 1:  # the repeat days in between, distinct (the story's frequency)
            between = np.arange(last + 1, first)
            chosen.update(rng.choice(between, min(repeats - 1, len(between)), replace=False))
        chosen_of += [int(i)] * len(chosen)
        chosen_days += sorted(chosen, reverse=True)
    return np.array(chosen_of, dtype=np.int64), np.array(chosen_days, dtype=np.int64)


@transaction.atomic
def base_generate(
    shape: Shape,
    *,
    owners: Sequence[int | None],
    offerings: Sequence[Offering],
    seed: int = 7,
    words: Words = Words(),
    offering_weights: Sequence[float] | None = None,
    offering_costs: Sequence[float] | None = None,
    need_key_id: int | None = None,
) -> Generated:
    """Add `shape.customers` customers with their history (see the module's docstring).
    Owners are dealt round-robin; order lines pick `offerings` (by `offering_weights`), at
    their price and `offering_costs` (default: the shape's cost ratio of the price)."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    today = timezone.localdate()
    n = shape.customers
    first = Customer.objects.count() + 1
    tenure = rng.integers(shape.tenure_days[0], shape.tenure_days[1] + 1, n)
    buys = rng.random(n) < shape.buyers
    wallet_on = rng.random(n) < shape.wallets
    step = shape.wallet_step
    wallet = np.round(np.round(rng.uniform(*shape.wallet_range, n) / step) * step, 2)
    index, days = _purchase_days(shape, tenure, buys, rng)
    last_bought = np.full(n, 10**9)  # days ago of the last purchase
    np.minimum.at(last_bought, index, days)
    if shape.derived_status:
        status = np.where(
            last_bought == 10**9,
            "prospect",
            np.where(last_bought <= 180, "active", "lapsed"),
        )
    else:
        status = np.full(n, "active", dtype=object)
    preferred = _choice(rng, words.channels, n, words.channel_weights)
    if words.channels != ("",):
        preferred[rng.random(n) >= 0.7] = ""
    ids = bulk_insert(
        Customer,
        {
            **_people(words, shape, rng, first),
            "external_ref": [words.external_ref.format(n=k) for k in range(first, first + n)]
            if words.external_ref
            else None,
            "owner_id": [owners[k % len(owners)] for k in range(n)] if owners else None,
            "status": status,
            "acquired_on": [today - timedelta(days=int(t)) for t in tenure],
            "acquisition_source": _choice(rng, words.sources, n),
            "preferred_channel": preferred,
            "wallet_annual": [
                Decimal(str(w)) if on else None for w, on in zip(wallet, wallet_on, strict=True)
            ],
            "wallet_source": np.where(wallet_on, "stated", ""),
        },
    )
    customer_ids = np.array(ids, dtype=np.int64)
    counts = {"customers": len(ids)}

    # Orders, then their lines.
    order_at = [
        now - timedelta(days=int(d)) - timedelta(hours=float(h))
        for d, h in zip(days, rng.uniform(0, 10, len(days)), strict=True)
    ]
    order_at = [min(moment, now - timedelta(minutes=5)) for moment in order_at]
    order_ids = bulk_insert(
        Interaction,
        {
            "customer_id": customer_ids[index],
            "channel": words.order_channel,
            "direction": "inbound",
            "type": "order",
            "subject": words.order_subject,
            "occurred_at": order_at,
        },
    )
    counts["orders"] = len(order_ids)
    lines_per = 1 + rng.choice(
        len(shape.lines), len(order_ids), p=np.divide(shape.lines, sum(shape.lines))
    )
    line_order = np.repeat(np.arange(len(order_ids)), lines_per)
    weights = None
    if offering_weights is not None:
        weights = np.asarray(offering_weights, dtype=float) / np.sum(offering_weights)
    if shape.distinct_lines:
        picks = (
            np.concatenate(
                [rng.choice(len(offerings), k, replace=False, p=weights) for k in lines_per]
            )
            if len(lines_per)
            else np.zeros(0, dtype=np.int64)
        )
    else:
        picks = rng.choice(len(offerings), len(line_order), p=weights)
    prices = np.array([float(o.price) for o in offerings])
    costs = (
        np.array([float(c) for c in offering_costs])
        if offering_costs is not None
        else prices * shape.cost_ratio
    )
    level = rng.gamma(4.0, 0.25, n)
    if shape.level_quantities:
        quantity = np.maximum(
            1, np.round(level[index[line_order]] * (1 + rng.random(len(line_order)) * 2))
        )
    else:
        quantity = rng.integers(shape.quantities[0], shape.quantities[1] + 1, len(line_order))
    discount = np.where(rng.random(len(line_order)) < shape.discount_share, 0.1, 0.0)
    order_ids_arr = np.array(order_ids, dtype=np.int64)
    line_ids = bulk_insert(
        OrderLine,
        {
            "interaction_id": order_ids_arr[line_order],
            "offering_id": [offerings[int(k)].pk for k in picks],
            "quantity": quantity.astype(float),
            "unit_price": prices[picks],
            "unit_cost": np.round(costs[picks], 2),
            "discount": discount,
        },
    )
    counts["order_lines"] = len(line_ids)

    # Service contacts: inquiries and complaints, answered fast, slowly or never.
    contacts = (
        np.floor(-np.log(1 - rng.random(n)) * shape.contacts).astype(int)
        if shape.contacts
        else np.zeros(n, dtype=int)
    )
    who = np.repeat(np.arange(n), contacts)
    m = len(who)
    asked_days = rng.random(m) * tenure[who]
    asked = _ago(now, asked_days)
    complaint = rng.random(m) < shape.complaint_share
    answered = rng.random(m) < shape.answered_share
    slow = answered & (rng.random(m) < shape.slow_share)
    hours = np.where(slow, rng.uniform(*shape.slow_hours, m), rng.uniform(*shape.answer_hours, m))
    rated = rng.random(m) < shape.rated_share
    satisfaction = np.where(slow, rng.integers(1, 4, m), rng.integers(1, 6, m))
    if shape.slow_share:
        satisfaction = np.where(slow, satisfaction, rng.integers(3, 6, m))
    responded = [
        min(at + timedelta(hours=float(h)), now) if on else None
        for at, h, on in zip(asked, hours, answered, strict=True)
    ]
    inquiry_words = _choice(rng, words.inquiry_subjects, m)
    complaint_words = _choice(rng, words.complaint_subjects, m)
    contact_ids = bulk_insert(
        Interaction,
        {
            "customer_id": customer_ids[who],
            "channel": _choice(rng, words.contact_channels, m),
            "direction": "inbound",
            "type": np.where(complaint, "complaint", "inquiry"),
            "subject": np.where(complaint, complaint_words, inquiry_words),
            "occurred_at": asked,
            "requires_response": True,
            "first_response_at": responded,
            "resolved_at": [
                min(at + timedelta(hours=shape.resolved_after_hours), now)
                if at is not None and shape.resolved_after_hours is not None
                else None
                for at in responded
            ],
            "satisfaction": [
                int(s) if r else None for s, r in zip(satisfaction, rated, strict=True)
            ],
        },
    )
    # Inquiries waiting for an answer now.
    waiting = np.flatnonzero(rng.random(n) < shape.open_inquiries)
    open_ids = bulk_insert(
        Interaction,
        {
            "customer_id": customer_ids[waiting],
            "channel": _choice(rng, words.contact_channels, len(waiting)),
            "direction": "inbound",
            "type": "inquiry",
            "subject": _choice(rng, words.inquiry_subjects, len(waiting)),
            "occurred_at": _ago(now, rng.uniform(1, 30, len(waiting)) / 24),
            "requires_response": True,
        },
    )
    counts["contacts"] = len(contact_ids) + len(open_ids)

    # Outreach, with a next step when the shape says so.
    reached = np.flatnonzero(rng.random(n) < shape.outreach)
    k = len(reached)
    due = shape.next_step_due
    outreach_ids = bulk_insert(
        Interaction,
        {
            "customer_id": customer_ids[reached],
            "channel": words.outreach_channel,
            "direction": "outbound",
            "type": "outreach",
            "subject": words.outreach_subject,
            "occurred_at": _ago(now, rng.random(k) * shape.outreach_days),
            "next_step": words.next_step if due else "",
            "next_step_due": [
                today + timedelta(days=int(d)) for d in rng.integers(due[0], due[1] + 1, k)
            ]
            if due
            else None,
        },
    )
    counts["outreach"] = len(outreach_ids)

    # A rating of something they bought; a known need; subscriptions.
    first_line: dict[int, int] = {}
    for order, offering_index in zip(line_order, picks, strict=True):
        first_line.setdefault(int(index[order]), offerings[int(offering_index)].pk)
    raters = [i for i in sorted(first_line) if rng.random() < shape.ratings]
    counts["ratings"] = len(raters)
    counts["needs"] = 0
    bulk_insert(
        OfferingRating,
        {
            "customer_id": customer_ids[raters] if raters else [],
            "offering_id": [first_line[i] for i in raters],
            "rating": rng.integers(1, 6, len(raters)),
        },
    )
    if need_key_id is not None:
        needy = np.flatnonzero(rng.random(n) < shape.needs)
        counts["needs"] = len(needy)
        bulk_insert(
            CustomerFact,
            {
                "customer_id": customer_ids[needy],
                "key_id": need_key_id,
                "value": "weekly beans",
                "need_status": np.where(rng.random(len(needy)) < 0.5, "met_by_us", "met_elsewhere"),
            },
        )
    if shape.subscription_every:
        subscribers = customer_ids[:: shape.subscription_every]
        bulk_insert(
            ReplenishmentSubscription,
            {
                "customer_id": subscribers,
                "offering_id": offerings[0].pk,
                "interval_days": 30,
                "next_due": [
                    today + timedelta(days=int(d)) for d in rng.integers(-5, 31, len(subscribers))
                ],
            },
        )
    if shape.summaries:
        customer_summaries_rebuild(customer_ids=ids, channel_costs=channel_costs_decimal())
    return Generated(customer_ids=ids, counts=counts)


TIERS = ("mvc", "mgc", "maintain", "maintain", "maintain", "below_zero")


def figures_fake(customer_ids: Sequence[int], *, snapshot_days: int = 0, seed: int = 7) -> None:
    """Given figures (tier, CLV, growth, p_alive, share) for pages that take them as the given,
    and a daily snapshot for `snapshot_days` days, as the nightly recompute leaves them."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(customer_ids, dtype=np.int64)
    n = len(ids)
    now = timezone.now()
    if connection.vendor != "postgresql":
        raise NotImplementedError("figures_fake writes with PostgreSQL's unnest")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {CustomerFigures._meta.db_table} AS t
                (customer_id, owner_id, tier, predicted_clv, growth_potential, p_alive,
                 share_of_customer, interaction_count, last_contact_at, valuation_method,
                 wallet_peer_group, wallet_peers, figures_version, figures_computed_version)
            SELECT f.id, c.owner_id, f.tier, f.clv, f.growth, f.p_alive, f.share, f.count,
                   %s - f.days * interval '1 day', '', '', 0, 0, 0
            FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::numeric[],
                        %s::float8[], %s::float8[], %s::int[], %s::int[])
                 AS f(id, tier, clv, growth, p_alive, share, count, days)
            JOIN customers_customer c ON c.id = f.id
            ON CONFLICT (customer_id) DO UPDATE SET tier = excluded.tier,
                predicted_clv = excluded.predicted_clv,
                growth_potential = excluded.growth_potential, p_alive = excluded.p_alive,
                share_of_customer = excluded.share_of_customer,
                interaction_count = excluded.interaction_count,
                last_contact_at = excluded.last_contact_at, owner_id = excluded.owner_id
            """,
            [
                now,
                ids.tolist(),
                _choice(rng, TIERS, n).tolist(),
                rng.integers(-50, 5001, n).tolist(),
                rng.integers(0, 3001, n).tolist(),
                rng.random(n).tolist(),
                rng.random(n).tolist(),
                [3] * n,
                rng.integers(0, 401, n).tolist(),
            ],
        )
        if snapshot_days:
            cursor.execute(
                f"""
                INSERT INTO {CustomerSnapshot._meta.db_table}
                    (customer_id, taken_on, computed_at, tier, predicted_clv, p_alive)
                SELECT f.customer_id, %s::date - d, now(), f.tier,
                       f.predicted_clv * (0.9 + 0.2 * random()), random()
                FROM {CustomerFigures._meta.db_table} f, generate_series(0, %s - 1) AS d
                WHERE f.customer_id = ANY(%s)
                """,
                [timezone.localdate(), snapshot_days, ids.tolist()],
            )
