"""Recorders (spikes, sampled V_m) and the :class:`Result` of a run.

Each rank records the spikes and samples of its own neurons. At the end of ``run`` the
records are gathered so that every rank holds all of them (a collective step), sorted by
time and then population-local id. Times are in ms: a spike emitted in step n has the time
stamp (n+1)·dt, as in NEST; a V_m sample taken after step n has the time (n+1)·dt.
"""
import numpy as np

from .errors import ModelError
from .errors import suggest


class SpikeRecorder:
    """Spikes of chosen neurons of one population on this rank."""

    def __init__(self, population, ids, block):
        self.population, self.block = population, block
        recorded = np.zeros(population.size, bool)
        recorded[ids] = True
        self.mask = recorded[block.gids - population.first_gid]
        self.steps, self.ids = [], []

    def collect(self, cols, stamps):
        """Keep the spikes of recorded neurons among spikes of rank columns ``cols`` with
        time stamps ``stamps`` (steps)."""
        idx = cols - self.block.col0
        inside = np.flatnonzero((idx >= 0) & (idx < len(self.mask)))
        keep = inside[self.mask[idx[inside]]]
        self.ids.append(self.block.gids[idx[keep]] - self.population.first_gid)
        self.steps.append(stamps[keep])

    def gather(self, comm):
        steps = comm.allgather_array(np.concatenate(self.steps + [np.zeros(0, np.int64)]))
        ids = comm.allgather_array(np.concatenate(self.ids + [np.zeros(0, np.int64)]))
        order = np.lexsort((ids, steps))
        return steps[order], ids[order]


class VmRecorder:
    """V_m (mV) of chosen neurons of one population, sampled every ``interval`` steps."""

    def __init__(self, population, ids, block, interval):
        self.population, self.block, self.interval = population, block, interval
        local_ids = block.gids - population.first_gid
        self.local = np.flatnonzero(np.isin(local_ids, ids))
        self.ids = local_ids[self.local]
        block.rec_idx = np.concatenate([block.rec_idx, self.local]).astype(np.int64)
        self.column = len(block.rec_idx) - len(self.local)
        self.steps, self.values = [], []

    def collect(self, t0, n_steps):
        stamps = t0 + np.arange(n_steps) + 1
        rows = np.flatnonzero(stamps % self.interval == 0)
        self.steps.append(stamps[rows])
        if not len(self.local):  # none of the recorded neurons on this rank: no samples
            self.values.append(np.zeros((len(rows), 0)))
            return
        self.values.append(self.block.samples[rows, self.column:self.column + len(self.local), 0].copy())

    def gather(self, comm):
        steps = np.concatenate(self.steps + [np.zeros(0, np.int64)])
        values = np.concatenate(self.values, axis=0) if self.values else np.zeros((0, len(self.ids)))
        ids = comm.allgather_array(self.ids.astype(np.int64))
        columns = comm.allgather_array(np.ascontiguousarray(values.T).ravel())
        values = columns.reshape(len(ids), len(steps)).T
        order = np.argsort(ids, kind="stable")
        return steps, ids[order], values[:, order]


class Result:
    """The records of a run, gathered on every rank."""

    def __init__(self, dt, spikes, samples, populations, plastic=None):
        self.dt = dt
        self._spikes, self._samples, self._populations = spikes, samples, populations
        self._plastic = plastic

    def weights(self, pre, post=None):
        """(pre positions, post positions, weights) of every synapse of a plastic connection
        at the end of this run, sorted by (post, pre, ordinal). ``pre``: the connection
        returned by ``connect``, or the pre and post populations (selections) of the only
        plastic connection between them. Positions are population-local ids when whole
        populations are connected. A collective call: every rank must make it, and every
        rank gets all the weights."""
        return self._plastic.weights(pre, post)

    def weight_events(self, pre, post=None):
        """(times ms, pre positions, post positions, weights) recorded by
        ``Network.record_weights`` for a plastic connection (see :meth:`weights`), sorted by
        (time, post, pre, ordinal); the time is the pre-synaptic spike's time stamp."""
        return self._plastic.weight_events(pre, post)

    def _lookup(self, table, name, what):
        if name not in table:
            known = list(self._populations)
            if name in known:
                raise ModelError(f"{what}", f"population {name!r} was not recorded ({what})")
            raise ModelError(f"{what}", f"unknown population {name!r}" + suggest(name, known))
        return table[name]

    def spikes(self, name):
        """(times in ms, population-local ids) of the recorded spikes of population ``name``."""
        steps, ids = self._lookup(self._spikes, name, "spikes")
        return steps * self.dt, ids

    def V_m(self, name):
        """(times in ms, ids, values in mV with one column per id) of population ``name``."""
        steps, ids, values = self._lookup(self._samples, name, "V_m")
        return steps * self.dt, ids, values

    def n_spikes(self, name):
        return len(self._lookup(self._spikes, name, "spikes")[0])
