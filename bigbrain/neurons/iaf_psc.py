"""Current-based leaky integrate-and-fire neurons with NEST's exact integration (Rotter &
Diesmann 1999): ``iaf_psc_delta`` and ``iaf_psc_exp``. Kernels: :mod:`bigbrain.kernels.lif`.

Membrane potentials are kept relative to E_L, as NEST does. Units: mV, ms, pF, pA. Every
parameter may differ between neurons: a block's ``p`` holds a number or one value per local
neuron, and the propagators follow per neuron (:func:`~.base.per_neuron`).
"""
import math

import numpy as np

from .base import (LIF_COMMON, Block, NeuronModel, any_value, per_neuron, positive,
                   refractory_steps)


class IafPscDeltaBlock(Block):
    """Local neurons of one ``iaf_psc_delta`` population: V relative to E_L (``y3``), the
    current input of the last step (``y0``, pA), refractory steps left (``r``) and the
    input held back during refractoriness (``refr_acc``, mV)."""

    STATE = ("y3", "y0", "r", "refr_acc")
    V_REL = "y3"
    RECORDABLES = ("V_m",)
    KERNEL = "iaf_psc_delta"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        n = len(gids)
        self.y3 = V_m - p["E_L"]
        self.y0, self.refr_acc = np.zeros(n), np.zeros(n)
        self.r = np.zeros(n, np.int64)
        self.args = self.arguments()

    def arguments(self):
        p, dt = self.p, self.dt
        P33 = per_neuron(lambda tau: math.exp(-dt / tau), p["tau_m"])
        P30 = per_neuron(lambda tau, C: -tau / C * math.expm1(-dt / tau), p["tau_m"], p["C_m"])
        return (P30, P33, p["I_e"], p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"],
                p["V_min"] - p["E_L"], refractory_steps(p["t_ref"], dt),
                bool(p["refractory_input"]), float(dt), p["tau_m"], p["E_L"])


def propagator_32(tau_syn, tau, C, h):
    """NEST's propagator from synaptic current to membrane potential, stable near tau_syn = tau."""
    P32_linear = 1.0 / (2.0 * C * tau * tau) * h * h * (tau_syn - tau) * math.exp(-h / tau)
    P32_singular = h / C * math.exp(-h / tau)
    P32 = (-tau / (C * (1.0 - tau / tau_syn)) * math.exp(-h / tau_syn)
           * math.expm1(h * (1.0 / tau_syn - 1.0 / tau))) if tau != tau_syn else P32_singular
    dev_P32 = abs(P32 - P32_singular)
    if tau == tau_syn or (abs(tau - tau_syn) < 0.1 and dev_P32 > 2.0 * abs(P32_linear)):
        return P32_singular
    return P32


class IafPscExpBlock(Block):
    """Local neurons of one ``iaf_psc_exp`` population: V relative to E_L, the synaptic
    currents ``i_ex``, ``i_in`` (pA), the current input of the last step (``i_0``, pA) and
    refractory steps left (``r``)."""

    STATE = ("V", "i_ex", "i_in", "i_0", "r")
    V_REL = "V"
    RECORDABLES = ("V_m", "I_syn_ex", "I_syn_in")
    KERNEL = "iaf_psc_exp"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        n = len(gids)
        self.V = V_m - p["E_L"]
        self.i_ex, self.i_in, self.i_0 = np.zeros(n), np.zeros(n), np.zeros(n)
        self.r = np.zeros(n, np.int64)
        self.args = self.arguments()

    def arguments(self):
        p, dt = self.p, self.dt
        P22 = per_neuron(lambda tau: math.exp(-dt / tau), p["tau_m"])
        P21ex, P21in = (per_neuron(lambda tau_syn, tau, C: propagator_32(tau_syn, tau, C, dt),
                                   p[tau_syn], p["tau_m"], p["C_m"])
                        for tau_syn in ("tau_syn_ex", "tau_syn_in"))
        P20 = per_neuron(lambda tau, C: tau / C * (1.0 - math.exp(-dt / tau)), p["tau_m"], p["C_m"])
        P11ex, P11in = (per_neuron(lambda tau: math.exp(-dt / tau), p[tau_syn])
                        for tau_syn in ("tau_syn_ex", "tau_syn_in"))
        return (P22, P21ex, P21in, P20, P11ex, P11in, p["I_e"], p["V_th"] - p["E_L"],
                p["V_reset"] - p["E_L"], refractory_steps(p["t_ref"], dt), p["E_L"])


MODELS = {
    "iaf_psc_delta": NeuronModel("iaf_psc_delta", {
        **LIF_COMMON,
        "V_min": (-math.inf, "mV", any_value, ""),
        "refractory_input": (False, "", any_value, ""),
    }, IafPscDeltaBlock),
    "iaf_psc_exp": NeuronModel("iaf_psc_exp", {
        **LIF_COMMON,
        "tau_syn_ex": (2.0, "ms", positive, "> 0"),
        "tau_syn_in": (2.0, "ms", positive, "> 0"),
    }, IafPscExpBlock),
}
