"""Recorders (spikes, sampled state variables) and the :class:`Result` of a run.

Each rank records the spikes and samples of its own neurons. At the end of ``run`` the
records are gathered so that every rank holds all of them (a collective step), sorted by
time and then population-local id. Times are in ms: a spike emitted in step n has the time
stamp (n+1)·dt, as in NEST; a sample taken after step n has the time (n+1)·dt.

Only the records made since the last gather travel and are sorted: they are all later
than those gathered before, so they are appended to what every rank already holds
(:class:`Appended`). A ``run`` call thus costs what it records, not what all runs so far
recorded (learning protocols call ``run`` once or twice per sample).
"""
import numpy as np

from .errors import ModelError
from .errors import suggest

_EMPTY = np.zeros(0, np.int64)


class Appended:
    """Rows appended gather by gather to arrays of fixed trailing shapes, in buffers that
    double when full (an append costs what it adds). :meth:`first` gives views of the
    first rows: later appends never change them."""

    def __init__(self, *empty):
        self.buffers, self.n = list(empty), 0

    def append(self, *arrays):
        need = self.n + len(arrays[0])
        if need > len(self.buffers[0]):
            size = max(need, 2 * len(self.buffers[0]), 64)
            self.buffers = [_grown(b, size, self.n) for b in self.buffers]
        for buffer, rows in zip(self.buffers, arrays):
            buffer[self.n:need] = rows
        self.n = need
        return self.first(need)

    def first(self, n):
        return tuple(b[:n] for b in self.buffers)


def _grown(buffer, size, n):
    """A buffer of ``size`` rows holding the first ``n`` rows of ``buffer``."""
    out = np.empty((size,) + buffer.shape[1:], buffer.dtype)
    out[:n] = buffer[:n]
    return out


class SpikeRecorder:
    """Spikes of chosen neurons of one population on this rank."""

    def __init__(self, population, ids, block):
        self.population, self.block = population, block
        recorded = np.zeros(population.size, bool)
        recorded[ids] = True
        self.mask = recorded[block.gids - population.first_gid]
        self.steps, self.ids = [], []  # this rank's spikes not yet gathered
        self.gathered = Appended(_EMPTY, _EMPTY)

    def collect(self, cols, stamps):
        """Keep the spikes of recorded neurons among spikes of rank columns ``cols`` with
        time stamps ``stamps`` (steps)."""
        idx = cols - self.block.col0
        inside = np.flatnonzero((idx >= 0) & (idx < len(self.mask)))
        keep = inside[self.mask[idx[inside]]]
        self.ids.append(self.block.gids[idx[keep]] - self.population.first_gid)
        self.steps.append(stamps[keep])

    def gather(self, comm):
        """(steps, ids) of every rank's spikes so far, sorted by time then id (collective;
        views that later gathers leave unchanged)."""
        steps = comm.allgather_array(np.concatenate(self.steps + [_EMPTY]))
        ids = comm.allgather_array(np.concatenate(self.ids + [_EMPTY]))
        self.steps, self.ids = [], []
        order = np.lexsort((ids, steps))
        return self.gathered.append(steps[order], ids[order])


class SampleRecorder:
    """State variables (NEST's multimeter: ``variables``, names of the block's
    ``RECORDABLES``) of chosen neurons of one population, sampled every ``interval`` steps.
    A rank that holds none of the chosen neurons records the sample times only."""

    def __init__(self, population, ids, block, interval, variables=("V_m",)):
        self.population, self.block, self.interval = population, block, interval
        self.variables = tuple(variables)
        self.columns = [block.RECORDABLES.index(v) for v in self.variables]
        local_ids = block.gids - population.first_gid
        self.local = np.flatnonzero(np.isin(local_ids, ids))
        self.ids = local_ids[self.local]
        block.rec_idx = np.concatenate([block.rec_idx, self.local]).astype(np.int64)
        self.column = len(block.rec_idx) - len(self.local)
        self.steps, self.values = [], []  # samples not yet gathered
        self.gathered = None  # Appended(steps, values[time, id, variable]) once gathered

    def collect(self, t0, n_steps):
        stamps = t0 + np.arange(n_steps) + 1
        rows = np.flatnonzero(stamps % self.interval == 0)
        self.steps.append(stamps[rows])
        if len(self.local):
            picked = self.block.samples[rows, self.column:self.column + len(self.local)]
            self.values.append(picked[:, :, self.columns])
        else:
            self.values.append(np.zeros((len(rows), 0, len(self.variables))))

    def drain(self):
        """(steps, ids, values[time, id, variable]) since the last drain; empties the recorder."""
        steps = np.concatenate(self.steps + [np.zeros(0, np.int64)])
        values = (np.concatenate(self.values, axis=0) if self.values
                  else np.zeros((0, len(self.ids), len(self.variables))))
        self.steps, self.values = [], []
        return steps, self.ids, values

    def gather(self, comm):
        """(steps, ids, {variable: values[time, id]}) of all ranks so far, ids ascending
        (collective; views that later gathers leave unchanged)."""
        steps, _, values = self.drain()
        ids = comm.allgather_array(self.ids.astype(np.int64))
        order = np.argsort(ids, kind="stable")
        table = np.empty((len(steps), len(ids), len(self.variables)), values.dtype)
        for k in range(len(self.variables)):
            columns = comm.allgather_array(np.ascontiguousarray(values[:, :, k].T).ravel())
            table[:, :, k] = columns.reshape(len(ids), len(steps)).T[:, order]
        if self.gathered is None:
            self.gathered = Appended(_EMPTY, np.zeros((0,) + table.shape[1:], table.dtype))
        steps, table = self.gathered.append(steps, table)
        return steps, ids[order], {v: table[:, :, k] for k, v in enumerate(self.variables)}


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
        return steps * self.dt, ids.copy()

    def samples(self, name, variable):
        """(times in ms, ids, values with one column per id) of state variable ``variable``
        (``V_m`` mV, ``I_syn_ex`` pA, …) of population ``name``, as ``Network.record``
        sampled it."""
        steps, ids, values = self._lookup(self._samples, name, variable)
        if variable not in values:
            raise ModelError(f"samples.{variable}", f"{variable!r} of {name!r} was not recorded; "
                             f"recorded: {', '.join(values)}")
        return steps * self.dt, ids, values[variable].copy()

    def V_m(self, name):
        """(times in ms, ids, values in mV with one column per id) of population ``name``."""
        return self.samples(name, "V_m")

    def n_spikes(self, name):
        return len(self._lookup(self._spikes, name, "spikes")[0])
