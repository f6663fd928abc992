"""A population's spike record (`spikes/<population>/` of the archive), read lazily.

The record is split into blocks of whole storage chunks of `node_ids` (about
`spikes_per_block` spikes each); each block is one dask task that reads (timestamps,
node_ids) of its index range. Every statistic is a
reduction over these blocks, so no task ever holds more than a block of spikes. Block
tasks have deterministic keys: statistics computed together with `dask.compute` share
the reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import numpy as np
import pandas as pd

from .. import integrity


@dataclass(frozen=True, eq=False)
class SpikeRecord:
    """Spikes of one population: time stamps in ms, population-local node ids.

    recorded: the recorded node ids, or None when the whole population is recorded.
    written: spikes written (the arrays' common length written, :mod:`bigbrain.integrity`;
    rows past it are not read); None: the arrays' length.
    spikes_per_block: spikes read by one task, rounded down to whole storage chunks (at
    least one chunk); a task needs about 80 bytes per spike of memory.
    """

    location: str
    population: str
    size: int
    timestamps: object  # zarr.Array, float64 ms, sorted
    node_ids: object    # zarr.Array, int64
    t_start_ms: float
    t_stop_ms: float
    recorded: np.ndarray | None
    spikes_per_block: int = 1 << 20
    written: int | None = None

    def __dask_tokenize__(self):
        return ("bigbrain.SpikeRecord", self.location, self.population,
                self.timestamps.shape, self.node_ids.chunks)

    @property
    def recorded_ids(self) -> np.ndarray:
        """Recorded node ids, ascending."""
        return np.arange(self.size) if self.recorded is None else self.recorded

    @property
    def duration_s(self) -> float:
        """Length of the recorded window in s (ValueError when it is empty)."""
        if self.t_stop_ms <= self.t_start_ms:
            raise ValueError(f"{self.location}: the recorded window of {self.population!r} "
                             f"is empty (t_start_ms {self.t_start_ms}, t_stop_ms "
                             f"{self.t_stop_ms}); has the run finished a run() call?")
        return (self.t_stop_ms - self.t_start_ms) / 1000.0

    @property
    def n_spikes(self) -> int:
        """Number of spikes stored."""
        return self.node_ids.shape[0] if self.written is None else self.written

    def window(self, t=None) -> tuple[float, float]:
        """(t0, t1) in ms: `t`, or the recorded window when t is None."""
        return (self.t_start_ms, self.t_stop_ms) if t is None else (float(t[0]), float(t[1]))

    def index_range(self, t=None) -> tuple[int, int]:
        """Index range [i0, i1) of the spikes with t0 <= time <= t1 (all when t is None).

        Reads only the few chunks a binary search over chunk boundaries touches.
        """
        if t is None:
            return 0, self.n_spikes
        t0, t1 = self.window(t)
        return (searchsorted(self.timestamps, t0, "left", self.n_spikes),
                searchsorted(self.timestamps, t1, "right", self.n_spikes))

    def block_ranges(self, t=None) -> list[tuple[int, int]]:
        """Index ranges of the blocks (whole storage chunks of node_ids) covering `t`."""
        i0, i1 = self.index_range(t)
        chunk = self.node_ids.chunks[0]
        step = chunk * max(1, self.spikes_per_block // chunk)
        starts = range(i0 - i0 % step, i1, step)
        return [(max(s, i0), min(s + step, i1)) for s in starts]

    def blocks(self, t=None) -> list:
        """Delayed (times_ms, node_ids) arrays, one per block, in time order."""
        read = dask.delayed(read_block, pure=True)
        return [read(self, a, b) for a, b in self.block_ranges(t)]

    def frame(self, t=None):
        """The spikes as a dask DataFrame with columns time_ms (float64) and node_id
        (int64), one partition per block."""
        import dask.dataframe as dd

        meta = pd.DataFrame({"time_ms": np.empty(0, float), "node_id": np.empty(0, np.int64)})
        return dd.from_map(BlockFrame(self), self.block_ranges(t), meta=meta,
                           enforce_metadata=False)


def read_block(record: SpikeRecord, start: int, stop: int):
    """(times_ms, node_ids) of spikes start..stop-1, checked against the chunk checksums
    (ArchiveError for a deleted or damaged chunk)."""
    where = f"{record.location}/spikes/{record.population}"
    return (integrity.read(record.timestamps, f"{where}/timestamps", start, stop),
            integrity.read(record.node_ids, f"{where}/node_ids", start, stop))


@dataclass(frozen=True)
class BlockFrame:
    """Reads one block as a pandas DataFrame (the partition function of `frame`)."""

    record: SpikeRecord

    def __call__(self, bounds):
        times, ids = read_block(self.record, *bounds)
        return pd.DataFrame({"time_ms": times, "node_id": ids})


def searchsorted(times, value: float, side: str, n: int | None = None) -> int:
    """np.searchsorted on the first ``n`` (default all) elements of a sorted, chunked zarr
    array, reading O(log n_chunks) chunks."""
    step, n = times.chunks[0], times.shape[0] if n is None else n
    before = (lambda x: x < value) if side == "left" else (lambda x: x <= value)
    lo, hi = 0, -(-n // step)
    while lo < hi:                  # lo: number of chunks whose first element is before
        mid = (lo + hi) // 2
        if before(times[mid * step]):
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return 0
    start = (lo - 1) * step
    return start + int(np.searchsorted(times[start:min(lo * step, n)], value, side))
