"""Partitions: which rank owns which node (neuron or spike source).

A partition maps global node ids (gids, 0 … n_nodes−1) to ranks. Every rank can evaluate
it for any gid without communication, which is how spikes are routed and synapses placed.

* ``round_robin``: gid g lives on rank g mod P (NEST's default placement).
* ``blocks``: contiguous, nearly equal ranges of gids per rank.
"""
import numpy as np


class Partition:
    name = ""

    def __init__(self, n_nodes, n_ranks):
        self.n_nodes, self.n_ranks = int(n_nodes), int(n_ranks)

    def owner(self, gids):
        """Rank of each gid (int64 array)."""
        raise NotImplementedError

    def local_gids(self, rank, first, size):
        """The gids in [first, first+size) that ``rank`` owns, ascending."""
        gids = np.arange(first, first + size, dtype=np.int64)
        return gids[self.owner(gids) == rank]

    def describe(self):
        return {"name": self.name, "n_nodes": self.n_nodes, "n_ranks": self.n_ranks}


class RoundRobin(Partition):
    name = "round_robin"

    def owner(self, gids):
        return np.asarray(gids, np.int64) % self.n_ranks

    def local_gids(self, rank, first, size):
        start = first + (rank - first) % self.n_ranks
        return np.arange(start, first + size, self.n_ranks, dtype=np.int64)


class Blocks(Partition):
    name = "blocks"

    def bounds(self):
        """First gid of each rank's block, and n_nodes at the end (n_ranks + 1 values)."""
        return (np.arange(self.n_ranks + 1, dtype=np.int64) * self.n_nodes) // self.n_ranks

    def owner(self, gids):
        return np.searchsorted(self.bounds(), np.asarray(gids, np.int64), side="right") - 1

    def local_gids(self, rank, first, size):
        lo, hi = self.bounds()[rank:rank + 2]
        return np.arange(max(first, lo), min(first + size, hi), dtype=np.int64)


PARTITIONS = {cls.name: cls for cls in (RoundRobin, Blocks)}


def make(name, n_nodes, n_ranks):
    """The partition called ``name`` for ``n_nodes`` nodes on ``n_ranks`` ranks."""
    return PARTITIONS[name](n_nodes, n_ranks)
