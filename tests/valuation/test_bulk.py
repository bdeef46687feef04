"""The nightly refit's bulk path on PostgreSQL (valuation.bulk): the same figures as the
per-customer recompute, the same RFM summary as the transactions give, money rounded as the
ORM path rounds it."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from valuation import bulk, selectors, services
from valuation.figures import assign_tiers, compute_figures
from valuation.models import CustomerFigures, CustomerSnapshot, ModelFit, ValuationSettings
from valuation.numerics import rfm

from ..nightly import figures_of_everyone
from .history import generated_base

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]


@pytest.fixture
def base():
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    return generated_base(customers=150, seed=23)


def test_the_bulk_refit_writes_what_the_per_customer_recompute_writes(base):
    # The whole refit by COPY: fit from the summaries, every customer read, written.
    fit = services.valuation_fit_run(fit_id=ModelFit.objects.create(as_of=timezone.localdate()).pk)
    assert fit.method == "bgnbd_gg"
    bulk_figures = figures_of_everyone()
    assert len(bulk_figures) == 150

    # Every customer again, one at a time through the ORM (the per-interaction recompute).
    services.customers_figures_request(customer_ids=base)
    for customer_id in base:
        assert services.customer_figures_recompute(customer_id=customer_id)

    assert figures_of_everyone() == bulk_figures
    # One snapshot of the day each, holding the same figures.
    today = CustomerSnapshot.objects.filter(taken_on=timezone.localdate())
    assert today.count() == 150
    assert not today.filter(backfilled=True).exists()


def test_the_fit_from_the_summaries_is_the_fit_from_the_transactions(base):
    today = timezone.localdate()
    ids, days, revenue = selectors.transactions_up_to(today)
    expected = rfm.rfm_summary(ids, days, revenue, np.datetime64(today, "D"), time_unit_days=7.0)

    got = bulk.summaries_rfm(as_of=today, time_unit_days=7.0)

    assert got is not None
    np.testing.assert_array_equal(got.customer_ids, expected.customer_ids)
    np.testing.assert_array_equal(got.frequency, expected.frequency)
    np.testing.assert_array_equal(got.recency, expected.recency)
    np.testing.assert_array_equal(got.T, expected.T)
    np.testing.assert_allclose(got.monetary_value, expected.monetary_value, rtol=1e-12)


def test_a_summary_with_a_later_transaction_leaves_the_fit_to_the_transactions(base):
    # The generated base has orders in the last days.
    earlier = timezone.localdate() - timedelta(days=40)
    assert bulk.summaries_rfm(as_of=earlier, time_unit_days=7.0) is None


@pytest.mark.parametrize(
    "value",
    [
        12.345,  # a tie in decimal: half to even
        12.355,
        12.344999,
        0.3 + 0.6,  # 0.8999999999999999
        -7.005,
        12_345_678.905,  # beyond the NumPy shortcut: through Decimal
        -0.125,
        0.005,
        2.675,  # 2.67499999999999982236431605997495353221893310546875 in binary
        1234567.891,
        1e-9,
        -1e-9,
        99999999999999.99,
        1e20,
        -1e20,
        float("nan"),
        float("inf"),
        -float("inf"),
    ],
)
def test_money_is_rounded_in_sql_as_in_python(value):
    (cents,) = bulk.money_cents([value])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {bulk._money_sql('%(v)s::float8')}", {"v": repr(float(cents))})
        (stored,) = cursor.fetchone()

    assert stored == services._money(value)


def test_the_base_is_read_in_id_order_with_its_summaries(base):
    batch = bulk.valuation_batch(today=timezone.localdate())
    reference = selectors.valuation_batch(today=timezone.localdate())

    np.testing.assert_array_equal(batch.customer_ids, reference.customer_ids)
    np.testing.assert_array_equal(batch.versions, reference.versions)
    for name in reference.inputs.__dataclass_fields__:
        np.testing.assert_array_equal(
            getattr(batch.inputs, name), getattr(reference.inputs, name), err_msg=name
        )
    assert Customer.objects.count() == len(batch.customer_ids)


def test_a_newer_recompute_is_not_overwritten(base):
    services.valuation_rebuild_everything()
    newer = CustomerFigures.objects.get(pk=base[0])
    CustomerFigures.objects.filter(pk=base[0]).update(
        figures_version=9, figures_computed_version=9, predicted_clv=Decimal("1.23")
    )
    batch = bulk.valuation_batch(today=timezone.localdate())
    # Read before the newer recompute: version as it was.
    batch.versions[0] = newer.figures_computed_version
    context = selectors.valuation_context()
    figures = compute_figures(batch.inputs, context.fit, context.params)
    written = bulk.figures_write(
        ids=batch.customer_ids,
        versions=batch.versions,
        figures=figures,
        tier_of=assign_tiers(figures, context.fit),
        method=context.method,
        now=timezone.now(),
        today=timezone.localdate(),
    )

    assert written == len(base) - 1
    assert CustomerFigures.objects.get(pk=base[0]).predicted_clv == Decimal("1.23")


def test_money_cents_agree_with_python_on_many_values():
    rng = np.random.default_rng(4)
    values = np.concatenate(
        [
            np.round(rng.uniform(-10_000, 10_000, 20_000), 3),  # many exact half cents
            rng.uniform(-1e6, 1e6, 20_000),
            rng.lognormal(3, 2, 20_000),
        ]
    )

    cents = bulk.money_cents(values)

    expected = [services._money(float(v)) for v in values]
    got = [Decimal(int(c)) / 100 for c in cents]
    assert got == expected


@pytest.mark.django_db(transaction=True)
def test_the_refit_writes_the_same_on_several_connections(settings, monkeypatch):
    # Outside a transaction (the nightly's own connections see the data), in two halves.
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    ids = generated_base(customers=150, seed=29)
    settings.NIGHTLY_WRITE_CONNECTIONS = 2
    halves = []
    write = bulk.columns_write
    monkeypatch.setattr(
        bulk,
        "columns_write",
        lambda columns, **kw: halves.append(len(columns["id"])) or write(columns, **kw),
    )
    fit = services.valuation_fit_run(fit_id=ModelFit.objects.create(as_of=timezone.localdate()).pk)
    assert sorted(halves) == [75, 75]
    in_halves = figures_of_everyone()
    assert len(in_halves) == len(ids)
    assert CustomerSnapshot.objects.filter(taken_on=timezone.localdate()).count() == len(ids)

    settings.NIGHTLY_WRITE_CONNECTIONS = 1
    ModelFit.objects.filter(pk=fit.pk).delete()
    services.valuation_fit_run(fit_id=ModelFit.objects.create(as_of=timezone.localdate()).pk)

    assert figures_of_everyone() == in_halves
