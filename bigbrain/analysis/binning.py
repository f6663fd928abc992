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
        """Bin of each time as np.histogram(times, edges) assigns it; -1 or n outside."""
        edges = self.edges
        index = np.searchsorted(edges, times_ms, side="right") - 1
        index[times_ms == edges[-1]] = self.n - 1
        return index
