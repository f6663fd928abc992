"""Ordered tree reduction of per-block partial results.

Partials are combined only with their neighbours in time order, so a combine function
may rely on "left is earlier than right" (ISI and binned-count statistics carry state
across block boundaries). A tree of fan-in `split_every` keeps at most that many
partials per task.
"""

from __future__ import annotations

from functools import reduce

import dask


def tree_reduce(partials: list, combine, empty, finalize, split_every: int = 8):
    """Delayed finalize(combine(p0, p1, ..., pn)) over time-ordered delayed partials.

    empty: a delayed (or plain) partial used when there is no block at all.
    """
    level = list(partials) or [empty]
    fold = dask.delayed(fold_in_order, pure=True)
    while len(level) > 1:
        level = [fold(combine, *level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    return dask.delayed(finalize, pure=True)(level[0])


def fold_in_order(combine, *partials):
    """combine(...combine(combine(p0, p1), p2)..., pn)."""
    return reduce(combine, partials)
