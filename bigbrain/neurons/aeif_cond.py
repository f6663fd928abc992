"""The adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005) with
exponential or alpha-shaped conductances, NEST's ``aeif_cond_exp`` and ``aeif_cond_alpha``,
with NEST's names, units, defaults and checks. Kernel: :mod:`bigbrain.kernels.cond` (with
:mod:`.iaf_cond`'s blocks); the two differ only in the conductances, as ``iaf_cond_exp``
and ``iaf_cond_alpha`` do.

    C_m dV/dt = −g_L (V − E_L) + g_L Δ_T exp((V − V_th)/Δ_T) − g_ex (V − E_ex)
                − g_in (V − E_in) − w + I_e + I_stim
    tau_w dw/dt = a (V − E_L) − w

As in NEST: V is bounded by V_peak inside the right-hand side; a spike is detected when V
reaches V_peak (V_th when Delta_T = 0, where the exponential term vanishes), after each
substep (NEST: after each GSL step); then V = V_reset, w += b, and V is held at V_reset
for t_ref (w keeps evolving; with t_ref = 0, NEST's default, V evolves from V_reset in the
same step). Substeps of at most :data:`H_MAX` ms, each taken as 2^k shorter RK4 steps where
the conductances make it stiff (``kernels.stiff.STIFF``); the reset falls at the estimated
crossing time within its substep (:mod:`bigbrain.kernels.cond`). Recordables: V_m (mV),
g_ex, g_in (nS), w (pA); ``aeif_cond_alpha`` also integrates dg_ex, dg_in (nS/ms).
"""
import math

import numpy as np

from ..distributions import Distribution
from ..errors import ModelError
from .base import NeuronModel, shown
from .iaf_cond import ALPHA_STATE, FINITE, NON_NEGATIVE, POSITIVE, CondBlock, number, table

#: The longest substep (ms): NEST starts the aeif models' integration at 0.01 ms.
H_MAX = 0.01
#: NEST's bound on (V_peak − V_th) / Delta_T: exp() of it must leave a margin of 1e20.
MAX_EXP_ARG = math.log(np.finfo(np.float64).max / 1e20)


class AeifCondExpBlock(CondBlock):
    """``aeif_cond_exp``: V (mV), g_ex, g_in (nS), w (pA), I_stim (pA), refractory steps
    left r."""

    STATE = ("V", "g_ex", "g_in", "w", "I_stim", "r")
    RECORDABLES = ("V_m", "g_ex", "g_in", "w")
    KERNEL = "aeif_cond_exp"
    H_MAX = H_MAX
    DETECT_EACH = True

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(p, gids, col0, dt, V_m)
        self.w[:] = p["w"]

    def adaptation(self, p, dt):
        Delta_T = number(p["Delta_T"])
        return {**super().adaptation(p, dt), "V_clamp": p["V_peak"],
                "V_spike": np.where(Delta_T > 0, p["V_peak"], p["V_th"]), "Delta_T": Delta_T,
                "a": p["a"], "b": p["b"], "tau_w": p["tau_w"]}


class AeifCondAlphaBlock(AeifCondExpBlock):
    """``aeif_cond_alpha``: as ``aeif_cond_exp`` with dg_ex, dg_in (nS/ms); a spike of
    weight w raises dg by w·e/tau_syn, so that g peaks at w nS tau_syn after it."""

    STATE = ALPHA_STATE + ("w",)
    KERNEL = "aeif_cond_alpha"
    SYNAPSE = "alpha"


class AeifModel(NeuronModel):
    """NEST's checks between aeif parameters (V_reset may lie above V_th)."""

    def check_relations(self, where, p):
        """NEST's checks between parameters, for every neuron (a distribution by its range)."""
        lo, hi = {k: low(p[k]) for k in p}, {k: high(p[k]) for k in p}
        if not lo["V_peak"] >= hi["V_th"]:
            raise ModelError(f"{where}.V_peak", f"must be >= V_th ({shown(p['V_th'])} mV), "
                             f"got {shown(p['V_peak'])} mV")
        Delta_T = np.asarray(lo["Delta_T"] if np.ndim(p["Delta_T"]) == 0 else p["Delta_T"])
        spread = np.asarray(hi["V_peak"] - lo["V_th"] if np.ndim(p["Delta_T"]) == 0
                            else np.asarray(p["V_peak"]) - np.asarray(p["V_th"]))
        with np.errstate(divide="ignore", invalid="ignore"):
            overflow = (Delta_T > 0) & (spread / np.where(Delta_T > 0, Delta_T, 1.0) >= MAX_EXP_ARG)
        if np.any(overflow):
            raise ModelError(f"{where}.V_peak", f"(V_peak - V_th) / Delta_T must be below "
                             f"{MAX_EXP_ARG:.1f} (exp overflows at the spike); raise Delta_T "
                             "or lower V_peak")
        if not hi["V_reset"] < lo["V_peak"]:
            raise ModelError(f"{where}.V_reset", f"must be below V_peak ({shown(p['V_peak'])} mV), "
                             f"got {shown(p['V_reset'])} mV")


def low(value):
    """The lowest value a parameter takes (a number, per-neuron values or a distribution)."""
    if isinstance(value, Distribution):
        return value.bounds()[0]
    return np.min(value) if np.ndim(value) else value


def high(value):
    """The highest value a parameter takes."""
    if isinstance(value, Distribution):
        return value.bounds()[1]
    return np.max(value) if np.ndim(value) else value


#: NEST's aeif_cond_exp / aeif_cond_alpha parameters (defaults of NEST 3.10).
AEIF_COND = table({
    "V_m": (-70.6, "mV", FINITE),
    "E_L": (-70.6, "mV", FINITE),
    "C_m": (281.0, "pF", POSITIVE),
    "t_ref": (0.0, "ms", NON_NEGATIVE),
    "V_th": (-50.4, "mV", FINITE),
    "V_reset": (-60.0, "mV", FINITE),
    "V_peak": (0.0, "mV", FINITE),
    "E_ex": (0.0, "mV", FINITE),
    "E_in": (-85.0, "mV", FINITE),
    "g_L": (30.0, "nS", POSITIVE),
    "tau_syn_ex": (0.2, "ms", POSITIVE),
    "tau_syn_in": (2.0, "ms", POSITIVE),
    "a": (4.0, "nS", FINITE),
    "b": (80.5, "pA", FINITE),
    "Delta_T": (2.0, "mV", NON_NEGATIVE),
    "tau_w": (144.0, "ms", POSITIVE),
    "w": (0.0, "pA", FINITE),
    "I_e": (0.0, "pA", FINITE),
    "tau_minus": (20.0, "ms", POSITIVE),
})

MODELS = {
    "aeif_cond_exp": AeifModel("aeif_cond_exp", AEIF_COND, AeifCondExpBlock),
    "aeif_cond_alpha": AeifModel("aeif_cond_alpha", AEIF_COND, AeifCondAlphaBlock),
}
