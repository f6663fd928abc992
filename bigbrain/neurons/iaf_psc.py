"""Current-based leaky integrate-and-fire neurons with NEST's exact integration (Rotter &
Diesmann 1999): ``iaf_psc_delta``, ``iaf_psc_exp`` and ``iaf_psc_alpha``. Kernels:
:mod:`bigbrain.kernels.lif`.

Membrane potentials are kept relative to E_L, as NEST does. Units: mV, ms, pF, pA. Every
parameter may differ between neurons: a block's ``p`` holds a number or one value per local
neuron, and the propagators follow per neuron (:func:`~.base.per_neuron`).
"""
import math
import sys

import numpy as np

from .base import (LIF_COMMON, Block, NeuronModel, any_value, per_neuron, positive,
                   refractory_steps)


def nest_expm1(x):
    """exp(x) − 1 as NEST's ``numerics::expm1`` computes it where NEST is built without
    ``HAVE_EXPM1`` (as the NEST 3.10 wheels are): exp(x) − 1 beyond |x| > ln 2, else the
    Taylor series summed until a term falls below the sum's last bit. It differs from
    libm's expm1 by a few ulps, which P31 amplifies (cancellation) to ~1e-14 relative."""
    if x == 0.0:
        return 0.0
    if abs(x) > math.log(2.0):
        return math.exp(x) - 1.0
    total, term, n = x, x * x / 2.0, 2
    while abs(term) > abs(total) * sys.float_info.epsilon:
        total += term
        n += 1
        term *= x / n
    return total


def iaf_propagator(tau_syn, tau_m, C_m, h):
    """NEST 3.x's ``IAFPropagatorAlpha(tau_syn, tau_m, C_m).evaluate(h)``, operation by
    operation: (P31, P32), the propagators (mV/(pA/ms) and mV/pA over one step of ``h``
    ms) from an alpha current's derivative and from a synaptic current to the membrane
    potential; the singular forms where tau_syn is (too) close to tau_m. P32 is also
    ``IAFPropagatorExp.evaluate(h)``, iaf_psc_exp's P21."""
    diff = tau_m - tau_syn
    beta = tau_syn * tau_m / diff if diff != 0.0 else math.inf
    h_min_regular = 1e-7 * tau_m * tau_m / abs(diff) if diff != 0.0 else math.inf
    gamma, inv_c_m = beta / C_m, 1.0 / C_m
    exp_h_tau_syn = math.exp(-h * (1.0 / tau_syn))
    expm1_h_tau = nest_expm1(h * (diff / (tau_syn * tau_m)))
    exp_h_tau = math.exp(-h * (1.0 / tau_m))
    P32 = gamma * exp_h_tau_syn * expm1_h_tau  # nan where beta is infinite
    if not (math.isfinite(P32) and P32 >= sys.float_info.min):  # not normal and positive
        P32 = h * inv_c_m * exp_h_tau
    if h > h_min_regular:
        return gamma * exp_h_tau_syn * (beta * expm1_h_tau - h), P32
    return 0.5 * h * h * inv_c_m * exp_h_tau, P32


class IafPscDeltaBlock(Block):
    """Local neurons of one ``iaf_psc_delta`` population: V relative to E_L (``y3``), the
    current input of the last step (``y0``, pA), refractory steps left (``r``) and the
    input held back during refractoriness (``refr_acc``, mV)."""

    STATE = ("y3", "y0", "r", "refr_acc")
    V_REL = "y3"
    RECORDABLES = ("V_m",)
    KERNEL = "iaf_psc_delta"
    ALL_ARRAYS = True

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        n = len(gids)
        self.y3 = V_m - p["E_L"]
        self.y0, self.refr_acc = np.zeros(n), np.zeros(n)
        self.r = np.zeros(n, np.int64)
        self.args = self.kernel_arguments()

    def arguments(self, p):
        dt = self.dt
        P33 = per_neuron(lambda tau: math.exp(-dt / tau), p["tau_m"])
        P30 = per_neuron(lambda tau, C: -tau / C * nest_expm1(-dt / tau), p["tau_m"], p["C_m"])
        return (P30, P33, p["I_e"], p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"],
                p["V_min"] - p["E_L"], refractory_steps(p["t_ref"], dt),
                bool(p["refractory_input"]), float(dt), p["tau_m"], p["E_L"])


class IafPscExpBlock(Block):
    """Local neurons of one ``iaf_psc_exp`` population: V relative to E_L, the synaptic
    currents ``i_ex``, ``i_in`` (pA), the current input of the last step (``i_0``, pA) and
    refractory steps left (``r``)."""

    STATE = ("V", "i_ex", "i_in", "i_0", "r")
    V_REL = "V"
    RECORDABLES = ("V_m", "I_syn_ex", "I_syn_in")
    KERNEL = "iaf_psc_exp"
    ALL_ARRAYS = True

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        n = len(gids)
        self.V = V_m - p["E_L"]
        self.i_ex, self.i_in, self.i_0 = np.zeros(n), np.zeros(n), np.zeros(n)
        self.r = np.zeros(n, np.int64)
        self.args = self.kernel_arguments()

    def arguments(self, p):
        dt = self.dt
        P22 = per_neuron(lambda tau: math.exp(-dt / tau), p["tau_m"])
        P21ex, P21in = (per_neuron(lambda tau_syn, tau, C: iaf_propagator(tau_syn, tau, C, dt)[1],
                                   p[tau_syn], p["tau_m"], p["C_m"])
                        for tau_syn in ("tau_syn_ex", "tau_syn_in"))
        P20 = per_neuron(lambda tau, C: tau / C * (1.0 - math.exp(-dt / tau)), p["tau_m"], p["C_m"])
        P11ex, P11in = (per_neuron(lambda tau: math.exp(-dt / tau), p[tau_syn])
                        for tau_syn in ("tau_syn_ex", "tau_syn_in"))
        return (P22, P21ex, P21in, P20, P11ex, P11in, p["I_e"], p["V_th"] - p["E_L"],
                p["V_reset"] - p["E_L"], refractory_steps(p["t_ref"], dt), p["E_L"])


class IafPscAlphaBlock(Block):
    """Local neurons of one ``iaf_psc_alpha`` population: V relative to E_L (``y3``), the
    alpha currents ``I_ex``, ``I_in`` (pA) and their derivatives ``dI_ex``, ``dI_in``
    (pA/ms), the current input of the last step (``y0``, pA) and refractory steps left
    (``r``)."""

    STATE = ("y3", "dI_ex", "I_ex", "dI_in", "I_in", "y0", "r")
    V_REL = "y3"
    RECORDABLES = ("V_m", "I_syn_ex", "I_syn_in")
    KERNEL = "iaf_psc_alpha"
    ALL_ARRAYS = True

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        n = len(gids)
        self.y3 = V_m - p["E_L"]
        self.dI_ex, self.I_ex, self.dI_in, self.I_in, self.y0 = (np.zeros(n) for _ in range(5))
        self.r = np.zeros(n, np.int64)
        self.args = self.kernel_arguments()

    def arguments(self, p):
        dt = self.dt
        P30 = per_neuron(lambda tau, C: -tau / C * nest_expm1(-dt / tau), p["tau_m"], p["C_m"])
        P33 = per_neuron(lambda tau: nest_expm1(-dt / tau), p["tau_m"])
        return (P30, P33, *self._synapse(p, p["tau_syn_ex"]), *self._synapse(p, p["tau_syn_in"]),
                p["I_e"], p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"], p["V_min"] - p["E_L"],
                refractory_steps(p["t_ref"], dt), p["E_L"])

    def _synapse(self, p, tau_syn):
        """Propagators of one alpha current, in NEST's names: P11 (= P22), P21, P31, P32, and
        the jump of dI per pA of weight (e / tau_syn, 1/ms) that gives a peak of 1 pA."""
        dt = self.dt
        P11 = per_neuron(lambda tau_s: math.exp(-dt / tau_s), tau_syn)
        P31, P32 = (per_neuron(lambda tau_s, tau, C: iaf_propagator(tau_s, tau, C, dt)[k],
                               tau_syn, p["tau_m"], p["C_m"]) for k in (0, 1))
        return P11, dt * P11, P31, P32, per_neuron(lambda tau_s: 1.0 * math.e / tau_s, tau_syn)


#: The time constants of the excitatory and inhibitory synaptic currents.
TAU_SYN = {
    "tau_syn_ex": (2.0, "ms", positive, "> 0"),
    "tau_syn_in": (2.0, "ms", positive, "> 0"),
}
#: NEST's lower bound of the membrane potential.
V_MIN = {"V_min": (-math.inf, "mV", any_value, "")}

MODELS = {
    "iaf_psc_delta": NeuronModel("iaf_psc_delta", {
        **LIF_COMMON,
        **V_MIN,
        "refractory_input": (False, "", any_value, ""),
    }, IafPscDeltaBlock),
    "iaf_psc_exp": NeuronModel("iaf_psc_exp", {**LIF_COMMON, **TAU_SYN}, IafPscExpBlock),
    "iaf_psc_alpha": NeuronModel("iaf_psc_alpha", {**LIF_COMMON, **TAU_SYN, **V_MIN},
                                 IafPscAlphaBlock),
}
