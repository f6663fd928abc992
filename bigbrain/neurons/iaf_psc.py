"""Current-based leaky integrate-and-fire neurons with NEST's exact integration (Rotter &
Diesmann 1999): ``iaf_psc_delta``, ``iaf_psc_exp`` and ``iaf_psc_alpha``. Kernels:
:mod:`bigbrain.kernels.lif`.

Membrane potentials are kept relative to E_L, as NEST does. Units: mV, ms, pF, pA.
"""
import math
import sys

import numpy as np

from .base import LIF_COMMON, Block, NeuronModel, any_value, positive, refractory_steps


class IafPscDeltaBlock(Block):
    """Local neurons of one ``iaf_psc_delta`` population: V relative to E_L (``y3``), the
    current input of the last step (``y0``, pA), refractory steps left (``r``) and the
    input held back during refractoriness (``refr_acc``, mV)."""

    STATE = ("y3", "y0", "r", "refr_acc")
    RECORDABLES = ("V_m",)
    KERNEL = "iaf_psc_delta"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0)
        n = len(gids)
        self.y3 = V_m - p["E_L"]
        self.y0, self.refr_acc = np.zeros(n), np.zeros(n)
        self.r = np.zeros(n, np.int64)
        P33 = math.exp(-dt / p["tau_m"])
        P30 = -p["tau_m"] / p["C_m"] * math.expm1(-dt / p["tau_m"])
        self.args = (*map(float, (P30, P33, p["I_e"], p["V_th"] - p["E_L"],
                                  p["V_reset"] - p["E_L"], p["V_min"] - p["E_L"])),
                     refractory_steps(p["t_ref"], dt), bool(p["refractory_input"]),
                     *map(float, (dt, p["tau_m"], p["E_L"])))


def iaf_propagator(tau_syn, tau_m, C_m, h):
    """NEST 3.x's ``IAFPropagatorAlpha(tau_syn, tau_m, C_m).evaluate(h)``, operation by
    operation: (P31, P32), the propagators (mV/(pA/ms) and mV/pA over one step of ``h``
    ms) from an alpha current's derivative and from a synaptic current to the membrane
    potential; the singular forms where tau_syn is (too) close to tau_m. P32 is also
    ``IAFPropagatorExp``'s."""
    diff = tau_m - tau_syn
    beta = tau_syn * tau_m / diff if diff != 0.0 else math.inf
    h_min_regular = 1e-7 * tau_m * tau_m / abs(diff) if diff != 0.0 else math.inf
    gamma, inv_c_m = beta / C_m, 1.0 / C_m
    exp_h_tau_syn = math.exp(-h * (1.0 / tau_syn))
    expm1_h_tau = math.expm1(h * (diff / (tau_syn * tau_m)))
    exp_h_tau = math.exp(-h * (1.0 / tau_m))
    P32 = gamma * exp_h_tau_syn * expm1_h_tau  # nan where beta is infinite
    if not (math.isfinite(P32) and P32 >= sys.float_info.min):  # not normal and positive
        P32 = h * inv_c_m * exp_h_tau
    if h > h_min_regular:
        return gamma * exp_h_tau_syn * (beta * expm1_h_tau - h), P32
    return 0.5 * h * h * inv_c_m * exp_h_tau, P32


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
    RECORDABLES = ("V_m", "I_syn_ex", "I_syn_in")
    KERNEL = "iaf_psc_exp"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0)
        n = len(gids)
        self.V = V_m - p["E_L"]
        self.i_ex, self.i_in, self.i_0 = np.zeros(n), np.zeros(n), np.zeros(n)
        self.r = np.zeros(n, np.int64)
        P22 = math.exp(-dt / p["tau_m"])
        self.args = (*map(float, (P22, propagator_32(p["tau_syn_ex"], p["tau_m"], p["C_m"], dt),
                                  propagator_32(p["tau_syn_in"], p["tau_m"], p["C_m"], dt),
                                  p["tau_m"] / p["C_m"] * (1.0 - P22),
                                  math.exp(-dt / p["tau_syn_ex"]), math.exp(-dt / p["tau_syn_in"]),
                                  p["I_e"], p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"])),
                     refractory_steps(p["t_ref"], dt), float(p["E_L"]))


class IafPscAlphaBlock(Block):
    """Local neurons of one ``iaf_psc_alpha`` population: V relative to E_L (``y3``), the
    alpha currents ``I_ex``, ``I_in`` (pA) and their derivatives ``dI_ex``, ``dI_in``
    (pA/ms), the current input of the last step (``y0``, pA) and refractory steps left
    (``r``)."""

    STATE = ("y3", "dI_ex", "I_ex", "dI_in", "I_in", "y0", "r")
    RECORDABLES = ("V_m", "I_syn_ex", "I_syn_in")
    KERNEL = "iaf_psc_alpha"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0)
        n = len(gids)
        self.y3 = V_m - p["E_L"]
        self.dI_ex, self.I_ex, self.dI_in, self.I_in, self.y0 = (np.zeros(n) for _ in range(5))
        self.r = np.zeros(n, np.int64)
        self.args = (*map(float, (-p["tau_m"] / p["C_m"] * math.expm1(-dt / p["tau_m"]),
                                  math.expm1(-dt / p["tau_m"]),
                                  *self._synapse(p["tau_syn_ex"], p, dt),
                                  *self._synapse(p["tau_syn_in"], p, dt),
                                  p["I_e"], p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"],
                                  p["V_min"] - p["E_L"])),
                     refractory_steps(p["t_ref"], dt), float(p["E_L"]))

    @staticmethod
    def _synapse(tau_syn, p, dt):
        """Propagators of one alpha current, in NEST's names: P11 (= P22), P21, P31, P32, and
        the jump of dI per pA of weight (e / tau_syn, 1/ms) that gives a peak of 1 pA."""
        P11 = math.exp(-dt / tau_syn)
        return (P11, dt * P11, *iaf_propagator(tau_syn, p["tau_m"], p["C_m"], dt),
                1.0 * math.e / tau_syn)


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
