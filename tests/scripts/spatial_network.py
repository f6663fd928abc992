"""A small spatial network with fixed_outdegree and STDP on K ranks; rank 0 saves its
synapses, plastic weights and spikes:

    mpiexec -n K python spatial_network.py OUT.npz PARTITION

E (random positions) and I (a grid) share a periodic box; E -> E|I is pairwise_bernoulli
with a Gaussian kernel in a circular mask, exponential weights and linear delays; I -> E
is fixed_outdegree (no autapses, no multapses); E -> I is fixed_outdegree with STDP.
Saved: ``synapses`` (pre gid, post gid, fixed-point weight, delay steps of every static
synapse, sorted), ``weights`` (pre, post, weight of the plastic synapses, NEST order),
the positions of E and the spikes of E and I.
"""
import sys

import numpy as np

import bigbrain as bb

S = bb.spatial
net = bb.Network(dt=0.1, seed=7, partition=sys.argv[2])
box = {"extent": (1.0, 1.0), "edge_wrap": True}
exc = net.population("E", 240, "iaf_psc_exp", positions=S.free(**box), I_e=400.0,
                     V_m=bb.uniform(-70.0, -55.0))
inh = net.population("I", 64, "iaf_psc_exp", positions=S.grid((8, 8), **box), I_e=390.0)
net.connect(exc, exc | inh, rule="pairwise_bernoulli", p=0.8 * S.gaussian(std=0.15),
            mask=S.circular(radius=0.35), weight=60.0 * S.exponential(beta=0.2),
            delay=S.linear(0.5, 5.0))
net.connect(inh, exc, rule="fixed_outdegree", outdegree=25, weight=bb.normal(-80.0, 10.0),
            delay=bb.uniform(0.5, 2.0), allow_autapses=False, allow_multapses=False)
plastic = net.connect(exc, inh, rule="fixed_outdegree", outdegree=6, weight=bb.uniform(20.0, 40.0),
                      delay=S.linear(1.0, 2.0), synapse=bb.STDP(Wmax=100.0))
net.record(exc)
net.record(inh)
sim = net.build()
result = net.run(150.0)


def synapses(proj):
    pre = proj.synapse_sources()
    post = sim.local_gids[proj.post.astype(np.int64)]
    fixed = (proj.weight.astype(np.int64) << proj.shift if proj.weight.size
             else np.full(len(proj), proj.weight_all, np.int64))
    delay = proj.delay.astype(np.int64) if proj.delay.size else np.full(len(proj), proj.delay_all)
    return pre, post, fixed, delay


local = [np.concatenate(parts) for parts in zip(*(synapses(p) for p in sim.static))]
table = np.stack([net.comm.allgather_array(a) for a in local])
saved = {"synapses": table[:, np.lexsort(table[::-1])], "positions": exc.positions}
saved["weights"] = np.stack(result.weights(plastic))
for name in ("E", "I"):
    saved[f"{name}_t"], saved[f"{name}_id"] = result.spikes(name)
if net.rank == 0:
    np.savez(sys.argv[1], **saved)
