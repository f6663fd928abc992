"""Short-term plasticity: NEST's ``tsodyks_synapse`` (Tsodyks, Uziel & Markram 2000), as a
description.

``net.connect(pre, post, ..., synapse=bb.TsodyksSynapse(...))`` gives every synapse of
that connection its own resources: x (recovered), y (active), z = 1 − x − y (inactive)
and the utilisation u. At each pre-synaptic spike (stamp t, h = t − t_last ms since the
synapse's previous spike, 0 before the first), in NEST 3.10's order:

* propagate: ``u ← u·exp(−h/tau_fac)`` (0 if ``tau_fac`` = 0),
  ``x ← x + Pxy·y + (1 − exp(−h/tau_rec))·z`` with
  ``Pxy = ((exp(−h/tau_rec) − 1)·tau_rec − (exp(−h/tau_psc) − 1)·tau_psc) / (tau_psc − tau_rec)``,
  ``y ← y·exp(−h/tau_psc)``;
* facilitate: ``u ← u + U·(1 − u)``;
* release ``Δ = u·x``: ``x ← x − Δ``, ``y ← y + Δ``; the spike reaches the target with
  weight ``Δ·weight`` after the delay.

The runtime (rows by source, per-synapse state, checkpoints) is the plastic projections'
(:mod:`bigbrain.plasticity`); the update is :func:`bigbrain.kernels.tsodyks.deliver`.
"""
import numpy as np

from .errors import RULES, ModelError, number
from .stdp import PlasticRule

#: Parameters and state of each synapse (besides weight and delay), in NEST's names.
VARIABLES = ("U", "tau_psc", "tau_fac", "tau_rec", "x", "y", "u")
_RULES = {"U": (">= 0", ""), "tau_psc": ("> 0", "ms"), "tau_fac": (">= 0", "ms"),
          "tau_rec": ("> 0", "ms"), "x": ("any", ""), "y": ("any", ""), "u": ("any", "")}


class TsodyksSynapse(PlasticRule):
    """NEST ``tsodyks_synapse`` parameters and initial state, with NEST's defaults.

    U: utilisation increment per spike (in [0, 1]). tau_psc: time constant of y (ms, > 0;
    NEST expects the post-synaptic current's, e.g. ``tau_syn_ex`` of an iaf_psc_exp).
    tau_fac: facilitation time constant (ms, ≥ 0; 0: none). tau_rec: recovery time
    constant (ms, > 0, ≠ tau_psc). x, y, u: initial state (x + y ≤ 1). Each is a number or,
    with ``rule="explicit"``, an array with one value per synapse. Weights (mV, pA or nS,
    as the target's static ones) may have either sign.
    """

    KERNEL = "deliver_tsodyks"
    VARIABLES = VARIABLES
    needs_history = False
    initial_kplus = 0.0

    def __init__(self, U=0.5, tau_psc=3.0, tau_fac=0.0, tau_rec=800.0, x=1.0, y=0.0, u=0.0):
        given = dict(U=U, tau_psc=tau_psc, tau_fac=tau_fac, tau_rec=tau_rec, x=x, y=y, u=u)
        for name in VARIABLES:
            setattr(self, name, checked(name, given[name]))
        check_together(self)

    def check_weights(self, field, weights):
        """Any sign: the release scales the weight (NEST has no sign rule here)."""

    @property
    def per_synapse(self):
        """Names given as arrays (one value per synapse)."""
        return [n for n in VARIABLES if np.ndim(getattr(self, n))]

    def describe(self):
        value = lambda v: v.tolist() if np.ndim(v) else v  # noqa: E731
        return {"model": "tsodyks_synapse", **{n: value(getattr(self, n)) for n in VARIABLES}}


def checked(name, value, where="TsodyksSynapse"):
    """``value`` of variable ``name`` (a number or an array of numbers), refused with a
    ModelError naming ``where.name`` unless NEST accepts it."""
    field = f"{where}.{name}"
    rule, unit = _RULES[name]
    if np.ndim(value) == 0:
        value = number(field, value, rule, unit)
        values = np.array([value])
    else:
        values = np.asarray(value)
        if values.dtype.kind not in "iuf" or values.ndim != 1:
            raise ModelError(field, f"must be a number or a 1-D array of numbers, got {value!r}")
        values = value = values.astype(np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values) & np.broadcast_to(RULES[rule][0](values), values.shape)
        if not ok.all():
            number(field, values[np.argmin(ok)], rule, unit)   # raises, naming the value
    if name == "U" and values.max(initial=0.0) > 1.0:
        raise ModelError(field, f"must be in [0, 1], got {values.max()}")
    return value


def check_together(rule, where="TsodyksSynapse", changed=()):
    """Refuse what NEST refuses (or divides by zero on) between variables: x + y > 1 and
    tau_psc = tau_rec, of a rule or per-synapse arrays with ``rule``'s attributes; the
    error names y if only y of the two is in ``changed``, else x."""
    if np.any(np.asarray(rule.x) + np.asarray(rule.y) > 1.0):
        blamed = "y" if "y" in changed and "x" not in changed else "x"
        raise ModelError(f"{where}.{blamed}", "x + y must be <= 1")
    if np.any(np.asarray(rule.tau_psc) == np.asarray(rule.tau_rec)):
        raise ModelError(f"{where}.tau_rec", "must differ from tau_psc (the propagator "
                         "divides by tau_psc − tau_rec)")
