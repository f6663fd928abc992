"""A random network with STDP on E->E (and onto parrots); writes spikes and weights to an
.npz (rank 0). Usage: mpiexec -n K python stdp_network.py OUT.npz"""
import sys

import numpy as np

import bigbrain as bb

out = sys.argv[1]
net = bb.Network(dt=0.1, seed=7)
params = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}
exc = net.population("E", 800, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), tau_minus=25.0, **params)
inh = net.population("I", 200, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), **params)
parrots = net.population("P", 50, "parrot_neuron")
noise = net.poisson("noise", rate=15000.0)
net.connect(noise, exc | inh, weight=0.1, delay=1.5)
ee = net.connect(exc, exc, "fixed_indegree", indegree=100, weight=bb.uniform(0.05, 0.2),
                 delay=bb.uniform(1.0, 3.0),
                 synapse=bb.STDP(lambda_=0.02, mu_plus=0.0, mu_minus=0.0, Wmax=0.3))
net.connect(exc, inh, "fixed_indegree", indegree=100, weight=0.1, delay=1.5)
net.connect(inh, exc | inh, "fixed_indegree", indegree=25, weight=-0.5, delay=1.5)
net.connect(exc[:50], parrots, "one_to_one", delay=1.0)
ep = net.connect(exc, parrots, "fixed_indegree", indegree=20, weight=5.0, delay=2.0,
                 synapse=bb.STDP(lambda_=0.05, alpha=1.1), receptor=1)
net.record_weights(ep, post=[0, 1])
for pop in (exc, inh, parrots):
    net.record(pop)
w0 = net.run(0.0).weights(ee)[2]
res = net.run(300.0)
results = {"w0": w0}
for name in ("E", "I", "P"):
    results[f"{name}_times"], results[f"{name}_ids"] = res.spikes(name)
results["pre"], results["post"], results["w"] = res.weights(ee)
results["parrot_w"] = res.weights(exc, parrots)[2]
for key, value in zip(("ev_t", "ev_pre", "ev_post", "ev_w"), res.weight_events(ep)):
    results[key] = value
if net.rank == 0:
    np.savez(out, **results)
