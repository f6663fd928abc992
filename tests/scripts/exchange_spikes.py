"""Every exchange strategy × partition on the cluster network; rank 0 saves all spikes and
each run's rank-pair packet matrix: exchange_spikes.py T OUT.npz"""
import sys

import numpy as np

import bigbrain as bb
from traffic_networks import PARTITIONS, STRATEGIES, clusters

T, OUT = float(sys.argv[1]), sys.argv[2]
saved = {}
for partition in PARTITIONS:
    for strategy in STRATEGIES:
        net = bb.Network(dt=0.1, seed=11, partition=partition, exchange=strategy)
        exc, inh = clusters(net)
        net.record(exc, "spikes")
        net.record(inh, "spikes")
        result = net.run(T)
        pairs = np.array(net.comm.allgather(net.build().exchange.traffic.pairs)).T  # [origin, dest]
        key = f"{partition}_{strategy}"
        for name in ("E", "I"):
            saved[f"{key}_times_{name}"], saved[f"{key}_ids_{name}"] = result.spikes(name)
        saved[f"{key}_pairs"] = pairs
if net.rank == 0:
    np.savez(OUT, **saved)
