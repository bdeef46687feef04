"""The refit chooses its purchase model by a holdout forecast; the command and the API show it."""

from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from interactions.choices import InteractionType
from interactions.models import Interaction
from valuation import services
from valuation.models import FitMethod, ModelFit, ValuationSettings

from ..factories import OfferingFactory
from .history import generated_base

pytestmark = pytest.mark.django_db

MODELS = ("bgnbd", "mbgnbd", "pareto_nbd")


@pytest.fixture
def base():
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    generated_base(customers=300, seed=11)


def repeat_days_after(calibration_end, holdout_end) -> int:
    """What happened, counted from the interactions one by one: days with an order in
    (calibration_end, holdout_end] of customers whose first order day is on or before
    calibration_end, that first day excluded."""
    days = defaultdict(set)
    for customer_id, occurred in Interaction.objects.filter(type=InteractionType.ORDER).values_list(
        "customer_id", "occurred_at"
    ):
        days[customer_id].add(timezone.localdate(occurred))
    count = 0
    for own in days.values():
        if min(own) <= calibration_end:
            count += sum(calibration_end < day <= holdout_end for day in own)
    return count


def test_it_compares_each_model_with_what_happened_after_the_calibration_end(base, ada, capsys):
    today = timezone.localdate()
    calibration_end = today - timedelta(days=120)

    call_command(
        "fit_models", "--as-of", calibration_end.isoformat(), "--holdout-until", today.isoformat()
    )

    fit = ModelFit.objects.get()
    assert fit.method == FitMethod.MODEL
    assert fit.as_of == today  # the figures' model is refitted on everything up to B
    holdout = fit.holdout
    assert (holdout["calibration_end"], holdout["holdout_end"]) == (
        calibration_end.isoformat(),
        today.isoformat(),
    )
    assert holdout["actual"] == repeat_days_after(calibration_end, today)
    assert holdout["actual"] > 0
    errors = {name: abs(holdout["predicted"][name] - holdout["actual"]) for name in MODELS}
    # the smallest holdout error wins
    assert fit.chosen_by == "holdout"
    assert fit.chosen_model == min(errors, key=errors.get)
    # the calibration fits are not the all-history fits
    for name in MODELS:
        assert holdout["calibration"][name]["params"] != fit.candidates[name]["params"]
    out = capsys.readouterr().out
    assert "MBG/NBD" in out and "Pareto/NBD" in out and "Chosen:" in out

    client = APIClient()
    client.force_authenticate(ada)
    body = client.get("/api/valuation/fits/").json()["results"][0]
    assert body["chosen"] == fit.chosen_model
    assert body["holdout"]["actual"] == holdout["actual"]
    assert set(body["holdout"]["predicted"]) == set(MODELS)
    assert set(body["mbgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood", "converged"}
    assert set(body["pareto_nbd"]) == {"r", "alpha", "s", "beta", "log_likelihood", "converged"}
    assert body["pareto_nbd"]["log_likelihood"] == fit.candidates["pareto_nbd"]["log_likelihood"]


def test_the_figures_use_the_chosen_model(base):
    fit = services.valuation_rebuild_everything()

    assert fit.chosen_by == "holdout"  # 20-100 weeks of history: the last third is the holdout
    from valuation.selectors import population_fit_of

    model = population_fit_of(fit).purchase_model
    assert model is not None and model.name == fit.chosen_model
    assert model.parameters() == fit.candidates[fit.chosen_model]["params"]


def test_it_chooses_by_log_likelihood_without_enough_history(ada):
    # given customers who all started buying in the last 60 days
    from ..factories import CustomerFactory
    from .history import log_order

    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    beans = OfferingFactory()
    for n in range(40):
        customer = CustomerFactory()
        log_order(customer, beans, days_ago=50 + n % 10)
        for k in range(n % 4):
            log_order(customer, beans, days_ago=40 - 9 * k - n % 7)

    fit = services.valuation_rebuild_everything()

    assert fit.holdout is None
    converged = [n for n in MODELS if fit.candidates[n]["converged"]]
    if converged:
        assert fit.chosen_by == "log_likelihood"
        assert fit.chosen_model == max(converged, key=lambda n: fit.candidates[n]["log_likelihood"])
    assert Customer.objects.count() == 40


def test_the_model_page_shows_spend_only_to_those_who_see_money(base, client, ada, charlie):
    from django.contrib.auth.models import Permission

    services.valuation_rebuild_everything()
    # given support staff who were also given the fits' view permission (an analyst)
    charlie.user_permissions.add(Permission.objects.get(codename="view_modelfit"))

    client.force_login(ada)
    admin_page = client.get("/workspace/models/").content.decode()
    client.force_login(charlie)
    analyst_page = client.get("/workspace/models/")

    # the spend model's parameters (money) for the admin only; the purchase models for both
    assert 'id="gamma-gamma"' in admin_page and "Pareto/NBD" in admin_page
    assert analyst_page.status_code == 200
    assert "Pareto/NBD" in analyst_page.content.decode()
    assert 'id="gamma-gamma"' not in analyst_page.content.decode()


@pytest.mark.parametrize(
    "arguments",
    [
        ["--holdout-until", "2026-01-31"],  # no calibration end
        ["--as-of", "2026-01-31", "--holdout-until", "2026-01-31"],  # an empty holdout
    ],
)
def test_the_command_needs_a_holdout_after_the_calibration_end(arguments):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="earlier --as-of"):
        call_command("fit_models", *arguments)
    assert not ModelFit.objects.exists()
