"""Build the cluster network's routing tables with the routing requests sent in rounds of
``ROUND`` requests (their requests kept, and sent again for the second pass) and in one
round, for every exchange strategy, and save per rank whether they agree with each other
and with the requests: routing_rounds.py ROUND OUT.npz

Saved (rank 0, gathered per rank): ``<strategy>_expected`` whether the table of this
rank's nodes lists, for each, exactly the ranks whose synapses need it, ascending (from
every rank's needed sources, gathered; not for ``mesh``, whose tables split the route);
``<strategy>_same`` whether every table equals the one built in one round (both ways of
the rounds, and with the requests sent as gids instead of the owner's positions); ``rounds``
how many rounds the requests took.
"""
import math
import sys

import numpy as np

import bigbrain as bb
import bigbrain.exchange as exchange
from traffic_networks import STRATEGIES, clusters

ROUND, OUT = int(sys.argv[1]), sys.argv[2]


def tables(strategy, round_size, kept_keys=exchange.KEPT_KEYS, located=True):
    """(the tables of this rank's exchange, its nodes, every rank's needed sources);
    requests kept where a rank has at most ``kept_keys`` nodes, sent as positions among
    the owner's nodes if ``located`` (round robin's), else as gids."""
    exchange.REQUEST_ROUND, exchange.REQUESTS_PER_RANK = round_size, 1
    exchange.KEPT_KEYS = kept_keys
    bb.partition.RoundRobin.LOCATES = located
    net = bb.Network(dt=0.1, seed=3, partition="round_robin", exchange=strategy)
    clusters(net, n_clusters=6, n_exc=40, n_inh=10, k_exc=10, k_inh=3, k_next=2)
    sim = net.build()
    ex = sim.exchange
    found = [ex.table] + ([ex.forward] if strategy == "mesh" else [])
    needed = net.comm.allgather(sim.static_sources)
    keyed = [(getattr(t, "keys", None), getattr(t, "starts", None)) for t in found]  # mesh: runs
    return ([(keys if keys is not None else starts, t.ptr, t.ranks)
             for (keys, starts), t in zip(keyed, found)], sim.local_gids, needed, net.comm)


def expected(table, local_gids, needed):
    """Whether ``table`` lists for each local gid exactly the ranks needing it, ascending."""
    keys, ptr, ranks = table
    if not np.array_equal(keys, local_gids):
        return False
    return all(np.array_equal(ranks[ptr[k]:ptr[k + 1]],
                              [r for r, wanted in enumerate(needed) if gid in wanted])
               for k, gid in enumerate(local_gids))


saved = {}
for strategy in STRATEGIES:
    rounds, local_gids, needed, comm = tables(strategy, ROUND)
    sent_twice, _, _, _ = tables(strategy, ROUND, kept_keys=0)
    one, _, _, _ = tables(strategy, 1 << 30)
    by_gid, _, _, _ = tables(strategy, ROUND, located=False)
    same = True
    for other in (rounds, sent_twice, by_gid):
        same &= all(all(np.array_equal(a, b) for a, b in zip(t, u)) for t, u in zip(other, one))
    saved[f"{strategy}_same"] = np.array(comm.allgather(same))
    if strategy != "mesh":
        saved[f"{strategy}_expected"] = np.array(comm.allgather(expected(rounds[0], local_gids, needed)))
    saved["rounds"] = np.array(max(math.ceil(len(n) / ROUND) for n in needed))
if comm.rank == 0:
    np.savez(OUT, **saved)
