"""Demo data that looks like a real business: a specialty-coffee supplier to homes and offices.

Purchase rhythms follow the BG/NBD story (each customer buys at their own rate until they
quietly drop out), so the valuation models later have something real to fit; complaints,
inquiries with slow and fast answers, lapsed customers and prospects are mixed in.
Everything is bulk-inserted; the figures are then computed in one bulk statement.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction, OfferingRating, OrderLine
from offerings.models import Category, Component, ComponentKind, Offering, Partner
from replenishment.models import ReplenishmentSubscription

from .models import (
    Customer,
    CustomerFact,
    CustomerKind,
    FactKey,
    FactKind,
    LifecycleStatus,
    NeedStatus,
    WalletSource,
)

# Local-only demo accounts. The passwords are printed by seed_demo and listed in the README;
# they must never exist on a production system.
DEMO_USERS = [
    ("admin", "Ada", "Admin", Role.ADMIN),
    ("alice", "Alice", "Martin", Role.MANAGER),
    ("bob", "Bob", "Okafor", Role.MANAGER),
    ("dana", "Dana", "Lindqvist", Role.MANAGER),
    ("charlie", "Charlie", "Nguyen", Role.SUPPORT),
]


def demo_password(username: str) -> str:
    return f"{username}-demo-2026"


FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Yara",
    "Zoe",
    "Elena",
    "Marco",
    "Priya",
    "Tomás",
    "Aiko",
    "Lars",
]
LAST = [
    "Keller",
    "Dubois",
    "Rossi",
    "Novak",
    "Jensen",
    "García",
    "Schmidt",
    "Okafor",
    "Berg",
    "Silva",
    "Kowalski",
    "Meyer",
    "Laurent",
    "Costa",
    "Haas",
    "Moreau",
    "Fischer",
    "Ito",
    "Brennan",
    "Varga",
    "Larsen",
    "Petit",
    "Weber",
    "Romano",
    "Sato",
    "Quinn",
]
ORG_WORDS = [
    "Studio",
    "Partners",
    "Labs",
    "Architects",
    "Legal",
    "Clinic",
    "Design",
    "Works",
    "Consulting",
    "Bakery",
    "Agency",
    "Logistics",
    "Dental",
    "Media",
    "Capital",
]
SOURCES = ["web search", "trade fair", "referral", "newsletter", "partner", "walk-in"]

CATALOGUE = [
    # category, offering, price, replenish days, components (name, kind, partner, price, cost)
    (
        "Coffee supply",
        "House blend, 1 kg",
        "24.00",
        30,
        [("Roasted beans 1 kg", "product", "RoastWorks", "24.00", "11.50")],
    ),
    (
        "Coffee supply",
        "Single origin subscription, 2 kg",
        "58.00",
        30,
        [
            ("Single origin beans 2 kg", "product", "RoastWorks", "50.00", "26.00"),
            ("Tasting notes and brew guide", "service", None, "8.00", "1.00"),
        ],
    ),
    (
        "Coffee supply",
        "Office bean box, 5 kg",
        "110.00",
        30,
        [
            ("Roasted beans 5 kg", "product", "RoastWorks", "100.00", "52.00"),
            ("Delivery to the desk", "service", "SwiftCargo", "10.00", "6.00"),
        ],
    ),
    (
        "Brewing equipment",
        "Home espresso machine",
        "690.00",
        None,
        [
            ("Espresso machine", "product", None, "640.00", "430.00"),
            ("Set-up visit", "service", None, "50.00", "25.00"),
        ],
    ),
    (
        "Brewing equipment",
        "Office bean-to-cup machine",
        "2400.00",
        None,
        [
            ("Bean-to-cup machine", "product", None, "2100.00", "1450.00"),
            ("Installation", "service", "CleanBrew Services", "300.00", "170.00"),
        ],
    ),
    (
        "Brewing equipment",
        "Grinder",
        "240.00",
        None,
        [("Burr grinder", "product", None, "240.00", "150.00")],
    ),
    (
        "Machine maintenance",
        "Descaling and service plan",
        "90.00",
        90,
        [
            ("Descaling visit", "service", "CleanBrew Services", "70.00", "42.00"),
            ("Descaler and filters", "product", None, "20.00", "7.00"),
        ],
    ),
    (
        "Machine maintenance",
        "Water filters, 6 pack",
        "36.00",
        60,
        [("Water filters", "product", None, "36.00", "14.00")],
    ),
    (
        "Barista training",
        "Latte art workshop",
        "120.00",
        None,
        [("Half-day workshop", "service", None, "120.00", "55.00")],
    ),
    (
        "Barista training",
        "Office barista course",
        "480.00",
        None,
        [
            ("On-site course for a team", "service", "BrewAcademy", "450.00", "260.00"),
            ("Course kit", "product", None, "30.00", "12.00"),
        ],
    ),
]

SUBJECTS = {
    InteractionType.INQUIRY: [
        "Question about delivery times",
        "Which beans for a moka pot?",
        "Invoice copy needed",
        "Can we change the grind?",
        "Opening hours over the holidays",
    ],
    InteractionType.COMPLAINT: [
        "Delivery arrived late",
        "Machine leaking water",
        "Beans tasted stale",
        "Wrong item delivered",
        "Charged twice",
    ],
    InteractionType.SERVICE: ["Descaling visit", "Grinder adjustment", "Machine check-up"],
    InteractionType.FEEDBACK: ["Loved the new roast", "Idea: decaf option in the office box"],
    InteractionType.OUTREACH: ["Checking in after the first month", "New seasonal roast"],
}


@dataclass
class DemoSummary:
    users: list[tuple[str, str, str]] = field(default_factory=list)
    customers: int = 0
    interactions: int = 0
    order_lines: int = 0
    skipped: bool = False


def _demo_users() -> tuple[list, list]:
    User = get_user_model()
    created = []
    for username, first, last, role in DEMO_USERS:
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        user.set_password(demo_password(username))
        user.is_staff = role == Role.ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        created.append(user)
    managers = [u for u, spec in zip(created, DEMO_USERS, strict=True) if spec[3] == Role.MANAGER]
    return created, managers


def _catalogue() -> list[Offering]:
    offerings = []
    for category_name, name, price, every, components in CATALOGUE:
        category, _ = Category.objects.get_or_create(name=category_name)
        offering, made = Offering.objects.get_or_create(
            name=name,
            defaults={"category": category, "price": Decimal(price), "replenish_every_days": every},
        )
        if made:
            for c_name, kind, partner_name, c_price, c_cost in components:
                partner = (
                    Partner.objects.get_or_create(name=partner_name)[0] if partner_name else None
                )
                Component.objects.create(
                    offering=offering,
                    name=c_name,
                    kind=ComponentKind(kind),
                    partner=partner,
                    price=Decimal(c_price),
                    cost=Decimal(c_cost),
                )
        offerings.append(offering)
    return offerings


def _at(day: date, rng: random.Random) -> datetime:
    moment = datetime.combine(day, time(hour=rng.randint(8, 18), minute=rng.randint(0, 59)))
    # Today's events happen before now, never later today.
    latest = timezone.now() - timedelta(minutes=rng.randint(5, 90))
    return min(timezone.make_aware(moment), latest)


@transaction.atomic
def demo_data_seed(*, customers: int = 300, days: int = 730, seed: int = 7) -> DemoSummary:
    """Create demo users, offerings and a history of `days` days. Safe to run twice."""
    summary = DemoSummary()
    users, managers = _demo_users()
    summary.users = [
        (u.username, demo_password(u.username), spec[3].value)
        for u, spec in zip(users, DEMO_USERS, strict=True)
    ]
    support = users[-1]
    offerings = _catalogue()
    if Customer.objects.exists():
        summary.skipped = True
        return summary

    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    start = today - timedelta(days=days)
    channel_weights = [
        (Channel.EMAIL, 5),
        (Channel.PHONE, 4),
        (Channel.WEB, 5),
        (Channel.CHAT, 2),
        (Channel.IN_PERSON, 1),
        (Channel.SOCIAL, 1),
        (Channel.SMS, 1),
    ]
    channels, weights = zip(*channel_weights, strict=True)
    # Replenished goods are what most orders are; equipment and courses come now and then.
    repeat_items = [o for o in offerings if o.replenish_every_days]
    one_off_items = [o for o in offerings if not o.replenish_every_days]
    unit_cost = {
        o.pk: sum((Decimal(c[4]) for c in spec[4]), Decimal("0"))
        for o, spec in zip(offerings, CATALOGUE, strict=True)
    }

    customer_rows, histories = [], []
    for n in range(customers):
        is_org = rng.random() < 0.3
        tld = "com" if is_org else "net"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{last} {rng.choice(ORG_WORDS)}" if is_org else f"{first} {last}"
        acquired = start + timedelta(days=int(rng.random() ** 1.3 * (days - 30)))
        # BG/NBD-style: a purchase rate per day from a gamma, a drop-out chance per purchase.
        rate = rng.gammavariate(0.9, 1 / 22) * (2.5 if is_org else 1.0)
        dropout = rng.betavariate(1.2, 6)
        purchases, day = [], acquired
        prospect = rng.random() < 0.08
        while not prospect:
            day = day + timedelta(days=max(1, int(rng.expovariate(rate)))) if purchases else day
            if day > today:
                break
            purchases.append(day)
            if rng.random() < dropout:
                break
        wallet = None
        if purchases and rng.random() < 0.45:
            # Their yearly category spend: what they buy from us at their rate, and more elsewhere.
            yearly_with_us = rate * 365 * (150 if is_org else 55)
            wallet = Decimal(max(100, int(yearly_with_us * rng.uniform(1.2, 5) / 50) * 50))
        last_purchase = purchases[-1] if purchases else None
        if prospect:
            status = LifecycleStatus.PROSPECT
        elif last_purchase and (today - last_purchase).days <= 180:
            status = LifecycleStatus.ACTIVE
        else:
            status = LifecycleStatus.LAPSED
        customer_rows.append(
            Customer(
                kind=CustomerKind.ORGANIZATION if is_org else CustomerKind.PERSON,
                name=name,
                email=f"{(last if is_org else first).lower()}.{n}@example.{tld}",
                phone=f"+31 20 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                external_ref=f"DEMO-{n + 1:05d}",
                owner=managers[n % len(managers)],
                status=status,
                acquired_on=acquired,
                acquisition_source=rng.choice(SOURCES),
                preferred_channel=rng.choices(channels, weights)[0] if rng.random() < 0.7 else "",
                wallet_annual=wallet,
                wallet_source=rng.choice([WalletSource.STATED, WalletSource.ESTIMATED])
                if wallet
                else "",
            )
        )
        histories.append((acquired, purchases, is_org))
    created = Customer.objects.bulk_create(customer_rows)

    interactions, lines_for = [], []
    for customer, (acquired, purchases, is_org) in zip(created, histories, strict=True):
        favourite = rng.choice(repeat_items)
        preferred = customer.preferred_channel or Channel.EMAIL

        def add(
            kind,
            when,
            direction,
            subject,
            *,
            channel=None,
            owner=customer.owner,
            customer=customer,
            preferred=preferred,
            **extra,
        ):
            if when > now:
                return  # follow-ups of today's orders have not happened yet
            interactions.append(
                Interaction(
                    customer=customer,
                    channel=channel or preferred,
                    direction=direction,
                    type=kind,
                    subject=subject,
                    occurred_at=when,
                    logged_by=owner,
                    **extra,
                )
            )

        add(
            InteractionType.OUTREACH
            if customer.status == LifecycleStatus.PROSPECT
            else InteractionType.TEACHING,
            _at(acquired, rng),
            Direction.OUTBOUND,
            "First conversation: needs and set-up",
        )
        for i, day in enumerate(purchases):
            when = _at(day, rng)
            add(InteractionType.ORDER, when, Direction.INBOUND, f"Order #{len(interactions) + 1}")
            items = [favourite] if rng.random() < 0.75 else [rng.choice(repeat_items)]
            if i == 0 and rng.random() < 0.5:
                items.append(rng.choice(one_off_items))
            lines_for.append(
                (
                    len(interactions) - 1,
                    [
                        (
                            o,
                            Decimal(rng.randint(1, 4 if is_org else 2)),
                            Decimal(rng.choice(["0", "0", "0", "0.05", "0.10"])),
                        )
                        for o in items
                    ],
                )
            )
            # Service contacts around the orders: questions, the odd complaint, feedback.
            roll = rng.random()
            if roll < 0.22 or roll > 0.93:
                kind = InteractionType.COMPLAINT if roll > 0.93 else InteractionType.INQUIRY
                asked = when + timedelta(hours=rng.randint(1, 72))
                # Most answers come within the service level; some are slow.
                slow = rng.random() < 0.2
                answered = asked + timedelta(
                    hours=rng.uniform(30, 90) if slow else rng.uniform(0.2, 3)
                )
                open_now = asked.date() > today - timedelta(days=4) and rng.random() < 0.6
                add(
                    kind,
                    asked,
                    Direction.INBOUND,
                    rng.choice(SUBJECTS[kind]),
                    channel=rng.choices(channels, weights)[0],
                    owner=support,
                    requires_response=True,
                    first_response_at=None if open_now else min(answered, timezone.now()),
                    resolved_at=None
                    if open_now
                    else min(answered + timedelta(hours=4), timezone.now()),
                    satisfaction=None
                    if open_now or rng.random() < 0.5
                    else (rng.randint(1, 3) if slow else rng.randint(3, 5)),
                )
            elif roll < 0.3:
                add(
                    InteractionType.SERVICE,
                    when + timedelta(days=3),
                    Direction.OUTBOUND,
                    rng.choice(SUBJECTS[InteractionType.SERVICE]),
                    channel=Channel.IN_PERSON,
                )
            elif roll < 0.34:
                add(
                    InteractionType.FEEDBACK,
                    when + timedelta(days=5),
                    Direction.INBOUND,
                    rng.choice(SUBJECTS[InteractionType.FEEDBACK]),
                    satisfaction=rng.randint(4, 5),
                )
        if customer.status == LifecycleStatus.LAPSED and rng.random() < 0.5:
            last_day = purchases[-1] if purchases else acquired
            add(
                InteractionType.OUTREACH,
                _at(min(today, last_day + timedelta(days=120)), rng),
                Direction.OUTBOUND,
                "We miss you: seasonal roast sample",
                next_step="Call to follow up",
                next_step_due=min(today + timedelta(days=14), last_day + timedelta(days=134)),
            )
        # A few inbound questions still waiting for an answer today.
        if rng.random() < 0.04:
            add(
                InteractionType.INQUIRY,
                timezone.now() - timedelta(hours=rng.randint(1, 30)),
                Direction.INBOUND,
                rng.choice(SUBJECTS[InteractionType.INQUIRY]),
                channel=rng.choices(channels, weights)[0],
                owner=support,
                requires_response=True,
            )

    saved = Interaction.objects.bulk_create(interactions, batch_size=2000)
    order_lines = [
        OrderLine(
            interaction=saved[index],
            offering=offering,
            quantity=qty,
            unit_price=offering.price,
            discount=discount,
            unit_cost=unit_cost[offering.pk],
        )
        for index, items in lines_for
        for offering, qty, discount in items
    ]
    OrderLine.objects.bulk_create(order_lines, batch_size=2000)
    _demo_knowledge(rng, created, saved, order_lines, today)
    summary.customers, summary.interactions, summary.order_lines = (
        len(created),
        len(saved),
        len(order_lines),
    )
    return summary


def _demo_knowledge(rng, customers, interactions, order_lines, today) -> None:
    """What the demo customers taught us, their ratings and a few subscriptions (bulk)."""
    teachings = {
        i.customer_id: i
        for i in interactions
        if i.type in (InteractionType.TEACHING, InteractionType.OUTREACH)
    }
    held: dict[int, set] = {}
    for line in order_lines:
        held.setdefault(line.interaction.customer_id, set()).add(line.offering)
    needs = {
        category.pk: FactKey.objects.get_or_create(
            key=f"needs_{category.pk}",
            defaults={
                "label": category.name,
                "kind": FactKind.NEED,
                "category": category,
                "question": f"Do you need {category.name.lower()}?",
                "value_weight": 70,
            },
        )[0]
        for category in Category.objects.all()
    }
    delivery = FactKey.objects.get(key="delivery_window")
    taste = FactKey.objects.get(key="taste_profile")
    facts, ratings, subscriptions = [], [], []
    for customer in customers:
        taught_in = teachings.get(customer.pk)
        owner = customer.owner
        bought = held.get(customer.pk, set())
        if rng.random() < 0.6:
            facts.append(
                CustomerFact(
                    customer=customer,
                    key=delivery,
                    value=rng.choice(delivery.choices),
                    source_interaction=taught_in,
                    recorded_by=owner,
                )
            )
        if rng.random() < 0.4:
            facts.append(
                CustomerFact(
                    customer=customer,
                    key=taste,
                    value=rng.choice(taste.choices),
                    source_interaction=taught_in,
                    recorded_by=owner,
                )
            )
        bought_categories = {o.category_id for o in bought}
        for category_id, key in needs.items():
            if category_id in bought_categories:
                status = NeedStatus.MET_BY_US
            elif rng.random() < 0.25:
                status = rng.choice([NeedStatus.UNMET, NeedStatus.MET_ELSEWHERE])
            else:
                continue
            facts.append(
                CustomerFact(
                    customer=customer,
                    key=key,
                    value="yes",
                    need_status=status,
                    source_interaction=taught_in,
                    recorded_by=owner,
                )
            )
        for offering in bought:
            if rng.random() < 0.35:
                ratings.append(
                    OfferingRating(
                        customer=customer,
                        offering=offering,
                        rating=rng.choices([2, 3, 4, 5], [1, 2, 4, 4])[0],
                        recorded_by=owner,
                    )
                )
        repeat = [o for o in bought if o.replenish_every_days]
        if repeat and customer.status == LifecycleStatus.ACTIVE and rng.random() < 0.2:
            offering = rng.choice(repeat)
            subscriptions.append(
                ReplenishmentSubscription(
                    customer=customer,
                    offering=offering,
                    interval_days=offering.replenish_every_days,
                    next_due=today + timedelta(days=rng.randint(-3, offering.replenish_every_days)),
                )
            )
    CustomerFact.objects.bulk_create(facts, batch_size=2000)
    OfferingRating.objects.bulk_create(ratings, batch_size=2000)
    ReplenishmentSubscription.objects.bulk_create(subscriptions)
