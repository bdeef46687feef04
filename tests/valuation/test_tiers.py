import numpy as np

from valuation.numerics import tiers


def test_it_puts_the_top_tenth_by_clv_in_mvc_and_the_top_fifth_of_the_rest_by_growth_in_mgc():
    # given 100 customers with CLV 1..100 and growth 100..1 (the opposite order)
    value = np.arange(1.0, 101.0)
    growth = value[::-1].copy()

    clv_threshold, growth_threshold = tiers.tier_thresholds(value, growth)
    assigned = tiers.assign_tiers(value, growth, clv_threshold, growth_threshold)

    assert (assigned == "mvc").sum() == 10
    assert set(value[assigned == "mvc"]) == set(range(91, 101))
    assert (assigned == "mgc").sum() == 18
    assert value[assigned == "mgc"].max() == 18.0
    assert set(assigned) == {"mvc", "mgc", "maintain"}


def test_it_applies_the_rule_in_order():
    value = np.array([100.0, -5.0, -5.0, 0.0, 10.0, 0.0])
    growth = np.array([500.0, 500.0, np.nan, 0.0, 1.0, np.nan])

    assigned = tiers.assign_tiers(value, growth, 50.0, 100.0)

    assert assigned.tolist() == [
        "mvc",
        "below_zero",
        "below_zero",
        "maintain",
        "maintain",
        "maintain",
    ]


def test_a_customer_of_negative_value_is_below_zero_never_most_growable():
    # given a base where the customers of negative CLV have the largest growth potential
    # (growth is measured from the CLV up)
    value = np.array([-50.0, -20.0, *np.arange(1.0, 19.0)])
    growth = np.array([900.0, 800.0, *np.arange(1.0, 19.0)])

    clv_threshold, growth_threshold = tiers.tier_thresholds(value, growth)
    assigned = tiers.assign_tiers(value, growth, clv_threshold, growth_threshold)

    # then they are below zero, and the growth threshold ranks only those who can be MGC
    assert assigned[:2].tolist() == ["below_zero", "below_zero"]
    assert growth_threshold < 800.0
    assert (assigned == "mgc").sum() >= 1
    assert not ((assigned == "mgc") & (value < 0)).any()


def test_it_never_makes_a_customer_without_value_mvc():
    value = np.zeros(10)

    clv_threshold, growth_threshold = tiers.tier_thresholds(value, np.full(10, np.nan))
    assigned = tiers.assign_tiers(value, np.full(10, np.nan), clv_threshold, growth_threshold)

    assert set(assigned) == {"maintain"}


def test_it_ranks_nobody_in_an_empty_base():
    assert tiers.tier_thresholds(np.array([]), np.array([])) == (np.inf, np.inf)


def test_it_maps_every_tier_to_a_recommendation():
    assert set(tiers.RECOMMENDATION) == set(tiers.TIERS)
    assert tiers.RECOMMENDATION["below_zero"] == "shed or re-price"
