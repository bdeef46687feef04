"""Duplicate detection: normalised keys kept by the services, scored candidates, the report."""

import pytest

from customers import duplicates, services
from customers.models import DuplicatePair

pytestmark = pytest.mark.django_db


def test_it_normalises_addresses_phones_and_names():
    assert duplicates.email_key(" Clara.Varga+shop@GoogleMail.com ") == "claravarga@gmail.com"
    assert duplicates.email_key("clara.varga+x@example.com") == "clara.varga+x@example.com"
    assert duplicates.phone_key("030 1234567", "DE") == duplicates.phone_key("+49 30 1234567")
    assert duplicates.name_key("  Clára   VARGA ") == "clara varga"


def test_it_finds_planted_duplicates_and_not_look_alikes():
    # Given planted duplicates: case, a phone written two ways, a typo in a name
    a = services.customer_create(name="Clara Varga", email="Clara.Varga@gmail.com")
    b = services.customer_create(name="clara varga", email="claravarga+news@gmail.com")
    c = services.customer_create(name="Jonas Becker", phone="+49 30 1234567")
    d = services.customer_create(name="J. Becker", phone="030 1234567")
    e = services.customer_create(name="Margarethe Lindqvist")
    f = services.customer_create(name="Margarete Lindqvist")
    # and look-alikes that differ: namesakes with other addresses and phones, another name
    g = services.customer_create(
        name="Peter Hansen", email="p.hansen@example.com", phone="+4940111111"
    )
    h = services.customer_create(
        name="Peter Hansen", email="peter@hansen.example", phone="+4989222222"
    )
    i = services.customer_create(name="Clara Vance", email="clara@vance.example")
    # When the report runs
    services.customer_duplicates_report()
    # Then the duplicates are paired, with reasons, and the look-alikes are not
    pairs = {(p.first_id, p.second_id): p for p in DuplicatePair.objects.all()}
    assert (a.pk, b.pk) in pairs
    assert "same e-mail after normalising" in pairs[(a.pk, b.pk)].reasons
    assert (c.pk, d.pk) in pairs
    assert "same phone number after normalising" in pairs[(c.pk, d.pk)].reasons
    assert (e.pk, f.pk) in pairs
    assert any("similar" in reason for reason in pairs[(e.pk, f.pk)].reasons)
    assert (g.pk, h.pk) not in pairs
    assert not [p for p in pairs if i.pk in p]


def test_it_lists_candidates_on_create():
    first = services.customer_create(name="Clara Varga", email="clara@example.com")
    found = duplicates.customer_duplicates_find(name="CLARA VARGA", email="Clara@Example.com")
    assert [c.customer_id for c in found] == [first.pk]
    assert found[0].score >= duplicates.SCORE_MIN
