"""PyNN's Recorder on bigbrain's records: spikes and sampled state variables (NEST's
multimeter): ``v`` (V_m, mV), ``gsyn_exc``/``gsyn_inh`` (g_ex/g_in, nS → µS) and ``w``
(pA → nA); a PointNeuron's ``AMPA.gsyn`` / ``AMPA.isyn`` are its port's g_k (nS → µS) /
I_syn_k (pA → nA).

bigbrain gathers every record on every rank at the end of ``run``; each rank hands PyNN
the records of its own cells (PyNN's round-robin ``_mask_local``), and PyNN's
``get_data(gather=True)`` joins them as in its other backends. A ``V_m`` sample taken
after step n has the time (n+1)·dt; the sample at t = 0 is the initial value (V_m as
initialised; the others start at 0).
"""
import numpy as np
from pyNN import recording

from ..errors import ModelError
from . import simulator

#: PyNN recordable -> (bigbrain recordable, factor to PyNN units).
RECORDABLES = {"spikes": ("spikes", 1.0), "v": ("V_m", 1.0), "V_m": ("V_m", 1.0),
               "gsyn_exc": ("g_ex", 1e-3), "gsyn_inh": ("g_in", 1e-3), "w": ("w", 1e-3)}


def engine_variable(celltype, name):
    """(bigbrain recordable, factor to PyNN units) of PyNN's variable ``name`` of cells of
    ``celltype``; a composed cell's receptor variables (``AMPA.gsyn``) are its ports'."""
    composed = getattr(celltype, "recordable_variable", None)
    return (composed and composed(name)) or RECORDABLES.get(name, (None, 1.0))


class Recorder(recording.Recorder):
    _simulator = simulator

    def record(self, variables, ids, sampling_interval=None, locations=None):
        """As PyNN's (which keeps the local cells in ``recorded``), and keep every cell
        asked for: every rank describes the whole network to bigbrain, so every rank must
        ask bigbrain for the same records."""
        ids = list(ids)
        super().record(variables, ids, sampling_interval, locations)
        every = self.__dict__.setdefault("_every", {})
        for variable in self._localize_variables(variables, locations):
            every[variable] = every.get(variable, set()).union(ids)

    def _record(self, variable, new_ids, sampling_interval=None):
        simulator.state.not_built(f"Population {self.population.label!r}.record")
        what = engine_variable(self._base().celltype, variable.name)[0]
        if what != "spikes" and what not in self._base()._engine_recordables():
            raise ModelError(f"Population {self.population.label!r}.record.{variable.name}",
                             f"not supported: bigbrain records spikes and, of this cell "
                             f"type, {', '.join(self._base()._engine_recordables())}")
        if sampling_interval is not None and variable.name != "spikes":
            self.sampling_interval = sampling_interval

    def _describe(self, net):
        """Ask ``net`` to record what PyNN asked for."""
        from .populations import selection_of
        for variable, ids in self.__dict__.get("_every", {}).items():
            if not ids:
                continue
            what = engine_variable(self._base().celltype, variable.name)[0]
            cells = sorted(ids)
            interval = None if what == "spikes" else self.sampling_interval
            for part in selection_of(cells).parts:
                net.record(_selection(part), what, interval)

    def _base(self):
        return getattr(self.population, "grandparent", self.population)

    def _local(self, ids):
        """PyNN indices (in the base population) of the local ids among ``ids``."""
        base = self._base()
        idx = np.array([base.id_to_index(i) for i in ids], np.int64)
        return idx[base._mask_local[idx]] if idx.size else idx

    def _get_spiketimes(self, ids, clear=False):
        base, state = self._base(), simulator.state
        wanted = self._local(ids)
        chosen = np.zeros(base.size, bool)
        chosen[wanted] = True
        all_idx, all_t = [], []
        if state.result is not None:
            for pop, indices in base._parts:
                times, local = state.result.spikes(pop.name) if pop.name in \
                    state.result._spikes else (np.zeros(0), np.zeros(0, np.int64))
                idx = indices[local]
                keep = chosen[idx] & (times > float(self._recording_start_time))
                all_idx.append(idx[keep])
                all_t.append(times[keep])
        idx = np.concatenate(all_idx + [np.zeros(0, np.int64)])
        times = np.concatenate(all_t + [np.zeros(0)])
        return base.all_cells[idx].astype(int), times

    def _get_all_signals(self, variable, ids, clear=False):
        base, state = self._base(), simulator.state
        wanted = self._local(ids)
        start = float(self._recording_start_time)
        if state.result is None or wanted.size == 0:
            return np.zeros((0, wanted.size)), None
        what, factor = engine_variable(base.celltype, variable.name)
        columns, times = {}, np.zeros(0)
        for pop, indices in base._parts:
            if pop.name in state.result._samples:
                times, local, values = state.result.samples(pop.name, what)
                for k, i in enumerate(indices[local]):
                    columns[i] = values[:, k] * factor
        keep = times >= start - 1e-9
        signal = np.column_stack([columns[i][keep] for i in wanted])
        if start == 0.0:
            initial = base._initial["V_m"][wanted] if what == "V_m" else np.zeros(wanted.size)
            signal = np.vstack([initial, signal])
        return signal, None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        local_ids = self._base().all_cells[self._local(ids)].astype(int)
        spiking, _ = self._get_spiketimes(ids)
        counts = dict.fromkeys(local_ids.tolist(), 0)
        for cell, n in zip(*np.unique(spiking, return_counts=True)):
            counts[int(cell)] = int(n)
        return counts

    def _clear_simulator(self):
        pass

    def _reset(self):
        self._every = {}


def _selection(part):
    from ..population import Selection
    return Selection([part])
