"""gamma_sup and ppd_sup generators onto parrots and neurons, with a change between runs.

    superposition_ranks.py OUT_DIR

Rank 0 writes OUT_DIR/result.npz (spikes of P and E).
"""
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import bigbrain as bb

OUT = Path(sys.argv[1])

net = bb.Network(dt=0.1, seed=8)
parrots = net.population("P", 11, "parrot_neuron")
neurons = net.population("E", 5, "iaf_psc_exp", I_e=300.0)
gamma = net.gamma_sup_generator("gamma", size=2, rate=60.0, gamma_shape=5, n_proc=3)
ppd = net.ppd_sup_generator("ppd", rate=120.0, dead_time=3.0, n_proc=2, frequency=15.0,
                            relative_amplitude=0.5)
net.connect(gamma, parrots, delay=bb.uniform(0.1, 2.0))
net.connect(ppd, parrots, rule="fixed_indegree", indegree=2, delay=0.4)
net.connect(ppd, neurons, weight=600.0, delay=1.0)
net.record(parrots)
net.record(neurons)
net.run(30.0)
gamma.set_params(net, rate=200.0)
ppd.set_params(net, rate=40.0)
result = net.run(30.0)
if MPI.COMM_WORLD.rank == 0:
    np.savez(OUT / "result.npz", **{f"{k}_{p}": v for p in ("E", "P")
                                    for k, v in zip(("t", "i"), result.spikes(p))})
