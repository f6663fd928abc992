"""PyNN's Projection on bigbrain: connectors as bigbrain connection rules.

Each connector maps onto the engine's rule (all_to_all, one_to_one, pairwise_bernoulli,
fixed_indegree, fixed_outdegree, fixed_total_number, explicit), and PyNN's random weights
and delays onto the engine's counter-based distributions (``uniform``, ``normal``,
``normal_clipped``), so connectivity, weights and delays do not depend on the number of
ranks. A distance-dependent probability is evaluated by PyNN's Space for every pair and
drawn from the engine's Philox stream (seed, CONNECT, projection, target, source).
"""
import numpy as np
from pyNN import common, connectors
from pyNN.random import RandomDistribution

from .. import distributions
from ..errors import ModelError
from ..kernels.philox import uniform as philox_uniform
from ..stdp import STDP
from ..streams import Purpose
from . import simulator
from .populations import Assembly, base_cells, selection_of
from .standardmodels import STDPMechanism, StaticSynapse, weight_scale

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
        self._check()
        state.projections.append(self)

    # ---------------------------------------------------------------- checks
    def _where(self, field=""):
        return f"Projection {self.label or self._index!r}" + (f".{field}" if field else "")

    def _check(self):
        """Refuse, at the call, what the engine cannot do."""
        self._rule()
        self._synapse()
        self._values()

    def _scale(self):
        post = self.post.populations[0] if isinstance(self.post, Assembly) else self.post
        return weight_scale(post.celltype, self.receptor_type)

    def _synapse(self):
        """None (static) or the engine's bb.STDP for the synapse type."""
        syn = self.synapse_type
        if isinstance(syn, StaticSynapse):
            return None
        if not isinstance(syn, STDPMechanism):
            raise ModelError(self._where("synapse_type"), f"{type(syn).__name__} is not "
                             "supported: the engine has static synapses and NEST's stdp_synapse")
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
    def _values(self, sources=None, targets=None):
        """Engine weight and delay: numbers, engine distributions or (explicit) arrays."""
        scale = self._scale()
        params = self.synapse_type.native_parameters
        columns = self._list_columns()
        out = {}
        for name, factor in (("weight", scale), ("delay", 1.0)):
            if name in columns and sources is not None:
                out[name] = columns[name] * factor
                continue
            value = params[name].base_value
            if name == "delay" and value is None:
                value = simulator.state.min_delay
            out[name] = _engine_value(self._where(name), value, factor, sources, targets)
        return out["weight"], out["delay"]

    def _list_columns(self):
        c = self._connector
        if isinstance(c, connectors.FromListConnector):
            data = np.asarray(c.conn_list, np.float64).reshape(len(c.conn_list), -1)
            return {n: data[:, 2 + k] for k, n in enumerate(c.column_names or ())
                    if n in ("weight", "delay")}
        return {}

    def _pairs(self, net):
        """(sources, targets): positions of an explicit projection's synapses."""
        c = self._connector
        if isinstance(c, connectors.FromListConnector):
            data = np.asarray(c.conn_list, np.float64).reshape(len(c.conn_list), -1)
            extra = set(c.column_names or ()) - {"weight", "delay"}
            if extra:
                raise ModelError(self._where("connector"), f"columns {sorted(extra)} are not "
                                 "supported (the engine's synapses have weight and delay)")
            return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64)
        if isinstance(c, connectors.ArrayConnector):
            return np.nonzero(np.asarray(c.array, bool))
        d = self.space.distances(self.pre.positions.T, self.post.positions.T).reshape(
            self.pre.size, self.post.size)
        p = _distance_probability(self._where("d_expression"), c.d_expression, d)
        post = np.arange(self.post.size)
        pre = np.arange(self.pre.size)
        u = philox_uniform(net.seed, int(Purpose.CONNECT), self._index, np.tile(post, len(pre)),
                           np.repeat(pre, len(post)), DISTANCE_ROUND).reshape(d.shape)
        if not c.allow_self_connections and self.pre is self.post:
            np.fill_diagonal(p, 0.0)
        sources, targets = np.nonzero(u < p)
        order = np.lexsort((sources, targets))
        return sources[order], targets[order]

    # ---------------------------------------------------------------- build
    def _describe(self, net):
        rule, args, autapses, multapses = self._rule()
        sources = targets = None
        if rule == "explicit":
            sources, targets = self._pairs(net)
            args = {"sources": sources, "targets": targets}
        weight, delay = self._values(sources, targets)
        self._conn = net.connect(selection_of(self.pre), selection_of(self.post), rule=rule,
                                 weight=weight, delay=delay, allow_autapses=autapses,
                                 allow_multapses=multapses, synapse=self._synapse(), **args)

    def _synapses(self):
        """(pre positions, post positions, weights, delays) of every synapse, in PyNN units."""
        state = simulator.state
        net = state.network()
        conn = self._conn
        if conn.synapse is not None and state.result is not None:
            pre, post, w = state.result.weights(conn)
            _, _, _, _, d = conn.local_synapses(net.seed, net.dt, lambda g: np.ones(len(g), bool))
            order = None
        else:
            pre, post, ordinal, w, d = conn.local_synapses(net.seed, net.dt,
                                                           lambda g: np.ones(len(g), bool))
            order = np.lexsort((ordinal, pre, post))
            pre, post = pre[order], post[order]
            w = np.broadcast_to(w, pre.shape)[order]
        d = np.broadcast_to(d, pre.shape) if order is None else np.broadcast_to(d, pre.shape)[order]
        return pre, post, np.asarray(w, float) / self._scale(), np.asarray(d) * net.dt

    def _local(self):
        pre, post, w, d = self._synapses()
        keep = post % simulator.state.num_processes == simulator.state.mpi_rank
        return pre[keep], post[keep], w[keep], d[keep]

    def __len__(self):
        return len(self._local()[0])

    def _get_attributes_as_list(self, names):
        pre, post, w, d = self._local()
        columns = {"presynaptic_index": pre, "postsynaptic_index": post, "weight": w,
                   "delay": d}
        return list(zip(*(self._column(columns, n) for n in names)))

    @property
    def connections(self):
        """The local connections, read-only (weights and delays in PyNN units)."""
        for pre, post, w, d in zip(*self._local()):
            yield Connection(int(pre), int(post), float(w), float(d))

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
        columns = {"weight": w, "delay": d}
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
        simulator.state.not_built(self._where("set"))
        for name, value in parameter_space.items():
            if name not in ("weight", "delay"):
                raise ModelError(self._where(name), "cannot be set per synapse in the engine")
            self.synapse_type.parameter_space[name] = value
        self._values()

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


def _engine_value(field, value, factor, sources=None, targets=None):
    """A PyNN weight or delay as the engine's: a number, a distribution, or per synapse."""
    if isinstance(value, RandomDistribution):
        if value.name not in _DISTRIBUTIONS:
            raise ModelError(field, f"RandomDistribution {value.name!r} is not supported: the "
                             f"engine draws {', '.join(_DISTRIBUTIONS)} from its rank-"
                             "independent streams")
        cls, names = _DISTRIBUTIONS[value.name]
        p = [float(value.parameters[n]) * factor for n in names]
        if value.name == "uniform":
            return cls(*sorted(p))
        p[1] = abs(p[1])
        if value.name == "normal_clipped":
            p[2:] = sorted(p[2:])
        scaled = p
        return cls(*scaled)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) * factor
    if isinstance(value, np.ndarray) and sources is not None and value.ndim == 2:
        return value[sources, targets] * factor
    raise ModelError(field, f"{type(value).__name__} values are not supported (numbers, "
                     "RandomDistribution, or an array with FromList/ArrayConnector)")


def _distance_probability(field, expression, d):
    """Evaluate a PyNN distance expression (a string in ``d``) for every pair."""
    if callable(expression):
        return np.broadcast_to(np.asarray(expression(d), float), d.shape).copy()
    namespace = {name: getattr(np, name) for name in ("exp", "sqrt", "sin", "cos", "abs",
                                                      "minimum", "maximum", "where")}
    try:
        p = eval(expression, {"__builtins__": {}}, {**namespace, "d": d})
    except Exception as err:
        raise ModelError(field, f"cannot evaluate {expression!r}: {err}") from None
    return np.broadcast_to(np.asarray(p, float), d.shape).copy()


class Connection(common.Connection):
    """One synapse: pre- and post-synaptic index, weight and delay (read-only: the
    engine's weights change through Projection.set before the first run)."""

    def __init__(self, pre, post, weight, delay):
        self.presynaptic_index, self.postsynaptic_index = pre, post
        self._values = {"weight": weight, "delay": delay}

    weight = property(lambda self: self._values["weight"], lambda self, v: self._refuse())
    delay = property(lambda self: self._values["delay"], lambda self, v: self._refuse())

    @staticmethod
    def _refuse():
        raise ModelError("Connection", "not supported: set weights and delays with "
                         "Projection.set before the first run")

    def as_tuple(self, *names):
        return tuple(getattr(self, n) for n in names)
