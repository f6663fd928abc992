"""Records that leave some ranks empty: sparse_records.py PARTITION OUT.npz [ARCHIVE].

A 66-neuron network (E: 60, I: 6) with STDP onto E. Recorded: spikes and V_m of E[0]
(one rank holds it), V_m of the whole of I (one rank under ``blocks`` on 3 ranks), spikes
of I, and the weights of the plastic synapses onto E[1]. Rank 0 saves every record of
the run's Result (read from ARCHIVE when given) to OUT.npz.
"""
import sys

import numpy as np

import bigbrain as bb

partition, out = sys.argv[1], sys.argv[2]
archive = bb.Archive(sys.argv[3], flush_every=5.0) if len(sys.argv) > 3 else None
net = bb.Network(dt=0.1, seed=3, partition=partition, archive=archive)
p = dict(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0, C_m=1.0, t_ref=2.0, V_m=bb.uniform(0.0, 20.0))
exc = net.population("E", 60, "iaf_psc_delta", **p)
inh = net.population("I", 6, "iaf_psc_delta", **p)
noise = net.poisson("noise", rate=30_000.0)
conn = net.connect(exc, exc, rule="fixed_indegree", indegree=6, weight=1.0, delay=1.5,
                   synapse=bb.STDP(lambda_=0.01, alpha=1.0, mu_plus=0.0, mu_minus=0.0, Wmax=3.0))
net.connect(exc, inh, rule="fixed_indegree", indegree=6, weight=1.0, delay=1.5)
net.connect(inh, exc, rule="fixed_indegree", indegree=2, weight=-4.0, delay=1.5)
net.connect(noise, exc | inh, rule="all_to_all", weight=0.1, delay=1.5)
net.record(exc[:1], "spikes")
net.record(exc[:1], "V_m", interval=0.5)
net.record(inh, "V_m")
net.record(inh, "spikes")
net.record_weights(conn, post=[1])
res = net.run(30.0)
records = {"E_spikes": res.spikes("E"), "I_spikes": res.spikes("I"), "E_V_m": res.V_m("E"),
           "I_V_m": res.V_m("I"), "weights": res.weight_events(conn)}
if net.rank == 0:
    np.savez(out, **{f"{k}_{i}": v for k, parts in records.items() for i, v in enumerate(parts)})
