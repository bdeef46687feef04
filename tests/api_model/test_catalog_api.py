"""Categories and partners through the API: everyone signed in reads, admins write, what is
still referred to is never deleted (409 saying by what)."""

import pytest

from customers.models import FactKey
from offerings.models import Category, Partner

from ..factories import CategoryFactory, OfferingFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/categories/", "/api/partners/"])
def test_it_lets_every_role_read_and_only_admins_write(api, ada, alice, charlie, path):
    body = {"name": "Machine care"}
    assert api(alice).get(path).status_code == 200
    assert api(charlie).get(path).status_code == 200
    assert api(alice).post(path, body, format="json").status_code == 403
    assert api(charlie).post(path, body, format="json").status_code == 403
    created = api(ada).post(path, body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["name"] == "Machine care"
    detail = f"{path}{created.json()['id']}/"
    assert api(alice).patch(detail, {"name": "X"}, format="json").status_code == 403
    assert api(charlie).delete(detail).status_code == 403
    renamed = api(ada).patch(detail, {"name": "Machine maintenance"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Machine maintenance"
    assert api(alice).get(detail).json()["name"] == "Machine maintenance"


def test_it_refuses_a_name_taken_naming_the_field(api, ada):
    CategoryFactory(name="Coffee supply")
    response = api(ada).post("/api/categories/", {"name": "Coffee supply"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    response = api(ada).post("/api/partners/", {"name": "P", "email": "nope"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["email"]


def test_it_deletes_an_unused_category_and_keeps_a_used_one_saying_why(api, ada):
    unused = CategoryFactory(name="Unused")
    used = CategoryFactory(name="Coffee supply")
    OfferingFactory(category=used)
    FactKey.objects.create(key="needs_beans", label="Needs beans", kind="need", category=used)

    assert api(ada).delete(f"/api/categories/{unused.pk}/").status_code == 204
    refused = api(ada).delete(f"/api/categories/{used.pk}/")

    assert not Category.objects.filter(pk=unused.pk).exists()
    assert refused.status_code == 409
    assert "1 offering(s) serving it" in refused.json()["detail"]
    assert "1 need(s) of the fact vocabulary" in refused.json()["detail"]
    assert Category.objects.filter(pk=used.pk).exists()


def test_it_keeps_a_partner_who_delivers_a_component(api, ada):
    partner = Partner.objects.create(name="Brew Techs")
    offering = OfferingFactory()
    offering.components.update(partner=partner)
    refused = api(ada).delete(f"/api/partners/{partner.pk}/")
    assert refused.status_code == 409
    assert "Brew Techs delivers 1 component(s)" in refused.json()["detail"]
    idle = Partner.objects.create(name="Idle")
    assert api(ada).delete(f"/api/partners/{idle.pk}/").status_code == 204
