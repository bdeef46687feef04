"""Idempotency-Key on API POSTs: a retry replays the first answer and writes nothing."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from idempotency.models import IdempotencyKey
from interactions.models import Interaction

pytestmark = pytest.mark.django_db


def body(customer, subject="A question"):
    return {
        "customer": customer.pk,
        "channel": "email",
        "direction": "inbound",
        "type": "inquiry",
        "subject": subject,
    }


def test_it_replays_the_first_answer_for_the_same_key_and_body(
    api, alice, alices_customer, recomputes
):
    client = api(alice)
    first = client.post(
        "/api/interactions/", body(alices_customer), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201
    again = client.post(
        "/api/interactions/", body(alices_customer), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Interaction.objects.count() == 1
    # Batches too.
    items = {"items": [body(alices_customer, "batched")]}
    batch = client.post(
        "/api/interactions/batch/", items, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    replay = client.post(
        "/api/interactions/batch/", items, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert replay.json() == batch.json() and replay["Idempotent-Replayed"] == "true"
    assert Interaction.objects.count() == 2


def test_it_refuses_the_same_key_with_another_body_and_keeps_keys_per_user(
    api, alice, bob, alices_customer, bobs_customer, recomputes
):
    api(alice).post(
        "/api/interactions/", body(alices_customer), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    other = api(alice).post(
        "/api/interactions/",
        body(alices_customer, "other"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert other.status_code == 409
    assert "different request" in other.json()["Idempotency-Key"][0]
    # Bob's "k" is his own.
    bobs = api(bob).post(
        "/api/interactions/", body(bobs_customer), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert bobs.status_code == 201
    assert Interaction.objects.count() == 2


def test_it_stores_a_refusal_as_the_answer_and_bounds_the_key(api, alice, alices_customer):
    client = api(alice)
    refused = client.post("/api/interactions/", {}, format="json", HTTP_IDEMPOTENCY_KEY="e")
    assert refused.status_code == 400
    replay = client.post("/api/interactions/", {}, format="json", HTTP_IDEMPOTENCY_KEY="e")
    assert replay.status_code == 400 and replay["Idempotent-Replayed"] == "true"
    too_long = client.post("/api/interactions/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert too_long.status_code == 400
    assert "Idempotency-Key" in too_long.json()
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_runs_two_concurrent_requests_with_one_key_once(alice, alices_customer, recomputes):
    """Two threads, two connections, real commits: one writes, the other waits and replays."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=alice)
    answers = []
    start = threading.Barrier(2)

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        start.wait()
        response = client.post(
            "/api/interactions/", body(alices_customer), format="json", HTTP_IDEMPOTENCY_KEY="c"
        )
        answers.append((response.status_code, response.get("Idempotent-Replayed")))
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers, key=lambda answer: str(answer[1])) == [(201, None), (201, "true")]
    assert Interaction.objects.count() == 1
