"""The customer's own preference centre: signed, expiring, and feeding the learning loop."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing

from customers.models import ChannelConsent, CustomerFact, FactKey
from customers.preference_links import preference_link_token
from interactions.models import Interaction

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def need(roles):
    return FactKey.objects.create(key="needs_training", label="Barista training", kind="need")


def test_it_records_what_the_customer_states_as_a_teaching_interaction(client, need):
    customer = CustomerFactory(preferred_channel="phone")
    url = f"/preferences/{preference_link_token(customer=customer)}/"
    page = client.get(url)
    assert page.status_code == 200
    assert "I need: Barista training" in page.content.decode()

    response = client.post(
        url,
        {
            "preferred_channel": "email",
            "consent__email": "on",
            "consent__sms": "",
            "fact__needs_training": "on",
            "fact__delivery_window": "morning",
        },
    )

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    customer.refresh_from_db()
    assert customer.preferred_channel == "email"
    teaching = Interaction.objects.get(customer=customer)
    assert (teaching.type, teaching.channel, teaching.direction) == ("teaching", "web", "inbound")
    facts = {
        f.key.key: (f.value, f.need_status, f.source_interaction_id, f.source)
        for f in CustomerFact.objects.filter(customer=customer)
    }
    assert facts == {
        "needs_training": ("yes", "unmet", teaching.pk, "customer"),
        "delivery_window": ("morning", "", teaching.pk, "customer"),
    }
    consents = dict(
        ChannelConsent.objects.filter(customer=customer).values_list("channel", "granted")
    )
    assert consents["email"] is True and consents["sms"] is False
    assert ChannelConsent.objects.get(customer=customer, channel="email").how == "preference centre"


def test_it_refuses_a_tampered_or_expired_link(client, roles):
    customer = CustomerFactory()
    token = preference_link_token(customer=customer)
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    assert client.get(f"/preferences/{tampered}/").status_code == 400
    forged = signing.TimestampSigner(salt="something else").sign(str(customer.pk))
    assert client.get(f"/preferences/{forged}/").status_code == 400

    with mock.patch(
        "django.core.signing.time.time",
        return_value=__import__("time").time() + timedelta(days=15).total_seconds(),
    ):
        response = client.get(f"/preferences/{token}/")
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not Interaction.objects.exists()


def test_it_names_a_bad_answer_and_saves_nothing(client, roles):
    customer = CustomerFactory()
    url = f"/preferences/{preference_link_token(customer=customer)}/"
    response = client.post(
        url, {"fact__household_or_team_size": "lots", "fact__delivery_window": "noon"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"fact__household_or_team_size", "fact__delivery_window"}
    assert not Interaction.objects.exists() and not CustomerFact.objects.exists()
