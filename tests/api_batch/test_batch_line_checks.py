"""A batch checks each distinct line once (interactions.services._line_check): every item
still gets its own errors, under its own line's index."""

import pytest

from interactions.models import Interaction

from ..factories import OfferingFactory
from .test_interactions_batch import URL, order

pytestmark = pytest.mark.django_db


def test_repeated_lines_are_refused_alike_each_under_its_index(
    api, alice, alices_customer, recomputes
):
    beans = OfferingFactory()
    # Refused by the model's checks, not the serializer's: a field's bound and clean().
    good = order(alices_customer, beans)
    bad = order(alices_customer, beans, quantity="2000000")
    too_much = order(alices_customer, beans, quantity="1000", price="2000000")
    two_lines = order(alices_customer, beans)
    two_lines["lines"] = good["lines"] + bad["lines"]
    items = [bad, good, bad, two_lines, too_much, too_much]
    response = api(alice).post(URL, {"items": items}, format="json")

    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert results[0]["errors"] == results[2]["errors"]
    assert set(results[0]["errors"]) == {"lines[0].quantity"}
    assert results[3]["errors"] == {"lines[1].quantity": results[0]["errors"]["lines[0].quantity"]}
    assert set(results[4]["errors"]) == {"lines[0].unit_price"}  # by clean(): the amount
    assert results[5]["errors"] == results[4]["errors"]
    assert results[1]["id"] is not None
    assert list(Interaction.objects.values_list("pk", flat=True)) == [results[1]["id"]]
