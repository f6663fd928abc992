"""Packets between ranks of round-robin and graph partitions on the microcircuit (small
scale, 50 ms) and the cluster network (100 ms): partition_traffic.py OUT.json"""
import json
import sys

import numpy as np

import bigbrain as bb
from bigbrain.models.microcircuit import POPULATIONS, RATES, microcircuit
from traffic_networks import clusters

MODELS = {"microcircuit": (lambda net: microcircuit(net, scale=0.026, K_scale=0.1), 50.0,
                           {"rates": dict(zip(POPULATIONS, RATES.tolist()))}),
          "clusters": (clusters, 100.0, {})}
out = {}
for model, (build, t, options) in MODELS.items():
    for partition in ("round_robin", "graph"):
        net = bb.Network(dt=0.1, seed=5, exchange="sparse",
                         partition={"name": partition, **options} if partition == "graph" else partition)
        build(net)
        sim = net.build()
        net.run(t)
        pairs = np.array(net.comm.allgather(sim.exchange.traffic.pairs))
        neurons = net.comm.allgather(len(sim.local_gids))
        out[f"{model}_{partition}"] = {"packets": int(pairs.sum() - np.trace(pairs)),
                                       "deliveries": int(pairs.sum()), "neurons": neurons}
if net.rank == 0:
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)
