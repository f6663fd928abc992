"""Moments of binned spike counts, per neuron and per neuron pair, out of core.

For a selection of node ids and time bins, the statistic needs per neuron the sums of
the counts c_i(b) and of their squares over all bins, and per pair the sum of
c_i(b)·c_j(b). Spikes are sorted by time, so a block holds every spike of each bin
strictly between its first and last bin: those bins are "closed" and go straight into
the sums, while the first and last bins stay "open" (dense count vectors over the
selection) until the neighbouring partials are merged in. Bins without spikes add 0 to
every sum, so they need no storage. The sums are exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import NamedTuple

import dask
import numpy as np

from .binning import Bins
from .record import SpikeRecord
from .reduction import tree_reduce


@dataclass(frozen=True, eq=False)
class Selection:
    """Node ids (ascending) whose counts are followed, and pairs as (k, 2) positions
    into ids."""

    ids: np.ndarray
    pairs: np.ndarray

    def __dask_tokenize__(self):
        return ("bigbrain.Selection", self.ids, self.pairs)

    @cached_property
    def table(self) -> np.ndarray:
        """Position of node id k in the selection at [k] (−1 when not selected), for
        k up to the largest selected id, then −1 once more."""
        table = np.full(self.ids[-1] + 2 if len(self.ids) else 1, -1, np.int64)
        table[self.ids] = np.arange(len(self.ids))
        return table

    def positions(self, node_ids: np.ndarray) -> np.ndarray:
        """Position of each node id in the selection, −1 when not selected."""
        return self.table[np.minimum(node_ids, len(self.table) - 1)]


class CountMoments(NamedTuple):
    """s1, s2: per selected neuron, sums of counts and squared counts over closed bins;
    sxy: per pair, sum of count products over closed bins; open: up to two
    (bin, counts) of bins that may continue in a neighbouring partial."""

    s1: np.ndarray
    s2: np.ndarray
    sxy: np.ndarray
    open: tuple


def count_moments(record: SpikeRecord, bins: Bins, selection: Selection, finalize):
    """Delayed finalize(s1, s2, sxy) summed over all bins of the record."""
    moments = dask.delayed(block_moments, pure=True)
    partials = [moments(block, bins, selection) for block in record.blocks()]
    return tree_reduce(partials, partial(combine, selection), empty(selection),
                       partial(close_all, selection, finalize))


def empty(selection: Selection) -> CountMoments:
    """Moments of no spike."""
    m, k = len(selection.ids), len(selection.pairs)
    return CountMoments(np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(k, np.int64), ())


def block_moments(block, bins: Bins, selection: Selection) -> CountMoments:
    """Count moments of one block: inner bins closed, first and last bins open."""
    times, ids = block
    where, b = selection.positions(ids), bins.index(times)
    keep = (where >= 0) & (b >= 0) & (b < bins.n)
    if not keep.any():
        return empty(selection)
    m = len(selection.ids)
    keys, counts = np.unique(b[keep] * m + where[keep], return_counts=True)
    b, where = np.divmod(keys, m)
    lo, hi = b[0], b[-1]
    edge = [(int(x), np.bincount(where[b == x], counts[b == x], minlength=m).astype(np.int64))
            for x in sorted({lo, hi})]
    inner = (b > lo) & (b < hi)
    b, where, counts = b[inner], where[inner], counts[inner]
    return CountMoments(np.bincount(where, counts, minlength=m).astype(np.int64),
                        np.bincount(where, counts ** 2, minlength=m).astype(np.int64),
                        pair_products(b, where, counts, selection), tuple(edge))


def pair_products(b, where, counts, selection: Selection) -> np.ndarray:
    """Σ_b c_i(b)·c_j(b) per pair from sparse (bin, position, count) entries."""
    k = len(selection.pairs)
    if k == 0 or len(b) == 0:
        return np.zeros(k, np.int64)
    n_bins = int(b.max()) + 1
    key = where * n_bins + b
    order = np.argsort(key)
    key, counts, where = key[order], counts[order], where[order]
    start = np.searchsorted(where, np.arange(len(selection.ids) + 1))
    i, j = selection.pairs[:, 0], selection.pairs[:, 1]
    length = start[j + 1] - start[j]                  # entries of each pair's j
    pair = np.repeat(np.arange(k), length)
    entry = start[j][pair] + np.arange(length.sum()) - np.repeat(np.cumsum(length) - length,
                                                                 length)
    wanted = i[pair] * n_bins + key[entry] % n_bins   # same bin, neuron i
    found = np.minimum(np.searchsorted(key, wanted), len(key) - 1)
    hit = key[found] == wanted
    return np.bincount(pair[hit], counts[entry[hit]] * counts[found[hit]],
                       minlength=k).astype(np.int64)


def combine(selection: Selection, left: CountMoments, right: CountMoments) -> CountMoments:
    """Moments of two time-adjacent partials (left earlier)."""
    merged = []
    for x, counts in left.open + right.open:
        if merged and merged[-1][0] == x:
            merged[-1] = (x, merged[-1][1] + counts)
        else:
            merged.append((x, counts))
    s1, s2, sxy = left.s1 + right.s1, left.s2 + right.s2, left.sxy + right.sxy
    for _, counts in merged[1:-1]:
        s1, s2, sxy = close(selection, (s1, s2, sxy), counts)
    return CountMoments(s1, s2, sxy, tuple(merged[:1] + merged[1:][-1:]))


def close(selection: Selection, sums, counts: np.ndarray):
    """Add one complete bin's counts to (s1, s2, sxy)."""
    s1, s2, sxy = sums
    i, j = selection.pairs[:, 0], selection.pairs[:, 1]
    return s1 + counts, s2 + counts ** 2, sxy + counts[i] * counts[j]


def close_all(selection: Selection, finalize, moments: CountMoments):
    """finalize(s1, s2, sxy) once every bin is closed."""
    sums = moments.s1, moments.s2, moments.sxy
    for _, counts in moments.open:
        sums = close(selection, sums, counts)
    return finalize(*sums)
