"""Property tests (hypothesis): the order arithmetic is exact Decimal arithmetic, and the
valuation functions stay finite and in range at their edges (no transactions, one transaction,
huge frequencies, a purchase dated after the observation end)."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from interactions.models import OrderLine
from valuation.numerics import bgnbd, clv, gamma_gamma, rfm

money = st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2)
quantity = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2)
discount = st.decimals(min_value=0, max_value=1, places=4)

bgnbd_params = st.builds(
    bgnbd.BgNbdParams,
    r=st.floats(0.05, 20),
    alpha=st.floats(0.5, 500),
    a=st.floats(0.05, 20),
    b=st.floats(0.05, 50),
)
gg_params = st.builds(
    gamma_gamma.GammaGammaParams,
    p=st.floats(0.5, 20),
    q=st.floats(1.5, 20),
    gamma=st.floats(1, 500),
)


@st.composite
def histories(draw):
    """(frequency, recency, T) in weeks as the summaries make them: repeat purchases fall on
    distinct days, so x repeat purchases need a recency of at least x days; up to a century
    of daily purchases (36 400)."""
    age = draw(st.floats(0.0, 5200.0))
    most = int(age * 7)
    frequency = draw(st.one_of(st.just(0), st.just(min(1, most)), st.integers(0, most)))
    recency = 0.0 if frequency == 0 else draw(st.floats(frequency / 7, age))
    return float(frequency), recency, age


@given(quantity=quantity, unit_price=money, unit_cost=money, discount=discount)
def test_it_computes_line_revenue_and_margin_exactly(quantity, unit_price, unit_cost, discount):
    line = OrderLine(
        quantity=quantity, unit_price=unit_price, unit_cost=unit_cost, discount=discount
    )

    assert isinstance(line.revenue, Decimal)
    assert line.revenue == quantity * unit_price * (1 - discount)
    assert 0 <= line.revenue <= quantity * unit_price
    assert line.margin == line.revenue - quantity * unit_cost
    if discount == 0:
        assert line.revenue == quantity * unit_price
    if discount == 1:
        assert line.revenue == 0


@given(
    lines=st.lists(st.tuples(quantity, money, money, discount), min_size=1, max_size=20),
)
def test_it_sums_order_revenue_independently_of_line_order(lines):
    order_lines = [
        OrderLine(quantity=q, unit_price=p, unit_cost=c, discount=d) for q, p, c, d in lines
    ]
    forward = sum((line.revenue for line in order_lines), Decimal(0))
    backward = sum((line.revenue for line in reversed(order_lines)), Decimal(0))
    assert forward == backward


@settings(max_examples=200, deadline=None)
@given(params=bgnbd_params, history=histories())
def test_it_keeps_p_alive_a_probability(params, history):
    frequency, recency, age = history
    value = float(bgnbd.p_alive(params, frequency, recency, age))
    assert 0.0 <= value <= 1.0
    if frequency == 0:
        assert value == 1.0  # no repeat purchase: nothing says the customer has left


@settings(max_examples=200, deadline=None)
@given(params=bgnbd_params, history=histories(), horizon=st.floats(0.0, 520.0))
# Found by this test: SciPy's 2F1 is NaN near z = 1 when C - A - B is an integer (r = a, x = 0).
@example(params=bgnbd.BgNbdParams(r=0.05, alpha=0.5, a=0.05, b=4.0), history=(0, 0, 0), horizon=231)
def test_it_expects_a_finite_non_negative_number_of_transactions(params, history, horizon):
    frequency, recency, age = history
    value = float(bgnbd.expected_transactions(params, horizon, frequency, recency, age))
    assert np.isfinite(value)
    assert value >= -1e-9
    if horizon == 0:
        assert value == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(params=bgnbd_params, history=histories(), margin=st.floats(0.0, 1e6))
def test_it_gives_a_finite_clv_of_the_margins_sign(params, history, margin):
    frequency, recency, age = history
    value = float(clv.predicted_clv(params, frequency, recency, age, margin))
    assert np.isfinite(value)
    assert value >= -1e-6


@given(params=gg_params, frequency=st.integers(0, 100_000), spend=st.floats(0.01, 1e7))
def test_it_expects_a_spend_between_the_population_and_the_customer(params, frequency, spend):
    value = float(gamma_gamma.conditional_expected_value(params, frequency, spend))
    population = gamma_gamma.population_mean(params)
    if frequency == 0:
        assert value == pytest.approx(population)
    else:
        low, high = min(population, spend), max(population, spend)
        assert low * (1 - 1e-9) <= value <= high * (1 + 1e-9)


@given(days_after_end=st.integers(1, 3650), amount=st.floats(0.01, 1e6))
def test_it_ignores_purchases_dated_after_the_observation_end(days_after_end, amount):
    end = date(2026, 6, 30)
    summary = rfm.rfm_summary(
        np.array([1, 1, 2]),
        np.array(
            [end - timedelta(days=10), end + timedelta(days=days_after_end), end + timedelta(1)],
            dtype="datetime64[D]",
        ),
        np.array([amount, amount, amount]),
        end,
    )
    # Customer 1's future purchase is not counted; customer 2 (only future purchases) is absent.
    assert list(summary.customer_ids) == [1]
    assert list(summary.frequency) == [0]


@given(history=histories())
def test_it_refuses_a_recency_after_the_age(history):
    frequency, _, age = history
    with pytest.raises(ValueError, match="recency"):
        bgnbd.p_alive(bgnbd.BgNbdParams(1, 1, 1, 1), max(frequency, 1), age + 1, age)
