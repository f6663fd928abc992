"""Fano factor of each neuron's spike count in time bins."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .binning import Bins
from .counts import Selection, count_moments
from .record import SpikeRecord


def fano_factors(record: SpikeRecord, bin_ms: float = 50.0):
    """Delayed pandas Series fano indexed by node_id (recorded ids): variance (ddof=0)
    over mean of the spike counts in the whole bins of bin_ms (ms) of the recorded
    window; NaN for a neuron without spikes."""
    bins = Bins.over(record.window(), bin_ms)
    ids = record.recorded_ids
    selection = Selection(ids, np.empty((0, 2), np.int64))
    return count_moments(record, bins, selection, partial(fano_of_sums, ids, bins.n))


def fano_of_sums(ids: np.ndarray, n_bins: int, s1, s2, sxy) -> pd.Series:
    """Fano factor from Σc and Σc² over n_bins bins: (n·Σc² − (Σc)²) / (n·Σc)."""
    s1, s2 = s1.astype(float), s2.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        fano = np.where(s1 > 0, (n_bins * s2 - s1 ** 2) / (n_bins * s1), np.nan)
    return pd.Series(fano, index=pd.Index(ids, name="node_id"), name="fano")
