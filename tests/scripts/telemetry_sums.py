"""Run a small archived network on each rank and save, from rank 0, the archive's traffic
telemetry beside the ranks' own counters: telemetry_sums.py OUT_DIR

Saved (OUT_DIR/sums.npz): ``pairs`` (destination, origin) packets summed over the run from
every rank's counters, ``archived_pairs`` the same from the archive's sparse rows;
``links`` and ``hops`` both ways too, and ``messages`` per rank.
"""
import sys
from pathlib import Path

import numpy as np
import zarr

import bigbrain as bb
from bigbrain.traffic import read_pairs
from traffic_networks import clusters

OUT = Path(sys.argv[1])
net = bb.Network(dt=0.1, seed=3, exchange="mesh", archive=OUT / "run.zarr")
clusters(net, n_clusters=6, n_exc=40, n_inh=10, k_exc=10, k_inh=3, k_next=2)
net.run(30.0)
t = net.build().exchange.traffic
mine = t.snapshot()
every = net.comm.allgather(mine)
if net.rank == 0:
    P = net.comm.size
    tel = zarr.open_group(str(OUT / "run.zarr"), mode="r")["telemetry/traffic"]
    rows = read_pairs(tel["pairs"], lambda a, _: a[:])
    pairs = np.zeros((P, P), np.int64)
    np.add.at(pairs, (rows["destination"], rows["origin"]), rows["packets"])
    links = np.zeros((P, 4), np.int64)
    np.add.at(links, (tel["links/rank"][:], tel["links/direction"][:]), tel["links/packets"][:])
    hops = np.bincount(tel["hops/hops"][:], tel["hops/packets"][:]).astype(np.int64)
    messages = np.bincount(tel["messages/rank"][:], tel["messages/messages"][:]).astype(np.int64)
    np.savez(OUT / "sums.npz", pairs=np.stack([e["pairs"] for e in every]), archived_pairs=pairs,
             links=np.sum([e["links"] for e in every], axis=0), archived_links=links,
             hops=np.sum([e["hops"] for e in every], axis=0), archived_hops=hops,
             messages=np.array([e["messages"] for e in every]), archived_messages=messages)
