"""Wallets inferred from similar customers: the "realistic wallet" of Perlich, Rosset et al.
(KDD 2007), a high quantile of annual spend among customers alike (docs/valuation.md).

Customers fall into segments by kind, size, known needs and tenure (72 of them). A segment's
wallet is the `quantile` of the annual spend of its peers, the customers of the segment whose
annual spend is known; a segment with fewer than `min_peers` peers borrows from a wider group,
dropping needs, then tenure, then size, then kind (everyone). Plain NumPy, no loop over
customers: the cost is a sort of the peers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

QUANTILE = 0.80
MIN_PEERS = 10

# The segment's dimensions, each with the labels of its bands.
KINDS = ("persons", "organizations")
SIZES = ("size unknown", "serving 1", "serving 2–9", "serving 10 or more")
NEEDS = ("no known needs", "1 known need", "2 or more known needs")
TENURES = ("under 1 year", "1–3 years", "3 years or more")
DIMENSIONS = (KINDS, SIZES, NEEDS, TENURES)
RADIX = tuple(len(d) for d in DIMENSIONS)
SEGMENTS = int(np.prod(RADIX))
ANY = ("any kind", "any size", "any needs", "any tenure")
# The groups tried, finest first: which dimensions each keeps (kind, size, needs, tenure).
LEVELS = (
    (True, True, True, True),
    (True, True, False, True),
    (True, True, False, False),
    (True, False, False, False),
    (False, False, False, False),
)


def segment_of(is_organization, people_served, needs_known, tenure_days) -> np.ndarray:
    """Each customer's segment, 0..SEGMENTS-1. Unknown (NaN) people served is its own band;
    unknown needs count as none, unknown tenure as new."""
    kind = (np.asarray(is_organization, dtype=np.float64) > 0).astype(np.int64)
    people = np.asarray(people_served, dtype=np.float64)
    size = np.where(np.isnan(people), 0, np.where(people < 2, 1, np.where(people < 10, 2, 3)))
    needs = np.clip(np.nan_to_num(np.asarray(needs_known, dtype=np.float64)), 0, 2).astype(np.int64)
    days = np.nan_to_num(np.asarray(tenure_days, dtype=np.float64))
    tenure = np.where(days < 365, 0, np.where(days < 3 * 365, 1, 2))
    kind, size, needs, tenure = np.broadcast_arrays(kind, size, needs, tenure)
    return ((kind * RADIX[1] + size) * RADIX[2] + needs) * RADIX[3] + tenure


def _dimensions(segment: np.ndarray) -> list[np.ndarray]:
    parts, rest = [], np.asarray(segment, dtype=np.int64)
    for radix in reversed(RADIX):
        parts.append(rest % radix)
        rest = rest // radix
    return parts[::-1]


def _group(segment: np.ndarray, level: int) -> np.ndarray:
    """The group of each segment at a level: the segment with the dropped dimensions at 0."""
    keep = LEVELS[level]
    key = np.zeros_like(np.asarray(segment, dtype=np.int64))
    for kept, radix, part in zip(keep, RADIX, _dimensions(segment), strict=True):
        key = key * radix + (part if kept else 0)
    return key


@lru_cache(maxsize=len(LEVELS) * 72)
def group_label(segment: int, level: int) -> str:
    """In words, e.g. "organizations · serving 2–9 · any needs · any tenure"."""
    parts = _dimensions(np.array([segment]))
    return " · ".join(
        dimension[int(part[0])] if kept else any_
        for dimension, part, kept, any_ in zip(DIMENSIONS, parts, LEVELS[level], ANY, strict=True)
    )


def _quantiles_by_group(keys: np.ndarray, values: np.ndarray, quantile: float):
    """(count, quantile) per group key 0..SEGMENTS-1 (linear interpolation, as np.quantile)
    of values sorted ascending."""
    # `values` come sorted (peer_wallets sorts them once); a stable sort of the small keys
    # (a radix sort for 16-bit integers) keeps each group's values sorted.
    order = np.argsort(keys.astype(np.int16), kind="stable")
    keys, values = keys[order], values[order]
    count = np.bincount(keys, minlength=SEGMENTS)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    position = quantile * np.maximum(count - 1, 0)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, np.maximum(count - 1, 0))
    result = np.full(SEGMENTS, np.nan)
    has = count > 0
    lower = values[(start + low)[has]]
    upper = values[(start + high)[has]]
    result[has] = lower + (upper - lower) * (position - low)[has]
    return count, result


@dataclass(frozen=True)
class PeerWallets:
    """Per segment (index 0..SEGMENTS-1): the inferred wallet (NaN: too few peers anywhere),
    the number of peers it is drawn from and the level of the group (LEVELS)."""

    wallet: np.ndarray
    peers: np.ndarray
    level: np.ndarray
    quantile: float
    min_peers: int

    def label(self, segment: int) -> str:
        return group_label(segment, int(self.level[segment]))

    @cached_property
    def labels(self) -> np.ndarray:
        """The label of every segment's group, by segment (object array)."""
        return np.array([self.label(code) for code in range(SEGMENTS)], dtype=object)


def peer_wallets(
    segment, annual_spend, *, quantile: float = QUANTILE, min_peers: int = MIN_PEERS
) -> PeerWallets:
    """Each segment's wallet from the customers whose annual spend is known (finite).

    The finest group (LEVELS) with at least `min_peers` peers is used; when even everyone
    together has fewer, no wallet is inferred (NaN, 0 peers).
    """
    if not 0.0 <= quantile <= 1.0:
        raise ValueError("quantile must be between 0 and 1")
    segment = np.asarray(segment, dtype=np.int64).ravel()
    spend = np.asarray(annual_spend, dtype=np.float64).ravel()
    if segment.shape != spend.shape:
        raise ValueError("segment and annual_spend must have the same length")
    known = np.isfinite(spend)
    segment, spend = segment[known], spend[known]
    by_spend = np.argsort(spend, kind="stable")
    segment, spend = segment[by_spend], spend[by_spend]
    every = np.arange(SEGMENTS)
    wallet = np.full(SEGMENTS, np.nan)
    peers = np.zeros(SEGMENTS, dtype=np.int64)
    level_of = np.full(SEGMENTS, len(LEVELS) - 1, dtype=np.int64)
    open_ = np.ones(SEGMENTS, dtype=bool)
    for level in range(len(LEVELS)):
        count, value = _quantiles_by_group(_group(segment, level), spend, quantile)
        group = _group(every, level)
        take = open_ & (count[group] >= max(min_peers, 1))
        wallet[take], peers[take], level_of[take] = value[group][take], count[group][take], level
        open_ &= ~take
    return PeerWallets(wallet, peers, level_of, float(quantile), int(min_peers))


def annual_spend_known(wallet_known, revenue_12m, days_since_first) -> np.ndarray:
    """The annual spend a peer contributes: their stated or estimated wallet where known, else
    their spend with us over the last 12 months if their history covers a whole year; NaN for
    everyone else (not a peer)."""
    wallet = np.asarray(wallet_known, dtype=np.float64)
    revenue = np.asarray(revenue_12m, dtype=np.float64)
    year = np.nan_to_num(np.asarray(days_since_first, dtype=np.float64)) >= 365
    known = np.isfinite(wallet) & (wallet > 0)
    return np.where(known, wallet, np.where(year & np.isfinite(revenue), revenue, np.nan))
