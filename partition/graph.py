"""Graph partition: few packets between ranks, balanced neurons and synapses.

The network's coarse graph (:mod:`.coarse`: chunks of contiguous neurons, their expected
synapse load, expected packets between them) is partitioned into P parts on every rank,
identically, with integer arithmetic only:

1. Edge weights: packets(A→B) + packets(B→A), scaled to integers.
2. Two starts: (a) the chunks in gid order cut into P contiguous runs of equal combined
   load (neurons / all neurons + synapses / all synapses), good when the neuron order is
   spatial or populations are listed by layer; (b) every population cut into P runs, one
   per rank, good when populations are spatially aligned (cluster k of E with cluster k
   of I).
3. Refinement (greedy, Fiduccia–Mattheyses style): repeatedly move the chunk whose move to
   another rank removes the most expected packets between ranks, as long as every rank's
   combined load stays within 5 % of the mean and its neurons and synapses each within
   20 % (``TOLERANCE``; chunks first leave ranks above those caps); each chunk moves at most
   once per pass; passes repeat until one moves nothing. The refined start with the
   fewer expected packets between ranks wins.

Cost: O(moves · C · P) for C ≤ 4096 chunks (32 per rank): instant for tens of ranks;
for thousands of ranks a multilevel scheme would be needed (not done).
"""
import numpy as np

from ..errors import ModelError, number, suggest
from . import Partition
from .coarse import CoarseGraph

TOLERANCE = np.array([[0.05], [0.2], [0.2]])   # combined load, neurons, synapses
MAX_PASSES = 16
WEIGHT_SCALE = 2.0 ** 40
LOAD_SCALE = 1 << 24


class GraphPartition(Partition):
    name = "graph"
    reconstructible = False

    def __init__(self, n_nodes, n_ranks, bounds, parts, rates=None):
        """Chunk i (gids ``bounds[i]`` … ``bounds[i+1] − 1``) lives on rank ``parts[i]``."""
        super().__init__(n_nodes, n_ranks)
        self.bounds, self.parts, self.rates = bounds, np.asarray(parts, np.int64), rates

    @classmethod
    def from_network(cls, net, n_ranks, rates=None):
        """``rates``: expected firing rate (Hz) per population name (default 1 Hz each)."""
        _check_rates(net, rates)
        graph = CoarseGraph.for_ranks(net, n_ranks, rates)
        return cls(net.n_nodes, n_ranks, graph.bounds, partition_graph(graph, n_ranks), rates)

    def owner(self, gids):
        return self.parts[np.searchsorted(self.bounds, np.asarray(gids, np.int64), side="right") - 1]

    def describe(self):
        return {**super().describe(), "chunks": len(self.parts), "rates": self.rates,
                "tolerance": dict(zip(("load", "neurons", "synapses"), TOLERANCE.ravel().tolist()))}


def _check_rates(net, rates):
    if rates is None:
        return
    names = [p.name for p in net.node_populations()]
    if not isinstance(rates, dict):
        raise ModelError("partition.rates", f"expected {{population name: rate >= 0 Hz}}, got {rates!r}")
    for name, rate in rates.items():
        if name not in names:
            raise ModelError("partition.rates", f"unknown population {name!r}" + suggest(str(name), names))
        number(f"partition.rates.{name}", rate, ">= 0", "Hz")


def partition_graph(graph, n_ranks):
    """Rank of every chunk of ``graph`` (a :class:`CoarseGraph`), see module docstring."""
    weights = graph.packets + graph.packets.T
    np.fill_diagonal(weights, 0.0)
    top = weights.max() if weights.size else 0.0
    weights = np.floor(weights * (WEIGHT_SCALE / top)).astype(np.int64) if top > 0 else \
        np.zeros(weights.shape, np.int64)
    neurons, synapses = _normalised(graph.neurons), _normalised(np.rint(graph.synapses))
    load = np.stack([neurons + synapses, neurons, synapses])
    starts = (contiguous_parts(load[0], n_ranks), population_parts(graph.population, n_ranks))
    refined = [refine(weights, load, parts, n_ranks) for parts in starts]
    return min(refined, key=lambda parts: cut(weights, parts))


def cut(weights, parts):
    """Total weight of the edges between different parts (each edge once, integer)."""
    return int(weights[parts[:, None] != parts[None, :]].sum()) // 2


def _normalised(values):
    values = np.asarray(values, np.int64)
    total = int(values.sum())
    return values * LOAD_SCALE // total if total else values * 0


def contiguous_parts(load, n_ranks):
    """Cut vertices (in order) into ``n_ranks`` runs of nearly equal total ``load`` (ints)."""
    cum = np.cumsum(load)
    total = int(cum[-1]) if len(cum) else 0
    if total == 0:
        return np.arange(len(load), dtype=np.int64) * n_ranks // max(len(load), 1)
    return np.minimum((2 * cum - load) * n_ranks // (2 * total), n_ranks - 1)


def population_parts(population, n_ranks):
    """Each population's chunks (in order) cut into ``n_ranks`` runs of nearly equal length."""
    first = np.r_[0, np.flatnonzero(np.diff(population)) + 1]
    count = np.diff(np.r_[first, len(population)])
    index = np.arange(len(population)) - np.repeat(first, count)
    return (2 * index + 1) * n_ranks // (2 * np.repeat(count, count))


def refine(weights, load, parts, n_ranks):
    """Balance, then greedy moves that lower the cut weight within the tolerance (in place)."""
    C = len(parts)
    onehot = np.zeros((C, n_ranks), np.int64)
    onehot[np.arange(C), parts] = 1
    state = {"conn": weights @ onehot, "load": load @ onehot}  # weight to each part; (3, P) loads
    mean = load.sum(axis=1, keepdims=True) / n_ranks
    cap, floor = np.floor(mean * (1 + TOLERANCE)), np.ceil(mean * (1 - TOLERANCE))
    for _ in range(C):                                         # balance: leave overloaded parts
        over = np.any(state["load"] > cap, axis=0)
        gain = _gains(state, load, parts, cap, floor, ~over[parts], check_leave=False)
        if not over.any() or _move_best(state, weights, load, parts, gain, positive=False) is None:
            break
    for _ in range(MAX_PASSES):
        moved = np.zeros(C, bool)
        while (v := _move_best(state, weights, load, parts,
                               _gains(state, load, parts, cap, floor, moved), positive=True)) is not None:
            moved[v] = True
        if not moved.any():
            break
    return parts


def _gains(state, load, parts, cap, floor, frozen, check_leave=True):
    """(C, P) cut reduction of moving each vertex to each part; −inf where not allowed."""
    conn = state["conn"]
    gain = (conn - conn[np.arange(len(parts)), parts][:, None]).astype(np.float64)
    fits = np.all(state["load"][:, None, :] + load[:, :, None] <= cap[:, :, None], axis=0)
    allowed = fits & ~frozen[:, None]
    if check_leave:
        allowed &= np.all(state["load"][:, parts] - load >= floor, axis=0)[:, None]
    allowed[np.arange(len(parts)), parts] = False
    gain[~allowed] = -np.inf
    return gain


def _move_best(state, weights, load, parts, gain, positive):
    """Apply the move of highest gain (only a positive one if ``positive``); returns the
    moved vertex, or None."""
    v, b = divmod(int(np.argmax(gain)), gain.shape[1])
    if gain[v, b] == -np.inf or (positive and gain[v, b] <= 0):
        return None
    a = parts[v]
    state["conn"][:, a] -= weights[:, v]
    state["conn"][:, b] += weights[:, v]
    state["load"][:, a] -= load[:, v]
    state["load"][:, b] += load[:, v]
    parts[v] = b
    return v
