"""Spike trains of chosen neurons, as NumPy arrays or neo.SpikeTrain objects.

Every block is filtered down to the chosen node ids before anything is gathered, so
only the chosen neurons' spikes are ever held together.
"""

from __future__ import annotations

from functools import partial

import dask
import numpy as np

from .record import SpikeRecord
from .reduction import tree_reduce


def spike_trains(record: SpikeRecord, node_ids, t=None):
    """Delayed dict node_id -> sorted spike times (ms, float64) of the chosen node ids
    in window t (ms, inclusive; default the recorded window)."""
    chosen = np.unique(np.asarray(node_ids, np.int64))
    unknown = np.setdiff1d(chosen, record.recorded_ids)
    if len(unknown):
        raise KeyError(f"node ids {unknown[:10].tolist()} of {record.population!r} are not "
                       f"recorded (size {record.size})")
    select = dask.delayed(select_block, pure=True)
    partials = [select(block, chosen) for block in record.blocks(t)]
    return tree_reduce(partials, concatenate, (np.empty(0), np.empty(0, np.int64)),
                       partial(split_by_node, chosen))


def select_block(block, chosen: np.ndarray):
    """(times, ids) of the block's spikes from the chosen node ids."""
    times, ids = block
    keep = np.isin(ids, chosen)
    return times[keep], ids[keep]


def concatenate(left, right):
    """Join two time-ordered (times, ids) pairs."""
    return np.concatenate([left[0], right[0]]), np.concatenate([left[1], right[1]])


def split_by_node(chosen: np.ndarray, spikes) -> dict:
    """{node_id: times} for every chosen node id (empty arrays for silent ones)."""
    times, ids = spikes
    order = np.argsort(ids, kind="stable")
    bounds = np.searchsorted(ids[order], chosen, side="left"), \
        np.searchsorted(ids[order], chosen, side="right")
    return {int(n): times[order[a:b]] for n, a, b in zip(chosen, *bounds)}


def to_neo(trains: dict, population: str, window: tuple[float, float], first_gid: int):
    """neo.SpikeTrain objects (units ms) from {node_id: times_ms}; each is annotated
    with population, node_id and gid."""
    import neo
    import quantities as pq

    t0, t1 = window
    return [neo.SpikeTrain(times * pq.ms, t_start=t0 * pq.ms, t_stop=t1 * pq.ms,
                           name=f"{population}:{node}", population=population,
                           node_id=node, gid=first_gid + node)
            for node, times in trains.items()]
