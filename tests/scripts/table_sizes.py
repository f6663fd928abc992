"""Bytes of every rank's exchange tables for each strategy on a Brunel network of 400
neurons per rank (each rank pair shares synapses): table_sizes.py OUT.json"""
import json
import sys

import bigbrain as bb
from bigbrain.models import brunel

out = {}
for strategy in ("alltoall", "sparse", "mesh"):
    net = bb.Network(dt=0.1, seed=2, exchange=strategy)
    brunel(net, N=400 * net.comm.size, CE=100, CI=25, J=0.1)
    out[strategy] = net.comm.allgather(net.build().exchange.table_bytes())
if net.rank == 0:
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)
