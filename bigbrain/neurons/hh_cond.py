"""NEST's Hodgkin–Huxley neuron ``hh_cond_exp_traub`` (Traub & Miles 1991, as in the
Brette et al. 2007 review) with NEST's names, units, defaults and checks. Kernel and
equations: :mod:`bigbrain.kernels.hh`.

Spikes are local maxima of V above V_T + 30 mV, detected at the end of each step; V is not
reset, and for t_ref (default 2 ms) after a spike no other is detected (NEST: choose t_ref
long enough that the falling flank of one spike is not taken for another). Substeps of at
most :data:`H_MAX` ms, each taken as 2^k shorter RK4 steps where the conductances make it
stiff (``kernels.stiff.STIFF``, λ = (g_Na m³h + g_K n⁴ + g_L + g_ex + g_in)/C_m: a spike's
peak, large synaptic conductances), so that V stays between the reversal potentials instead
of oscillating (:mod:`bigbrain.kernels.hh`). Weights are peak conductances in nS (negative
ones to g_in as −w). Recordables: V_m (mV), g_ex, g_in (nS), Act_m, Inact_h, Act_n. The
gating variables are state variables as V_m is (NEST's convention): their parameters give
the initial values, by default NEST's, the steady state at V = −60 mV of NEST's
expressions evaluated at V itself; ``net.get`` / ``net.set`` read and change them. Checks:
NEST's (C_m > 0, t_ref ≥ 0, tau_syn > 0), and, stricter than NEST 3.10, which takes any
conductance, g_L > 0 and g_Na, g_K ≥ 0.
"""
import numpy as np

from ..kernels.hh import rates
from .base import Block, NeuronModel, refractory_steps
from .iaf_cond import FINITE, NON_NEGATIVE, POSITIVE, number, substeps, table

#: The longest substep (ms): the sodium current's time constant near a spike peak,
#: C_m / (g_Na m³h), some 0.02 ms at NEST's defaults, limits it (RK4 is stable for
#: h/τ < 2.8; above h/τ = STIFF, 0.5, a spike's peak takes a few substeps of h/2). V_m
#: stays within 0.03 mV of a run with 0.001 ms substeps, closer than NEST's (README).
H_MAX = 0.01


def steady_state(V):
    """(m, h, n) at rest at ``V`` mV as NEST initialises them (rates taken at V itself,
    not V − V_T)."""
    a_m, b_m, a_h, b_h, a_n, b_n = rates(V)
    return a_m / (a_m + b_m), a_h / (a_h + b_h), a_n / (a_n + b_n)


_M0, _H0, _N0 = steady_state(-60.0)

#: NEST's hh_cond_exp_traub parameters and initial gating variables (defaults of NEST 3.10).
HH_COND_EXP_TRAUB = table({
    "V_m": (-60.0, "mV", FINITE),
    "V_T": (-63.0, "mV", FINITE),
    "E_L": (-60.0, "mV", FINITE),
    "C_m": (200.0, "pF", POSITIVE),
    "g_L": (10.0, "nS", POSITIVE),
    "g_Na": (20000.0, "nS", NON_NEGATIVE),
    "g_K": (6000.0, "nS", NON_NEGATIVE),
    "E_Na": (50.0, "mV", FINITE),
    "E_K": (-90.0, "mV", FINITE),
    "E_ex": (0.0, "mV", FINITE),
    "E_in": (-80.0, "mV", FINITE),
    "tau_syn_ex": (5.0, "ms", POSITIVE),
    "tau_syn_in": (10.0, "ms", POSITIVE),
    "t_ref": (2.0, "ms", NON_NEGATIVE),
    "I_e": (0.0, "pA", FINITE),
    "Act_m": (_M0, "", FINITE),
    "Inact_h": (_H0, "", FINITE),
    "Act_n": (_N0, "", FINITE),
    "tau_minus": (20.0, "ms", POSITIVE),
    "tau_minus_triplet": (110.0, "ms", POSITIVE),
})


class HhCondExpTraubBlock(Block):
    """``hh_cond_exp_traub``: V (mV), Act_m, Inact_h, Act_n, g_ex, g_in (nS), I_stim (pA),
    refractory steps left r (:func:`bigbrain.kernels.hh.hh_cond_exp_traub`)."""

    STATE = ("V", "Act_m", "Inact_h", "Act_n", "g_ex", "g_in", "I_stim", "r")
    RECORDABLES = ("V_m", "g_ex", "g_in", "Act_m", "Inact_h", "Act_n")
    STATE_VARIABLES = {"Act_m": "Act_m", "Inact_h": "Inact_h", "Act_n": "Act_n"}
    KERNEL = "hh_cond_exp_traub"
    V_ABS = "V"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        for name in self.STATE:
            setattr(self, name, np.zeros(len(gids), np.int64 if name == "r" else np.float64))
        self.V[:] = V_m
        for name in self.STATE_VARIABLES:
            getattr(self, name)[:] = p[name]
        self.args = self.kernel_arguments()

    def arguments(self, p):
        """The kernel's parameter tuple (``kernels.hh.PARAMS``) for ``p`` and ``dt``."""
        dt = self.dt
        n_sub = substeps(dt, H_MAX)
        h = dt / n_sub
        decay = [number(np.exp(-x * h / number(p[k]))) for k in ("tau_syn_ex", "tau_syn_in")
                 for x in (0.5, 1.0)]
        return ((*map(number, (p["g_Na"], p["g_K"], p["g_L"], p["C_m"], p["E_Na"], p["E_K"],
                               p["E_L"], p["V_T"], p["E_ex"], p["E_in"], p["I_e"])),
                 *decay, refractory_steps(p["t_ref"], dt), n_sub, h),)


MODELS = {"hh_cond_exp_traub": NeuronModel("hh_cond_exp_traub", HH_COND_EXP_TRAUB,
                                           HhCondExpTraubBlock)}
