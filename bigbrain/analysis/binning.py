"""Time bins shared by the binned statistics.

A window (t0, t1) in ms is cut into whole bins of `bin_ms`; a remainder shorter than
one bin (beyond a relative tolerance of 1e-9) is left out. Bins follow `np.histogram`
with edges e_k = t0 + k·bin_ms: [e_k, e_k+1), the last bin closed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bins:
    """n bins of width bin_ms starting at t0_ms (a small, picklable description)."""

    t0_ms: float
    bin_ms: float
    n: int

    @classmethod
    def over(cls, window: tuple[float, float], bin_ms: float) -> "Bins":
        """The whole bins of width bin_ms that fit in window (t0, t1) ms."""
        t0, t1 = window
        if bin_ms <= 0:
            raise ValueError(f"bin_ms must be positive, got {bin_ms}")
        n = int(np.floor((t1 - t0) / bin_ms * (1 + 1e-9)))
        if n < 1:
            raise ValueError(f"window ({t0}, {t1}) ms is shorter than one bin of {bin_ms} ms")
        return cls(float(t0), float(bin_ms), n)

    @property
    def edges(self) -> np.ndarray:
        """n+1 bin edges in ms."""
        return self.t0_ms + self.bin_ms * np.arange(self.n + 1)

    def index(self, times_ms: np.ndarray) -> np.ndarray:
        """Bin of each time as np.histogram(times, edges) assigns it; -1 or n outside.

        The estimate floor((t − t0)/bin_ms) is corrected against the edges themselves,
        so times on an edge land where the edge comparison puts them.
        """
        edges = self.edges
        index = np.floor((times_ms - self.t0_ms) / self.bin_ms)
        index = np.clip(index, 0, self.n).astype(np.int64)
        index[times_ms < edges[index]] -= 1
        index[(index < self.n) & (times_ms >= edges[np.minimum(index + 1, self.n)])] += 1
        index[times_ms == edges[-1]] = self.n - 1
        return index



@dataclass(frozen=True)
class Span:
    """Counts (rows, width) of the consecutive time bins first … first+width−1: the part
    of a histogram that a block of time-sorted spikes touches, so that partial
    histograms stay as small as their blocks."""

    first: int
    counts: np.ndarray

    @property
    def stop(self) -> int:
        """One past the last bin."""
        return self.first + self.counts.shape[1]

    def dense(self, n: int) -> np.ndarray:
        """The counts (rows, n) of all n bins."""
        counts = np.zeros((self.counts.shape[0], n), np.int64)
        counts[:, self.first:self.stop] = self.counts
        return counts


def histogram_span(columns: np.ndarray, n: int, rows=None, n_rows: int = 1) -> Span:
    """Spike counts per (row, bin) over the bins touched, from bin indices `columns`
    (outside 0 … n−1: ignored) and row indices `rows` (all 0 when None)."""
    inside = (columns >= 0) & (columns < n)
    columns = columns[inside]
    rows = np.zeros(len(columns), np.int64) if rows is None else rows[inside]
    if len(columns) == 0:
        return Span(0, np.zeros((n_rows, 0), np.int64))
    first = int(columns.min())
    width = int(columns.max()) - first + 1
    counts = np.bincount(rows * width + columns - first, minlength=n_rows * width)
    return Span(first, counts.reshape(n_rows, width))


def add_spans(a: Span, b: Span) -> Span:
    """Sum of two spans, over the bins of both."""
    if 0 in (a.counts.shape[1], b.counts.shape[1]):
        return b if a.counts.shape[1] == 0 else a
    first, stop = min(a.first, b.first), max(a.stop, b.stop)
    counts = np.zeros((a.counts.shape[0], stop - first), np.int64)
    for span in (a, b):
        counts[:, span.first - first:span.stop - first] += span.counts
    return Span(first, counts)
