"""Wallets inferred from similar customers (valuation.numerics.wallets)."""

import numpy as np
import pytest

from valuation.numerics import wallets


def segment(organization=0, people=np.nan, needs=np.nan, tenure=0):
    return int(wallets.segment_of(organization, people, needs, tenure))


def test_it_puts_customers_in_segments_by_kind_size_needs_and_tenure():
    codes = wallets.segment_of(
        [0, 1, 1, 1, 0],
        [np.nan, 1, 5, 40, np.nan],
        [np.nan, 0, 1, 7, 2],
        [0, 364, 365, 2000, np.nan],
    )
    assert len(set(codes.tolist())) == 5
    assert codes.min() >= 0 and codes.max() < wallets.SEGMENTS
    assert wallets.group_label(int(codes[3]), 0) == (
        "organizations · serving 10 or more · 2 or more known needs · 3 years or more"
    )
    assert wallets.group_label(int(codes[3]), 2) == (
        "organizations · serving 10 or more · any needs · any tenure"
    )
    assert wallets.group_label(int(codes[0]), 4) == "any kind · any size · any needs · any tenure"


def test_a_segment_with_enough_peers_gets_their_quantile():
    spend = np.arange(1.0, 13.0) * 1000  # twelve organizations of one segment
    code = segment(organization=1)
    peer = wallets.peer_wallets(np.full(12, code), spend, quantile=0.8, min_peers=10)
    assert peer.wallet[code] == pytest.approx(np.quantile(spend, 0.8))
    assert (peer.peers[code], peer.level[code]) == (12, 0)
    assert peer.label(code) == "organizations · size unknown · no known needs · under 1 year"


def test_a_sparse_segment_borrows_from_the_wider_group():
    # Ten persons of 1-3 years with a size, and one unlike them (no size, new)
    rich = segment(people=3, needs=1, tenure=500)
    lone = segment(people=3, needs=2, tenure=500)
    codes = np.array([rich] * 10 + [lone])
    spend = np.array([100.0] * 10 + [9000.0])
    peer = wallets.peer_wallets(codes, spend, quantile=0.5, min_peers=10)
    # The lone one's own segment has one peer: its group without needs has eleven
    assert (peer.level[lone], peer.peers[lone]) == (1, 11)
    assert peer.wallet[lone] == pytest.approx(100.0)
    assert peer.label(lone) == "persons · serving 2–9 · any needs · 1–3 years"
    # Segments with no like customers fall back to everyone, eleven again
    stranger = segment(organization=1, tenure=3000)
    assert (peer.level[stranger], peer.peers[stranger]) == (4, 11)


def test_it_infers_nothing_from_too_few_peers():
    peer = wallets.peer_wallets(np.zeros(3, dtype=int), [1.0, 2.0, 3.0], min_peers=10)
    assert np.isnan(peer.wallet).all() and (peer.peers == 0).all()


def test_customers_without_a_known_spend_are_no_peers():
    spend = wallets.annual_spend_known(
        [np.nan, 5000.0, np.nan, np.nan, 0.0],
        [300.0, 10.0, 300.0, np.nan, 50.0],
        [400, 10, 100, 800, 800],
    )
    # A whole year with us; a stated wallet; half a year: no; a year, no revenue known: no;
    # a wallet of 0 is none: their year of spend instead.
    assert spend[:2].tolist() == [300.0, 5000.0]
    assert np.isnan(spend[2]) and np.isnan(spend[3])
    assert spend[4] == 50.0


def test_it_matches_numpy_quantiles_group_by_group():
    rng = np.random.default_rng(5)
    codes = rng.integers(0, wallets.SEGMENTS, 20_000)
    spend = rng.gamma(2.0, 500.0, 20_000)
    spend[rng.random(20_000) < 0.3] = np.nan
    peer = wallets.peer_wallets(codes, spend, quantile=0.85, min_peers=10)
    for code in (0, 17, 71):
        own = spend[(codes == code) & np.isfinite(spend)]
        assert peer.level[code] == 0
        assert peer.wallet[code] == pytest.approx(np.quantile(own, 0.85), rel=1e-12)
