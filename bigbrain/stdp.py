"""The STDP synapse model: NEST's ``stdp_synapse`` (Guetig et al. 2003), as a description.

``net.connect(pre, post, ..., synapse=bb.STDP(...))`` makes every synapse of that
connection plastic. The rule, per synapse, with the whole delay d counted as dendritic
(NEST's convention):

* at each pre-synaptic spike (time stamp t, ms), first every post-synaptic spike t_post
  with t_last − d < t_post ≤ t − d potentiates, in time order:
  ``w ← Wmax · min(1, w/Wmax + lambda · (1 − w/Wmax)^mu_plus · K+ · exp((t_last − t_post − d)/tau_plus))``,
  where t_last is the previous pre-synaptic spike (0 before the first) and K+ the pre trace
  just after it;
* then the spike depresses: ``w ← Wmax · max(0, w/Wmax − alpha · lambda · (w/Wmax)^mu_minus · K−)``
  with K− the post-synaptic trace (time constant ``tau_minus`` of the post-synaptic neuron)
  of the spikes strictly before t − d;
* the spike then reaches the post-synaptic neuron with the new weight, and the pre trace
  steps: ``K+ ← K+ · exp((t_last − t)/tau_plus) + 1``.

``mu = 0`` gives additive, ``mu = 1`` multiplicative updates. The runtime (traces, spike
history, kernels) is in :mod:`bigbrain.plasticity` and :mod:`bigbrain.kernels.stdp`.
"""
import math

from .errors import ModelError


class STDP:
    """NEST ``stdp_synapse`` parameters, with NEST's defaults.

    tau_plus: pre-synaptic trace time constant (ms, > 0). lambda_: learning rate (≥ 0;
    ``lambda`` in NEST). alpha: ratio of depression to potentiation (≥ 0). mu_plus,
    mu_minus: weight dependence exponents (≥ 0; 0 additive, 1 multiplicative). Wmax:
    maximal weight (mV or pA, ≠ 0); every weight must have Wmax's sign (0 counts as
    positive), as NEST requires.
    """

    def __init__(self, tau_plus=20.0, lambda_=0.01, alpha=1.0, mu_plus=1.0, mu_minus=1.0, Wmax=100.0):
        self.tau_plus = _number("STDP.tau_plus", tau_plus, lambda v: v > 0, "> 0 ms")
        self.lambda_ = _number("STDP.lambda_", lambda_, lambda v: v >= 0, ">= 0")
        self.alpha = _number("STDP.alpha", alpha, lambda v: v >= 0, ">= 0")
        self.mu_plus = _number("STDP.mu_plus", mu_plus, lambda v: v >= 0, ">= 0")
        self.mu_minus = _number("STDP.mu_minus", mu_minus, lambda v: v >= 0, ">= 0")
        self.Wmax = _number("STDP.Wmax", Wmax, lambda v: v != 0, "non-zero (mV or pA)")

    def check_weights(self, field, weights):
        """Raise ModelError unless every weight has the sign of Wmax (NEST's rule)."""
        w = weights if hasattr(weights, "min") else [weights]
        if len(w) == 0:
            return
        bad = (min(w) < 0) if self.Wmax > 0 else (max(w) >= 0)
        if bad:
            raise ModelError(field, f"weights of an STDP synapse must have the sign of Wmax = "
                             f"{self.Wmax} (found {min(w) if self.Wmax > 0 else max(w)})")

    def describe(self):
        return {"model": "stdp_synapse", "tau_plus": self.tau_plus, "lambda": self.lambda_,
                "alpha": self.alpha, "mu_plus": self.mu_plus, "mu_minus": self.mu_minus,
                "Wmax": self.Wmax}

    def __repr__(self):
        return "STDP(" + ", ".join(f"{k}={v}" for k, v in self.describe().items() if k != "model") + ")"


def _number(field, value, check, rule):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ModelError(field, f"must be a number, got {value!r}") from None
    if not (math.isfinite(value) and check(value)):
        raise ModelError(field, f"must be finite and {rule}, got {value}")
    return value
