"""The user's view: describe a network, then run it.

The same script runs under ``python`` and under ``mpiexec -n K``: every rank executes the
description calls (they only record what the user asked for and check it), and ``run``
builds the local part of the network on each rank (lazily, on the first call) and
advances it. Errors in the description are raised identically on every rank.
"""
import math

import numpy as np

from .comm import Comm, abort_on_uncaught_exception
from .connectivity import make_rule
from .description import describe
from .generators import KINDS as DEVICE_KINDS
from .errors import ModelError, suggest
from .neurons import MODELS
from .backends import check_name as check_backend
from .backends.memory import physical_memory
from .exchange import EXCHANGES
from .partition import PARTITIONS, parse as parse_partition
from .population import PoissonGenerators, Population, as_selection
from . import state
from .projection import Connection
from .simulation import Simulation
from .stdp import PlasticRule


class Recording:
    """What to record of one population: ids, and for state variables (``variables``, in
    the model's order of recordables) the sampling interval (ms)."""

    def __init__(self, population, ids, interval=None, variables=()):
        self.population, self.ids, self.interval = population, _sorted_unique(ids), interval
        self.variables = tuple(variables)


class Network:
    """A spiking network: populations, inputs, connections, recordings; ``run`` simulates it.

    dt: time step (ms). seed: the seed of every random number. partition: how neurons are
    placed on ranks (``round_robin``, ``blocks``, ``population``, ``graph``; or a dict such
    as ``{"name": "graph", "rates": {"E": 8.0}}``, see :mod:`bigbrain.partition`).
    exchange: how spikes travel between ranks (``alltoall``, ``sparse``, ``mesh``; see
    :mod:`bigbrain.exchange`); all give the same spikes. comm: an mpi4py communicator
    (default: COMM_WORLD). archive: a path or a :class:`bigbrain.Archive`: the zarr store
    the run is written to (spikes, samples, telemetry, checkpoints); an existing store is
    refused unless ``Archive(path, overwrite=True)``. backend: where each rank computes
    (``numpy``: the CPU; ``cupy``: one GPU per rank; ``auto``: the GPU when CuPy and a device
    are present; see :mod:`bigbrain.backends`); all give the same spikes. device: the CUDA
    device number of every rank (default: the node-local rank, or ``$BIGBRAIN_GPU``).
    """

    def __init__(self, dt=0.1, seed=1, partition="round_robin", comm=None, archive=None,
                 exchange="alltoall", backend="numpy", device=None):
        if not (_real(dt) and math.isfinite(dt) and dt > 0):
            raise ModelError("dt", f"must be a positive number of ms, got {dt!r}")
        if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
                and 0 <= seed < 2**64):
            raise ModelError("seed", f"must be an integer in [0, 2**64), got {seed!r}")
        name = parse_partition(partition)[0]
        if not isinstance(name, str) or name not in PARTITIONS:
            raise ModelError("partition", f"unknown partition {partition!r}"
                             + suggest(str(name), PARTITIONS))
        if exchange not in EXCHANGES:
            raise ModelError("exchange", f"unknown exchange {exchange!r}" + suggest(str(exchange), EXCHANGES))
        check_backend(backend)
        self.dt, self.seed, self.partition, self.exchange = float(dt), int(seed), partition, exchange
        self.backend, self.device = backend, device
        self.archive = _archive_of(archive)
        self.comm = Comm(comm)
        abort_on_uncaught_exception()
        self.populations = {}
        self.connections = []
        self.spike_recordings, self.vm_recordings = [], []
        self.n_nodes = 0
        self._simulation = None

    # ---------------------------------------------------------------- description
    def _new_name(self, name):
        if not isinstance(name, str) or not name:
            raise ModelError("population", f"a population needs a non-empty name, got {name!r}")
        if name in self.populations:
            raise ModelError(f"population {name!r}", "a population of that name exists already")
        self._not_built(f"population {name!r}")

    def _not_built(self, what):
        if self._simulation is not None:
            raise ModelError(what, "the network is built (run was called): describe it before")

    def population(self, name, size, model, positions=None, **params):
        """``size`` neurons of ``model`` (``iaf_psc_delta``, ``iaf_psc_exp``,
        ``iaf_psc_alpha``, …: :mod:`bigbrain.neurons`) with NEST's parameter names and units;
        each number parameter (and the initial ``V_m``, mV) may be a constant, an array with
        one value per neuron or a distribution. ``positions``: None, or
        ``bb.spatial.grid(...)`` / ``bb.spatial.free(...)`` (see :mod:`bigbrain.spatial`);
        then ``pop.positions`` holds them (size × dim)."""
        self._new_name(name)
        if model not in MODELS or model == "spike_source":
            raise ModelError(f"population {name!r}.model", f"unknown model {model!r}"
                             + suggest(model, [m for m in MODELS if m != "spike_source"]))
        size = _count(f"population {name!r}.size", size)
        params = MODELS[model].complete(f"population {name!r}", params)
        for key, value in params.items():
            _check_size(f"population {name!r}.{key}", value, size)
        pop = Population(name, size, MODELS[model], params, self.n_nodes, len(self.populations))
        if positions is not None:
            pop.set_layer(positions, self.seed)
        return self._add(pop)

    def spike_source(self, name, spike_times):
        """Nodes that emit given spikes (NEST's ``spike_generator``): ``spike_times[i]`` are
        the times (ms, on the dt grid, ≥ dt) of node i."""
        self._new_name(name)
        steps = [_spike_steps(f"spike_source {name!r}.spike_times[{i}]", t, self.dt)
                 for i, t in enumerate(spike_times)]
        params = {"spike_times_steps": steps, "first_gid": self.n_nodes}
        return self._add(Population(name, len(steps), MODELS["spike_source"], params,
                                    self.n_nodes, len(self.populations)))

    def poisson(self, name, rate, size=1, per_step="poisson"):
        """``size`` Poisson generators of ``rate`` Hz; each synapse gets its own train.
        ``per_step="bernoulli"``: at most one spike per step, with probability rate·dt
        (Brian2's ``PoissonGroup``; the default is NEST's Poisson count per step)."""
        self._new_name(name)
        gen = PoissonGenerators(name, rate, _count(f"poisson {name!r}.size", size), self.dt,
                                per_step)
        self.populations[name] = gen
        return gen

    def dc_generator(self, name, size=1, **params):
        """NEST's ``dc_generator``: ``amplitude`` (pA), ``start``, ``stop`` (ms). Connect it to
        neurons with a weight (the current is multiplied by it) and a delay (ms)."""
        return self._generator("dc_generator", name, size, params)

    def step_current_generator(self, name, size=1, **params):
        """NEST's ``step_current_generator``: ``amplitude_values`` (pA) from
        ``amplitude_times`` (ms, on the grid, increasing); ``start``, ``stop`` (ms)."""
        return self._generator("step_current_generator", name, size, params)

    def noise_generator(self, name, size=1, **params):
        """NEST's ``noise_generator``: a normal current of ``mean``, ``std`` (pA) per
        connection, redrawn every ``dt`` ms (default 1.0); ``start``, ``stop`` (ms); the
        variance optionally modulated by ``std_mod`` (pA), ``frequency`` (Hz), ``phase`` (deg)."""
        return self._generator("noise_generator", name, size, params)

    def ac_generator(self, name, size=1, **params):
        """NEST's ``ac_generator``: ``offset + amplitude·sin(2π·frequency·t + phase)`` (pA,
        Hz, degrees; t from 0) between ``start`` and ``stop`` (ms)."""
        return self._generator("ac_generator", name, size, params)

    def inhomogeneous_poisson_generator(self, name, size=1, **params):
        """NEST's ``inhomogeneous_poisson_generator``: Poisson trains of ``rate_values``
        (Hz) from ``rate_times`` (ms, on the grid, increasing); each synapse its own train."""
        return self._generator("inhomogeneous_poisson_generator", name, size, params)

    def gamma_sup_generator(self, name, size=1, **params):
        """NEST's ``gamma_sup_generator``: to each target its own superposition of ``n_proc``
        gamma processes of shape ``gamma_shape`` and ``rate`` Hz; ``start``, ``stop`` (ms).
        See :mod:`bigbrain.superposition`."""
        return self._generator("gamma_sup_generator", name, size, params)

    def ppd_sup_generator(self, name, size=1, **params):
        """NEST's ``ppd_sup_generator``: to each target its own superposition of ``n_proc``
        Poisson processes with dead time ``dead_time`` (ms) of ``rate`` Hz, optionally
        modulated (``frequency`` Hz, ``relative_amplitude``); ``start``, ``stop`` (ms).
        See :mod:`bigbrain.superposition`."""
        return self._generator("ppd_sup_generator", name, size, params)

    def _generator(self, kind, name, size, params):
        """A group of ``size`` stimulation devices (:mod:`bigbrain.stimulation`)."""
        self._new_name(name)
        gen = DEVICE_KINDS[kind](name, _count(f"{kind} {name!r}.size", size), self.dt, params)
        self.populations[name] = gen
        return gen

    def _add(self, pop):
        self.populations[name := pop.name] = pop
        self.n_nodes += pop.size
        return self.populations[name]

    def node_populations(self):
        return [p for p in self.populations.values() if isinstance(p, Population)]

    def _selection(self, obj, field):
        if isinstance(obj, str):
            if obj not in self.populations:
                raise ModelError(field, f"unknown population {obj!r}" + suggest(obj, self.populations))
            return self.populations[obj]
        try:
            return as_selection(obj)
        except ModelError:
            raise ModelError(field, f"expected a population, a selection or a name, got {obj!r}") from None

    def connect(self, pre, post, rule="all_to_all", weight=1.0, delay=1.0, allow_autapses=True,
                allow_multapses=True, synapse=None, receptor=0, **rule_args):
        """Connect ``pre`` to ``post`` with a NEST rule; weight (mV for iaf_psc_delta, pA for
        iaf_psc_exp and iaf_psc_alpha) and delay (ms) are constants, distributions or (rule
        ``explicit``) arrays with one value per synapse. ``synapse``: None (static) or
        ``bb.STDP(...)`` (NEST's stdp_synapse). ``receptor``: NEST's receptor_type: 0, or 1
        for ``parrot_neuron`` targets, whose port-1 input is not repeated; for a model with
        receptor ports (``*_multisynapse``, :mod:`bigbrain.neurons.multisynapse`) the port
        1 … P. Returns the connection (for ``record_weights`` and ``Result.weights``)."""
        where = f"connect[{len(self.connections)}]"
        self._not_built(where)
        pre = self._selection(pre, f"{where}.pre")
        post = self._selection(post, f"{where}.post")
        if getattr(post, "is_device", False):
            raise ModelError(f"{where}.post", f"{post.KIND} {post.name!r} cannot receive input")
        for pop in post.populations():
            if not pop.model.receives_input:
                raise ModelError(f"{where}.post", f"population {pop.name!r} ({pop.model.name}) "
                                 "cannot receive spikes")
        conn = Connection(len(self.connections), pre, post, make_rule(where, rule, rule_args),
                          weight, delay, allow_autapses, allow_multapses, synapse, self.dt,
                          receptor)
        self.connections.append(conn)
        conn.network = self
        return conn

    def record_weights(self, conn, pre=None, post=None):
        """Record the weights of the plastic synapses of ``conn`` (returned by ``connect``)
        from positions ``pre`` of its pre selection to positions ``post`` of its post
        selection (None: all), like NEST's weight_recorder: one event (time stamp of the
        pre-synaptic spike, pre, post, weight after the update) at each spike delivery.
        Read them with ``Result.weight_events(conn)``."""
        self._not_built("record_weights")
        if conn not in self.connections or not isinstance(conn.synapse, PlasticRule):
            raise ModelError("record_weights", "expected a plastic connection of this network")
        chosen = [np.arange(n) if ids is None else np.asarray(ids, np.int64).ravel()
                  for ids, n in ((pre, len(conn.pre)), (post, len(conn.post)))]
        for name, ids, n in (("pre", chosen[0], len(conn.pre)), ("post", chosen[1], len(conn.post))):
            if ids.size and (ids.min() < 0 or ids.max() >= n):
                raise ModelError(f"record_weights.{name}", f"positions must be in [0, {n})")
        if conn.recorded_weights is not None:
            raise ModelError("record_weights", f"{conn.where} is already recorded")
        conn.recorded_weights = tuple(chosen)

    def record(self, target, what="spikes", interval=None):
        """Record ``spikes``, or sample state variables (NEST's multimeter) every
        ``interval`` ms (default dt): ``what`` is a recordable of the model (``V_m``;
        iaf_psc_exp also ``I_syn_ex``, ``I_syn_in``) or a list of them. One population (or
        a subset of one) per call."""
        self._not_built("record")
        sel = self._selection(target, "record")
        if getattr(sel, "is_device", False) or len(sel.parts) != 1:
            raise ModelError("record", "record one population (or a subset of one) per call")
        pop, ids = sel.parts[0]
        if isinstance(what, str) and what == "spikes":
            self._merge(self.spike_recordings, Recording(pop, ids))
            return
        variables = [what] if isinstance(what, str) else list(what)
        recordables = pop.recordables
        for name in variables:
            if name not in recordables:
                known = ", ".join(("spikes",) + recordables)
                raise ModelError("record.what", f"{pop.name!r} ({pop.model.name}) has no "
                                 f"{name} to record; its recordables: {known}"
                                 + suggest(str(name), ("spikes",) + recordables))
        if not variables:
            raise ModelError("record.what", "name at least one recordable")
        interval = self.dt * (1 if interval is None else self.steps("record.interval", interval))
        if not interval >= self.dt:
            raise ModelError("record.interval", f"must be >= dt = {self.dt} ms, got {interval}")
        self._merge(self.vm_recordings, Recording(pop, ids, interval, variables))

    @staticmethod
    def _merge(recordings, new):
        for rec in recordings:
            if rec.population is new.population:
                if rec.interval != new.interval:
                    raise ModelError("record.interval", f"{new.population.name!r} is already "
                                     f"sampled every {rec.interval} ms")
                rec.ids = np.union1d(rec.ids, new.ids)
                chosen = set(rec.variables) | set(new.variables)
                rec.variables = tuple(v for v in new.population.recordables if v in chosen)
                return
        if new.variables:
            chosen = set(new.variables)
            new.variables = tuple(v for v in new.population.recordables if v in chosen)
        recordings.append(new)

    # ---------------------------------------------------------------- state
    def get(self, target, name):
        """The values of parameter ``name`` (or the current ``V_m``) of every neuron of a
        population or selection, in selection order, or (``name="weight"``, or a
        tsodyks_synapse variable such as ``"x"``) of every synapse of a connection, in the order of ``Result.weights``; the same array on
        every rank (collective once built). A target with ``get_params`` (a stimulation
        device) answers itself. See :mod:`bigbrain.state`."""
        if hasattr(target, "get_params"):
            return target.get_params(self, name)
        if isinstance(target, Connection):
            return state.get_synapses(self, target, name)
        return state.get_neurons(self, self._neurons(target, "get"), name)

    def normalise(self, conn, total, w_max):
        """Scale each target's plastic weights of connection ``conn`` to sum to ``total``,
        clipped to [0, ``w_max``], on each target's rank (collective once built; see
        :func:`bigbrain.state.normalise_weights`)."""
        state.normalise_weights(self, conn, total, w_max)

    def set(self, target, **params):
        """Set parameters (``V_m=..., I_e=...``) of a population or selection, or
        ``weight=...`` (or tsodyks_synapse variables) of a connection: a number, an array with one value per selected
        neuron (synapse, in the order of ``Result.weights``) or a distribution. Before the
        build this changes the description; between runs the built state (collective). A
        target with ``set_params`` (a stimulation device) sets itself."""
        if hasattr(target, "set_params"):
            return target.set_params(self, **params)
        if isinstance(target, Connection):
            return state.set_synapses(self, target, params)
        if "spike_times" in params:
            return self._set_spike_times(target, params)
        return state.set_neurons(self, self._neurons(target, "set"), params)

    def _set_spike_times(self, target, params):
        """``net.set(spike_source, spike_times=[train, …])``: one train (ms) per node."""
        sel = self._selection(target, "set")
        if set(params) != {"spike_times"} or getattr(sel, "is_device", False) or any(
                p.model.name != "spike_source" for p in sel.populations()):
            raise ModelError("set.spike_times", "spike times are set alone, on spike_source "
                             "populations")
        trains, k, steps = list(params["spike_times"]), 0, []
        if len(trains) != len(sel):
            raise ModelError("set.spike_times", f"has {len(trains)} trains for {len(sel)} "
                             "selected nodes")
        for pop, ids in sel.parts:
            steps.append([_spike_steps(f"population {pop.name!r}.spike_times[{i}]", t, self.dt)
                          for i, t in zip(ids, trains[k:k + len(ids)])])
            k += len(ids)
        state.set_spike_times(self, sel, steps)

    def _neurons(self, target, what):
        sel = self._selection(target, what)
        if isinstance(sel, PoissonGenerators) or any(p.model.name == "spike_source"
                                                     for p in sel.populations()):
            raise ModelError(what, f"expected neurons, got {sel.label!r}")
        return sel

    # ---------------------------------------------------------------- simulation
    def build(self):
        """Build this rank's part of the network (collective; ``run`` calls it)."""
        if self._simulation is None:
            sim = Simulation(self, self.comm)
            if self.archive is not None:
                from .checkpoint import open_writer
                sim.archive = open_writer(sim, self.archive)
                arrays = {}
                sim.archive.create(describe(self, arrays), arrays)
            self._simulation = sim
        return self._simulation

    def run(self, t):
        """Simulate ``t`` ms more (a collective call); returns the records so far."""
        n_steps = self.steps("run.t", t)
        sim = self.build()
        sim.run(n_steps)
        return sim.result()

    def steps(self, field, t):
        """A duration ``t`` (ms) in steps; refused unless a finite multiple of dt >= 0 (as
        in NEST, so that time never drifts from what the script says)."""
        if not (_real(t) and math.isfinite(t) and t >= 0):
            raise ModelError(field, f"must be a duration >= 0 ms, got {t!r}")
        n = round(t / self.dt)
        if abs(n * self.dt - t) > 1e-9 * max(t, self.dt):
            raise ModelError(field, f"{t} ms is not a multiple of the resolution dt = {self.dt} ms")
        return int(n)

    @property
    def time(self):
        """Biological time reached (ms)."""
        return 0.0 if self._simulation is None else self._simulation.step * self.dt

    @property
    def rank(self):
        return self.comm.rank

    @property
    def n_ranks(self):
        return self.comm.size


def _archive_of(archive):
    """The :class:`~bigbrain.archive.Archive` for ``archive`` (a path, an Archive or None),
    refused if its store exists. The archive module, and with it zarr (about 30 MiB of
    memory), is imported only for an archived run."""
    if archive is None:
        return None
    from .archive import Archive
    archive = Archive.of(archive)
    archive.refuse_existing()
    return archive


def _sorted_unique(ids):
    """``np.unique(ids)``, without its cost (seconds for 10^7 ids) when already so."""
    ids = np.asarray(ids, np.int64)
    return ids if np.all(ids[1:] > ids[:-1]) else np.unique(ids)


def _real(value):
    """Whether ``value`` is a real number (a bool is not)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_size(field, value, size):
    """Refuse an array of per-neuron values that does not have one value per neuron."""
    if isinstance(value, np.ndarray) and value.size != size:
        raise ModelError(field, f"has {value.size} values for {size} neurons")


def _count(field, value):
    """A number of nodes; refused unless an integer whose ids (8 bytes each, held by every
    rank while describing) fit in this machine's memory."""
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0):
        raise ModelError(field, f"must be an integer >= 0, got {value!r}")
    if 8 * int(value) > physical_memory():
        raise ModelError(field, f"{value} nodes do not fit: their ids alone take "
                         f"{8 * int(value) / 2**30:.0f} GiB, more than this machine's memory")
    return int(value)


def _spike_steps(field, times, dt):
    """Time stamps (steps) of spike times on the dt grid."""
    times = np.sort(np.asarray(times, np.float64).ravel())
    steps = np.rint(times / dt).astype(np.int64)
    if times.size and not np.all(np.isfinite(times)):
        raise ModelError(field, "spike times must be finite")
    if times.size and np.abs(steps * dt - times).max() > 1e-6 * dt + 1e-12:
        raise ModelError(field, f"spike times must lie on the dt = {dt} ms grid")
    if times.size and steps[0] < 1:
        raise ModelError(field, f"spike times must be >= dt = {dt} ms, got {times[0]}")
    return steps
