"""PyNN's Population, PopulationView and Assembly on bigbrain.

A population keeps its native (NEST) parameters as one array per parameter with a value
for every cell, identical on every rank (PyNN's random distributions draw for all cells
on every rank). At build time the cells are split into bigbrain populations of equal
parameters (bigbrain takes one value per parameter and population; only the initial
``V_m`` may differ per neuron); a homogeneous population is one bigbrain population.
"""
import numpy as np
from pyNN import common
from pyNN.errors import InvalidParameterValueError
from pyNN.parameters import ParameterSpace, Sequence, simplify
from pyNN.standardmodels import StandardCellType
from pyNN.standardmodels.cells import SpikeSourceArray

from ..errors import ModelError
from ..population import Selection
from . import simulator
from .selections import base_cells
from .recording import Recorder
from .standardmodels import STATE_VARIABLES, require_model


class _Counted:
    """PyNN's ``mean_spike_count`` (spikes per recorded cell; 0 when none is recorded)
    on every rank: PyNN's gives NaN on the ranks other than 0, though here each holds the
    counts."""

    def mean_spike_count(self, gather=True):
        counts = self.get_spike_counts(gather)
        return sum(counts.values()) / len(counts) if counts else 0.0


class Assembly(_Counted, common.Assembly):
    _simulator = simulator


class _Settable:
    """PyNN's ``set`` on every rank, for all cells: each rank keeps every cell's
    parameters, and a change after the first run is collective (``net.set``), so a rank
    without local cells takes part too and a computed parameter (``tau_m`` of the
    conductance cells) is worked out from every cell's values."""

    def set(self, **parameters):
        celltype = self.celltype
        standard = isinstance(celltype, StandardCellType)
        if standard and celltype.computed_parameters_include(parameters) and \
                not isinstance(celltype, SpikeSourceArray):
            space = celltype.reverse_translate(self._all_native(celltype.get_native_names()))
            space.update(**parameters)
        else:
            space = ParameterSpace(parameters, celltype.get_schema(), (self.size,),
                                   celltype.__class__)
        self._set_parameters(celltype.translate(space) if standard else space)

    def _all_native(self, names):
        """Native parameters ``names`` of every cell of this population (view)."""
        base = getattr(self, "grandparent", self)
        return base._native_of(base.index_of_cells(self), names)


class PopulationView(_Counted, _Settable, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        return self.grandparent._parameters_of(self.index_in_grandparent(
            np.arange(self.size))[self._mask_local], names)

    def _set_parameters(self, parameter_space):
        indices = self.index_in_grandparent(np.arange(self.size))
        self.grandparent._set_native(parameter_space, indices)

    def _set_initial_value_array(self, variable, value):
        self.grandparent._set_initial(variable, value.evaluate(simplify=False),
                                      self.index_in_grandparent(np.arange(self.size)))

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(_Counted, _Settable, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        state = simulator.state
        state.not_built("Population")
        if isinstance(self.celltype, StandardCellType) or hasattr(self.celltype, "nest_name"):
            require_model(self.celltype)
        first = state.id_counter
        self.all_cells = np.array([simulator.ID(i) for i in range(first, first + self.size)],
                                  dtype=simulator.ID)
        self._mask_local = np.arange(self.size) % state.num_processes == state.mpi_rank
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        space = self.celltype.native_parameters
        space.shape = (self.size,)
        space.evaluate(simplify=False)
        self._native = {name: _per_cell(value, self.size) for name, value in space.as_dict().items()}
        if "spike_times" in self._native:
            _check_sorted(self._native["spike_times"])
        self._initial = {}
        self._tau_minus = None
        self._parts = None
        self._generators = []
        state.populations.append(self)

    # ---------------------------------------------------------------- parameters
    def _parameters_of(self, indices, names):
        """Standard (or native) parameters of the cells ``indices`` as a ParameterSpace."""
        standard = isinstance(self.celltype, StandardCellType)
        if standard and any(n in self.celltype.computed_parameters() for n in names):
            native_names = self.celltype.get_native_names()
        else:
            native_names = self.celltype.get_native_names(*names) if standard else names
        native = self._native_of(indices, native_names)
        return self.celltype.reverse_translate(native) if standard else native

    def _native_of(self, indices, names):
        """Native parameters ``names`` of the cells ``indices`` as a ParameterSpace."""
        return ParameterSpace({n: self._native[n][indices] if _is_sequences(self._native[n])
                               else simplify(self._native[n][indices]) for n in names},
                              shape=(len(indices),))

    def _get_parameters(self, *names):
        return self._parameters_of(np.flatnonzero(self._mask_local), names)

    def _set_parameters(self, parameter_space):
        self._set_native(parameter_space, np.arange(self.size))

    def _set_native(self, parameter_space, indices):
        """Set native parameters of the cells ``indices``; once the network runs, the
        engine's too (:meth:`_set_built`)."""
        state = simulator.state
        parameter_space.shape = (len(indices),)
        parameter_space.evaluate(simplify=False)
        values = dict(parameter_space.items())
        if "spike_times" in values:
            _check_sorted(values["spike_times"])
        if state.built:
            self._set_built(values, indices)
        else:
            state.not_built(f"Population {self.label!r}.set")
        for name, value in values.items():
            self._native[name][indices] = value

    def _set_built(self, values, indices):
        """Native ``values`` of the cells ``indices`` into the running network (``net.set``,
        collective: every rank holds every cell's values). Spike trains keep the times
        still to come (those before now have happened or not)."""
        state = simulator.state
        if self.celltype.nest_name == "spike_source":
            trains = [_on_grid(getattr(s, "value", s), state.dt) for s in values["spike_times"]]
            state.net.set(self.selection(indices),
                          spike_times=[t[t > state.t + 1e-9] for t in trains])
            return
        if self._generators:
            self._set_generators(values, indices)
            return
        for name in values:
            if name not in self._engine_params():
                raise ModelError(f"Population {self.label!r}.{name}", "cannot change after "
                                 f"the first run ({self.celltype.nest_name} takes it at the "
                                 "build): call sim.reset() first")
        state.net.set(self.selection(indices), **{n: _uniform(v) for n, v in values.items()})

    def _set_generators(self, values, indices):
        """Native ``values`` of the generator cells ``indices`` (Poisson, gamma, ppd) into
        their devices from now on (``set_params``; every rank holds every cell's values,
        so each sets the same). Values that do not change are passed over (a computed
        parameter brings its partners along); of the others, those the devices change
        between runs (rate; ppd's frequency and relative_amplitude)."""
        changed = {}
        for name, value in values.items():
            new = np.array(self._native[name], np.float64)
            new[indices] = value
            if not np.array_equal(new, np.asarray(self._native[name], np.float64)):
                changed[name] = new
        for name in changed:
            for gen, _ in self._generators:
                if name not in ("rate", *gen.CHANGEABLE):
                    raise ModelError(f"Population {self.label!r}.{name}", "cannot change after "
                                     f"the first run ({gen.KIND} takes it at the build): call "
                                     "sim.reset() first")
        for name, new in changed.items():
            for gen, cells in self._generators:
                self._set_device(gen, name, new[cells], cells)

    def _set_device(self, gen, name, values, cells):
        """Set ``name`` of the device group ``gen`` (the generators of ``cells``) to
        ``values`` (one per cell): a Poisson group takes one rate per generator; a group
        with a window (``inhomogeneous_poisson_generator``) and gamma and ppd groups one
        value for the group (the cells the build put together, of equal parameters)."""
        state = simulator.state
        net = state.net
        if gen.KIND == "poisson_generator":
            gen.set_params(net, rate=_uniform(values))
            return
        if not (values == values[0]).all():
            raise ModelError(f"Population {self.label!r}.{name}", "after the first run, cells "
                             "that had equal parameters at the build take one value (call "
                             "sim.reset() first)")
        if gen.KIND != "inhomogeneous_poisson_generator":
            gen.set_params(net, **{name: float(values[0])})
            return
        start, duration = (float(self._native[n][cells[0]]) for n in ("start", "duration"))
        end, now = start + duration, state.net.time
        if end < 1e9 and _on_grid(end, net.dt) <= now + net.dt / 2:
            return                                   # its window has closed
        times = [max(_on_grid(max(start, net.dt), net.dt), _on_grid(now + net.dt, net.dt))]
        rates = [float(values[0])]
        if end < 1e9:
            times.append(_on_grid(end, net.dt))
            rates.append(0.0)
        gen.set_params(net, rate_times=times, rate_values=rates)

    def _set_initial_value_array(self, variable, value):
        self._set_initial(variable, value.evaluate(simplify=False), np.arange(self.size))

    def _set_initial(self, variable, values, indices):
        """Initial ``variable`` (PyNN name and units) of the cells ``indices``; once the
        network runs, also its present value (as pyNN.nest; ``reset`` starts from it)."""
        state = simulator.state
        name, factor = STATE_VARIABLES.get(variable, (variable, 1.0))
        values = np.asarray(values, np.float64)
        if name not in self._engine_state():
            if not state.built and np.all(values == 0.0):
                return  # synaptic currents and conductances start at 0
            raise ModelError(f"Population {self.label!r}.initialize.{variable}",
                             "not supported: the engine sets only the membrane potential, "
                             "adaptation w and the gating variables (other state variables start at 0)")
        values = np.broadcast_to(values * factor, (len(indices),))
        if state.built:
            state.net.set(self.selection(indices), **{name: values})
        else:
            state.not_built(f"Population {self.label!r}.initialize")
        self._initial.setdefault(name, np.full(self.size, np.nan))[indices] = values

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def index_of_cells(self, cells):
        """Indices in this population of the cells of ``cells`` (itself or a view of it)."""
        if cells is self:
            return np.arange(self.size)
        return cells.index_in_grandparent(np.arange(cells.size))

    def _engine_recordables(self):
        """The state variables the engine samples for this cell type (one per port of a
        model with receptor ports)."""
        from ..neurons import MODELS
        model = MODELS.get(self.celltype.nest_name)
        if model is None or model.name == "spike_source":
            return ()
        ports = {"tau_syn": [0.0] * len(self.celltype.receptor_types)}
        return model.recordables_for(ports) if model.ports(ports) else model.recordables

    def _engine_params(self):
        from ..neurons import MODELS
        return MODELS[self.celltype.nest_name].params

    def _engine_state(self):
        """The state variables whose initial value the engine takes as a parameter (V_m,
        the aeif cells' w, and those of the model's ``STATE_VARIABLES``, e.g. hh's gating
        variables)."""
        from ..neurons import MODELS
        model = MODELS[self.celltype.nest_name]
        return {"V_m", "w"} & set(model.params) | set(model.block.STATE_VARIABLES)

    # ---------------------------------------------------------------- build
    def _describe(self, net):
        """Describe this population on ``net`` as one or more bigbrain populations."""
        base = f"{self.label or 'population'}#{len(net.populations)}"
        self._generators = []   # (device group, cell indices) of generator cells
        if self.celltype.nest_name == "spike_source":
            pop = net.spike_source(base, [_on_grid(t, net.dt)
                                          for t in self._trains(np.arange(self.size))])
            self._parts = [(pop, np.arange(self.size))]
        elif getattr(self.celltype, "generator", None):
            self._parts = self._generator_parts(net, base)
        elif self.celltype.nest_name == "parrot_neuron" and "rate" in self._native:
            self._parts = self._poisson_parts(net, base, parrots=not self._trains_per_synapse())
        else:
            self._parts = self._neuron_parts(net, base)
        self._part_of = np.empty(self.size, np.int64)
        self._local_of = np.empty(self.size, np.int64)
        for k, (_, indices) in enumerate(self._parts):
            self._part_of[indices], self._local_of[indices] = k, np.arange(len(indices))

    def _trains(self, indices):
        """The spike times (ms) of the SpikeSourceArray cells ``indices``."""
        return [np.asarray(getattr(s, "value", s), np.float64)
                for s in self._native["spike_times"][indices]]

    def _neuron_parts(self, net, base):
        engine = self._engine_params()
        lists = {n: list(np.asarray(getattr(v[0], "value", v[0]), np.float64))
                 for n, v in self._native.items() if n in engine and _is_sequences(v)}
        names = [n for n in self._native if n in engine and n not in lists]
        table = np.column_stack([np.asarray(self._native[n], np.float64) for n in names]
                                + [np.zeros(self.size)])
        groups, which = np.unique(table, axis=0, return_inverse=True)
        which = which.ravel()
        initial = {name: v for name, v in self._initial.items() if name in self._engine_state()}
        parts = []
        for k, row in enumerate(groups):
            indices = np.flatnonzero(which == k)
            params = {**dict(zip(names, map(float, row))), **lists}   # receptor ports' lists
            if self._tau_minus is not None:
                params["tau_minus"] = self._tau_minus
            params.update({name: v[indices] for name, v in initial.items()})
            name = base if len(groups) == 1 else f"{base}.{k}"
            parts.append((net.population(name, len(indices), self.celltype.nest_name, **params),
                          indices))
        return parts

    def _trains_per_synapse(self):
        """Whether this Poisson population's trains may be drawn per synapse, without
        parrots: when it is not recorded and its only projection is one-to-one from the
        whole population (each cell then has one synapse, so one train either way)."""
        from pyNN.connectors import OneToOneConnector
        out = [prj for prj in simulator.state.projections if prj.pre is self
               or self in [pop for pop, _ in base_cells(prj.pre)]]
        recorded = any(self.recorder.recorded.values())
        return (len(out) == 1 and out[0].pre is self and not recorded
                and isinstance(out[0]._connector, OneToOneConnector))

    def _poisson_parts(self, net, base, parrots=True):
        """Poisson trains as generators, repeated by parrots (one train per cell, shared by
        its targets), or alone where each cell has one synapse (:meth:`_trains_per_synapse`)."""
        table = np.column_stack([np.asarray(self._native[n], np.float64)
                                 for n in ("rate", "start", "duration")])
        groups, which = np.unique(table, axis=0, return_inverse=True)
        parts = []
        for k, (rate, start, duration) in enumerate(groups):
            indices = np.flatnonzero(which.ravel() == k)
            name = base if len(groups) == 1 else f"{base}.{k}"
            if start <= 0.0 and not start + duration < 1e9:  # always on
                gen = net.poisson(f"{name}.generator", rate=float(rate), size=len(indices))
            else:
                times, rates = [_on_grid(max(start, net.dt), net.dt)], [rate]
                if start + duration < 1e9:
                    times.append(_on_grid(start + duration, net.dt))
                    rates.append(0.0)
                gen = net.inhomogeneous_poisson_generator(f"{name}.generator", size=len(indices),
                                                           rate_times=times, rate_values=rates)
            self._generators.append((gen, indices))
            if not parrots:
                parts.append((gen, indices))
                continue
            parrots = net.population(name, len(indices), "parrot_neuron")
            net.connect(gen, parrots, rule="one_to_one", weight=1.0, delay=net.dt)
            parts.append((parrots, indices))
        return parts

    def _generator_parts(self, net, base):
        """Cells of a generator type (``celltype.generator``: an engine device kind, one
        train per target): devices of equal parameters as one group, each device repeated
        by its own parrot, as PyNN's NEST backend does."""
        names = list(self._native)
        table = np.column_stack([np.asarray(self._native[n], np.float64) for n in names])
        groups, which = np.unique(table, axis=0, return_inverse=True)
        parts = []
        for k, row in enumerate(groups):
            indices = np.flatnonzero(which.ravel() == k)
            name = base if len(groups) == 1 else f"{base}.{k}"
            gen = getattr(net, self.celltype.generator)(f"{name}.generator", size=len(indices),
                                                        **dict(zip(names, map(float, row))))
            self._generators.append((gen, indices))
            parrots = net.population(name, len(indices), "parrot_neuron")
            net.connect(gen, parrots, rule="one_to_one", weight=1.0, delay=net.dt)
            parts.append((parrots, indices))
        return parts

    def selection(self, indices):
        """The bigbrain selection of the cells ``indices`` (in that order), or the
        generators of a Poisson population without parrots."""
        indices = np.asarray(indices, np.int64)
        if getattr(self._parts[0][0], "is_device", False):
            return self._parts[0][0]
        part, local = self._part_of[indices], self._local_of[indices]
        cuts = np.flatnonzero(np.diff(part)) + 1
        return Selection([(self._parts[p[0]][0], loc) for p, loc in
                          zip(np.split(part, cuts), np.split(local, cuts)) if len(p)])


class UnsortedSpikeTimes(ModelError, InvalidParameterValueError):
    """Spike times of a SpikeSourceArray out of order (PyNN's InvalidParameterValueError)."""


def _check_sorted(trains):
    for i, train in enumerate(trains):
        times = np.asarray(getattr(train, "value", train), np.float64)
        if times.size > 1 and np.diff(times).min() < 0:
            raise UnsortedSpikeTimes(f"SpikeSourceArray.spike_times[{i}]",
                                     "must be in increasing order")


def _per_cell(value, size):
    """A native parameter as one value per cell (an evaluated scalar broadcast)."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value
    if isinstance(value, Sequence):
        out = np.empty(size, object)
        out[:] = [value] * size
        return out
    return np.broadcast_to(np.asarray(value, np.float64), (size,)).copy()


def _uniform(values):
    """One number where every value is the same (what every engine backend takes after
    the build), else the float64 array."""
    values = np.asarray(values, np.float64)
    return float(values[0]) if values.size and (values == values[0]).all() else values


def _is_sequences(values):
    return isinstance(values, np.ndarray) and values.dtype == object


def _on_grid(times, dt):
    """Spike times (ms) moved to the dt grid (the nearest step, at least one step)."""
    return np.maximum(np.rint(np.asarray(times, np.float64) / dt), 1) * dt
