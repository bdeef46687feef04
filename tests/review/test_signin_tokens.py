"""Issue 14, item 5: sign-in and tokens.

The token endpoint is throttled (429 with Retry-After), tokens expire and are revoked on
sign-out, lockout, password change and deactivation, and the lockout cannot be turned against
a user from elsewhere: failures count per username and client address, the client address is
taken from X-Forwarded-For only as far as trusted proxies wrote it, and one address guessing
across many usernames is locked as a whole.
"""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.9"
ALICE_DESK = "198.51.100.7"
PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def get_token(username="alice", password=PASSWORD, **extra):
    return APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, **extra
    )


def api_as(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def sign_in_page(username, password, **extra):
    return Client().post("/accounts/login/", {"username": username, "password": password}, **extra)


def assert_revoked(key):
    response = api_as(key).get("/api/customers/")
    assert (response.status_code, response.json()) == (403, {"detail": "Invalid token."})
    assert not Token.objects.filter(key=key).exists()


# --- throttle ------------------------------------------------------------------------------


def test_it_throttles_the_token_endpoint_with_429_and_retry_after(alice, settings):
    settings.API_THROTTLE_SIGN_IN = "3/minute"

    # Given three tries from one address (each with another username: the throttle counts the
    # address, not the name)
    statuses = [
        get_token(name, "wrong", REMOTE_ADDR=ATTACKER).status_code for name in ("a", "b", "c")
    ]
    # When it tries again, even with the right password
    refused = get_token(REMOTE_ADDR=ATTACKER)

    # Then it is throttled and told when to come back; another address is not
    assert statuses == [400, 400, 400]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert get_token(REMOTE_ADDR=ALICE_DESK).status_code == 200


def test_it_cannot_dodge_the_throttle_by_writing_x_forwarded_for(alice, settings):
    settings.API_THROTTLE_SIGN_IN = "2/minute"
    statuses = [
        get_token(
            "alice", "wrong", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        ).status_code
        for n in range(3)
    ]
    assert statuses == [400, 400, 429]


# --- expiry --------------------------------------------------------------------------------


def test_it_refuses_an_expired_token_and_issues_a_new_one(alice, alices_customer, settings):
    # Given a token older than its lifetime
    old_key = get_token().json()["token"]
    Token.objects.filter(key=old_key).update(
        created=timezone.now() - settings.API_TOKEN_TTL - timedelta(seconds=1)
    )

    # When it is used, it is refused and gone
    response = api_as(old_key).get("/api/customers/")
    # (403, not 401: session authentication comes first, as for every refused API request)
    assert response.status_code == 403
    assert response.json() == {"detail": "Token has expired; request a new one."}
    assert not Token.objects.filter(key=old_key).exists()

    # Then signing in again gives a different token that works
    new_key = get_token().json()["token"]
    assert new_key != old_key
    assert api_as(new_key).get("/api/customers/").status_code == 200


def test_it_replaces_an_expired_token_at_sign_in_without_its_use(alice, settings):
    old_key = get_token().json()["token"]
    Token.objects.filter(key=old_key).update(created=timezone.now() - settings.API_TOKEN_TTL)
    assert get_token().json()["token"] != old_key
    assert get_token().json()["token"] == get_token().json()["token"]  # valid ones are kept


# --- revocation ----------------------------------------------------------------------------


def test_it_revokes_the_token_when_the_script_signs_out(alice):
    key = get_token().json()["token"]
    assert api_as(key).delete("/api/auth/token/").status_code == 204
    assert_revoked(key)


def test_it_revokes_the_token_when_the_user_signs_out_of_the_browser(alice):
    key = get_token().json()["token"]
    browser = Client()
    assert (
        browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code
        == 302
    )
    assert browser.post("/accounts/logout/").status_code == 302
    assert_revoked(key)


def test_it_revokes_the_token_when_the_password_changes(alice):
    key = get_token().json()["token"]
    alice.set_password("a-new-long-passphrase")
    alice.save()
    assert_revoked(key)


def test_it_revokes_the_token_when_the_admin_changes_the_password(alice, ada):
    key = get_token().json()["token"]
    admin = Client()
    admin.force_login(ada)
    new = "a-new-long-passphrase"
    response = admin.post(
        f"/admin/auth/user/{alice.pk}/password/", {"password1": new, "password2": new}
    )
    assert response.status_code == 302
    assert_revoked(key)


def test_it_revokes_the_token_on_deactivation_for_good(alice):
    key = get_token().json()["token"]
    alice.is_active = False
    alice.save()
    alice.is_active = True
    alice.save()
    # Reactivating the account does not bring the old token back.
    assert_revoked(key)


def test_it_keeps_the_token_when_only_the_last_sign_in_is_stored(alice):
    key = get_token().json()["token"]
    assert sign_in_page("alice", PASSWORD).status_code == 302  # saves last_login
    assert api_as(key).get("/api/customers/").status_code == 200


def test_it_revokes_the_token_when_the_username_is_locked_out(alice, settings):
    key = get_token().json()["token"]
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        get_token("alice", "wrong", REMOTE_ADDR=ATTACKER)
    assert_revoked(key)
    # ... while alice signs in again from her own desk.
    assert get_token(REMOTE_ADDR=ALICE_DESK).status_code == 200


# --- lockout an attacker cannot turn against alice -------------------------------------------


def test_it_does_not_let_an_attacker_elsewhere_lock_alice_out(alice, settings):
    # Given an attacker who failed twice the limit for alice, on the page and the API
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in_page("alice", "wrong", REMOTE_ADDR=ATTACKER)
        get_token("alice", "wrong", REMOTE_ADDR=ATTACKER)

    # Then the attacker is locked out, even with the right password
    assert sign_in_page("alice", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    assert get_token(REMOTE_ADDR=ATTACKER).status_code == 400
    # And alice, from her desk, signs in on the page and gets a token
    assert sign_in_page("alice", PASSWORD, REMOTE_ADDR=ALICE_DESK).status_code == 302
    assert get_token(REMOTE_ADDR=ALICE_DESK).status_code == 200


def test_it_tells_clients_apart_behind_a_trusted_proxy(alice, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = {"REMOTE_ADDR": PROXY}

    # Given an attacker behind the proxy who is locked out
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in_page("alice", "wrong", HTTP_X_FORWARDED_FOR=ATTACKER, **via_proxy)
    assert (
        sign_in_page("alice", PASSWORD, HTTP_X_FORWARDED_FOR=ATTACKER, **via_proxy).status_code
        == 429
    )

    # Then alice, through the same proxy, signs in (her address is not the proxy's)
    assert (
        sign_in_page("alice", PASSWORD, HTTP_X_FORWARDED_FOR=ALICE_DESK, **via_proxy).status_code
        == 302
    )
    # And an attacker prepending a fake address to the header is still recognised
    spoofed = f"{ALICE_DESK}, {ATTACKER}"
    assert sign_in_page(
        "alice", PASSWORD, HTTP_X_FORWARDED_FOR=spoofed, **via_proxy
    ).status_code == (429)


def test_it_ignores_x_forwarded_for_from_an_untrusted_peer(alice, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The attacker writes a new X-Forwarded-For on each try: it is not a proxy, so it is ignored.
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in_page("alice", "wrong", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    locked = sign_in_page(
        "alice", PASSWORD, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.99"
    )
    assert locked.status_code == 429


def test_it_locks_an_address_that_guesses_across_many_usernames(alice, bob, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 8
    # Given one failure each for eight usernames from one address (none reaches its own
    # limit), the eighth locks the address, as the fifth for one username locks that pair
    for n in range(7):
        assert sign_in_page(f"user{n}", "wrong", REMOTE_ADDR=ATTACKER).status_code == 200
    assert sign_in_page("user7", "wrong", REMOTE_ADDR=ATTACKER).status_code == 429

    # Then the address is locked for every username, even bob with his right password
    assert sign_in_page("bob", PASSWORD, REMOTE_ADDR=ATTACKER).status_code == 429
    assert get_token("bob", REMOTE_ADDR=ATTACKER).status_code == 400
    # And bob's token, issued elsewhere, was not revoked by someone naming him
    key = get_token("bob", REMOTE_ADDR=ALICE_DESK).json()["token"]
    sign_in_page("bob", "wrong", REMOTE_ADDR=ATTACKER)
    assert api_as(key).get("/api/customers/").status_code == 200
    # While everyone elsewhere signs in as usual
    assert sign_in_page("alice", PASSWORD, REMOTE_ADDR=ALICE_DESK).status_code == 302
