"""Neurons with receptor ports, NEST's ``iaf_psc_exp_multisynapse`` and
``aeif_cond_alpha_multisynapse``: port k (1 … P, NEST's ``receptor_type``) has its own
synaptic time constant ``tau_syn[k-1]`` (ms) and, for the conductance model, its own
reversal potential ``E_rev[k-1]`` (mV). P is the length of ``tau_syn`` (one list per
population). Kernels: :mod:`bigbrain.kernels.multisynapse`.

A connection to these neurons names its port (``net.connect(..., receptor=k)``, 1 ≤ k ≤
P); current generators connect with receptor 0, as in NEST. Port 1 reads the rank's ring
buffers, ports 2 … P their own (:meth:`bigbrain.simulation.Simulation.ring_of`).
``iaf_psc_exp_multisynapse`` takes weights (pA) of either sign on any port;
``aeif_cond_alpha_multisynapse`` takes weights (nS) >= 0 (NEST refuses negative ones) and
integrates as ``aeif_cond_alpha``: substeps of at most H_MAX ms, each taken as 2^k shorter
RK4 steps where the ports' conductances make it stiff (``kernels.stiff.STIFF``, λ = (g_L +
Σ_k g_k)/C_m), so that V stays between the reversal potentials instead of oscillating.

Recordables (NEST's): ``iaf_psc_exp_multisynapse`` V_m (mV), I_syn (pA; the sum of the
port currents), I_syn_1 … I_syn_P (pA);
``aeif_cond_alpha_multisynapse`` V_m (mV), w (pA), g_1 … g_P (nS).
"""
import math

import numpy as np

from ..errors import ModelError
from ..kernels.multisynapse import AEIF_PARAMS
from .aeif_cond import AEIF_COND, H_MAX, AeifModel
from .base import LIF_COMMON, Block, NeuronModel, per_neuron, refractory_steps
from .iaf_cond import substeps
from .iaf_psc import iaf_propagator


class Ports:
    """What a model with receptor ports adds to :class:`~.base.NeuronModel`: its list
    parameters (``PORT_PARAMS``: name -> (unit, must be positive)), one list per
    population, as tuples of floats."""

    PORT_PARAMS = {"tau_syn": ("ms", True)}

    def checked(self, where, key, value):
        if key not in self.PORT_PARAMS:
            return super().checked(where, key, value)
        unit, positive = self.PORT_PARAMS[key]
        try:
            values = np.asarray(value, np.float64)
        except (TypeError, ValueError):
            values = np.zeros((0, 0))
        if values.ndim != 1 or values.size == 0:
            raise ModelError(f"{where}.{key}", f"must be a list of numbers ({unit}), one per "
                             f"receptor port, got {value!r}")
        bad = np.flatnonzero(~np.isfinite(values) | ((values <= 0) if positive else False))
        if len(bad):
            rule = "finite and > 0" if positive else "finite"
            raise ModelError(f"{where}.{key}", f"must be {rule} {unit}, got {values[bad[0]]} "
                             f"(port {bad[0] + 1})")
        return tuple(map(float, values))

    def ports(self, params):
        """Number of receptor ports of a population with parameters ``params``."""
        return len(params["tau_syn"])

    def recordables_for(self, params):
        return self.block.recordables(self.ports(params))


class IafPscExpMultisynapseModel(Ports, NeuronModel):
    """NEST's checks: V_reset below V_th, and each tau_syn differs from tau_m."""

    def check_relations(self, where, p):
        super().check_relations(where, p)
        if np.any(np.equal.outer(np.ravel(p["tau_m"]), p["tau_syn"])):
            raise ModelError(f"{where}.tau_syn", f"must differ from tau_m ({p['tau_m']} ms) "
                             f"in every port, as NEST requires, got {list(p['tau_syn'])}")


class AeifCondAlphaMultisynapseModel(Ports, AeifModel):
    """NEST's aeif checks, E_rev as long as tau_syn, and weights >= 0."""

    PORT_PARAMS = {"tau_syn": ("ms", True), "E_rev": ("mV", False)}
    NON_NEGATIVE_WEIGHTS = True

    def check_relations(self, where, p):
        super().check_relations(where, p)
        if len(p["E_rev"]) != len(p["tau_syn"]):
            raise ModelError(f"{where}.E_rev", f"must have one value per port, as tau_syn "
                             f"({len(p['tau_syn'])}), got {len(p['E_rev'])}")


def _per_neuron(value, n):
    """A parameter (a number or one value per neuron) as float64 (n,)."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, np.float64), n))


def _per_port(f, values, n, *others):
    """float64 (n, P): ``f(values[k], *others of neuron i)`` for each neuron i, port k."""
    return np.ascontiguousarray(np.column_stack(
        [np.broadcast_to(np.asarray(per_neuron(f, v, *others), np.float64), n)
         for v in values]))


def _refractory(p, dt, n):
    """Refractory steps of each of ``n`` neurons (int64)."""
    return np.broadcast_to(np.asarray(refractory_steps(p["t_ref"], dt), np.int64), n).copy()


class PortBlock(Block):
    """A block whose kernel reads the rank's port ring buffers (``ring_ports``, given by
    the simulation once it has them), after its state arrays."""

    ring_ports = np.zeros((0, 2, 1, 1), np.int64)

    @classmethod
    def recordables(cls, n_ports):
        """The recordables of a population with ``n_ports`` ports."""
        return cls.FIXED_RECORDABLES + tuple(f"{cls.PORT_RECORDABLE}_{k}"
                                             for k in range(1, n_ports + 1))

    def __init__(self, p, gids, col0, dt):
        super().__init__(gids, col0, p, dt)
        self.RECORDABLES = self.recordables(len(p["tau_syn"]))
        self.rec_v = self.samples = np.zeros((0, 0, len(self.RECORDABLES)))

    def kernel_args(self):
        state = tuple(getattr(self, name) for name in self.STATE)
        return (*state, self.ring_ports, self.col0, *self.args, self.rec_idx, self.rec_v)


class IafPscExpMultisynapseBlock(PortBlock):
    """``iaf_psc_exp_multisynapse``: V relative to E_L (mV), the port currents ``i_syn``
    (n × P, pA), the current input of the last step ``i_0`` (pA) and refractory steps left
    ``r``."""

    STATE = ("V", "i_syn", "i_0", "r")
    V_REL = "V"
    FIXED_RECORDABLES = ("V_m", "I_syn")
    PORT_RECORDABLE = "I_syn"
    KERNEL = "iaf_psc_exp_multisynapse"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(p, gids, col0, dt)
        n = len(gids)
        self.V = V_m - p["E_L"]
        self.i_syn = np.zeros((n, len(p["tau_syn"])))
        self.i_0 = np.zeros(n)
        self.r = np.zeros(n, np.int64)
        self.args = self.kernel_arguments()

    def arguments(self, p):
        """(P22, P20, P21, P11, I_e, theta, V_reset, refractory steps, E_L) per neuron,
        NEST's propagators (P21: ``IAFPropagatorExp``, as iaf_psc_exp's)."""
        dt, n = self.dt, len(self.gids)
        P22 = per_neuron(lambda tau: math.exp(-dt / tau), p["tau_m"])
        P20 = per_neuron(lambda tau, C: tau / C * (1.0 - math.exp(-dt / tau)), p["tau_m"], p["C_m"])
        P21 = _per_port(lambda ts, tau, C: iaf_propagator(ts, tau, C, dt)[1], p["tau_syn"], n,
                        p["tau_m"], p["C_m"])
        P11 = _per_port(lambda ts: math.exp(-dt / ts), p["tau_syn"], n)
        return (_per_neuron(P22, n), _per_neuron(P20, n), P21, P11, _per_neuron(p["I_e"], n),
                _per_neuron(np.subtract(p["V_th"], p["E_L"]), n),
                _per_neuron(np.subtract(p["V_reset"], p["E_L"]), n), _refractory(p, dt, n),
                _per_neuron(p["E_L"], n))


class AeifCondAlphaMultisynapseBlock(PortBlock):
    """``aeif_cond_alpha_multisynapse``: V (mV), w (pA), the port conductances g (n × P, nS)
    and their derivatives dg (nS/ms), the current input of the last step I_stim (pA) and
    refractory steps left r."""

    STATE = ("V", "w", "g", "dg", "I_stim", "r")
    V_ABS = "V"
    STATE_VARIABLES = {"w": "w"}
    FIXED_RECORDABLES = ("V_m", "w")
    PORT_RECORDABLE = "g"
    KERNEL = "aeif_cond_alpha_multisynapse"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(p, gids, col0, dt)
        n, P = len(gids), len(p["tau_syn"])
        self.V = np.array(V_m, np.float64)
        self.w = _per_neuron(p["w"], n).copy()
        self.g, self.dg = np.zeros((n, P)), np.zeros((n, P))
        self.I_stim, self.r = np.zeros(n), np.zeros(n, np.int64)
        self.args = self.kernel_arguments()

    def arguments(self, p):
        """The kernel's parameters (``kernels.multisynapse.AEIF_PARAMS`` per neuron, E_rev,
        the decay factors over h/2 and h, the jump per nS e/tau_syn, the refractory steps,
        the substeps and their length h) for ``p`` and ``dt``."""
        dt, n = self.dt, len(self.gids)
        n_sub = substeps(dt, H_MAX)
        h = dt / n_sub
        Delta_T = _per_neuron(p["Delta_T"], n)
        values = {**{k: _per_neuron(p[k], n) for k in ("E_L", "g_L", "C_m", "I_e", "V_reset",
                                                        "V_th", "a", "b", "tau_w")},
                  "V_clamp": _per_neuron(p["V_peak"], n), "Delta_T": Delta_T,
                  "V_spike": np.where(Delta_T > 0, _per_neuron(p["V_peak"], n),
                                      _per_neuron(p["V_th"], n))}
        tau = p["tau_syn"]
        return (tuple(values[k] for k in AEIF_PARAMS), _per_port(float, p["E_rev"], n),
                _per_port(lambda ts: math.exp(-0.5 * h / ts), tau, n),
                _per_port(lambda ts: math.exp(-h / ts), tau, n),
                _per_port(lambda ts: 1.0 * math.e / ts, tau, n), _refractory(p, dt, n), n_sub, h)


MODELS = {
    "iaf_psc_exp_multisynapse": IafPscExpMultisynapseModel("iaf_psc_exp_multisynapse", {
        **LIF_COMMON, "tau_syn": ((2.0,), "ms", None, "")}, IafPscExpMultisynapseBlock),
    "aeif_cond_alpha_multisynapse": AeifCondAlphaMultisynapseModel(
        "aeif_cond_alpha_multisynapse",
        {**{k: v for k, v in AEIF_COND.items()
            if k not in ("E_ex", "E_in", "tau_syn_ex", "tau_syn_in")},
         "tau_syn": ((2.0,), "ms", None, ""), "E_rev": ((0.0,), "mV", None, "")},
        AeifCondAlphaMultisynapseBlock),
}
