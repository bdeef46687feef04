"""Issue 14, item 9, as a new user finds it: the Admin group opens every admin page, a 403 is
one log line, the favicon is there, no page breaks the content security policy, and nothing a
signed-in user sees is cached."""

import io
import logging
import re
from contextlib import contextmanager

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.browser import sign_in
from tests.factories import CustomerFactory
from tests.test_security_access import GET_MATRIX, ROLES, path_for, world  # noqa: F401
from tests.valuation.history import log_contact

pytestmark = pytest.mark.django_db


def as_user(user):
    client = Client()
    client.force_login(user)
    return client


# --- (a) the Admin group sees what a superuser sees ------------------------------------------


def admin_pages():
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        yield f"admin:{info[0]}_{info[1]}_changelist", model_admin
        yield f"admin:{info[0]}_{info[1]}_add", model_admin


def test_it_opens_every_admin_page_for_the_admin_group_as_for_a_superuser(ada):
    # Given ada, an admin by group (not a superuser), and a superuser
    assert not ada.is_superuser
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    group_admin, superuser = as_user(ada), as_user(root)

    # When both open every changelist and add page of the admin
    statuses = {}
    for name, _ in admin_pages():
        path = reverse(name)
        statuses[name] = (group_admin.get(path).status_code, superuser.get(path).status_code)

    # Then ada gets exactly what the superuser gets, and every changelist opens
    assert {n: s for n, s in statuses.items() if s[0] != s[1]} == {}
    changelists = {n: s[0] for n, s in statuses.items() if n.endswith("_changelist")}
    assert set(changelists.values()) == {200}
    assert statuses["admin:valuation_valuationsettings_changelist"] == (200, 200)
    assert statuses["admin:valuation_modelfit_changelist"] == (200, 200)


def test_it_lists_every_admin_section_on_the_index_for_the_admin_group(ada):
    index = as_user(ada).get("/admin/").content.decode()
    for model in admin.site._registry:
        assert f'href="{reverse("admin:app_list", args=[model._meta.app_label])}"' in index, (
            model._meta.app_label
        )
    assert "Valuation" in index


# --- (b) a 403 is one log line ---------------------------------------------------------------


@contextmanager
def console_output():
    """What the configured log handlers (not pytest's) print for django.request records."""
    streams, swapped = io.StringIO(), []
    logger = logging.getLogger("django.request")
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not type(
                handler
            ).__module__.startswith("_pytest"):
                swapped.append((handler, handler.setStream(streams)))
        logger = logger.parent if logger.propagate else None
    try:
        yield streams
    finally:
        for handler, previous in swapped:
            handler.setStream(previous)


@pytest.mark.parametrize("debug", [False, True], ids=["production", "bin-run"])
def test_it_logs_a_403_once_without_a_traceback(charlie, settings, debug):
    settings.DEBUG = debug  # bin/run's local settings have DEBUG on
    with console_output() as output:
        response = as_user(charlie).get(reverse("workspace:todo"))
    assert response.status_code == 403
    lines = output.getvalue().splitlines()
    assert len([line for line in lines if "Forbidden" in line]) == 1, lines
    assert "Traceback" not in output.getvalue()


def test_it_still_logs_the_traceback_of_a_server_error():
    from core.logs import ClientErrorFilter

    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", (), None)
    record.status_code = 500
    record.exc_info = (ValueError, ValueError("x"), None)
    ClientErrorFilter().filter(record)
    assert record.exc_info is not None


# --- (c) the favicon -------------------------------------------------------------------------


def test_it_serves_the_favicon_every_page_links(alice):
    icon = Client().get("/favicon.ico")
    assert icon.status_code == 200
    assert icon["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = as_user(alice).get(reverse("customers:list")).content.decode()
    assert '<link rel="icon" href="/favicon.ico">' in page


# --- (d) no inline style or script on any page, for any role -----------------------------------

INLINE = [
    re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),  # a style attribute
    re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),  # an event handler attribute
    re.compile(r"<style\b", re.I),  # a style element
    re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(?!\s*</script>)", re.I),  # an inline script
]
PAGES = [
    name
    for name in GET_MATRIX
    if not name.startswith(("api", "admin:")) and name not in {"schema", "healthz"}
]


def test_it_renders_no_inline_style_or_script_on_any_page_for_any_role(world):  # noqa: F811
    log_contact(world["customer"], days_ago=0.1, type="complaint", requires_response=True)
    seen = 0
    for role in ROLES:
        user = world["users"][role]
        client = as_user(user) if user else Client()
        for name in PAGES:
            response = client.get(path_for(name, world))
            if response.status_code != 200 or "html" not in response["Content-Type"]:
                continue
            seen += 1
            html = response.content.decode()
            # json_script's <script type="application/json"> is data, not code.
            code = re.sub(
                r'<script [^>]*type="application/json"[^>]*>.*?</script>', "", html, flags=re.S
            )
            found = [pattern.pattern for pattern in INLINE if pattern.search(code)]
            assert found == [], (role, name, found)
    assert seen > 40  # every role's pages were looked at


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_loads_each_roles_pages_without_a_csp_violation_or_a_missing_file(
    page, ada, alice, charlie
):
    customer = CustomerFactory(owner=alice, name="Anna Keller")
    log_contact(customer, days_ago=0.1, type="complaint", requires_response=True)
    problems = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status == 404 else None
        ),
    )
    detail = reverse("customers:detail", args=[customer.pk])
    visits = {
        "charlie": ["interactions:queue", "customers:list", detail, "interactions:search"],
        "alice": ["customers:portfolio", "workspace:todo", "workspace:map", detail],
        "ada": ["interactions:queue", "admin:index", "workspace:scorecards", "dataio:home"],
    }
    for username, paths in visits.items():
        page.context.clear_cookies()
        sign_in(page, username)
        for path in paths:
            page.goto(path if path.startswith("/") else reverse(path))
            page.wait_for_load_state("networkidle")
    assert problems == []


# --- (e) nothing a signed-in user sees is cached ---------------------------------------------


def test_it_forbids_caching_pages_and_api_responses_for_signed_in_users(alice, alices_customer):
    page = as_user(alice).get(reverse("customers:detail", args=[alices_customer.pk]))
    session_api = as_user(alice).get("/api/customers/")
    token_api = APIClient()
    token_api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    by_token = token_api.get("/api/customers/")

    for response in (page, session_api, by_token):
        assert response.status_code == 200
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives, response["Cache-Control"]
