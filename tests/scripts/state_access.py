"""get / set / recording across ranks: state_access.py OUT (each rank saves OUT.rank<r>.npz).

A small recurrent network of iaf_psc_exp neurons with per-neuron parameters drawn from
distributions, static and plastic projections; between runs it sets parameters of a
selection (array and distribution), V_m, and static and plastic weights, then runs on.
Saved: what get returns before and after, every weight, the spikes, the samples of V_m
and I_syn_ex of a few neurons, and the messages of bad sets.
"""
import sys

import numpy as np

import bigbrain as bb

net = bb.Network(dt=0.1, seed=7, partition="round_robin")
exc = net.population("E", 40, "iaf_psc_exp", I_e=bb.uniform(300.0, 420.0),
                     tau_m=bb.uniform(8.0, 12.0), V_m=bb.uniform(-70.0, -55.0))
inh = net.population("I", 10, "iaf_psc_exp", I_e=380.0, tau_syn_ex=np.linspace(1.0, 3.0, 10))
static = net.connect(exc, exc | inh, rule="fixed_indegree", indegree=5, weight=bb.uniform(50.0, 150.0),
                     delay=1.0)
plastic = net.connect(inh, exc, rule="fixed_indegree", indegree=3, weight=bb.uniform(20.0, 40.0),
                      delay=1.5, synapse=bb.STDP(Wmax=100.0, lambda_=0.05))
net.record(exc, "spikes")
net.record(inh, "spikes")
net.record(exc[::7], ["V_m", "I_syn_ex"], interval=0.5)
out = {"I_e_before": net.get(exc[::3] | inh[:2], "I_e")}
net.run(30.0)
out["V_m_30"] = net.get(exc, "V_m")
out["static_30"], out["plastic_30"] = static.get("weight"), plastic.get("weight")
net.set(exc[5:25], I_e=bb.uniform(350.0, 450.0), tau_m=np.linspace(9.0, 11.0, 20))
net.set(inh[::2], V_m=-60.0)
net.set(static, weight=bb.uniform(-40.0, 120.0))
net.set(plastic, weight=np.linspace(10.0, 50.0, len(out["plastic_30"])))
out["I_e_after"] = net.get(exc, "I_e")
errors = []
for bad in (lambda: net.set(exc[:4], I_f=1.0), lambda: net.set(exc[:4], I_e=np.zeros(3)),
            lambda: net.set(exc, tau_m=np.nan), lambda: static.set(weight=np.ones(7)),
            lambda: plastic.set(weight=bb.normal(10.0, 1.0))):
    try:
        bad()
    except bb.ModelError as exc_:
        errors.append(str(exc_))
out["errors"] = np.array(errors)
out["static_after"] = static.get("weight")
result = net.run(40.0)
out["plastic_end"] = plastic.get("weight")
for name in ("E", "I"):
    out[f"spikes_{name}"] = np.concatenate(result.spikes(name))
for var in ("V_m", "I_syn_ex"):
    t, ids, values = result.samples("E", var)
    out[f"samples_{var}"], out["sample_ids"], out["sample_t"] = values, ids, t
np.savez(f"{sys.argv[1]}.rank{net.rank}.npz", **out)
