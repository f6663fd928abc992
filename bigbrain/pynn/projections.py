"""PyNN's Projection on bigbrain: connectors as bigbrain connection rules.

Each connector maps onto the engine's rule (all_to_all, one_to_one, pairwise_bernoulli,
fixed_indegree, fixed_outdegree, fixed_total_number, explicit), and PyNN's random weights
and delays onto the engine's counter-based distributions (``uniform``, ``normal``,
``normal_clipped``), so connectivity, weights and delays do not depend on the number of
ranks. A distance-dependent probability is evaluated by PyNN's Space for every pair and
drawn from the engine's Philox stream (seed, CONNECT, projection, target, source).
"""
from copy import copy

import numpy as np
from lazyarray import larray as LazyArray
from pyNN import common, connectors
from pyNN.core import IndexBasedExpression
from pyNN.random import RandomDistribution

from .. import distributions
from ..errors import ModelError
from ..connectivity import make_rule
from ..kernels.philox import uniform as philox_uniform
from ..projection import Connection as EngineConnection
from ..bernoulli import Bernoulli
from ..stdp import STDP
from ..tsodyks import TsodyksSynapse
from ..streams import Purpose
from . import simulator
from .selections import base_cells, selection_of
from .populations import Assembly
from .standardmodels import (STDPMechanism, SimpleStochasticSynapse, StaticSynapse,
                             TsodyksMarkramSynapse, weight_scale)

#: TsodyksMarkramSynapse's parameters (NEST's names) kept per synapse by the engine.
_TSODYKS = ("U", "tau_rec", "tau_fac")

#: The counter's round word of distance-dependent draws (the engine's rules redraw in
#: rounds 0, 1, …; this one is far beyond them).
DISTANCE_ROUND = 1 << 30


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=None, label=None):
        from pyNN.space import Space
        state = simulator.state
        state.not_built("Projection")
        super().__init__(presynaptic_population, postsynaptic_population, connector,
                         synapse_type, source, receptor_type, space or Space(), label)
        self._index = len(state.projections)
        self._conn = None
        self._assigned = {}        # name -> PyNN value given to Projection.set
        self._synapse_values = {}  # name -> PyNN value of every synapse (explicit pairs)
        self._explicit = None      # (sources, targets) once the synapses are listed
        self._built_values = {}  # name -> the engine's values, gathered (_engine_values_of)
        self._writes = []           # Connection writes not yet applied (k, name, value)
        self._reweighted = False    # weights set in the built network (read them back)
        self._check()
        state.projections.append(self)

    # ---------------------------------------------------------------- checks
    def _where(self, field=""):
        return f"Projection {self.label or self._index!r}" + (f".{field}" if field else "")

    def _check(self):
        """Refuse, at the call, what the engine cannot do."""
        self._rule()
        self._synapse()

    def _port(self):
        """The engine's receptor port (NEST's receptor_type): a composed cell's
        (PointNeuron) for the named receptor, else 0 (the weight's sign chooses)."""
        post = self.post.populations[0] if isinstance(self.post, Assembly) else self.post
        port = getattr(post.celltype, "get_receptor_type", None)
        return port(self.receptor_type) if port else 0

    def _scale(self):
        post = self.post.populations[0] if isinstance(self.post, Assembly) else self.post
        return weight_scale(post.celltype, self.receptor_type)

    def _synapse(self, net=None):
        """None (static), the engine's bb.STDP, bb.Bernoulli or bb.TsodyksSynapse for the
        synapse type (``net``: the network being described, for per-synapse values)."""
        syn = self.synapse_type
        if isinstance(syn, StaticSynapse):
            return None
        if isinstance(syn, SimpleStochasticSynapse):
            if self._homogeneous("p_transmit"):
                return Bernoulli(float(getattr(self._value("p_transmit"), "base_value",
                                               self._value("p_transmit"))))
            if self._explicit is None:   # checked per synapse once built (:meth:`_describe`)
                return Bernoulli(1.0)
            return Bernoulli(self._per_synapse("p_transmit", *self._explicit))
        if isinstance(syn, TsodyksMarkramSynapse):
            return self._tsodyks(net)
        if not isinstance(syn, STDPMechanism):
            raise ModelError(self._where("synapse_type"), f"{type(syn).__name__} is not "
                             "supported: the engine has static synapses and NEST's stdp_synapse, "
                             "tsodyks_synapse and bernoulli_synapse")
        rule, dependence = syn.timing_dependence, syn.weight_dependence
        if type(rule).__name__ != "SpikePairRule" or not hasattr(dependence, "mu") or \
                syn.voltage_dependence is not None:
            raise ModelError(self._where("synapse_type"), "only SpikePairRule with "
                             "Additive- or MultiplicativeWeightDependence is supported "
                             "(the engine's NEST stdp_synapse)")
        p = {k: _scalar(self._where(k), v) for k, v in syn.native_parameters.items()
             if k not in ("weight", "delay")}
        if p.get("dendritic_delay_fraction", 1.0) != 1.0:
            raise ModelError(self._where("dendritic_delay_fraction"), "must be 1: the engine "
                             "counts the whole delay as dendritic, as NEST's stdp_synapse")
        if p["w_min"] != 0.0:
            raise ModelError(self._where("w_min"), "must be 0: NEST's stdp_synapse has no "
                             "lower weight bound")
        for pop, _ in base_cells(self.post):
            if pop._tau_minus not in (None, p["tau_minus"]):
                raise ModelError(self._where("tau_minus"), "differs from another STDP "
                                 "projection onto the same cells (tau_minus belongs to the "
                                 "post-synaptic neuron in the engine)")
            pop._tau_minus = p["tau_minus"]
        scale = self._scale()
        alpha = p["A_minus"] / p["lambda"] if p["lambda"] else 0.0  # NEST: A− = alpha·lambda
        return STDP(tau_plus=p["tau_plus"], lambda_=p["lambda"], alpha=alpha,
                    mu_plus=dependence.mu, mu_minus=dependence.mu, Wmax=p["Wmax"] * scale)

    def _tau_psc(self):
        """tau_psc as pyNN.nest sets it: the post-synaptic cells' ``tau_syn_E`` (``tau_syn_I``
        for inhibitory projections), one number, or one per post-synaptic cell."""
        name = "tau_syn_I" if self.receptor_type == "inhibitory" else "tau_syn_E"
        values = []
        for pop, index in base_cells(self.post):
            if name not in pop.celltype.get_parameter_names():
                raise ModelError(self._where("synapse_type"), f"TsodyksMarkramSynapse needs "
                                 f"{name} on the post-synaptic cells (tau_psc), which "
                                 f"{type(pop.celltype).__name__} does not have")
            values.append(np.broadcast_to(pop.get(name, gather=True), pop.size)[index])
        values = np.concatenate(values).astype(np.float64)
        return float(values[0]) if len(values) and np.all(values == values[0]) else values

    def _homogeneous(self, name):
        """Whether the PyNN value of ``name`` is one number for every synapse."""
        value = self._value(name)
        base = getattr(value, "base_value", value)
        return not getattr(value, "operations", None) and \
            isinstance(base, (int, float, np.integer, np.floating))

    def _needs_pairs(self):
        """Whether the synapse model's values differ per synapse (listed synapses then)."""
        syn = self.synapse_type
        if isinstance(syn, SimpleStochasticSynapse):
            return not self._homogeneous("p_transmit")
        if isinstance(syn, TsodyksMarkramSynapse):
            return np.ndim(self._tau_psc()) > 0 or not all(self._homogeneous(n) for n in _TSODYKS)
        return False

    def _tsodyks(self, net):
        """bb.TsodyksSynapse of the projection: numbers, or (while ``net`` is described)
        one value per listed synapse."""
        tau_psc = self._tau_psc()
        if net is None or not self._needs_pairs():
            params = {n: _scalar(self._where(n), self._value(n)) if self._homogeneous(n) else
                      TsodyksSynapse().describe()[n] for n in _TSODYKS}
            return TsodyksSynapse(tau_psc=tau_psc if np.ndim(tau_psc) == 0 else 3.0, **params)
        sources, targets = self._pairs(net)
        params = {n: self._per_synapse(n, sources, targets) for n in _TSODYKS}
        if np.ndim(tau_psc):
            tau_psc = tau_psc[targets]
        return TsodyksSynapse(tau_psc=tau_psc, **params)

    def _rule(self):
        """(rule name, rule arguments, allow_autapses, allow_multapses)."""
        c = self._connector
        where = self._where("connector")
        autapses = getattr(c, "allow_self_connections", True)
        if autapses not in (True, False):
            raise ModelError(where, f"allow_self_connections={autapses!r} is not supported")
        if isinstance(c, connectors.AllToAllConnector):
            return "all_to_all", {}, autapses, True
        if isinstance(c, connectors.OneToOneConnector):
            return "one_to_one", {}, True, True
        if isinstance(c, connectors.FixedProbabilityConnector):
            return "pairwise_bernoulli", {"p": float(c.p_connect)}, autapses, True
        if isinstance(c, connectors.FixedNumberPreConnector):
            return "fixed_indegree", {"indegree": _count(where, c.n)}, autapses, c.with_replacement
        if isinstance(c, connectors.FixedNumberPostConnector):
            return ("fixed_outdegree", {"outdegree": _count(where, c.n)}, autapses,
                    c.with_replacement)
        if isinstance(c, connectors.FixedTotalNumberConnector):
            return "fixed_total_number", {"N": _count(where, c.n)}, autapses, c.with_replacement
        if isinstance(c, (connectors.FromListConnector, connectors.ArrayConnector,
                          connectors.DistanceDependentProbabilityConnector)):
            return "explicit", None, True, True
        raise ModelError(where, f"{type(c).__name__} is not supported by bigbrain.pynn")

    # ---------------------------------------------------------------- values
    def _value(self, name):
        """The PyNN value (native units) of ``name``: as last given to ``set``, else the
        synapse type's, else (delay) the minimum delay."""
        value = self._assigned.get(name, self.synapse_type.native_parameters[name])
        base = getattr(value, "base_value", value)
        if name == "delay" and base is None:
            return simulator.state.min_delay
        return value

    def _engine_values(self):
        """{name: engine value} of weight and delay where the engine draws them itself (a
        number or one of its distributions, the same for every synapse); a name missing
        is one that needs a value per synapse (:meth:`_per_synapse`)."""
        out = {}
        for name, factor in (("weight", self._scale()), ("delay", 1.0)):
            value = self._value(name)
            if name in self._list_columns() or name in self._synapse_values or \
                    getattr(value, "operations", None):
                continue
            base = getattr(value, "base_value", value)
            if isinstance(base, (int, float, np.integer, np.floating)) or \
                    (isinstance(base, RandomDistribution) and base.name in _DISTRIBUTIONS):
                out[name] = _engine_value(base, factor)
        return out

    def _per_synapse(self, name, sources, targets):
        """The PyNN value of ``name`` for every synapse (sources, targets), computed once
        and kept (so that random draws and later edits survive ``reset``): a list
        column, or the value evaluated for every (pre, post) pair (a distance function
        with PyNN's Space, a 2-D array, a distribution the engine lacks drawn by PyNN's
        RNG for every pair, the same on every rank) at the synapses' positions."""
        if name not in self._synapse_values:
            columns = self._list_columns()
            if name in columns:
                values = columns[name]
            else:
                values = self._pair_matrix(name)[sources, targets]
            self._synapse_values[name] = np.asarray(values, np.float64)
        return self._synapse_values[name]

    def _pair_matrix(self, name):
        """``name`` evaluated for every (pre, post) pair, as PyNN's connectors do."""
        value = self._value(name)
        if not isinstance(value, LazyArray):
            value = LazyArray(value)
        value = copy(value)
        value.shape = (self.pre.size, self.post.size)
        base = value.base_value
        if isinstance(base, RandomDistribution) and base.rng.seed is None:
            value.base_value = base = self._seeded(base)
        if callable(base) and not isinstance(base, RandomDistribution) and \
                name not in self._assigned:  # Projection.set evaluated distances already
            if isinstance(base, IndexBasedExpression):
                value.base_value = copy(base)
                value.base_value.projection = self
            else:
                distances = LazyArray(self.space.distance_generator(
                    self.pre.position_generator, self.post.position_generator), shape=value.shape)
                value = value(distances)
        try:
            matrix = value.evaluate(simplify=False)
        except Exception as err:
            raise ModelError(self._where(name), f"cannot evaluate {base!r}: {err}") from None
        return np.broadcast_to(np.asarray(matrix, np.float64), value.shape)

    def _seeded(self, distribution):
        """``distribution`` drawing from a NumpyRNG seeded by setup's seed and this
        projection (PyNN's default RNG has no seed: its draws would differ between runs
        and between ranks)."""
        from pyNN.random import NumpyRNG
        seed = (simulator.state.seed * 1_000_003 + self._index) % 2**32
        return RandomDistribution(distribution.name, rng=NumpyRNG(seed=seed),
                                  **distribution.parameters)

    def _list_columns(self):
        """{weight, delay: values} given as columns of a FromListConnector, in list order."""
        c = self._connector
        if isinstance(c, connectors.FromListConnector):
            data = np.asarray(c.conn_list, np.float64).reshape(len(c.conn_list), -1)
            return {n: data[:, 2 + k][self._list_order()] for k, n in
                    enumerate(c.column_names or ()) if n in ("weight", "delay")}
        return {}

    def _list_order(self):
        """The order (post, pre, list position) of a FromListConnector's entries."""
        data = np.asarray(self._connector.conn_list, np.float64).reshape(
            len(self._connector.conn_list), -1)
        return np.lexsort((np.arange(len(data)), data[:, 0], data[:, 1]))

    def _pairs(self, net):
        """(sources, targets) of every synapse, sorted by (target, source, ordinal), as
        ``Projection.get`` lists them; computed once. A rule's synapses are those the
        engine draws for this connection (every rank draws them all)."""
        if self._explicit is None:
            self._explicit = self._listed_pairs(net)
        return self._explicit

    def _listed_pairs(self, net):
        c = self._connector
        rule, args, autapses, multapses = self._rule()
        if rule != "explicit":
            probe = EngineConnection(len(net.connections), selection_of(self.pre),
                                     selection_of(self.post), make_rule(self._where(), rule, args),
                                     1.0, net.dt, autapses, multapses, None, net.dt,
                                     self._port())
            pre, post, ordinal, _, _ = probe.local_synapses(net.seed, net.dt,
                                                            lambda g: np.ones(len(g), bool))
            order = np.lexsort((ordinal, pre, post))
            return pre[order], post[order]
        if isinstance(c, connectors.FromListConnector):
            data = np.asarray(c.conn_list, np.float64).reshape(len(c.conn_list), -1)
            extra = set(c.column_names or ()) - {"weight", "delay"}
            if extra:
                raise ModelError(self._where("connector"), f"columns {sorted(extra)} are not "
                                 "supported (the engine's synapses have weight and delay)")
            order = self._list_order()
            return data[order, 0].astype(np.int64), data[order, 1].astype(np.int64)
        if isinstance(c, connectors.ArrayConnector):
            targets, sources = np.nonzero(np.asarray(c.array, bool).T)
            return sources, targets
        d = self.space.distances(self.pre.positions.T, self.post.positions.T).reshape(
            self.pre.size, self.post.size)
        p = _distance_probability(self._where("d_expression"), c.d_expression, d)
        post = np.arange(self.post.size)
        pre = np.arange(self.pre.size)
        u = philox_uniform(net.seed, int(Purpose.CONNECT), self._index, np.tile(post, len(pre)),
                           np.repeat(pre, len(post)), DISTANCE_ROUND).reshape(d.shape)
        if not c.allow_self_connections and self.pre is self.post:
            np.fill_diagonal(p, 0.0)
        targets, sources = np.nonzero((u < p).T)
        return sources, targets

    # ---------------------------------------------------------------- build
    def _describe(self, net):
        """Connect on ``net`` with the engine's rule, or with the listed synapses
        (rule ``explicit``) where the connector lists them or a value differs per synapse
        in a way the engine cannot draw."""
        rule, args, autapses, multapses = self._rule()
        values = self._engine_values()
        if rule == "explicit" or len(values) < 2 or self._explicit is not None or \
                self._needs_pairs():
            sources, targets = self._pairs(net)
            for name, factor in (("weight", self._scale()), ("delay", 1.0)):
                if name not in values:
                    values[name] = self._per_synapse(name, sources, targets) * factor
            rule, args = "explicit", {"sources": sources, "targets": targets}
        self._built_values, self._reweighted = {}, False
        self._conn = net.connect(selection_of(self.pre), selection_of(self.post), rule=rule,
                                 weight=values["weight"], delay=values["delay"],
                                 allow_autapses=autapses, allow_multapses=multapses,
                                 synapse=self._synapse(net), receptor=self._port(), **args)

    def _synapses(self):
        """(pre positions, post positions, weights, delays) of every synapse, in PyNN units,
        sorted by (post, pre, ordinal); once built, the engine's weights (collective)."""
        state = simulator.state
        net = state.network()
        conn = self._conn
        pre, post, ordinal, w, d = conn.local_synapses(net.seed, net.dt,
                                                       lambda g: np.ones(len(g), bool))
        order = np.lexsort((ordinal, pre, post))
        pre, post = pre[order], post[order]
        changed = conn.synapse is not None or self._reweighted   # else as described
        w = self._engine_weights() if state.built and changed else \
            np.broadcast_to(w, order.shape)[order]
        d = np.broadcast_to(d, order.shape)[order]
        return pre, post, np.asarray(w, float) / self._scale(), np.asarray(d) * net.dt

    def _engine_weights(self):
        return self._engine_values_of("weight")

    def _engine_values_of(self, name):
        """The built synapses' ``name`` (engine units), gathered on the first call after a
        run or a change: PyNN's ``get`` first asks every rank (a list), then rank 0 alone
        (an array), so the collective gather must happen in the first and be kept."""
        if name not in self._built_values:
            self._built_values[name] = simulator.state.net.get(self._conn, name)
        return self._built_values[name]

    def _variable_columns(self, names, n):
        """{native name: value of each of the ``n`` synapses of :meth:`_synapses`} of the
        synapse model's parameters among ``names`` (TsodyksMarkramSynapse's U, tau_rec,
        tau_fac): the engine's once built, else the described rule's (a number or one per
        synapse, in the same order)."""
        if not isinstance(self.synapse_type, TsodyksMarkramSynapse):
            return {}
        wanted = [name for name in _TSODYKS if name in names]
        if simulator.state.built:
            return {name: self._engine_values_of(name) for name in wanted}
        return {name: np.broadcast_to(getattr(self._conn.synapse, name), n) for name in wanted}

    def _local(self):
        pre, post, w, d = self._synapses()
        keep = self._is_local(post)
        return pre[keep], post[keep], w[keep], d[keep]

    @staticmethod
    def _is_local(post):
        return post % simulator.state.num_processes == simulator.state.mpi_rank

    def __len__(self):
        return len(self._local()[0])

    def _get_attributes_as_list(self, names):
        pre, post, w, d = self._synapses()
        keep = self._is_local(post)
        columns = {"presynaptic_index": pre, "postsynaptic_index": post, "weight": w,
                   "delay": d, **self._variable_columns(names, len(pre))}
        columns = {k: np.asarray(v)[keep] for k, v in columns.items()}
        return list(zip(*(self._column(columns, n) for n in names)))

    @property
    def connections(self):
        """The local connections (weights and delays in PyNN units)."""
        pre, post, w, d = self._synapses()
        for k in np.flatnonzero(self._is_local(post)):
            yield Connection(self, int(k), int(pre[k]), int(post[k]), float(w[k]), float(d[k]))

    def _column(self, columns, name):
        params = self.synapse_type.native_parameters
        if name not in columns and name in params.keys():
            value = _scalar(self._where(name), params[name])
            return [value] * len(columns["weight"])
        if name not in columns:
            raise ModelError(self._where(name), "not available: the engine's synapses have "
                             "weight and delay")
        return columns[name].tolist()

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        pre, post, w, d = self._synapses()
        columns = {"weight": w, "delay": d, **self._variable_columns(names, len(pre))}
        combine = common.Projection.MULTI_SYNAPSE_OPERATIONS[multiple_synapses]
        out = []
        for name in names:
            values = np.full((self.pre.size, self.post.size), np.nan)
            for i, j, v in zip(pre, post, columns[name.rstrip("s")] if name.rstrip("s")
                               in columns else self._column(columns, name)):
                values[i, j] = v if np.isnan(values[i, j]) else combine(values[i, j], v)
            out.append(values)
        return out

    def _set_attributes(self, parameter_space):
        """Projection.set: before the first run any weight or delay (a new description);
        after it, weights (the engine's ``net.set``)."""
        settable = ("weight", "delay") + (_TSODYKS if isinstance(
            self.synapse_type, TsodyksMarkramSynapse) else ())
        for name in parameter_space.keys():
            if name not in settable:
                raise ModelError(self._where(name), "cannot be set per synapse in the engine")
        if simulator.state.built:
            if "delay" in parameter_space.keys():
                raise ModelError(self._where("delay"), "cannot change after the first run (the "
                                 "engine's delays are fixed at the build; sim.reset() first)")
            for name, value in parameter_space.items():
                if name == "weight":
                    self._set_built_weights(value)
                else:
                    self._set_built_variable(name, value)
            return
        simulator.state.not_built(self._where("set"))
        for name, value in parameter_space.items():
            self._assigned[name] = value
            self._synapse_values.pop(name, None)

    def _set_built_weights(self, value):
        """Set the weights of the built network to ``value`` (PyNN units)."""
        net, scale = simulator.state.net, self._scale()
        base = getattr(value, "base_value", value)
        if not getattr(value, "operations", None) and (
                isinstance(base, (int, float, np.integer, np.floating))
                or (isinstance(base, RandomDistribution) and base.name in _DISTRIBUTIONS)):
            net.set(self._conn, weight=_engine_value(base, scale))
            self._built_values, self._reweighted = {}, True
            return
        self._assigned["weight"] = value
        pre, post, _, _ = self._synapses()
        net.set(self._conn, weight=self._pair_matrix("weight")[pre, post] * scale)
        self._built_values, self._reweighted = {}, True

    def _set_built_variable(self, name, value):
        """Set a synapse model parameter (U, tau_rec, tau_fac) of the built network."""
        self._assigned[name] = value
        self._synapse_values.pop(name, None)
        if self._homogeneous(name):
            engine_value = _scalar(self._where(name), value)
        else:
            pre, post, _, _ = self._synapses()
            engine_value = self._pair_matrix(name)[pre, post]
        simulator.state.net.set(self._conn, **{name: engine_value})
        self._built_values = {}

    def _write(self, k, name, value):
        """``Connection.<name> = value`` for synapse ``k`` (in the order of ``_synapses``):
        applied at once on one rank; under MPI, where each rank writes its own
        connections, gathered and applied at the next run (:meth:`apply_writes`)."""
        state = simulator.state
        if state.built and name != "weight":
            raise ModelError(self._where(name), "cannot change after the first run (the "
                             "engine's delays are fixed at the build; sim.reset() first)")
        self._writes.append((k, name, value))
        if state.num_processes == 1:
            self.apply_writes(self._writes)

    def apply_writes(self, writes):
        """Apply Connection ``writes`` (of every rank, :meth:`State.run` gathers them)."""
        state = simulator.state
        self._writes = []
        if not writes:
            return
        pre, post, w, d = self._synapses()
        if state.built:
            w = w.copy()
            for k, _, value in writes:
                w[k] = value
            state.net.set(self._conn, weight=w * self._scale())
            self._built_values, self._reweighted = {}, True
            return
        state.not_built(self._where("connections"))
        self._explicit = (pre, post)
        self._synapse_values = {"weight": w.copy(), "delay": d.copy()}
        for k, name, value in writes:
            self._synapse_values[name][k] = value

    def _set_initial_value_array(self, variable, initial_value):
        raise ModelError(self._where(variable), "synapses have no state to initialise")


def _scalar(field, value):
    value = value.base_value if hasattr(value, "base_value") else value
    if not np.isscalar(value):
        raise ModelError(field, "must be one number for the projection in the engine")
    return float(value)


def _count(field, n):
    if isinstance(n, RandomDistribution):
        raise ModelError(field, "a random number of connections is not supported")
    return int(n)


#: PyNN distribution -> (engine distribution, its PyNN parameter names).
_DISTRIBUTIONS = {"uniform": (distributions.uniform, ("low", "high")),
                  "normal": (distributions.normal, ("mu", "sigma")),
                  "normal_clipped": (distributions.clipped_normal, ("mu", "sigma", "low", "high"))}


def _engine_value(value, factor):
    """A PyNN number or distribution (one the engine draws) as the engine's, times ``factor``."""
    if not isinstance(value, RandomDistribution):
        return float(value) * factor
    cls, names = _DISTRIBUTIONS[value.name]
    p = [float(value.parameters[n]) * factor for n in names]
    if value.name == "uniform":
        return cls(*sorted(p))
    p[1] = abs(p[1])
    if value.name == "normal_clipped":
        p[2:] = sorted(p[2:])
    return cls(*p)


def _distance_probability(field, expression, d):
    """Evaluate a PyNN distance expression (a string in ``d``) for every pair."""
    if callable(expression):
        return np.broadcast_to(np.asarray(expression(d), float), d.shape).copy()
    namespace = {name: getattr(np, name) for name in ("exp", "sqrt", "sin", "cos", "abs",
                                                      "minimum", "maximum", "where", "pi")}
    try:
        p = eval(expression, {"__builtins__": {}}, {**namespace, "d": d})
    except Exception as err:
        raise ModelError(field, f"cannot evaluate {expression!r}: {err}") from None
    return np.broadcast_to(np.asarray(p, float), d.shape).copy()


class Connection(common.Connection):
    """One synapse of a projection: pre- and post-synaptic index, weight and delay (PyNN
    units); writing ``weight`` or ``delay`` changes the synapse (delay: before the first
    run; under MPI from the next run on, see :meth:`Projection._write`)."""

    def __init__(self, projection, k, pre, post, weight, delay):
        self.presynaptic_index, self.postsynaptic_index = pre, post
        self._projection, self._k = projection, k
        self._values = {"weight": weight, "delay": delay}

    def _setter(name):
        def set_value(self, value):
            self._projection._write(self._k, name, float(value))
            self._values[name] = float(value)
        return set_value

    weight = property(lambda self: self._values["weight"], _setter("weight"))
    delay = property(lambda self: self._values["delay"], _setter("delay"))
    del _setter

    def as_tuple(self, *names):
        return tuple(getattr(self, n) for n in names)
