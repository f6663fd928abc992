"""Run the Brunel network and save all spikes (rank 0): brunel_spikes.py N T PARTITION OUT.npz"""
import sys

import numpy as np

import bigbrain as bb
from bigbrain.models import brunel

N, T, PARTITION, OUT = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
net = bb.Network(dt=0.1, seed=7, partition=PARTITION)
exc, inh = brunel(net, N=N)
net.record(exc, "spikes")
net.record(inh, "spikes")
result = net.run(T)
if net.rank == 0:
    np.savez(OUT, **{f"{k}_{name}": v for name in ("E", "I")
                     for k, v in zip(("times", "ids"), result.spikes(name))})
