"""The learning loop's first turn with real parts: PostgreSQL, Redis and a Celery worker process.

An interaction logged through the service is committed, PostgreSQL wakes the worker's
listener at the commit (valuation.wakeup), which sends the recompute through Redis, and a
separate worker process updates the customer's figures.
"""

from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from crm.celery import app
from customers.models import Customer
from interactions.services import interaction_log
from valuation.models import CustomerFigures, FitMethod, FitStatus, ModelFit, ValuationSettings
from valuation.numerics import bgnbd, clv, gamma_gamma
from valuation.tasks import customers_figures_recompute_stale

from .factories import CustomerFactory, OfferingFactory
from .valuation.history import log_contact, log_order
from .worker import celery_worker, wait_for, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    # Tasks left in the test queue by earlier runs would only add noise.
    app.control.purge()
    with celery_worker(env={"DATABASE_URL": worker_database_url()}) as node:
        yield node


def figures(customer):
    return Customer.objects.values_list(
        "figures__interaction_count", "figures__last_contact_at"
    ).get(pk=customer.pk)


def test_it_updates_the_figures_in_a_worker_after_an_interaction_is_logged(alice, worker):
    customer = CustomerFactory(owner=alice)
    assert figures(customer) == (0, None)

    when = timezone.now() - timedelta(hours=1)
    interaction_log(
        customer=customer,
        logged_by=alice,
        channel="phone",
        direction="inbound",
        type="inquiry",
        subject="Do you deliver on Saturdays?",
        occurred_at=when,
    )

    wait_for(lambda: figures(customer) == (1, when))
    customer.refresh_from_db()
    assert not customer.figures.stale


def test_it_coalesces_a_burst_into_the_right_final_figures(alice, worker):
    customer = CustomerFactory(owner=alice)
    for n in range(10):
        interaction_log(
            customer=customer,
            logged_by=alice,
            channel="email",
            direction="inbound",
            type="feedback",
            subject=f"Note {n}",
        )

    # A recompute that read version 9 may already count the 10th interaction (committed between
    # its two reads); the 10th recompute then catches the version up. Wait for both.
    wait_for(
        lambda: (
            figures(customer)[0] == 10 and not Customer.objects.get(pk=customer.pk).figures.stale
        )
    )


def test_a_worker_that_starts_later_recomputes_what_committed_while_none_ran(alice):
    # No worker listens when the interaction is saved: the save still succeeds, and the
    # request sent nothing anywhere (the database is woken, valuation.wakeup).
    app.control.purge()
    customer = CustomerFactory(owner=alice)
    interaction = interaction_log(
        customer=customer,
        logged_by=alice,
        channel="web",
        direction="inbound",
        type="inquiry",
        subject="Lost in the post?",
    )
    customer.refresh_from_db()
    assert customer.figures.stale
    assert figures(customer) == (0, None)

    # The worker that becomes the listener first sends every stale customer's recompute.
    with celery_worker(env={"DATABASE_URL": worker_database_url()}):
        wait_for(lambda: figures(customer) == (1, interaction.occurred_at))


def test_it_recovers_a_recompute_whose_task_was_lost(alice, worker, monkeypatch):
    customer = CustomerFactory(owner=alice)
    interaction = interaction_log(
        customer=customer,
        logged_by=alice,
        channel="web",
        direction="inbound",
        type="inquiry",
        subject="Lost in the post?",
    )
    wait_for(lambda: figures(customer) == (1, interaction.occurred_at))
    # A recompute whose task was lost (the listener could not reach the broker): the figures
    # stay stale until the sweeper finds the overdue mark and sends it again.
    CustomerFigures.objects.filter(pk=customer.pk).update(
        figures_version=F("figures_version") + 1,
        figures_requested_at=timezone.now() - timedelta(minutes=5),
    )
    assert customers_figures_recompute_stale() == 1
    wait_for(lambda: not Customer.objects.get(pk=customer.pk).figures.stale)


def test_one_worker_listens_and_another_takes_over_when_it_stops(alice):
    app.control.purge()
    env = {"DATABASE_URL": worker_database_url()}
    listening = "listening for stale figures"
    with ExitStack() as first_running:
        first = first_running.enter_context(celery_worker(env=env))
        wait_for(lambda: listening in first.log())
        with celery_worker(env=env) as second:
            customer = CustomerFactory(owner=alice)
            log_contact(customer, days_ago=1)
            wait_for(lambda: not Customer.objects.get(pk=customer.pk).figures.stale)
            assert listening not in second.log()  # one listener per database
            first_running.close()  # the listener's worker stops: its lock goes with it
            wait_for(lambda: listening in second.log(), timeout=30)
            customer = CustomerFactory(owner=alice)
            log_contact(customer, days_ago=1)
            wait_for(lambda: not Customer.objects.get(pk=customer.pk).figures.stale)


def test_it_reports_the_worker_healthy_on_healthz(worker):
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["worker"].startswith("ok")


def test_it_values_a_customer_in_the_worker_as_the_pure_models_do(alice, worker):
    # Given a stored population fit (the CDNOW parameters, weeks as time unit)...
    fit = ModelFit.objects.create(
        as_of=timezone.localdate(),
        status=FitStatus.DONE,
        method=FitMethod.MODEL,
        fitted_at=timezone.now(),
        customers=2357,
        bgnbd_r=0.243,
        bgnbd_alpha=4.414,
        bgnbd_a=0.793,
        bgnbd_b=2.426,
        gg_p=6.25,
        gg_q=3.74,
        gg_gamma=15.44,
    )
    settings = ValuationSettings.current()
    customer = CustomerFactory(owner=alice, wallet_annual=Decimal("600"), wallet_source="stated")
    beans = OfferingFactory(price=Decimal("24.00"))

    # ...when an order history and a complaint are logged through the service...
    for days_ago, quantity in [(200, "2"), (120, "1"), (40, "3")]:
        log_order(customer, beans, days_ago=days_ago, quantity=quantity)
    log_contact(customer, days_ago=3, type="complaint")
    wait_for(lambda: not Customer.objects.get(pk=customer.pk).figures.stale)

    # ...the worker wrote exactly what the pure functions give for that history.
    customer.refresh_from_db()
    today = timezone.localdate()
    days = sorted(
        {timezone.localdate(i.occurred_at) for i in customer.interactions.filter(type="order")}
    )
    x = np.array([len(days) - 1.0])
    t_x = np.array([(days[-1] - days[0]).days / 7])
    T = np.array([(today - days[0]).days / 7])
    params = bgnbd.BgNbdParams(fit.bgnbd_r, fit.bgnbd_alpha, fit.bgnbd_a, fit.bgnbd_b)
    repeat_value = np.array([(24.0 * 1 + 24.0 * 3) / 2])
    spend = gamma_gamma.conditional_expected_value(
        gamma_gamma.GammaGammaParams(fit.gg_p, fit.gg_q, fit.gg_gamma), x, repeat_value
    )
    margin_ratio = (24.0 - 11.5) / 24.0
    expected_clv = clv.predicted_clv(
        params,
        x,
        t_x,
        T,
        spend * margin_ratio,
        horizon_months=settings.horizon_months,
        annual_discount_rate=float(settings.annual_discount_rate),
        time_units_per_month=30.4375 / 7,
    )[0]
    assert customer.figures.p_alive == pytest.approx(bgnbd.p_alive(params, x, t_x, T)[0], rel=1e-9)
    assert float(customer.figures.predicted_clv) == pytest.approx(expected_clv, abs=0.01)
    assert customer.figures.share_of_customer == pytest.approx(
        24.0 * (2 + 1 + 3) / 600
    )  # all < 12 m
    assert float(customer.figures.historic_value) == pytest.approx(6 * (24.0 - 11.5))
    assert customer.figures.interaction_count == 4
    assert customer.figures.valuation_method == FitMethod.MODEL
    assert customer.snapshots.count() == 1
