"""The nightly recompute in ranges: the same figures as one call over the whole base.

A refit draws the tier thresholds over the whole base, then every range (a range of customer
ids) applies the fit's stored parameters and thresholds. Here the ranges run in this process,
one after the other; tests/test_nightly_worker.py runs them on real workers.
"""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone

from customers.models import Customer
from valuation import selectors, services, tasks
from valuation.figures import assign_tiers, compute_figures
from valuation.models import (
    CustomerFigures,
    CustomerSnapshot,
    FitMethod,
    ModelFit,
    ValuationSettings,
)
from valuation.selectors import customers_with_stale_figures

from ..factories import CustomerFactory
from ..nightly import (
    FIT_VALUES,
    figures_of_everyone,
    forget_figures,
    one_shot_reference,
    snapshots_of_everyone,
)
from .history import generated_base

pytestmark = pytest.mark.django_db


@pytest.fixture
def base():
    ValuationSettings.objects.update_or_create(pk=1, defaults={"min_customers_to_fit": 20})
    return generated_base(customers=120, seed=11)


def test_it_cuts_the_base_into_ranges_of_the_chunk_size():
    ids = [CustomerFactory().pk for _ in range(8)]
    Customer.objects.filter(pk__in=[ids[2], ids[5]]).delete()  # gaps in the ids
    left = [ids[n] for n in (0, 1, 3, 4, 6, 7)]

    ranges = selectors.customer_id_ranges(size=4)

    assert ranges == [(left[0], left[3]), (left[4], left[5])]
    assert selectors.customer_id_ranges(size=6) == [(left[0], left[5])]
    assert selectors.customer_id_ranges(size=1) == [(pk, pk) for pk in left]
    Customer.objects.all().delete()
    assert selectors.customer_id_ranges(size=4) == []


def test_it_writes_in_chunks_exactly_what_one_call_over_the_base_writes(
    base, django_capture_on_commit_callbacks, settings
):
    reference_fit, reference, reference_snapshots = one_shot_reference()
    assert reference_fit["method"] == FitMethod.MODEL
    assert {"mvc", "mgc", "maintain"} <= {row["tier"] for row in reference.values()}
    forget_figures()

    # The refit as a worker runs it: the thresholds over the whole base, then a group of
    # ranges (captured here instead of sent) that run one by one in this process.
    settings.RECOMPUTE_RANGE_SIZE = 17
    fit = ModelFit.objects.create(as_of=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=False) as sent:
        services.valuation_fit_run(fit_id=fit.pk, spread=tasks.customers_figures_recompute_spread)
    assert len(sent) == 1  # one group, sent after the commit
    assert Customer.objects.filter(figures__computed_at__isnull=False).count() == 0
    ranges = selectors.customer_id_ranges(size=17)
    assert len(ranges) == 8  # 120 customers
    written = sum(
        services.customers_figures_recompute_range(fit_id=fit.pk, first_id=first, last_id=last)
        for first, last in ranges
    )

    assert written == 120
    assert ModelFit.objects.values(*FIT_VALUES).get(pk=fit.pk) == reference_fit
    assert figures_of_everyone() == reference
    assert snapshots_of_everyone() == reference_snapshots


def test_it_recomputes_in_this_process_what_the_chunks_write(base):
    reference_fit, reference, _ = one_shot_reference()
    forget_figures()

    fit = services.valuation_rebuild_everything()  # imports and seed_demo: no worker needed

    assert ModelFit.objects.values(*FIT_VALUES).get(pk=fit.pk) == reference_fit
    assert figures_of_everyone() == reference


def test_it_runs_a_chunk_twice_without_harm(base):
    services.valuation_rebuild_everything()
    fit = selectors.latest_fit()
    first, last = selectors.customer_id_ranges(size=50)[1]
    before = figures_of_everyone()

    assert services.customers_figures_recompute_range(fit_id=fit.pk, first_id=first, last_id=last)
    assert services.customers_figures_recompute_range(fit_id=fit.pk, first_id=first, last_id=last)

    assert figures_of_everyone() == before
    assert (
        CustomerSnapshot.objects.filter(
            customer_id__gte=first, customer_id__lte=last, taken_on=timezone.localdate()
        ).count()
        == 50
    )


def test_it_leaves_a_chunk_of_a_replaced_fit_to_the_newer_fit(base):
    older = services.valuation_rebuild_everything()
    services.valuation_rebuild_everything()
    forget_figures()
    first, last = selectors.customer_id_ranges(size=200)[0]
    written = services.customers_figures_recompute_range(
        fit_id=older.pk, first_id=first, last_id=last
    )

    assert written == 0
    assert not Customer.objects.filter(figures__computed_at__isnull=False).exists()


def test_it_never_overwrites_figures_a_newer_recompute_wrote(base):
    fit = services.valuation_rebuild_everything()
    newer = Customer.objects.order_by("pk")[3]
    # A single recompute of a later version landed while the range was reading.
    CustomerFigures.objects.filter(pk=newer.pk).update(
        figures_version=5, figures_computed_version=7, predicted_clv=Decimal("123.45")
    )
    first, last = selectors.customer_id_ranges(size=200)[0]

    written = services.customers_figures_recompute_range(
        fit_id=fit.pk, first_id=first, last_id=last
    )

    assert written == 119
    newer.refresh_from_db()
    assert newer.figures.predicted_clv == Decimal("123.45")
    assert newer.figures.figures_computed_version == 7


def test_it_writes_the_same_on_any_database_as_on_postgresql(base):
    """The portable read and write paths (the embedded SQLite default) against the COPY ones
    (valuation.bulk)."""
    services.valuation_rebuild_everything()
    postgresql = figures_of_everyone(), snapshots_of_everyone()
    forget_figures()
    context = selectors.valuation_context()
    batch = selectors.valuation_batch(today=timezone.localdate())
    figures = compute_figures(batch.inputs, context.fit, context.params)
    columns = services._stored_columns(
        batch, figures, assign_tiers(figures, context.fit), context.method
    )

    written = services._figures_write_portable(
        batch.customer_ids.tolist(),
        batch.versions.tolist(),
        columns,
        now=timezone.now(),
    )

    assert connection.vendor == "postgresql"
    assert written == 120
    assert (figures_of_everyone(), snapshots_of_everyone()) == postgresql


def test_it_marks_the_customers_a_lost_chunk_missed_as_stale_after_the_allowance(base):
    fit = services.valuation_rebuild_everything()
    missed = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:10])
    CustomerFigures.objects.filter(pk__in=missed).update(
        computed_at=fit.fitted_at - timedelta(days=1)
    )
    allowance = timedelta(minutes=10)

    assert services.refit_stragglers_mark_stale(allowance=allowance) == 0  # still in time

    ModelFit.objects.filter(pk=fit.pk).update(fitted_at=fit.fitted_at - timedelta(minutes=11))
    assert services.refit_stragglers_mark_stale(allowance=allowance) == 10
    stale = customers_with_stale_figures(older_than=timedelta(seconds=30))
    assert sorted(stale.values_list("pk", flat=True)) == missed
    # Already stale: not marked twice.
    assert services.refit_stragglers_mark_stale(allowance=allowance) == 0


def test_it_recomputes_everyone_or_the_stale_ones_from_the_command_line(base):
    _, reference, _ = one_shot_reference()
    forget_figures()

    call_command("recompute_customers", "--all", stdout=StringIO())

    assert figures_of_everyone() == reference
    stale = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[5:8])
    CustomerFigures.objects.filter(pk__in=stale).update(figures_version=F("figures_version") + 1)
    forget_figures()
    output = StringIO()

    call_command("recompute_customers", stdout=output)

    assert "Recomputed 3 customers." in output.getvalue()
    recomputed = figures_of_everyone()
    assert {pk for pk, row in recomputed.items() if row["tier"]} == set(stale)
    assert all(recomputed[pk] == reference[pk] for pk in stale)
