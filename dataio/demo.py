"""Demo data that looks like a real business: a specialty-coffee supplier to homes and offices.

Purchase rhythms follow the BG/NBD story (each customer buys at their own rate until they
quietly drop out), so the valuation models later have something real to fit; complaints,
inquiries with slow and fast answers, lapsed customers and prospects are mixed in. The base is
dataio.synthetic's generator in the demo's words (names, subjects); the stories are layered on
top. Everything is bulk-inserted; the figures are then computed in one bulk statement.
"""

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.roles import Role
from customers.models import (
    Customer,
    CustomerFact,
    FactKey,
    FactKind,
    LifecycleStatus,
    NeedStatus,
)
from interactions.choices import Channel, Direction, InteractionType
from interactions.models import Interaction, OfferingRating, OrderLine
from offerings.models import Category, Component, ComponentKind, Offering, Partner
from replenishment.models import ReplenishmentSubscription

from . import synthetic

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


CHANNEL_WEIGHTS = [
    (Channel.EMAIL, 5),
    (Channel.PHONE, 4),
    (Channel.WEB, 5),
    (Channel.CHAT, 2),
    (Channel.IN_PERSON, 1),
    (Channel.SOCIAL, 1),
    (Channel.SMS, 1),
]
WORDS = synthetic.Words(
    first_names=FIRST,
    last_names=LAST,
    org_words=ORG_WORDS,
    org_share=0.3,
    email_domain="example",
    sources=SOURCES,
    channels=[c for c, _ in CHANNEL_WEIGHTS],
    channel_weights=[w for _, w in CHANNEL_WEIGHTS],
    inquiry_subjects=SUBJECTS[InteractionType.INQUIRY],
    complaint_subjects=SUBJECTS[InteractionType.COMPLAINT],
    contact_channels=[Channel.EMAIL, Channel.PHONE, Channel.WEB, Channel.CHAT],
    external_ref="DEMO-{n:05d}",
)
# The demo's base (dataio.synthetic): purchase rhythms from the BG/NBD story (a rate of about
# one purchase in three weeks, a drop-out chance of about one in six after each), prospects,
# questions answered within the service level and some slowly, a few still open today.
DEMO = synthetic.Shape(
    customers=300,
    buyers=0.92,
    purchases=synthetic.BgNbdParams(r=0.9, alpha=22 / 7, a=1.2, b=6.0),
    first_order_within_days=0,
    lines=(0.9, 0.1),
    distinct_lines=True,
    level_quantities=False,
    quantities=(1, 2),
    contacts=2.0,
    complaint_share=0.25,
    answered_share=0.97,
    answer_hours=(0.2, 3.0),
    slow_share=0.2,
    resolved_after_hours=4.0,
    rated_share=0.5,
    open_inquiries=0.04,
    outreach=0.0,
    ratings=0.0,
    needs=0.0,
    wallets=0.45,
    wallet_range=(300, 20_000),
    wallet_step=50,
    derived_status=True,
    summaries=False,
)


def _at(day: date, rng: random.Random) -> datetime:
    moment = datetime.combine(day, time(hour=rng.randint(8, 18), minute=rng.randint(0, 59)))
    # Today's events happen before now, never later today.
    latest = timezone.now() - timedelta(minutes=rng.randint(5, 90))
    return min(timezone.make_aware(moment), latest)


@transaction.atomic
def demo_data_seed(*, customers: int = 300, days: int = 730, seed: int = 7) -> DemoSummary:
    """Create demo users, offerings and a history of `days` days. Safe to run twice.

    The base comes from dataio.synthetic in the demo's words; the stories are layered on top:
    the first conversation with each customer, service visits and feedback after orders, a
    "we miss you" to lapsed customers, what they taught us, ratings and subscriptions."""
    summary = DemoSummary()
    users, managers = _demo_users()
    summary.users = [
        (u.username, demo_password(u.username), spec[3].value)
        for u, spec in zip(users, DEMO_USERS, strict=True)
    ]
    offerings = _catalogue()
    if Customer.objects.exists():
        summary.skipped = True
        return summary

    # Replenished goods are what orders are; equipment and courses come with the first order
    # now and then (below).
    repeat_items = [o for o in offerings if o.replenish_every_days]
    one_off_items = [o for o in offerings if not o.replenish_every_days]
    unit_cost = {
        o.pk: sum((Decimal(c[4]) for c in spec[4]), Decimal("0"))
        for o, spec in zip(offerings, CATALOGUE, strict=True)
    }
    made = synthetic.base_generate(
        dataclasses.replace(DEMO, customers=customers, tenure_days=(30, max(31, days))),
        owners=[m.pk for m in managers],
        offerings=repeat_items,
        seed=seed,
        words=WORDS,
        offering_costs=[unit_cost[o.pk] for o in repeat_items],
    )
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    created = list(Customer.objects.filter(pk__in=made.customer_ids).order_by("pk"))
    orders: dict[int, list[datetime]] = {}
    first_orders = []
    for order_id, customer_id, when in (
        Interaction.objects.filter(customer_id__in=made.customer_ids, type=InteractionType.ORDER)
        .order_by("occurred_at", "id")
        .values_list("id", "customer_id", "occurred_at")
    ):
        if customer_id not in orders:
            first_orders.append(order_id)
        orders.setdefault(customer_id, []).append(when)
    extras = []
    for order_id in first_orders:
        if rng.random() < 0.5:
            item = rng.choice(one_off_items)
            extras.append(
                OrderLine(
                    interaction_id=order_id,
                    offering=item,
                    quantity=Decimal(1),
                    unit_price=item.price,
                    unit_cost=unit_cost[item.pk],
                )
            )
    OrderLine.objects.bulk_create(extras)

    stories = []

    def add(customer, kind, when, direction, subject, *, channel=None, **extra):
        if when > now:
            return  # follow-ups of today's orders have not happened yet
        stories.append(
            Interaction(
                customer=customer,
                channel=channel or customer.preferred_channel or Channel.EMAIL,
                direction=direction,
                type=kind,
                subject=subject,
                occurred_at=when,
                logged_by=customer.owner,
                **extra,
            )
        )

    for customer in created:
        bought = orders.get(customer.pk, [])
        add(
            customer,
            InteractionType.OUTREACH
            if customer.status == LifecycleStatus.PROSPECT
            else InteractionType.TEACHING,
            _at(customer.acquired_on, rng),
            Direction.OUTBOUND,
            "First conversation: needs and set-up",
        )
        for when in bought:
            roll = rng.random()
            if roll < 0.08:
                add(
                    customer,
                    InteractionType.SERVICE,
                    when + timedelta(days=3),
                    Direction.OUTBOUND,
                    rng.choice(SUBJECTS[InteractionType.SERVICE]),
                    channel=Channel.IN_PERSON,
                )
            elif roll < 0.12:
                add(
                    customer,
                    InteractionType.FEEDBACK,
                    when + timedelta(days=5),
                    Direction.INBOUND,
                    rng.choice(SUBJECTS[InteractionType.FEEDBACK]),
                    satisfaction=rng.randint(4, 5),
                )
        if customer.status == LifecycleStatus.LAPSED and rng.random() < 0.5:
            last_day = bought[-1].date() if bought else customer.acquired_on
            add(
                customer,
                InteractionType.OUTREACH,
                _at(min(today, last_day + timedelta(days=120)), rng),
                Direction.OUTBOUND,
                "We miss you: seasonal roast sample",
                next_step="Call to follow up",
                next_step_due=min(today + timedelta(days=14), last_day + timedelta(days=134)),
            )
    saved = Interaction.objects.bulk_create(stories, batch_size=2000)
    _demo_facts(rng, created, saved, today)
    summary.customers = len(created)
    summary.interactions = Interaction.objects.filter(customer_id__in=made.customer_ids).count()
    summary.order_lines = made.counts["order_lines"] + len(extras)
    return summary


def _demo_facts(rng, customers, interactions, today) -> None:
    """What the demo customers taught us, their ratings and a few subscriptions (bulk)."""
    teachings = {
        i.customer_id: i
        for i in interactions
        if i.type in (InteractionType.TEACHING, InteractionType.OUTREACH)
    }
    offerings = {o.pk: o for o in Offering.objects.all()}
    held: dict[int, set] = {}
    for customer_id, offering_id in (
        OrderLine.objects.filter(interaction__customer__in=customers)
        .values_list("interaction__customer_id", "offering_id")
        .distinct()
    ):
        held.setdefault(customer_id, set()).add(offerings[offering_id])
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
