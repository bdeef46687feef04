"""Who may reach what: every URL pattern of the project (UI pages and API endpoints) × role
(admin ada, alice the customer's manager, bob another manager, charlie support staff,
anonymous) × action, with the exact status. A new URL pattern fails this test until it is added
to the matrix. Money figures are hidden from support staff; guessing ids reveals nothing.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from core.money import MONEY_FIELDS
from dataio.models import ImportJob

from .factories import CustomerFactory, OfferingFactory
from .valuation.history import log_contact, log_order

pytestmark = pytest.mark.django_db

ROLES = ("ada", "alice", "bob", "charlie", "anonymous")
PUBLIC = "same for everyone"  # /healthz answers 200 or 503 depending on the worker, not the role

# GET of every named URL pattern: expected status for ada, alice, bob, charlie, anonymous.
# 302 for anonymous UI pages is the redirect to the sign-in page; the API answers 403.
GET_MATRIX = {
    "home": (302, 302, 302, 302, 302),
    "healthz": PUBLIC,
    "login": (302, 302, 302, 302, 200),
    "logout": (405, 405, 405, 405, 405),
    "customers:list": (200, 200, 200, 200, 302),
    "customers:portfolio": (302, 200, 200, 302, 302),
    "customers:create": (200, 200, 200, 403, 302),
    "customers:detail": (200, 200, 404, 200, 302),
    "customers:edit": (200, 200, 404, 404, 302),
    "customers:preference-link-rotate": (405, 405, 405, 405, 302),
    "interactions:search": (200, 200, 200, 200, 302),
    "interactions:queue": (200, 200, 200, 200, 302),
    "interactions:log": (200, 200, 404, 200, 302),
    "interactions:rate": (200, 200, 404, 200, 302),
    "interactions:respond": (405, 405, 405, 405, 302),
    "interactions:resolve": (405, 405, 405, 405, 302),
    "interactions:take": (405, 405, 405, 405, 302),
    "admin:index": (200, 302, 302, 302, 302),
    "api-token": (405, 405, 405, 405, 405),
    "api-customers": (200, 200, 200, 200, 403),
    "api-customer": (200, 200, 404, 200, 403),
    "api-customer-timeline": (200, 200, 404, 200, 403),
    "api-customer-facts": (200, 200, 404, 200, 403),
    "api-customer-figures-history": (200, 200, 404, 200, 403),
    "api-interactions": (200, 200, 200, 200, 403),
    # Batches take POST only (tests/api_batch).
    "api-interactions-batch": (405, 405, 405, 405, 403),
    "api-customers-batch": (405, 405, 405, 405, 403),
    "api-interaction": (200, 200, 404, 200, 403),
    "api-offerings": (200, 200, 200, 200, 403),
    "api-offering": (200, 200, 200, 200, 403),
    "api-valuation-fits": (200, 403, 403, 403, 403),
    "schema": (200, 200, 200, 200, 200),
    "api-docs": (200, 200, 200, 200, 200),
    "api-customer-next-best-offerings": (200, 200, 404, 200, 403),
    # The customer's own page: the signed link is the credential, whoever opens it.
    "preference-centre": (200, 200, 200, 200, 200),
    "workspace:todo": (403, 200, 200, 403, 302),
    "workspace:map": (403, 200, 200, 403, 302),
    "workspace:scorecards": (200, 403, 403, 403, 302),
    "workspace:offer-make": (405, 405, 405, 405, 302),
    "workspace:offer-outcome": (405, 405, 405, 405, 302),
    # Bulk data and privacy: exports scoped by role, imports and privacy actions for admins.
    "api-customer-erase": (405, 405, 405, 405, 403),
    "api-customer-export": (200, 403, 403, 403, 403),
    "api-customers-export": (200, 200, 200, 200, 403),
    "api-import": (200, 403, 403, 403, 403),
    "api-imports": (405, 405, 405, 405, 403),
    "dataio:customer-erase": (200, 403, 403, 403, 302),
    "dataio:customer-export": (200, 403, 403, 403, 302),
    "dataio:customers-csv": (200, 200, 200, 200, 302),
    "dataio:home": (200, 200, 200, 200, 302),
    "dataio:job": (200, 403, 403, 403, 302),
    "dataio:job-progress": (200, 403, 403, 403, 302),
    "dataio:job-report": (200, 403, 403, 403, 302),
    "dataio:job-status": (200, 403, 403, 403, 302),
    "dataio:upload": (405, 405, 405, 405, 302),
    # The inbound mail endpoint takes only its own token or signature, never a staff session.
    "api-mail-inbound": (405, 405, 405, 405, 405),
    # The local mailbox exists only in the embedded default (tests/mail/test_local_mailbox.py).
    "mail-local:list": (404, 404, 404, 404, 302),
    "mail-local:write": (404, 404, 404, 404, 302),
    "mail-local:answer": (404, 404, 404, 404, 302),
}

# Writes with an empty body: 400 means "allowed, but say what you want"; 403/404 mean refused.
WRITE_MATRIX = {
    ("post", "api-token"): (400, 400, 400, 400, 400),
    ("post", "api-customers"): (400, 400, 400, 403, 403),
    ("patch", "api-customer"): (200, 200, 404, 403, 403),
    ("post", "api-customer-facts"): (400, 400, 404, 400, 403),
    ("post", "api-interactions"): (400, 400, 400, 400, 403),
    ("post", "api-interactions-batch"): (400, 400, 400, 400, 403),
    # Support staff neither create nor edit customers.
    ("post", "api-customers-batch"): (400, 400, 400, 403, 403),
    ("patch", "api-interaction"): (200, 200, 404, 200, 403),
    ("post", "api-offerings"): (400, 403, 403, 403, 403),
    ("patch", "api-offering"): (200, 403, 403, 403, 403),
    ("post", "api-valuation-fits"): (202, 403, 403, 403, 403),
    # UI actions on alice's customer's interaction (sign-in redirect for anonymous).
    ("post", "customers:edit"): (200, 200, 404, 404, 302),
    # A new preference-centre link: staff who see the customer (back to the customer page).
    ("post", "customers:preference-link-rotate"): (302, 302, 404, 302, 302),
    # An empty log form is refused (400) and re-rendered with its errors.
    ("post", "interactions:log"): (400, 400, 404, 400, 302),
    ("post", "interactions:take"): (302, 302, 404, 302, 302),
    # Off until MAIL_INBOUND_TOKEN or _SECRET is set (tests/mail/test_ways_in.py: with one).
    ("post", "api-mail-inbound"): (404, 404, 404, 404, 404),
}


def url_names(patterns=None, namespace=""):
    """Every named URL pattern of the project; the admin counts as its index only."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                yield "admin:index"
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


@pytest.fixture
def world(ada, alice, bob, charlie):
    customer = CustomerFactory(owner=alice)
    offering = OfferingFactory()
    log_order(customer, offering, days_ago=40)
    interaction = log_contact(customer, days_ago=1, requires_response=True)
    users = {"ada": ada, "alice": alice, "bob": bob, "charlie": charlie, "anonymous": None}
    import_job = ImportJob.objects.create(kind="transactions", file_name="log.csv")
    return {
        "customer": customer,
        "offering": offering,
        "interaction": interaction,
        "users": users,
        "import_job": import_job,
    }


def path_for(name: str, world) -> str:
    pattern_kwargs = {
        "customer_id": world["customer"].pk,
        "interaction_id": world["interaction"].pk,
    }
    if name in {"api-offering"}:
        return reverse(name, kwargs={"pk": world["offering"].pk})
    if name == "preference-centre":
        from customers.preference_links import preference_link_token

        return reverse(name, args=[preference_link_token(customer=world["customer"])])
    if name in {"dataio:job", "dataio:job-progress", "dataio:job-report", "dataio:job-status"}:
        return reverse(name, kwargs={"job_id": world["import_job"].pk})
    if name == "api-import":
        return reverse(name, kwargs={"pk": world["import_job"].pk})
    if name in {"api-interaction"}:
        return reverse(name, kwargs={"pk": world["interaction"].pk})
    if name == "mail-local:answer":
        return reverse(name, kwargs={"key": "1733000000.M1P1.host"})
    for kwargs in ({}, {"pk": world["customer"].pk}, *({k: v} for k, v in pattern_kwargs.items())):
        try:
            return reverse(name, kwargs=kwargs)
        except Exception:
            continue
    raise AssertionError(f"cannot build a path for {name}")


def client_as(user, *, api: bool):
    client = APIClient() if api else Client()
    if user is not None:
        client.force_login(user)
    return client


def test_it_covers_every_url_pattern_of_the_project():
    names = set(url_names())
    missing = names - set(GET_MATRIX)
    assert not missing, f"add these URL patterns to the access matrix: {sorted(missing)}"
    assert not set(GET_MATRIX) - names, "the matrix lists patterns that no longer exist"


@pytest.mark.parametrize("name", sorted(GET_MATRIX))
def test_it_answers_a_get_with_the_exact_status_for_each_role(name, world):
    path = path_for(name, world)
    statuses = tuple(
        client_as(world["users"][role], api=False).get(path).status_code for role in ROLES
    )
    expected = GET_MATRIX[name]
    if expected == PUBLIC:
        assert len(set(statuses)) == 1 and statuses[0] in (200, 503), statuses
    else:
        assert statuses == expected


@pytest.mark.parametrize(("method", "name"), sorted(WRITE_MATRIX))
def test_it_answers_a_write_with_the_exact_status_for_each_role(method, name, world):
    path = path_for(name, world)
    statuses = []
    for role in ROLES:
        api = name.startswith("api")
        client = client_as(world["users"][role], api=api)
        if api:
            response = getattr(client, method)(path, {}, format="json")
        else:
            response = getattr(client, method)(path, {})
        statuses.append(response.status_code)
    assert tuple(statuses) == WRITE_MATRIX[(method, name)]


def test_it_hides_money_figures_from_support_staff(world):
    customer = world["customer"]
    for role, sees_money in (("ada", True), ("alice", True), ("charlie", False)):
        client = client_as(world["users"][role], api=True)
        detail = client.get(f"/api/customers/{customer.pk}/").json()
        listed = client.get("/api/customers/").json()["results"][0]
        history = client.get(f"/api/customers/{customer.pk}/figures-history/").json()
        for body in (detail, listed, *history.get("results", [])):
            assert (set(MONEY_FIELDS) & set(body) != set()) == sees_money, (role, body)


def test_it_answers_a_guessed_id_exactly_like_a_missing_one(world):
    bob = client_as(world["users"]["bob"], api=True)
    taken = world["customer"].pk
    missing = taken + 100_000
    for template in (
        "/api/customers/{}/",
        "/api/customers/{}/timeline/",
        "/api/customers/{}/facts/",
    ):
        someone_elses = bob.get(template.format(taken))
        nonexistent = bob.get(template.format(missing))
        assert someone_elses.status_code == nonexistent.status_code == 404
        assert someone_elses.json() == nonexistent.json()
    interaction = world["interaction"].pk
    assert bob.get(f"/api/interactions/{interaction}/").json() == (
        bob.get(f"/api/interactions/{interaction + 100_000}/").json()
    )
    # And bob's list of interactions does not include alice's customer's.
    ids = {row["id"] for row in bob.get("/api/interactions/").json()["results"]}
    assert interaction not in ids
