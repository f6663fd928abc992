"""Spike-count (Pearson) correlation of randomly sampled neuron pairs."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .binning import Bins
from .counts import Selection, count_moments
from .record import SpikeRecord


def count_correlations(record: SpikeRecord, n_pairs: int = 1000, bin_ms: float = 5.0,
                       seed: int = 0):
    """Delayed pandas DataFrame with columns i, j (node ids, i < j) and r: the Pearson
    correlation of the two neurons' spike counts in the whole bins of bin_ms (ms) of
    the recorded window; NaN when a neuron's count does not vary. n_pairs distinct pairs
    of recorded neurons are drawn with `np.random.default_rng(seed)` (all pairs when
    there are fewer)."""
    bins = Bins.over(record.window(), bin_ms)
    pairs = sample_pairs(record.recorded_ids, n_pairs, np.random.default_rng(seed))
    ids, positions = np.unique(pairs, return_inverse=True)
    selection = Selection(ids, positions.reshape(pairs.shape))
    return count_moments(record, bins, selection,
                         partial(correlation_of_sums, selection, bins.n))


def sample_pairs(ids: np.ndarray, n_pairs: int, rng) -> np.ndarray:
    """(k, 2) distinct pairs (i < j) of ids drawn uniformly without replacement."""
    n = len(ids)
    if n_pairs >= n * (n - 1) // 2:
        i, j = np.triu_indices(n, 1)
        return np.c_[ids[i], ids[j]]
    codes = np.empty(0, np.int64)
    while len(codes) < n_pairs:
        a, b = rng.integers(0, n, (2, 2 * n_pairs))
        drawn = np.r_[codes, (np.minimum(a, b) * n + np.maximum(a, b))[a != b]]
        _, first = np.unique(drawn, return_index=True)
        codes = drawn[np.sort(first)][:n_pairs]      # keep draw order: no bias
    return np.c_[ids[codes // n], ids[codes % n]]


def correlation_of_sums(selection: Selection, n_bins: int, s1, s2, sxy) -> pd.DataFrame:
    """Pearson r per pair from Σc_i, Σc_i², Σc_i·c_j over n_bins bins."""
    s1, s2, sxy = s1.astype(float), s2.astype(float), sxy.astype(float)
    i, j = selection.pairs[:, 0], selection.pairs[:, 1]
    var = n_bins * s2 - s1 ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (n_bins * sxy - s1[i] * s1[j]) / np.sqrt(var[i] * var[j])
    r[(var[i] <= 0) | (var[j] <= 0)] = np.nan
    return pd.DataFrame({"i": selection.ids[i], "j": selection.ids[j], "r": r})
