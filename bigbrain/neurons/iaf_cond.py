"""Conductance-based leaky integrate-and-fire neurons with NEST's names, units and
defaults: ``iaf_cond_exp`` and ``iaf_cond_alpha`` (exponential and alpha-shaped
conductances), and ``iaf_cond_exp_adaptive``, ``iaf_cond_exp`` with the adaptive threshold
of Diehl & Cook (2015). Kernel: :mod:`bigbrain.kernels.cond` (integration and its tolerance
against NEST in its docstring and the README).

Integration: each step of dt is split into substeps of at most ``h_max`` ms (not a NEST
parameter; default 0.05 ms, the step at which the README's agreement with NEST is
measured). A model whose fastest time constant is well above 0.05 ms may take longer
substeps: the cost is proportional to their number (the Diehl & Cook network takes 0.25 ms,
:mod:`bigbrain.models.diehl_cook`). A neuron whose conductances make a substep stiff (h·λ
above ``kernels.stiff.STIFF``, λ = (g_L + g_ex + g_in)/C_m: e.g. many synchronous inhibitory
spikes) takes that substep as 2^k shorter RK4 steps, so that V stays between the reversal
potentials instead of oscillating.

Weights are peak conductances in nS: positive weights to the excitatory conductance,
negative ones (as −w) to the inhibitory one, as NEST does. Recordables: V_m (mV), g_ex,
g_in (nS); ``iaf_cond_exp_adaptive`` also theta (mV).

``iaf_cond_exp_adaptive``: the threshold is V_th + theta; at each spike theta rises by
``theta_plus`` (mV) and between spikes decays to 0 with ``tau_theta`` (ms), exactly
(θ ← θ·e^(−dt/τ_θ) at the start of each step). Diehl & Cook's neurons use θ+ = 0.05 mV and
τ_θ = 10⁷ ms, the defaults here; with theta_plus = 0 the model is ``iaf_cond_exp``. The
right-hand side bounds V at the threshold V_th + theta (``iaf_cond_exp``'s, NEST's, at V_th).
``theta`` is a state variable as V_m is (NEST's convention): the parameter gives its initial
value, and ``net.get`` / ``net.set`` read and change the threshold increase now.

Threshold lockout, Diehl & Cook's ``timer`` (``t_lockout``, ms, default 0: none): after a
spike the threshold is not checked for round(t_lockout / dt) steps, counted as the
refractory steps round(t_ref / dt) are (NEST's count): a spike emitted in step n locks steps
n+1 … n+round(t_lockout / dt), and step n+round(t_lockout / dt)+1 is the first that may
spike again. V is held at V_reset in the refractory steps and integrates freely in the rest
of the lockout: the right-hand side does not bound it (as Diehl & Cook's Brian code), and V
rises above V_th + theta at its own leak and driving forces. A t_lockout up to t_ref changes
nothing. The lockout steps left are the state ``lock``
(checkpointed with the others).
"""
import math

import numpy as np

from .base import Block, NeuronModel, refractory_steps


def finite(v):
    return np.isfinite(v)


def finite_positive(v):
    return np.isfinite(v) & (v > 0)


def finite_non_negative(v):
    return np.isfinite(v) & (v >= 0)


FINITE, POSITIVE, NON_NEGATIVE = ((finite, "a finite number of"),
                                  (finite_positive, "finite and > 0,"),
                                  (finite_non_negative, "finite and >= 0,"))


def table(spec):
    """name -> (default, unit, check, rule) of ``spec``: name -> (default, unit, kind)."""
    return {name: (default, unit, *kind) for name, (default, unit, kind) in spec.items()}


#: NEST's iaf_cond_exp / iaf_cond_alpha parameters (defaults of NEST 3.10).
IAF_COND = table({
    "V_m": (-70.0, "mV", FINITE),
    "E_L": (-70.0, "mV", FINITE),
    "C_m": (250.0, "pF", POSITIVE),
    "t_ref": (2.0, "ms", NON_NEGATIVE),
    "V_th": (-55.0, "mV", FINITE),
    "V_reset": (-60.0, "mV", FINITE),
    "E_ex": (0.0, "mV", FINITE),
    "E_in": (-85.0, "mV", FINITE),
    "g_L": (16.6667, "nS", POSITIVE),
    "tau_syn_ex": (0.2, "ms", POSITIVE),
    "tau_syn_in": (2.0, "ms", POSITIVE),
    "I_e": (0.0, "pA", FINITE),
    "tau_minus": (20.0, "ms", POSITIVE),
    "tau_minus_triplet": (110.0, "ms", POSITIVE),
    "h_max": (0.05, "ms", POSITIVE),
})


def number(x):
    """A parameter as the kernel reads it: a float, or a float64 array (one per neuron)."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, np.float64)


def substeps(dt, h_max):
    """Substeps per step of ``dt`` ms so that each is at most ``h_max`` ms long."""
    return max(1, math.ceil(dt / h_max - 1e-9))


class CondBlock(Block):
    """Local neurons of one conductance-based population (:func:`bigbrain.kernels.cond.cond`):
    the state arrays of :data:`LAYOUT` that the model has (``STATE``), the others None.
    ``SYNAPSE``: "exp" or "alpha"; ``H_MAX``: the longest substep (ms) where the model has
    no parameter ``h_max`` (else the smallest of its values); ``DETECT_EACH``:
    spikes detected after every substep (aeif) rather than at the end of the step."""

    LAYOUT = ("V", "g_ex", "dg_ex", "g_in", "dg_in", "w", "theta", "I_stim", "r", "lock")
    STATE = ("V", "g_ex", "g_in", "I_stim", "r")
    RECORDABLES = ("V_m", "g_ex", "g_in")
    SYNAPSE = "exp"
    H_MAX = 0.05
    DETECT_EACH = False

    V_ABS = "V"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(gids, col0, p, dt)
        for name in self.STATE:
            setattr(self, name, np.zeros(len(gids), np.int64 if name in COUNTERS else np.float64))
        self.V[:] = V_m
        self.args = self.kernel_arguments()

    def arguments(self, p):
        """The kernel's parameter tuple (``kernels.cond.PARAMS``) for ``p`` and ``dt``."""
        return self.kernel_params(p, self.dt)

    def kernel_params(self, p, dt):
        """The parameter tuple of the kernel (``kernels.cond.PARAMS``) for parameters ``p``."""
        n_sub = substeps(dt, float(np.min(p.get("h_max", self.H_MAX))))
        h = dt / n_sub
        decay = {k: (np.exp(-0.5 * h / number(p[k])), np.exp(-h / number(p[k])))
                 for k in ("tau_syn_ex", "tau_syn_in")}
        scale = {k: math.e / number(p[k]) if self.SYNAPSE == "alpha" else 1.0
                 for k in ("tau_syn_ex", "tau_syn_in")}
        a = self.adaptation(p, dt)
        return (*map(number, (p["E_L"], p["g_L"], p["C_m"], p["E_ex"], p["E_in"], p["I_e"],
                              p["V_reset"], p["V_th"], a["V_clamp"], a["V_spike"],
                              a["Delta_T"], a["a"], a["b"], a["tau_w"], a["theta_plus"],
                              a["P_theta"], *decay["tau_syn_ex"], *decay["tau_syn_in"],
                              scale["tau_syn_ex"], scale["tau_syn_in"])),
                refractory_steps(p["t_ref"], dt), refractory_steps(p.get("t_lockout", 0.0), dt),
                n_sub, h, self.DETECT_EACH)

    def adaptation(self, p, dt):
        """What the model adds to a leaky membrane: V bound in the right-hand side
        (V_clamp), spike detection level (V_spike), exponential term (Delta_T), adaptation
        current (a, b, tau_w), threshold adaptation (theta_plus, P_theta). Here none."""
        return dict(V_clamp=p["V_th"], V_spike=p["V_th"], Delta_T=0.0, a=0.0, b=0.0, tau_w=1.0,
                    theta_plus=0.0, P_theta=1.0)

    def kernel_args(self):
        return (*(getattr(self, name, None) for name in self.LAYOUT), self.col0, self.args,
                self.rec_idx, self.rec_v)


#: The integer state: refractory and lockout steps left.
COUNTERS = ("r", "lock")

#: The state of a model with alpha-shaped conductances (their derivatives dg_ex, dg_in).
ALPHA_STATE = ("V", "g_ex", "dg_ex", "g_in", "dg_in", "I_stim", "r")


class IafCondExpBlock(CondBlock):
    """``iaf_cond_exp``: V (mV), g_ex, g_in (nS), I_stim (pA), refractory steps left r."""

    KERNEL = "iaf_cond_exp"


class IafCondAlphaBlock(CondBlock):
    """``iaf_cond_alpha``: as ``iaf_cond_exp`` with dg_ex, dg_in (nS/ms); a spike of weight
    w raises dg by w·e/tau_syn, so that g peaks at w nS tau_syn after it."""

    STATE = ALPHA_STATE
    KERNEL = "iaf_cond_alpha"
    SYNAPSE = "alpha"


class IafCondExpAdaptiveBlock(CondBlock):
    """``iaf_cond_exp_adaptive``: ``iaf_cond_exp`` with the threshold increase theta (mV) and
    the threshold's lockout steps left (lock)."""

    STATE = ("V", "g_ex", "g_in", "theta", "I_stim", "r", "lock")
    RECORDABLES = ("V_m", "g_ex", "g_in", "theta")
    STATE_VARIABLES = {"theta": "theta"}
    KERNEL = "iaf_cond_exp_adaptive"

    def __init__(self, p, gids, col0, dt, V_m):
        super().__init__(p, gids, col0, dt, V_m)
        self.theta[:] = p["theta"]

    def adaptation(self, p, dt):
        return {**super().adaptation(p, dt), "theta_plus": p["theta_plus"],
                "P_theta": np.exp(-dt / number(p["tau_theta"]))}


MODELS = {
    "iaf_cond_exp": NeuronModel("iaf_cond_exp", IAF_COND, IafCondExpBlock),
    "iaf_cond_alpha": NeuronModel("iaf_cond_alpha", IAF_COND, IafCondAlphaBlock),
    "iaf_cond_exp_adaptive": NeuronModel("iaf_cond_exp_adaptive", {
        **IAF_COND,
        "theta": (0.0, "mV", *FINITE),
        "theta_plus": (0.05, "mV", *NON_NEGATIVE),
        "tau_theta": (1e7, "ms", *POSITIVE),
        "t_lockout": (0.0, "ms", *NON_NEGATIVE),
    }, IafCondExpAdaptiveBlock),
}
