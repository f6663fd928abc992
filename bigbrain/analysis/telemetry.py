"""Run telemetry: the 1-D arrays of a `telemetry/` group as one table.

The telemetry layout is not fixed yet (docs/archive-layout.md: per-interval-block
arrays, timings in s, counters). This reader takes every 1-D array directly in
`telemetry/` (or in a subgroup such as `telemetry/ranks/`); the arrays of the most
common length become the columns of a pandas DataFrame, one row per entry (interval
block). Arrays of other lengths or shapes are left out and named in
`df.attrs["skipped"]`; the group's attributes are in `df.attrs["group"]`.

When the table has t_start_ms, t_stop_ms and timing columns t_*_s, two columns are
added: wall_s, the sum of the t_*_s timings, and rtf, the real-time factor wall_s per
second of biological time.
"""

from __future__ import annotations

import warnings
from collections import Counter

import pandas as pd

from .. import integrity
from ..traffic import read_pairs


def read_telemetry(root, location: str, group: str | None = None) -> pd.DataFrame:
    """DataFrame of the telemetry arrays sharing the most common length (empty, with a
    warning, when there are none)."""
    path = "telemetry" if group is None else f"telemetry/{group}"
    node = root.get(path)
    if path == "telemetry/traffic/pairs" and node is not None:
        return _pairs_table(node, f"{location}/{path}")
    arrays = {} if node is None else dict(sorted(node.arrays()))
    written = {name: integrity.length(a, f"{location}/{path}/{name}")
               for name, a in arrays.items() if a.ndim == 1}
    lengths = Counter(written.values())
    if not lengths:
        warnings.warn(f"{location} has no telemetry: no 1-D array in {path}/", stacklevel=3)
        return pd.DataFrame()
    length = lengths.most_common(1)[0][0]
    df = pd.DataFrame({name: integrity.read(arrays[name], f"{location}/{path}/{name}")
                       for name, n in written.items() if n == length})
    df.attrs["skipped"] = sorted(set(arrays) - set(df.columns))
    df.attrs["group"] = dict(node.attrs)
    return with_real_time_factor(df)


def _pairs_table(node, where):
    """The rank-pair rows (block, origin, destination, packets) of either layout: one
    group per destination rank, or the rows of older archives (bigbrain.traffic.read_pairs)."""
    df = pd.DataFrame(read_pairs(node, lambda a, name: integrity.read(a, f"{where}/{name}")))
    df.attrs["skipped"] = []
    df.attrs["group"] = dict(node.attrs)
    return df


def with_real_time_factor(df: pd.DataFrame) -> pd.DataFrame:
    """df plus wall_s (sum of t_*_s) and rtf (wall_s per biological second), when the
    columns needed are there."""
    timings = [c for c in df.columns if c.startswith("t_") and c.endswith("_s")]
    if not timings or not {"t_start_ms", "t_stop_ms"} <= set(df.columns):
        return df
    wall_s = df[timings].sum(axis=1)
    biological_s = (df["t_stop_ms"] - df["t_start_ms"]) / 1000.0
    return df.assign(wall_s=wall_s, rtf=wall_s / biological_s)
