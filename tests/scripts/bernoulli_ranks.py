"""A recurrent network with bernoulli_synapse connections (one from parrots that repeat
several spikes per step).

    bernoulli_ranks.py OUT_DIR

Rank 0 writes OUT_DIR/result.npz (spikes of E and R).
"""
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import bigbrain as bb

OUT = Path(sys.argv[1])

net = bb.Network(dt=0.1, seed=6)
noise = net.poisson("noise", 2000.0)
relays = net.population("R", 6, "parrot_neuron")
exc = net.population("E", 17, "iaf_psc_delta", I_e=100.0, V_m=bb.uniform(-70.0, -55.0))
net.connect(noise, relays, delay=0.1)
net.connect(relays, exc, rule="fixed_indegree", indegree=3, weight=2.0, delay=bb.uniform(0.5, 2.0),
            synapse=bb.Bernoulli(p_transmit=0.4))
net.connect(exc, exc, rule="pairwise_bernoulli", p=0.3, weight=1.5, delay=1.0,
            synapse=bb.Bernoulli(p_transmit=0.7))
net.record(exc)
net.record(relays)
result = net.run(100.0)
if MPI.COMM_WORLD.rank == 0:
    np.savez(OUT / "result.npz", **{f"{k}_{p}": v for p in ("E", "R")
                                    for k, v in zip(("t", "i"), result.spikes(p))})
