"""Webhooks against a real HTTP receiver on 127.0.0.1 (tests/webhooks/receiver.py), in this
process: the signature, the payloads, retries and recovery, the SSRF rule, disabling, the API.
The deliveries through a real worker, a receiver that is down and a worker killed mid-delivery
are in test_webhooks_worker.py."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from customers.services import customer_create, customer_update
from valuation.services import customer_figures_recompute
from webhooks import guard, services
from webhooks.models import Delivery, Endpoint

from ..factories import CustomerFactory, OfferingFactory
from ..valuation.history import log_contact, log_order
from .helpers import documented_verify, endpoint_for, send_pending
from .receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_ok(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return settings


@pytest.fixture
def receiver(private_ok):
    server = Receiver().start()
    yield server
    server.stop()


def past_due() -> None:
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def sweep() -> list[str]:
    return [
        services.delivery_send(delivery_id=pk, claim=claim)
        for pk, claim in services.deliveries_claim_due()
    ]


def test_it_signs_a_delivery_so_that_the_documented_snippet_verifies_it(receiver, alice):
    endpoint = endpoint_for(receiver, "customer.created")
    customer = customer_create(name="Mia Wong", owner=alice, email="mia@example.net")

    assert send_pending() == ["delivered"]

    (request,) = receiver.requests
    verify = documented_verify()
    assert verify(endpoint.secret, request.headers["X-CRM-Signature"], request.body)
    # Tampered body, another secret, an old timestamp: refused.
    assert not verify(endpoint.secret, request.headers["X-CRM-Signature"], request.body + b" ")
    assert not verify("whsec_other", request.headers["X-CRM-Signature"], request.body)
    t = int(request.headers["X-CRM-Signature"].split(",")[0][2:])
    from webhooks.signing import signature_header

    old = signature_header(endpoint.secret, t - 3600, request.body)
    assert not verify(endpoint.secret, old, request.body)
    envelope = json.loads(request.body)
    assert envelope["type"] == "customer.created"
    assert envelope["id"].startswith("evt_")
    assert envelope["data"]["customer"]["name"] == "Mia Wong"
    assert envelope["data"]["customer_id"] == customer.pk
    assert request.headers["X-CRM-Event"] == "customer.created"
    assert request.headers["X-CRM-Delivery"] == str(Delivery.objects.get().pk)


def test_it_writes_deliveries_only_for_committed_changes_and_wanted_events(receiver, alice):
    endpoint_for(receiver, "customer.updated")
    customer = customer_create(name="Mia Wong", owner=alice)  # not wanted
    assert not Delivery.objects.exists()

    with pytest.raises(RuntimeError), transaction.atomic():
        customer_update(customer=customer, data={"name": "Mia W."})
        raise RuntimeError("rolled back")
    assert not Delivery.objects.exists()

    customer_update(customer=customer, data={"name": "Mia Wong-Li"})
    (delivery,) = Delivery.objects.all()
    assert delivery.event_type == "customer.updated"
    assert json.loads(delivery.body)["data"]["changed"] == ["name"]


def test_it_sends_an_interaction_and_the_figures_that_changed(receiver, alice):
    endpoint_for(receiver, "interaction.created", "customer.figures_changed")
    customer = CustomerFactory(owner=alice)
    offering = OfferingFactory()
    interaction = log_order(customer, offering, days_ago=30, quantity="4")
    customer_figures_recompute(customer_id=customer.pk)

    assert sorted(send_pending()) == ["delivered", "delivered"]
    (logged,) = receiver.of_type("interaction.created")
    data = json.loads(logged.body)["data"]
    assert data["interaction_id"] == interaction.pk
    assert data["type"] == "order"
    (figures,) = receiver.of_type("customer.figures_changed")
    (changed,) = json.loads(figures.body)["data"]["customers"]
    assert changed["customer_id"] == customer.pk
    # A first recompute: the tier and the CLV go from nothing to their first values.
    assert changed["changes"]["tier"]["before"] is None
    assert changed["changes"]["tier"]["after"]
    assert changed["changes"]["predicted_clv"]["before"] is None
    assert Decimal(changed["changes"]["predicted_clv"]["after"]) >= 0


def test_it_says_when_p_alive_crosses_the_at_risk_line(receiver, alice):
    customer = CustomerFactory(owner=alice)
    offering = OfferingFactory()
    for days in (400, 380, 360, 340):
        log_order(customer, offering, days_ago=days)
    customer_figures_recompute(customer_id=customer.pk)
    p_before = customer.figures.__class__.objects.get(pk=customer.pk).p_alive
    # Pretend they looked lively before this recompute: the next one tells of the crossing.
    customer.figures.__class__.objects.filter(pk=customer.pk).update(p_alive=0.9)
    endpoint_for(receiver, "customer.figures_changed")
    log_contact(customer, days_ago=1)
    customer_figures_recompute(customer_id=customer.pk)

    (delivery,) = Delivery.objects.all()
    (changed,) = json.loads(delivery.body)["data"]["customers"]
    at_risk = changed["changes"]["at_risk"]
    assert p_before < 0.5
    assert at_risk["before"] is False and at_risk["after"] is True
    assert at_risk["p_alive_before"] == 0.9 and at_risk["p_alive_after"] < 0.5


def test_it_retries_after_a_500_and_delivers_once_the_receiver_recovers(receiver, alice):
    endpoint = endpoint_for(receiver)
    receiver.status = 500
    customer_create(name="Mia Wong", owner=alice)

    before = timezone.now()
    assert send_pending() == ["pending"]
    delivery = Delivery.objects.get()
    assert delivery.attempts == 1 and delivery.last_status_code == 500
    assert delivery.response_excerpt == "status 500"
    # The first retry waits 10 s: not due yet, the sweeper leaves it.
    assert timedelta(seconds=9) < delivery.next_attempt_at - before < timedelta(seconds=12)
    assert sweep() == []

    past_due()
    assert sweep() == ["pending"]
    assert Delivery.objects.get().next_attempt_at - timezone.now() > timedelta(seconds=25)

    receiver.status = 204
    past_due()
    assert sweep() == ["delivered"]
    delivery = Delivery.objects.get()
    assert delivery.attempts == 3 and delivery.delivered_at is not None
    assert len(receiver.requests) == 3
    assert len({json.loads(r.body)["id"] for r in receiver.requests}) == 1  # one id to dedupe
    endpoint.refresh_from_db()
    assert endpoint.failure_count == 0 and endpoint.failing_since is None


def test_it_gives_up_after_the_last_attempt_and_disables_a_failing_endpoint(
    receiver, alice, settings
):
    settings.WEBHOOKS_RETRY_DELAYS = [0, 0]  # three attempts
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 2
    endpoint = endpoint_for(receiver)
    receiver.status = 503
    customer_create(name="First", owner=alice)
    for _ in range(3):
        past_due()
        send_pending() if _ == 0 else sweep()
    assert Delivery.objects.get().status == "failed"
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failure_count == 1

    customer_create(name="Second", owner=alice)
    send_pending()
    for _ in range(2):
        past_due()
        sweep()
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at is not None
    assert "2 deliveries in a row failed" in endpoint.disabled_reason
    # Disabled: new events are not written for it, nothing more is sent.
    customer_create(name="Third", owner=alice)
    assert Delivery.objects.count() == 2
    sent = len(receiver.requests)
    past_due()
    assert sweep() == []
    assert len(receiver.requests) == sent == 6


def test_it_disables_an_endpoint_that_failed_for_a_day(receiver, alice, settings):
    endpoint = endpoint_for(receiver)
    receiver.status = 500
    Endpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=1, minutes=1)
    )
    customer_create(name="Mia Wong", owner=alice)
    send_pending()
    endpoint.refresh_from_db()
    assert not endpoint.active and "no delivery succeeded since" in endpoint.disabled_reason


def test_it_shows_the_admins_a_disabled_endpoint_and_resends_from_the_log(receiver, ada, alice):
    endpoint = endpoint_for(receiver)
    Endpoint.objects.filter(pk=endpoint.pk).update(
        active=False, disabled_at=timezone.now(), disabled_reason="20 deliveries in a row failed"
    )
    client = APIClient()
    client.force_login(ada)
    page = client.get("/admin/webhooks/endpoint/")
    assert "were disabled after repeated failures" in page.content.decode()

    answer = client.patch(f"/api/webhooks/{endpoint.pk}/", {"active": True}, format="json")
    assert answer.status_code == 200
    assert answer.json()["disabled_at"] is None and answer.json()["active"] is True

    customer_create(name="Mia Wong", owner=alice)
    assert send_pending() == ["delivered"]
    delivery = Delivery.objects.get()
    log = client.get(f"/api/webhooks/{endpoint.pk}/deliveries/").json()
    assert [row["id"] for row in log["results"]] == [delivery.pk]
    assert log["results"][0]["payload"]["type"] == "customer.created"
    assert log["results"][0]["status"] == "delivered"

    resent = client.post(f"/api/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/")
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    assert send_pending() == ["delivered"]
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body

    # The admin's "Resend" action does the same.
    client.post(
        "/admin/webhooks/delivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
    )
    assert send_pending() == ["delivered"]
    assert len(receiver.requests) == 3


def test_it_creates_an_endpoint_through_the_api_showing_the_secret_once(receiver, ada):
    client = APIClient()
    client.force_login(ada)
    created = client.post(
        "/api/webhooks/",
        {"url": receiver.url, "events": ["customer.created", "import.finished"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_")
    assert created.json()["events"] == ["customer.created", "import.finished"]
    shown = client.get(f"/api/webhooks/{created.json()['id']}/").json()
    assert "secret" not in shown
    assert "secret" not in client.get("/api/webhooks/").json()["results"][0]

    bad = client.post("/api/webhooks/", {"url": receiver.url, "events": ["nope"]}, format="json")
    assert bad.status_code == 400 and "events[0]" in bad.json()
    assert client.delete(f"/api/webhooks/{created.json()['id']}/").status_code == 204


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://192.168.1.10/",
        "http://localhost:9000/hook",  # a name that resolves to loopback
        "ftp://example.com/hook",
        "http://user:pw@203.0.113.9/",
    ],
)
def test_it_refuses_private_targets_when_registering(settings, ada, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client = APIClient()
    client.force_login(ada)
    answer = client.post(
        "/api/webhooks/", {"url": url, "events": ["customer.created"]}, format="json"
    )
    assert answer.status_code == 400
    assert "url" in answer.json()
    assert not Endpoint.objects.exists()


def test_it_checks_the_address_again_at_delivery_time(receiver, alice, settings):
    """Registered while allowed (or a name that resolved elsewhere then): the delivery itself
    refuses to connect to loopback once the rule holds, as after DNS rebinding."""
    endpoint_for(receiver)
    customer_create(name="Mia Wong", owner=alice)
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    assert send_pending() == ["pending"]
    delivery = Delivery.objects.get()
    assert delivery.last_error.startswith("refused: 127.0.0.1 resolves to 127.0.0.1")
    assert receiver.requests == []


def test_it_knows_public_from_private_addresses():
    assert guard.address_public("93.184.216.34")
    assert guard.address_public("2606:2800:220:1:248:1893:25c8:1946")
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::",
        "::ffff:10.0.0.1",
    ):
        assert not guard.address_public(address), address


def test_it_does_not_follow_redirects(private_ok, alice):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from devtools.processes import free_port

    hits = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        services.endpoint_create(url=f"http://127.0.0.1:{port}/hook", events=["customer.created"])
        customer_create(name="Mia Wong", owner=alice)
        assert send_pending() == ["pending"]
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/hook"]
    assert Delivery.objects.get().last_status_code == 302
