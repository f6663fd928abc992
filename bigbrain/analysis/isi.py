"""Inter-spike interval (ISI) statistics per neuron, out of core.

Each block yields, per node id, the count, mean and sum of squared deviations (M2) of
its ISIs inside the block, plus its first and last spike time. Two time-adjacent
partials combine exactly: their moments merge (Chan et al.) and the one ISI that
crosses the boundary, first(right) − last(left), is added. A partial is five arrays of
the population's size, whatever the number of spikes, so the reduction never holds
more than a block of spikes.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import dask
import numpy as np
import pandas as pd

from .record import SpikeRecord
from .reduction import tree_reduce


class IsiMoments(NamedTuple):
    """Per node id: ISI count, mean ISI (ms; 0 when no ISI), M2 (ms²), first and last
    spike time (ms; NaN when no spike)."""

    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    first: np.ndarray
    last: np.ndarray


def isi_stats(record: SpikeRecord):
    """Delayed pandas DataFrame indexed by node_id (recorded ids) with n_isi,
    mean_isi_ms, std_isi_ms (ddof=0) and cv = std/mean (NaN below 2 ISIs)."""
    moments = dask.delayed(block_moments, pure=True)
    partials = [moments(block, record.size) for block in record.blocks()]
    empty = dask.delayed(empty_moments, pure=True)(record.size)
    return tree_reduce(partials, combine, empty, partial(summarize, record.recorded_ids))


def empty_moments(size: int) -> IsiMoments:
    """Moments of no spike at all."""
    nan = np.full(size, np.nan)
    return IsiMoments(np.zeros(size, np.int64), np.zeros(size), np.zeros(size), nan, nan)


def block_moments(block, size: int) -> IsiMoments:
    """ISI moments of the spikes of one block."""
    times, ids = block
    if len(ids) == 0:
        return empty_moments(size)
    narrow = ids.astype(np.min_scalar_type(size))    # radix sort for ids < 2**16
    order = np.argsort(narrow, kind="stable")        # by node id, in time within each
    ids, times = ids[order], times[order]
    same = ids[1:] == ids[:-1]
    isi, owner = np.diff(times)[same], ids[1:][same]
    n = np.bincount(owner, minlength=size)
    mean = np.bincount(owner, isi, minlength=size) / np.maximum(n, 1)
    m2 = np.bincount(owner, (isi - mean[owner]) ** 2, minlength=size)
    new = np.flatnonzero(np.r_[True, ~same])         # each node id's first spike
    end = np.r_[new[1:], len(ids)] - 1               # and its last
    first, last = np.full(size, np.nan), np.full(size, np.nan)
    first[ids[new]], last[ids[new]] = times[new], times[end]
    return IsiMoments(n, mean, m2, first, last)


def combine(left: IsiMoments, right: IsiMoments) -> IsiMoments:
    """Moments of two time-adjacent partials (left earlier), boundary ISI included."""
    n, mean, m2 = merge(left.n, left.mean, left.m2, right.n, right.mean, right.m2)
    crossing = right.first - left.last
    has = ~np.isnan(crossing)
    n, mean, m2 = merge(n, mean, m2, has.astype(np.int64), np.where(has, crossing, 0.0),
                        np.zeros_like(m2))
    first = np.where(np.isnan(left.first), right.first, left.first)
    last = np.where(np.isnan(right.last), left.last, right.last)
    return IsiMoments(n, mean, m2, first, last)


def merge(n_a, mean_a, m2_a, n_b, mean_b, m2_b):
    """Count, mean and M2 of the union of two samples (Chan et al. 1979)."""
    n = n_a + n_b
    weight = n_b / np.maximum(n, 1)
    delta = mean_b - mean_a
    return n, mean_a + delta * weight, m2_a + m2_b + delta ** 2 * n_a * weight


def summarize(recorded: np.ndarray, moments: IsiMoments) -> pd.DataFrame:
    """Per recorded node id: n_isi, mean_isi_ms, std_isi_ms, cv."""
    n = moments.n[recorded]
    mean = np.where(n > 0, moments.mean[recorded], np.nan)
    std = np.sqrt(moments.m2[recorded] / np.maximum(n, 1))
    std[n == 0] = np.nan
    return pd.DataFrame({"n_isi": n, "mean_isi_ms": mean, "std_isi_ms": std,
                         "cv": np.where(n >= 2, std / mean, np.nan)},
                        index=pd.Index(recorded, name="node_id"))
