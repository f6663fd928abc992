"""Run telemetry: the 1-D arrays under `telemetry/` as one table.

The telemetry layout is not fixed yet (docs/archive-layout.md: per-interval-block
arrays, timings in s, counters). This reader takes every 1-D array directly under
`telemetry/`, and the arrays of the most common length become the columns of a pandas
DataFrame (one row per interval block). Arrays of other lengths or shapes are left out
and named in `df.attrs["skipped"]`; the group's attributes are in `df.attrs["group"]`.
"""

from __future__ import annotations

import warnings
from collections import Counter

import pandas as pd


def read_telemetry(root, location: str) -> pd.DataFrame:
    """DataFrame of the telemetry arrays sharing the most common length (empty, with a
    warning, when the archive has no telemetry)."""
    if "telemetry" not in root:
        warnings.warn(f"{location} has no telemetry/ group", stacklevel=3)
        return pd.DataFrame()
    group = root["telemetry"]
    arrays = dict(sorted(group.arrays()))
    lengths = Counter(a.shape[0] for a in arrays.values() if a.ndim == 1)
    if not lengths:
        warnings.warn(f"{location}: telemetry/ holds no 1-D array", stacklevel=3)
    length = lengths.most_common(1)[0][0] if lengths else None
    columns = {name: a[:] for name, a in arrays.items() if a.shape == (length,)}
    df = pd.DataFrame(columns)
    df.index.name = "block"
    df.attrs["skipped"] = sorted(set(arrays) - set(columns))
    df.attrs["group"] = dict(group.attrs)
    return df
