"""Model fits through the API and the command, and figures as each role sees them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from valuation.models import FitStatus, ModelFit
from valuation.services import customers_figures_recompute_all

from ..factories import CustomerFactory, OfferingFactory
from .history import log_order

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_lets_only_admins_see_and_start_fits(
    ada, alice, charlie, django_capture_on_commit_callbacks
):
    for user in (alice, charlie):
        assert api(user).get("/api/valuation/fits/").status_code == 403
        assert api(user).post("/api/valuation/fits/", {}).status_code == 403

    with django_capture_on_commit_callbacks() as callbacks:
        response = api(ada).post("/api/valuation/fits/", {"as_of": "2026-01-31"}, format="json")
    assert response.status_code == 202
    fit = ModelFit.objects.get(pk=response.json()["id"])
    assert (str(fit.as_of), fit.status, fit.task_id) == (
        "2026-01-31",
        FitStatus.RUNNING,
        response.json()["task_id"],
    )
    assert len(callbacks) == 1  # the fit task is sent after the commit

    listing = api(ada).get("/api/valuation/fits/").json()
    assert listing["results"][0]["id"] == fit.pk
    assert listing["results"][0]["bgnbd"] is None


def test_it_refuses_a_fit_as_of_a_future_date(ada):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = api(ada).post("/api/valuation/fits/", {"as_of": tomorrow}, format="json")
    assert response.status_code == 400
    assert "as_of" in response.json()
    response = api(ada).post("/api/valuation/fits/", {"as_of": "31/01/2026"}, format="json")
    assert response.status_code == 400
    assert not ModelFit.objects.exists()


def test_it_fits_from_the_command_and_lists_the_parameters(ada, capsys):
    beans = OfferingFactory()
    for n in range(3):
        customer = CustomerFactory()
        log_order(customer, beans, days_ago=100 + n)
        log_order(customer, beans, days_ago=10 + n)

    call_command("fit_models")

    out = capsys.readouterr().out
    fit = ModelFit.objects.get()
    assert fit.status == FitStatus.DONE and fit.customers == 3
    assert "3 customers" in out and "Simple estimate" in out
    body = api(ada).get("/api/valuation/fits/").json()["results"][0]
    assert body["customers"] == 3 and body["method"] == "fallback"


def test_it_hides_money_figures_from_support_staff(alice, charlie, alices_customer):
    beans = OfferingFactory()
    alices_customer.wallet_annual, alices_customer.wallet_source = Decimal("900"), "stated"
    alices_customer.save()
    log_order(alices_customer, beans, days_ago=20)
    customers_figures_recompute_all()

    manager_view = api(alice).get(f"/api/customers/{alices_customer.pk}/").json()
    support_view = api(charlie).get(f"/api/customers/{alices_customer.pk}/").json()
    money = {"historic_value", "predicted_clv", "growth_potential", "wallet_annual", "revenue_12m"}
    assert money <= set(manager_view)
    assert not money & set(support_view)
    assert support_view["tier"] == manager_view["tier"] != ""
    assert manager_view["historic_value"] == "12.50"

    history = api(charlie).get(f"/api/customers/{alices_customer.pk}/figures-history/").json()
    assert history["count"] == 1
    assert "predicted_clv" not in history["results"][0]
    assert (
        "predicted_clv"
        in api(alice)
        .get(f"/api/customers/{alices_customer.pk}/figures-history/")
        .json()["results"][0]
    )


def test_it_explains_the_figures_to_managers_only(client, alice, charlie, alices_customer):
    log_order(alices_customer, OfferingFactory(), days_ago=5)
    customers_figures_recompute_all()

    client.force_login(alice)
    page = client.get(f"/customers/{alices_customer.pk}/").content.decode()
    assert "Why are these the figures?" in page
    assert "Simple estimate" in page  # no fit yet: the fallback is said as such
    assert "Predicted lifetime value" in page

    client.force_login(charlie)
    page = client.get(f"/customers/{alices_customer.pk}/").content.decode()
    assert "Why are these the figures?" not in page
    assert "Predicted lifetime value" not in page
    assert "tier-" in page  # support staff see the tier


def test_it_shows_the_portfolio_in_a_fixed_number_of_queries(
    client, alice, django_assert_num_queries, django_assert_max_num_queries
):
    client.force_login(alice)
    CustomerFactory.create_batch(3, owner=alice)
    client.get("/customers/portfolio/")  # warm the session and role caches
    # Session, user, role, permissions (2), totals, count, page, equity trend, need categories,
    # the navigation's count of new senders to check.
    with django_assert_max_num_queries(11) as few:
        client.get("/customers/portfolio/")
    CustomerFactory.create_batch(40, owner=alice)
    with django_assert_num_queries(len(few)):
        response = client.get("/customers/portfolio/", {"sort": "p_alive", "page": 2})
    assert response.status_code == 200


def test_it_sorts_the_portfolio_by_predicted_value(client, alice):
    low = CustomerFactory(owner=alice, name="Low", figures__predicted_clv=Decimal("10"))
    high = CustomerFactory(owner=alice, name="High", figures__predicted_clv=Decimal("900"))
    unknown = CustomerFactory(owner=alice, name="Unknown")
    client.force_login(alice)
    rows = list(client.get("/customers/portfolio/").context["page"])
    assert rows == [high, low, unknown]  # unknown values last
    rows = list(client.get("/customers/portfolio/", {"sort": "predicted_clv"}).context["page"])
    assert rows == [low, high, unknown]
    totals = client.get("/customers/portfolio/").context["totals"]
    assert totals["customer_equity"] == Decimal("910.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"status": "done"},  # done, but when?
        {"status": "done", "fitted_at": "2026-01-01T00:00Z", "method": "bgnbd_gg"},  # no parameters
    ],
)
def test_the_database_refuses_a_fit_the_recompute_could_not_use(fields):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelFit.objects.create(as_of="2026-01-01", **fields)
