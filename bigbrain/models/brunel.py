"""Brunel's (2000) sparsely connected network of excitatory and inhibitory LIF neurons.

Model A of Brunel (2000): ``iaf_psc_delta`` neurons (tau_m 20 ms, V_th 20 mV, V_reset
10 mV, t_ref 2 ms), 80 % excitatory; every neuron receives CE = 0.1·NE excitatory and CI
= 0.1·NI inhibitory inputs (fixed in-degree) of J and −g·J mV with one delay, plus an
independent Poisson train of eta times the threshold rate nu_th = V_th / (J · CE ·
tau_m) from CE external neurons. The classic asynchronous irregular regime: N = 12,500,
J = 0.1 mV, g = 5, eta = 2, delay 1.5 ms. With ``J_rel_std`` > 0 the recurrent weights are
heterogeneous: normal(J, J_rel_std·J) and normal(−g·J, J_rel_std·g·J) mV.
"""
from ..distributions import normal, uniform

NEURON = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}


def brunel(net, N=12_500, g=5.0, eta=2.0, J=0.1, delay=1.5, CE=None, CI=None, synapse=None,
           J_rel_std=0.0):
    """Add the Brunel network to ``net``; return the (E, I) populations.

    N: neurons (0.8 N excitatory). CE, CI: in-degrees (default 1000 and 250 at N = 12,500,
    i.e. 10 % of each population). J (mV), g, eta, delay (ms) as in Brunel (2000).
    synapse: an optional plastic synapse model for E→E (e.g. ``bigbrain.STDP``).
    J_rel_std: standard deviation of the recurrent weights relative to their mean (0: every
    excitatory weight is J and every inhibitory one −g·J; the Poisson input's is always J).
    """
    NE = int(round(0.8 * N))
    NI = N - NE
    CE = max(1, NE // 10) if CE is None else CE
    CI = max(1, NI // 10) if CI is None else CI
    nu_th = NEURON["V_th"] / (J * CE * NEURON["tau_m"])          # spikes per ms
    rate = 1000.0 * eta * nu_th * CE                              # Hz
    exc = net.population("E", NE, "iaf_psc_delta", **NEURON, V_m=uniform(0.0, NEURON["V_th"]))
    inh = net.population("I", NI, "iaf_psc_delta", **NEURON, V_m=uniform(0.0, NEURON["V_th"]))
    noise = net.poisson("noise", rate=rate)
    J_ex, J_in = _weight(J, J_rel_std), _weight(-g * J, J_rel_std)
    if synapse is None:
        net.connect(exc, exc | inh, rule="fixed_indegree", indegree=CE, weight=J_ex, delay=delay)
    else:
        net.connect(exc, exc, rule="fixed_indegree", indegree=CE, weight=J_ex, delay=delay,
                    synapse=synapse)
        net.connect(exc, inh, rule="fixed_indegree", indegree=CE, weight=J_ex, delay=delay)
    net.connect(inh, exc | inh, rule="fixed_indegree", indegree=CI, weight=J_in, delay=delay)
    net.connect(noise, exc | inh, rule="all_to_all", weight=J, delay=delay)
    return exc, inh


def _weight(mean, rel_std):
    """``mean`` (mV), or normal(mean, rel_std·|mean|) when rel_std > 0."""
    return normal(mean, rel_std * abs(mean)) if rel_std > 0 else mean
