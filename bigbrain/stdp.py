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

``mu = 0`` gives additive, ``mu = 1`` multiplicative updates.

``synapse=bb.TripletSTDP(...)`` is NEST's ``stdp_triplet_synapse`` (Pfister & Gerstner
2006, all-to-all): the same order of operations, with |w| and the sign of Wmax, two
pre-synaptic traces K+ (``tau_plus``) and K+₃ (``tau_plus_triplet``) and two post-synaptic
ones, K− (``tau_minus``) and K−₃ (``tau_minus_triplet``, of the post-synaptic neuron):

* each post spike t_post in (t_last − d, t − d] potentiates, oldest first:
  ``|w| ← min(|Wmax|, |w| + K+ · exp((t_last − t_post − d)/tau_plus) · (Aplus + Aplus_triplet · y))``
  with y the K−₃ just before t_post (K−₃ after it, minus 1);
* then ``K+₃ ← K+₃ · exp((t_last − t)/tau_plus_triplet)`` and the spike depresses:
  ``|w| ← max(0, |w| − K− · (Aminus + Aminus_triplet · K+₃))``, K− as for ``STDP``;
* then ``K+₃ ← K+₃ + 1`` and K+ steps as for ``STDP``.

The runtime (traces, spike history, kernels) is in :mod:`bigbrain.plasticity` and
:mod:`bigbrain.kernels.stdp`.
"""

import numpy as np

from .errors import ModelError, number
from .synapse import SynapseModel


class PlasticRule(SynapseModel):
    """What the plastic synapse models share: NEST's weight sign rule and a repr."""

    #: Whether the synapses need the post-synaptic spike history (bigbrain.plasticity).
    needs_history = True

    def check_weights(self, field, weights):
        """Raise ModelError unless every weight has the sign of Wmax (NEST's rule)."""
        w = np.ravel(weights)
        if len(w) == 0:
            return
        found = w.min() if self.Wmax > 0 else w.max()
        if found < 0 if self.Wmax > 0 else found >= 0:
            raise ModelError(field, f"weights of an STDP synapse must have the sign of Wmax = "
                             f"{self.Wmax} (found {found})")

    def __repr__(self):
        name = type(self).__name__
        return f"{name}(" + ", ".join(f"{k}={v}" for k, v in self.describe().items() if k != "model") + ")"


class STDP(PlasticRule):
    """NEST ``stdp_synapse`` parameters, with NEST's defaults.

    tau_plus: pre-synaptic trace time constant (ms, > 0). lambda_: learning rate (≥ 0;
    ``lambda`` in NEST). alpha: ratio of depression to potentiation (≥ 0). mu_plus,
    mu_minus: weight dependence exponents (≥ 0; 0 additive, 1 multiplicative). Wmax:
    maximal weight (mV or pA, ≠ 0); every weight must have Wmax's sign (0 counts as
    positive), as NEST requires.
    """

    def __init__(self, tau_plus=20.0, lambda_=0.01, alpha=1.0, mu_plus=1.0, mu_minus=1.0, Wmax=100.0):
        self.tau_plus = number("STDP.tau_plus", tau_plus, "> 0", "ms")
        self.lambda_ = number("STDP.lambda_", lambda_, ">= 0")
        self.alpha = number("STDP.alpha", alpha, ">= 0")
        self.mu_plus = number("STDP.mu_plus", mu_plus, ">= 0")
        self.mu_minus = number("STDP.mu_minus", mu_minus, ">= 0")
        self.Wmax = number("STDP.Wmax", Wmax, "!= 0", "mV or pA")

    #: The backend kernel that delivers through these synapses.
    KERNEL = "deliver_stdp"
    initial_kplus = 0.0

    def describe(self):
        return {"model": "stdp_synapse", "tau_plus": self.tau_plus, "lambda": self.lambda_,
                "alpha": self.alpha, "mu_plus": self.mu_plus, "mu_minus": self.mu_minus,
                "Wmax": self.Wmax}


class TripletSTDP(PlasticRule):
    """NEST ``stdp_triplet_synapse`` parameters, with NEST's defaults (Pfister & Gerstner
    2006, table 3, minimal all-to-all visual cortex model).

    tau_plus, tau_plus_triplet: pre-synaptic trace time constants (ms, > 0; tau_plus and
    tau_x of the paper). Aplus, Aminus: pair potentiation and depression amplitudes (A2+,
    A2−); Aplus_triplet, Aminus_triplet: triplet amplitudes (A3+, A3−); all ≥ 0 and in
    units of the weight. Wmax: maximal |weight| (mV or pA, ≠ 0), whose sign every weight
    must have. Kplus, Kplus_triplet: initial pre-synaptic traces (≥ 0). The post-synaptic
    time constants are the neuron parameters ``tau_minus`` and ``tau_minus_triplet``.
    Diehl & Cook (2015)'s rule is the case Aplus = Aminus_triplet = 0 (see README).
    """

    KERNEL = "deliver_triplet_stdp"

    def __init__(self, tau_plus=16.8, tau_plus_triplet=101.0, Aplus=5e-10, Aminus=7e-3,
                 Aplus_triplet=6.2e-3, Aminus_triplet=2.3e-4, Wmax=100.0, Kplus=0.0,
                 Kplus_triplet=0.0):
        self.tau_plus = number("TripletSTDP.tau_plus", tau_plus, "> 0", "ms")
        self.tau_plus_triplet = number("TripletSTDP.tau_plus_triplet", tau_plus_triplet, "> 0", "ms")
        for name, value in (("Aplus", Aplus), ("Aminus", Aminus), ("Aplus_triplet", Aplus_triplet),
                            ("Aminus_triplet", Aminus_triplet), ("Kplus", Kplus),
                            ("Kplus_triplet", Kplus_triplet)):
            setattr(self, name, number(f"TripletSTDP.{name}", value, ">= 0"))
        self.Wmax = number("TripletSTDP.Wmax", Wmax, "!= 0", "mV or pA")

    @property
    def initial_kplus(self):
        return self.Kplus

    def describe(self):
        return {"model": "stdp_triplet_synapse", "tau_plus": self.tau_plus,
                "tau_plus_triplet": self.tau_plus_triplet, "Aplus": self.Aplus,
                "Aminus": self.Aminus, "Aplus_triplet": self.Aplus_triplet,
                "Aminus_triplet": self.Aminus_triplet, "Wmax": self.Wmax, "Kplus": self.Kplus,
                "Kplus_triplet": self.Kplus_triplet}
