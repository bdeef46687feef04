"""Bad input, generated for the HTML side as test_schema_fuzz.py does for the API: for every
HTML page of the project (found by walking the URL resolver, not a hand list) and every role
(anonymous, alice the manager, charlie support, ada the admin), Hypothesis sends generated
query strings and form posts, and no answer may be a 5xx.

What is fuzzed is discovered, so it cannot go stale:
- each page is opened as every role and its rendered HTML parsed: every <form> (method, action,
  fields with their type and options) and every link back to the page (its query parameters);
- the page's view module is read for the query parameters it takes (`request.GET.get("x")`).

Values: the field's own valid options and plausible values, and what an attacker or a
careless user types: empty, huge, unicode, NUL, negative, non-numeric, huge and tiny numbers,
extreme and impossible dates, wrong ids and ids of other customers (bob's). Each example runs
in a savepoint that is rolled back, so examples do not see each other's writes. Examples are
derandomized: CI sends the same ones every run.
"""

import copy
import importlib
import inspect
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.facts import customer_fact_record
from customers.models import Customer, CustomerEmail
from interactions.choices import OfferOutcome
from interactions.models import Interaction
from interactions.services import interaction_log
from mail.models import Message
from portal.models import Idea, IdeaVote, PortalAccount, Review, Tip
from portal.signin import portal_sign_in_issue
from replenishment.services import replenishment_set_status, replenishment_subscribe
from workspace.services import offering_affinities_refresh, todo_done

from ..factories import CustomerFactory, OfferingFactory
from ..test_security_access import path_for, url_names, world  # noqa: F401 - a fixture
from ..valuation.history import log_contact, log_order

pytestmark = pytest.mark.django_db

EXAMPLES_PER_PAGE_AND_ROLE = 4
# "customer": a customer signed in to the portal (its session key, no staff user).
ROLES = ("anonymous", "alice", "charlie", "ada", "customer")
# The API is fuzzed from its schema (test_schema_fuzz.py); the Django admin is Django's own.
NOT_HTML = ("api-", "schema", "admin:")
HTML_PAGES = sorted(name for name in url_names() if not name.startswith(NOT_HTML))
NEVER_SENT = {"csrfmiddlewaretoken"}  # the test client does not check CSRF


# --- What a page offers: its forms and links, read from its HTML ---------------------------


@dataclass
class Field:
    kind: str  # an <input> type, "select" or "textarea"
    options: list[str] = field(default_factory=list)  # select options, checkbox/radio values


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, Field] = field(default_factory=dict)


class PageParser(HTMLParser):
    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.forms: list[Form] = []
        self.link_params: set[str] = set()
        self._form: Form | None = None
        self._select: Field | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            href = urlsplit(attrs["href"])
            if href.path in ("", self.path):
                self.link_params |= {name for name, _ in parse_qsl(href.query)}
        elif tag == "form":
            action = urlsplit(attrs.get("action") or self.path).path or self.path
            self._form = Form(method=(attrs.get("method") or "get").lower(), action=action)
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea", "button"):
            name = attrs.get("name")
            if not name or name in NEVER_SENT:
                return
            default = "submit" if tag == "button" else "text"
            kind = tag if tag in ("select", "textarea") else (attrs.get("type") or default)
            known = self._form.fields.setdefault(name, Field(kind=kind))
            if "value" in attrs and kind in ("hidden", "checkbox", "radio", "submit"):
                known.options.append(attrs["value"])
            if tag == "select":
                self._select = known
        elif tag == "option" and self._select is not None:
            self._select.options.append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


GET_PARAM = re.compile(r"""GET\.get\(\s*["'](\w+)["']""")


def view_query_params(path: str) -> set[str]:
    """The query parameters the page's view module reads by name."""
    try:
        view = inspect.unwrap(resolve(path).func)
    except Resolver404:
        return set()
    view = getattr(view, "view_class", view)
    return set(GET_PARAM.findall(inspect.getsource(importlib.import_module(view.__module__))))


@dataclass
class Page:
    path: str
    query_params: set[str]
    forms: list[Form]


def page_discover(path: str, clients: dict[str, Client]) -> Page:
    """The page as every role sees it: the union of its forms, fields and parameters."""
    params = view_query_params(path)
    forms: dict[tuple[str, str], Form] = {}
    for client in clients.values():
        response = client.get(path)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        parser = PageParser(path)
        parser.feed(response.content.decode())
        params |= parser.link_params
        for form in parser.forms:
            known = forms.setdefault((form.method, form.action), Form(form.method, form.action))
            for name, spec in form.fields.items():
                merged = known.fields.setdefault(name, Field(spec.kind))
                merged.options.extend(o for o in spec.options if o not in merged.options)
    for form in forms.values():
        if form.method == "get" and form.action == path:
            params |= set(form.fields)
    return Page(path=path, query_params=params, forms=list(forms.values()))


# --- Values ---------------------------------------------------------------------------------

NUL = "\x00"
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
NASTY = st.sampled_from(
    [
        "",
        " ",
        "x" * 5_000,
        NUL,
        f"a{NUL}b",
        "-1",
        "0",
        "1.5",
        "-0.01",
        "abc",
        "1e400",
        "-1e400",
        "1e20",
        "NaN",
        "Infinity",
        "99999999999999999999999999",
        "-99999999999999999999999999",
        "0001-01-01",
        "9999-12-31",
        "10000-01-01",
        "2024-02-30",
        "0000-00-00",
        "9999-12-31T23:59",
        "0001-01-01T00:00",
        "1970-01-01T00:00:00+21:59",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%",
        "\\",
        "Zoë 北京 🎉",
        "\u202e",
        "me",
        "none",
    ]
)


def ids_strategy(ids: dict[str, int]):
    """Ids that exist (alice's and bob's rows), ids that do not, and ids that are no ids."""
    known = [str(i) for i in ids.values()]
    return st.sampled_from([*known, "999999999", "-1", "0", "9223372036854775808"])


def value_strategy(spec: Field, ids: dict[str, int]):
    valid = {
        "number": st.integers(-(10**12), 10**12).map(str),
        "date": st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
        "datetime-local": st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)).map(
            lambda moment: moment.strftime("%Y-%m-%dT%H:%M")
        ),
        "email": st.emails(),
    }.get(spec.kind, TEXT)
    if spec.options:
        valid = st.one_of(st.sampled_from(spec.options), valid)
    return st.one_of(valid, NASTY, TEXT, ids_strategy(ids))


def form_data(draw, form: Form, ids: dict[str, int]) -> dict:
    data = {}
    for name, spec in form.fields.items():
        if not draw(st.integers(0, 4)):  # now and then a field is left out
            continue
        if spec.kind == "file":
            content = draw(st.one_of(st.binary(max_size=300), TEXT.map(str.encode)))
            data[name] = SimpleUploadedFile("fuzz.csv", content, content_type="text/csv")
        else:
            data[name] = draw(value_strategy(spec, ids))
    return data


# --- The world, the roles, the property -----------------------------------------------------


@pytest.fixture
def fuzz_world(world, bob):  # noqa: F811 - the fixture imported above
    """The access matrix's world, with what makes every form appear: an offer without its
    outcome (the outcome form), offerings the customer does not hold (the next best
    offerings' form), bob's customer and interaction (other people's ids)."""
    customer = world["customer"]
    log_contact(customer, days_ago=2, offer=world["offering"])
    bobs = CustomerFactory(owner=bob)
    log_order(bobs, world["offering"], days_ago=10)
    log_order(bobs, OfferingFactory(), days_ago=9)  # held with alice's customer's: suggested
    offering_affinities_refresh()
    bobs_item = log_contact(bobs, days_ago=1, requires_response=True)
    # The mail actions' forms: a reply that failed (Send again), a new sender to check (the
    # triage buttons), another address of the customer (its Remove).
    reply = interaction_log(
        customer=customer,
        logged_by=None,
        channel="email",
        direction="outbound",
        type="inquiry",
        subject="Re: Inquiry",
        thread=world["interaction"],
    )
    Message.objects.create(
        direction="outbound",
        via="app",
        message_id="failed.reply@crm.localhost",
        interaction=reply,
        delivery="failed",
        delivery_error="550 no such user",
        to=["someone@example.net"],
    )
    # The to-do actions' forms: the item waiting for an answer is on alice's list (Done,
    # Snooze, Reassign); a follow-up she did shows on the customer's page (Reopen).
    follow_up = log_contact(
        customer, days_ago=3, next_step="Call back", next_step_due=timezone.localdate()
    )
    todo_done(interaction=follow_up, kind="next_step", by=world["users"]["alice"])
    Customer.objects.filter(pk=customer.pk).update(needs_triage=True)
    CustomerEmail.objects.create(customer=customer, address="second@example.net")
    # A duplicate of alice's customer, both knowing a fact differently: the merge page shows
    # its preview and the confirmation form with the fact's choice.
    duplicate = CustomerFactory(owner=customer.owner, name=f"{customer.name} (again)")
    for whose, window in ((customer, "morning"), (duplicate, "evening")):
        customer_fact_record(
            customer=whose, key="delivery_window", value=window, recorded_by=customer.owner
        )
    world["merge_duplicate"] = duplicate.pk
    # The portal's forms: a paused subscription besides the active one (its Resume).
    paused = replenishment_subscribe(
        customer=customer,
        offering=OfferingFactory(),
        next_due=timezone.localdate(),
        interval_days=7,
    )
    replenishment_set_status(subscription=paused, status="paused")
    # The community's forms: the signed-in customer has a display name (their review form),
    # another holder's review is published (its Report on the public page), the world's own
    # review waits (Approve, Hide, Answer in moderation).
    PortalAccount.objects.update_or_create(customer=customer, defaults={"display_name": "Fuzz"})
    reviewer = CustomerFactory()
    log_order(reviewer, world["offering"], days_ago=5)
    Review.objects.create(
        customer=reviewer, offering=world["offering"], rating=5, text="Fine", status="published"
    )
    # Tips and ideas: another holder's published tip (its Report on the public page), two
    # published ideas of theirs, one the customer voted for (Withdraw) and one not (Vote);
    # the world's own tip and idea wait (moderation's actions, the staff's answer form).
    Tip.objects.create(
        customer=reviewer, offering=world["offering"], text="Tip", status="published"
    )
    voted = Idea.objects.create(customer=reviewer, title="Voted", text="x", status="published")
    Idea.objects.create(customer=reviewer, title="Not voted", text="y", status="published")
    IdeaVote.objects.create(idea=voted, customer=customer)
    world["ids"] = {
        "customer": customer.pk,
        "interaction": world["interaction"].pk,
        "offering": world["offering"].pk,
        "bobs_customer": bobs.pk,
        "bobs_interaction": bobs_item.pk,
        "offer": Interaction.objects.filter(customer=customer, offer__isnull=False).first().pk,
    }
    world["pages"] = {}
    return world


def clients_for(users, *, customer) -> dict[str, Client]:
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        if role == "customer":
            token = portal_sign_in_issue(customer_id=customer.pk, address=customer.email)
            assert clients[role].post(f"/portal/sign-in/{token}/").status_code == 302
        elif users[role] is not None:
            clients[role].force_login(users[role])
    return clients


# /healthz answers 503 on purpose while the worker or the broker is down (a monitor reads it).
DELIBERATE = {"healthz": {503}}


def send(client: Client, method: str, path: str, data: dict, *, headers=None, name: str, role):
    """One request in a savepoint rolled back after it (requests do not see each other's
    writes; a failed query cannot poison the next), with the role's session kept (a post to
    sign out must not sign the next request out)."""
    cookies = copy.deepcopy(client.cookies)
    try:
        with transaction.atomic():
            response = getattr(client, method)(path, data, headers=headers or {})
            transaction.set_rollback(True)
    finally:
        client.cookies = cookies
    allowed = DELIBERATE.get(name, set())
    assert response.status_code < 500 or response.status_code in allowed, (
        f"{method.upper()} {path} {data!r} as {role} answered {response.status_code}"
    )
    return response


@pytest.fixture
def pages(fuzz_world):
    """Each page as every role sees it, discovered once per test."""
    clients = clients_for(fuzz_world["users"], customer=fuzz_world["customer"])
    cache = {}

    def page(name: str) -> Page:
        if name not in cache:
            cache[name] = page_discover(path_for(name, fuzz_world), clients)
        return cache[name]

    page.clients = clients
    return page


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", HTML_PAGES)
@settings(
    max_examples=EXAMPLES_PER_PAGE_AND_ROLE,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_it_never_answers_a_generated_query_or_form_with_a_server_error(
    name, role, fuzz_world, pages, data
):
    page, client, ids = pages(name), pages.clients[role], fuzz_world["ids"]
    headers = {"HX-Request": "true"} if data.draw(st.booleans(), label="htmx") else {}
    query = {
        param: data.draw(value_strategy(Field("text"), ids), label=param)
        for param in sorted(page.query_params)
        if data.draw(st.booleans())
    }
    send(client, "get", page.path, query, headers=headers, name=name, role=role)
    for form in page.forms:
        values = form_data(data.draw, form, ids)
        send(client, form.method, form.action, values, headers=headers, name=name, role=role)


# Every value of this list goes, alone, into every parameter and field of every page, as
# every role: the values the review found 5xx with, which random draws would seldom hit.
SWEEP = [
    NUL,
    "x" * 5_000,
    "-1",
    "1.5",
    "abc",
    "1e400",
    "99999999999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2024-02-30",
    "1970-01-01T00:00:00+21:59",
    "",
]


@pytest.mark.parametrize("name", HTML_PAGES)
def test_it_never_answers_a_known_bad_value_in_any_parameter_with_a_server_error(
    name, fuzz_world, pages
):
    page = pages(name)
    for role, client in pages.clients.items():
        for value in SWEEP:
            query = dict.fromkeys(page.query_params, value)
            send(client, "get", page.path, query, name=name, role=role)
            for form in page.forms:
                values = {
                    field: SimpleUploadedFile("bad.csv", value.encode())
                    if spec.kind == "file"
                    else value
                    for field, spec in form.fields.items()
                }
                send(client, form.method, form.action, values, name=name, role=role)


def test_it_discovers_a_form_for_every_post_only_page_and_the_named_parameters(fuzz_world, pages):
    """Discovery is complete: every URL that refuses a GET is posted to by a form on a page
    the fuzzing opens, so its fields are fuzzed too."""
    clients = pages.clients
    actions = set()
    for name in HTML_PAGES:
        actions |= {resolve(form.action).view_name for form in pages(name).forms}
    post_only = {
        name
        for name in HTML_PAGES
        if clients["ada"].get(path_for(name, fuzz_world)).status_code == 405
        or clients["alice"].get(path_for(name, fuzz_world)).status_code == 405
    }
    assert post_only, "no POST-only page found: the discovery itself is broken"
    assert post_only <= actions, f"no page shows a form for {sorted(post_only - actions)}"
    # the queue's "Wait on customer" (service levels' pause) is among the forms fuzzed
    assert "interactions:wait" in actions
    # and the notices page's "Mark read" (alice's notice in the world)
    assert "notices:read" in actions
    # and its choice of notice e-mails
    assert "notices:email" in actions
    # and the admins' assignment page's form (ada)
    assert "interactions:assignment" in {
        resolve(form.action).view_name for form in pages("interactions:assignment").forms
    }
    # and the parameters and fields the review named are among those found
    assert {"q", "status", "tier", "sort", "page", "need"} <= pages(
        "customers:portfolio"
    ).query_params
    assert {"q", "page"} <= pages("customers:list").query_params
    # Search everywhere: its own parameters, and the top bar's box found on every staff page
    assert {"q", "page"} <= pages("search").query_params
    search = path_for("search", fuzz_world)
    topbar = [f for f in pages("workspace:todo").forms if f.action == search]
    assert topbar and set(topbar[0].fields) == {"q"}
    assert {"start", "end"} <= pages("workspace:scorecards").query_params
    log = [f for f in pages("interactions:log").forms if f.action == pages("interactions:log").path]
    assert {"teach-other_key", "teach-other_value", "occurred_at"} <= set(log[0].fields)
    merge = [
        f
        for f in pages("customers:merge").forms
        if f.method == "post" and resolve(f.action).view_name == "customers:merge"
    ]
    assert merge and {"duplicate", "fact-delivery_window"} <= set(merge[0].fields)
    assert {"survivor", "duplicate"} <= set(merge[0].fields["fact-delivery_window"].options)
    detail = pages("customers:detail")
    offer = [
        form for form in detail.forms if resolve(form.action).view_name == "workspace:offer-make"
    ]
    assert offer and "offering" in offer[0].fields
    outcome = [f for f in detail.forms if resolve(f.action).view_name == "workspace:offer-outcome"]
    assert outcome and {o.value for o in OfferOutcome} <= set(outcome[0].fields["outcome"].options)
    todo = {resolve(f.action).view_name: f for f in pages("workspace:todo").forms}
    assert {"workspace:todo-done", "workspace:todo-snooze", "workspace:todo-reassign"} <= set(todo)
    assert todo["workspace:todo-snooze"].fields["until"].kind == "date"
    assert {"kind", "to"} <= set(todo["workspace:todo-reassign"].fields)
    reopen = [f for f in detail.forms if resolve(f.action).view_name == "workspace:todo-reopen"]
    assert reopen and {"kind", "back"} <= set(reopen[0].fields)
    portal = {resolve(f.action).view_name: f for f in pages("portal:home").forms}
    assert {
        "portal:subscription-pause",
        "portal:subscription-resume",
        "portal:subscription-skip",
        "portal:subscription-interval",
        "portal:sign-out",
    } <= set(portal)
    assert portal["portal:subscription-interval"].fields["interval_days"].kind == "number"
    assert {"portal:display-name", "portal:review-post"} <= set(portal)
    assert portal["portal:review-post"].fields["rating"].options == ["5", "4", "3", "2", "1"]
    assert {"rating", "text"} <= set(portal["portal:review-post"].fields)
    assert "email" in pages("portal:sign-in").forms[0].fields
    assert "portal:tip-post" in portal and set(portal["portal:tip-post"].fields) >= {"text"}
    board = {resolve(f.action).view_name: f for f in pages("portal:ideas").forms}
    assert {"portal:idea-post", "portal:idea-vote", "portal:idea-unvote"} <= set(board)
    assert "portal:idea-report" in board and "status" in pages("portal:ideas").query_params
    assert {"title", "text", "category", "offering"} <= set(board["portal:idea-post"].fields)
    assert board["portal:idea-post"].fields["offering"].kind == "select"
    manage = {resolve(f.action).view_name: f for f in pages("portal:ideas-manage").forms}
    assert {"stage", "answer"} <= set(manage["portal:idea-answer"].fields)
    assert "planned" in manage["portal:idea-answer"].fields["stage"].options
    moderation = {resolve(f.action).view_name for f in pages("portal:moderation").forms}
    assert {"portal:tip-answer", "portal:idea-approve", "portal:idea-hide"} <= moderation
    # The customer's request (the world's item waits for an answer) and its reply box.
    request = {resolve(f.action).view_name: f for f in pages("portal:request-detail").forms}
    assert {"text", "nonce"} <= set(request["portal:request-reply"].fields)
    # Staff's answer to a review (the to-do's link), on the world's review.
    answer = {resolve(f.action).view_name: f for f in pages("portal:review-answer-page").forms}
    assert answer["portal:review-answer-page"].fields["answer"].kind == "textarea"
