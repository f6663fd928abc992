"""PyNN's Recorder on bigbrain's records: spikes and sampled state variables (NEST's
multimeter): ``v`` (V_m, mV), ``gsyn_exc``/``gsyn_inh`` (g_ex/g_in, nS → µS) and ``w``
(pA → nA); a PointNeuron's ``AMPA.gsyn`` / ``AMPA.isyn`` are its port's g_k (nS → µS) /
I_syn_k (pA → nA).

bigbrain gathers every record on every rank at the end of ``run``, so every rank holds
every recorded cell's data: ``get_data(gather=True)``, ``get_spike_counts`` and
``write_data`` give on every rank, without communication, what they give on one rank;
with ``gather=False`` each rank keeps the cells PyNN places on it (its round-robin
``_mask_local``), as in PyNN's other backends. A ``V_m`` sample taken
after step n has the time (n+1)·dt; the sample at t = 0 is the initial value (V_m as
initialised; the others start at 0).
"""
import neo
import numpy as np
from pyNN import recording

from ..errors import ModelError
from . import simulator
from .selections import selection_of

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
        """As PyNN's, but ``recorded`` keeps every cell asked for, not only the local ones:
        every rank describes the whole network to bigbrain and holds every cell's records."""
        ids = list(ids)
        super().record(variables, ids, sampling_interval, locations)
        for variable in self._localize_variables(variables, locations):
            self.recorded[variable] |= set(ids)

    def get(self, variables, gather=False, filter_ids=None, clear=False, annotations=None,
            locations=None):
        """PyNN's Block of ``variables`` of the recorded cells among ``filter_ids``: with
        ``gather`` (or on one rank) all of them, the Block of one rank; else those of this
        rank. Each segment is new, with only those cells and variables, also one kept from
        before a ``reset`` (PyNN keeps every cell there, selects variables by clearing the
        kept segment's lists, and its Assembly merges into the kept segment)."""
        block = super().get("all", False, filter_ids, clear, annotations, locations)
        cells = self._cells(filter_ids, gather)
        names = None if variables == "all" else \
            {v.name for v in self._localize_variables(variables, locations)}
        block.segments = [_selected(segment, cells, names) for segment in block.segments]
        for segment in block.segments:
            segment.block = block
        return block

    def count(self, variable, gather=True, filter_ids=None):
        """Spikes of each recorded cell among ``filter_ids`` ({id: count}): with ``gather``
        (or on one rank) of all of them, else of this rank's."""
        cells = self._cells(filter_ids, gather)
        counts = super().count(variable, False, filter_ids)
        return {cell: n for cell, n in counts.items() if cell in cells}

    def _cells(self, filter_ids, gather):
        """The ids of the cells among ``filter_ids`` (default: all) whose data a rank
        returns: all of them with ``gather`` or on one rank, else those PyNN places on
        this rank (its round-robin ``_mask_local``)."""
        base = self._base()
        cells = set(np.asarray(base.all_cells if filter_ids is None else list(filter_ids),
                               np.int64).tolist())
        if not gather and simulator.state.num_processes > 1:
            cells &= set(base.local_cells.astype(np.int64).tolist())
        return cells

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
        for variable, ids in self.recorded.items():
            if not ids:
                continue
            what = engine_variable(self._base().celltype, variable.name)[0]
            cells = sorted(ids)
            interval = None if what == "spikes" else self.sampling_interval
            for part in selection_of(cells).parts:
                net.record(_selection(part), what, interval)

    def _base(self):
        return getattr(self.population, "grandparent", self.population)

    def _indices(self, ids):
        """PyNN indices (in the base population) of the cells ``ids``."""
        return np.array([self._base().id_to_index(i) for i in ids], np.int64)

    def _get_spiketimes(self, ids, clear=False):
        base, state = self._base(), simulator.state
        wanted = self._indices(ids)
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
        wanted = self._indices(ids)
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
        """Spikes of each recorded cell among ``filter_ids`` (every rank holds them all)."""
        ids = sorted(self.filter_recorded(variable, filter_ids))
        spiking, _ = self._get_spiketimes(ids)
        counts = dict.fromkeys(map(int, ids), 0)
        for cell, n in zip(*np.unique(spiking, return_counts=True)):
            counts[int(cell)] = int(n)
        return counts

    def _clear_simulator(self):
        pass

    def _reset(self):
        pass  # PyNN's reset empties ``recorded``


def _selection(part):
    from ..population import Selection
    return Selection([part])


def _selected(segment, cells, names):
    """A new Neo Segment like ``segment`` with the spike trains and signals of the cells
    (ids) ``cells`` only, and of the variables ``names`` (None: all); a signal with none
    of them is left out, as PyNN does."""
    out = neo.Segment(name=segment.name, description=segment.description,
                      rec_datetime=segment.rec_datetime, **segment.annotations)
    if names is None or "spikes" in names:
        out.spiketrains = [st for st in segment.spiketrains
                           if st.annotations["channel_id"] in cells]
    for signal in segment.analogsignals:
        ids = np.asarray(signal.annotations["channel_ids"])
        keep = np.isin(ids, list(cells))
        if keep.any() and (names is None or signal.name in names):
            part = signal[:, keep]
            part.annotations = dict(signal.annotations, channel_ids=ids[keep])  # not shared
            out.analogsignals.append(part)
    return out
