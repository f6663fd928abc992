"""Population-aware placement: every population spread over all ranks in blocks.

Population j (gids ``first_j`` … ``first_j + size_j − 1``) is cut into P contiguous,
nearly equal blocks (block k holds positions ⌊k·size/P⌋ … ⌊(k+1)·size/P⌋ − 1); block k
goes to rank (k + first_j) mod P, so the larger blocks of successive populations land on
different ranks. Every rank thus holds a 1/P share of every population — the neuron, synapse
and spike load of populations with different rates and in-degrees is balanced per
population — while each rank's neurons of one population stay contiguous.
"""
import numpy as np

from . import Partition


class PopulationBlocks(Partition):
    name = "population"

    def __init__(self, n_nodes, n_ranks, firsts):
        """``firsts``: first gid of each population, ascending, starting at 0."""
        super().__init__(n_nodes, n_ranks)
        self.firsts = np.asarray(firsts, np.int64)
        self.sizes = np.diff(np.r_[self.firsts, self.n_nodes])

    @classmethod
    def from_network(cls, net, n_ranks):
        return cls(net.n_nodes, n_ranks, [p.first_gid for p in net.node_populations()])

    def owner(self, gids):
        gids = np.asarray(gids, np.int64)
        pop = np.searchsorted(self.firsts, gids, side="right") - 1
        first, size, P = self.firsts[pop], self.sizes[pop], self.n_ranks
        block = ((gids - first + 1) * P - 1) // np.maximum(size, 1)
        return (block + first) % P
