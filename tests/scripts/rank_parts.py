"""Build a small Brunel network on each rank and save each rank's local part:
rank_parts.py OUT_DIR  (OUT_DIR/rank{r}.npz: local gids, static sources, ptr, post per
projection, and the packets the rank sent in 20 ms)."""
import sys
from pathlib import Path

import numpy as np

import bigbrain as bb
from bigbrain.models import brunel

net = bb.Network(dt=0.1, seed=4)
brunel(net, N=600, CE=100, CI=25)
sim = net.build()
arrays = {"local_gids": sim.local_gids, "sources": sim.static_sources}
for k, proj in enumerate(sim.static):
    arrays.update({f"ptr{k}": proj.ptr, f"post{k}": proj.post})
np.savez(Path(sys.argv[1]) / f"rank{net.rank}.npz", **arrays)
