"""Population-aware placement: every population spread over all ranks in blocks.

Population j (gids ``first_j`` … ``first_j + size_j − 1``, size_j = q_j·P + m_j) is cut
into P contiguous blocks, the first m_j of q_j + 1 neurons, the others of q_j; block k
goes to rank (k + o_j) mod P with o_j = m_0 + … + m_{j−1}, so the larger blocks of
successive populations continue where the previous ones stopped and every rank's total
differs by at most one neuron. Every rank holds a 1/P share of every population — the neuron, synapse
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
        self.offsets = np.r_[0, np.cumsum(self.sizes % n_ranks)[:-1]] % n_ranks

    @classmethod
    def from_network(cls, net, n_ranks):
        return cls(net.n_nodes, n_ranks, [p.first_gid for p in net.node_populations()])

    def owner(self, gids):
        gids = np.asarray(gids, np.int64)
        pop = np.searchsorted(self.firsts, gids, side="right") - 1
        P = self.n_ranks
        i, q, m = gids - self.firsts[pop], self.sizes[pop] // P, self.sizes[pop] % P
        big = m * (q + 1)                                  # neurons in the larger blocks
        block = np.where(i < big, i // (q + 1), m + (i - big) // np.maximum(q, 1))
        return (block + self.offsets[pop]) % P
