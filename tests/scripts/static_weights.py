"""Static weights across ranks: static_weights.py OUT.npz (rank 0 saves, round-robin partition).

Brunel (N = 1000) with normal weights, plus a projection onto two neurons T[0], T[1] (on
different ranks when there are two) whose synapses onto T[1] all weigh 0.3 mV. Saved:
``shifts`` (rank, projection), ``one_weight_on_a_rank`` (rank, projection: no per-synapse
weights there), ``synapses`` (pre gid, post gid, fixed-point weight of every synapse, sorted)
and the spikes of E and T.
"""
import sys

import numpy as np

import bigbrain as bb
from bigbrain.models import brunel

net = bb.Network(dt=0.1, seed=5, partition="round_robin")
exc, inh = brunel(net, N=1000, J_rel_std=0.1)
targets = net.population("T", 2, "iaf_psc_delta", tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0,
                         C_m=1.0, t_ref=2.0)
net.connect(exc[:10], targets, rule="explicit", sources=np.r_[0:10, 0:10],
            targets=np.repeat([0, 1], 10), weight=np.r_[np.linspace(-50.0, 50.0, 10), [0.3] * 10],
            delay=1.0)
net.record(exc)
net.record(targets)
sim = net.build()
result = net.run(100.0)


def synapses(proj):
    """(pre gid, post gid, fixed-point weight) of this rank's synapses of ``proj``."""
    pre = proj.synapse_sources()
    post = sim.local_gids[proj.post.astype(np.int64)]
    fixed = (proj.weight.astype(np.int64) << proj.shift if proj.weight.size
             else np.full(len(proj), proj.weight_all, np.int64))
    return pre, post, fixed


comm = net.comm
local = [np.concatenate(parts) for parts in zip(*(synapses(p) for p in sim.static))]
table = np.stack([comm.allgather_array(a) for a in local])
saved = {"shifts": np.array(comm.allgather([p.shift for p in sim.static])),
         "one_weight_on_a_rank": np.array(comm.allgather([p.weight.size == 0 for p in sim.static])),
         "synapses": table[:, np.lexsort(table[::-1])]}
for name in ("E", "T"):
    saved[f"{name}_t"], saved[f"{name}_id"] = result.spikes(name)
if net.rank == 0:
    np.savez(sys.argv[1], **saved)
