"""Firing rates: per neuron over the recorded window, and of the population over time.

Both are sums of per-block histograms (spike counts per node id, or per time bin over
the bins a block touches), so memory is one block of spikes plus one count array per
task.
"""

from __future__ import annotations

from functools import partial

import dask
import numpy as np
import pandas as pd

from .binning import Bins, Span, add_spans, histogram_span
from .record import SpikeRecord
from .reduction import tree_reduce


def neuron_rates(record: SpikeRecord):
    """Delayed pandas Series of rates in Hz, index node_id (recorded ids, silent ones
    included): spike count / (t_stop_ms − t_start_ms) of the recorded window."""
    count = dask.delayed(count_by_node, pure=True)
    partials = [count(block, record.size) for block in record.blocks()]
    return tree_reduce(partials, np.add, np.zeros(record.size, np.int64),
                       partial(rates_of_counts, record.recorded_ids, record.duration_s))


def count_by_node(block, size: int) -> np.ndarray:
    """Spike count of every node id 0..size-1 in a block."""
    return np.bincount(block[1], minlength=size)


def rates_of_counts(recorded: np.ndarray, duration_s: float, counts: np.ndarray):
    """Series rate_hz of the recorded ids from counts over a window of duration_s."""
    return pd.Series(counts[recorded] / duration_s, index=pd.Index(recorded, name="node_id"),
                     name="rate_hz")


def population_rate(record: SpikeRecord, bin_ms: float = 1.0, t=None):
    """Delayed pandas Series of the population rate in Hz (spikes per recorded neuron
    per second) in bins of bin_ms over window t (default: the recorded window); index
    t_ms is each bin's left edge."""
    bins = Bins.over(record.window(t), bin_ms)
    count = dask.delayed(count_by_bin, pure=True)
    partials = [count(block, bins) for block in record.blocks(t)]
    return tree_reduce(partials, add_spans, histogram_span(np.empty(0, np.int64), bins.n),
                       partial(rate_of_bins, bins, len(record.recorded_ids)))


def count_by_bin(block, bins: Bins) -> Span:
    """Spike count per time bin in a block, over the bins it touches."""
    return histogram_span(bins.index(block[0]), bins.n)


def rate_of_bins(bins: Bins, n_neurons: int, span: Span):
    """Series rate_hz indexed by bin start t_ms, from spike counts per bin."""
    return pd.Series(span.dense(bins.n)[0] / (n_neurons * bins.bin_ms / 1000.0),
                     index=pd.Index(bins.edges[:-1], name="t_ms"), name="rate_hz")


def rate_bin_edges(rates, duration_s: float, max_bins: int = 50) -> np.ndarray:
    """Histogram edges (Hz) for per-neuron rates measured over ``duration_s``: a rate is a
    spike count / duration_s, so only multiples of 1/duration_s occur; each bin holds the
    same number of them (edges halfway between), never a comb of empty and full bins."""
    rates = np.asarray(rates, np.float64)
    rates = rates[np.isfinite(rates)]
    low, high = (np.rint(np.array([rates.min(), rates.max()]) * duration_s).astype(np.int64)
                 if rates.size else (0, 0))
    counts_per_bin = max(1, -(-(high - low + 1) // max_bins))
    n_bins = -(-(high - low + 1) // counts_per_bin)
    return (low - 0.5 + counts_per_bin * np.arange(n_bins + 1)) / duration_s
