import numpy as np
import pytest

from valuation.numerics import experience


def test_it_maps_ratings_one_to_five_onto_zero_to_one():
    units = experience.rating_to_unit([1.0, 3.0, 5.0, np.nan])

    assert units[:3].tolist() == [0.0, 0.5, 1.0]
    assert np.isnan(units[3])


def test_it_starts_tenure_at_a_half_and_saturates_towards_one():
    factor = experience.tenure_factor([0.0, 365.0, 730.0, 3650.0, -5.0])

    np.testing.assert_allclose(factor[:3], [0.5, 0.75, 0.875], rtol=1e-15)
    assert factor[3] == 1.0 - 0.5 / 1024
    assert factor[4] == 0.5


def test_it_blends_interactive_experience_from_what_is_available():
    blended = experience.interactive_experience([1.0, 0.5, np.nan], [0.5, np.nan, np.nan])

    assert blended[:2].tolist() == [0.75, 0.5]
    assert np.isnan(blended[2])


def test_it_averages_available_terms_and_scales_by_tenure():
    # given P, C, O with gaps: missing terms are excluded, not counted as zero
    product = np.array([1.0, 0.8, np.nan, np.nan])
    interactive = np.array([0.5, np.nan, 0.4, np.nan])
    others = np.array([0.0, np.nan, np.nan, np.nan])
    tenure = np.array([1.0, 0.5, 0.75, 1.0])

    score = experience.experience_score(product, interactive, others, tenure)

    assert score[0] == pytest.approx(0.5, rel=1e-15)
    assert score[1] == pytest.approx(0.4, rel=1e-15)
    assert score[2] == pytest.approx(0.3, rel=1e-15)
    assert np.isnan(score[3])
