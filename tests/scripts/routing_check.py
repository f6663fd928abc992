"""Route one spike of every node with each exchange strategy (no simulation) and save, per
rank, what arrived and what the traffic counters recorded: routing_check.py OUT.npz

Saved per strategy (rank 0, gathered): ``received`` (gid, rank) of every delivered packet,
``needed`` (gid, rank) of every source a rank's synapses need, ``hops`` (deliveries per hop
count, summed over ranks), ``links`` (summed (P, 4) link loads), ``owner`` of every gid.
"""
import sys

import numpy as np

import bigbrain as bb
from traffic_networks import STRATEGIES, clusters

OUT = sys.argv[1]
saved = {}
for strategy in STRATEGIES:
    net = bb.Network(dt=0.1, seed=3, partition="round_robin", exchange=strategy)
    clusters(net, n_clusters=6, n_exc=40, n_inh=10, k_exc=10, k_inh=3, k_next=2)
    sim = net.build()
    gids = sim.local_gids
    before = sim.exchange.traffic.snapshot()
    got, offsets = sim.exchange.exchange(np.arange(len(gids)), gids, gids % sim.interval)
    after = sim.exchange.traffic.snapshot()
    needed = np.unique(np.concatenate([p.source_gids() for p in sim.static] + [np.zeros(0, np.int64)]))
    me = np.full(len(got), net.rank)
    comm = net.comm
    saved[f"{strategy}_received"] = np.stack([comm.allgather_array(got), comm.allgather_array(me)])
    saved[f"{strategy}_offsets_ok"] = np.array(comm.allgather(bool(np.all(offsets == got % sim.interval))))
    saved[f"{strategy}_needed"] = np.stack([comm.allgather_array(needed),
                                            comm.allgather_array(np.full(len(needed), net.rank))])
    for name in ("hops", "links"):
        saved[f"{strategy}_{name}"] = comm.mpi.allreduce(after[name] - before[name])
    saved["owner"] = sim.partition.owner(np.arange(net.n_nodes))
    saved["mesh"] = np.array(sim.exchange.mesh.shape)
if net.rank == 0:
    np.savez(OUT, **saved)
