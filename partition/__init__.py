"""Partitions: which rank owns which node (neuron or spike source).

A partition maps global node ids (gids, 0 … n_nodes−1) to ranks. Every rank can evaluate
it for any gid without communication, which is how spikes are routed and synapses placed.

* ``round_robin``: gid g lives on rank g mod P (NEST's default placement).
* ``blocks``: contiguous, nearly equal ranges of gids per rank.
* ``population`` (:mod:`.population`): every population in P blocks, one per rank.
* ``graph`` (:mod:`.graph`): a graph partition of contiguous neuron blocks that minimises
  the expected spike traffic between ranks while balancing neurons and synapses.

``Network(partition=...)`` takes a name or a dict ``{"name": ..., option: value}``
(options of the graph partition: ``rates``). :mod:`.mesh` places the ranks on a logical
2-D mesh.
"""
import inspect

import numpy as np

from ..errors import ModelError
from ..kernels.csr import count_type, grouped, grouped_by_residue


class Partition:
    name = ""
    reconstructible = True  # the owners follow from the description alone (no stored array)

    def __init__(self, n_nodes, n_ranks):
        self.n_nodes, self.n_ranks = int(n_nodes), int(n_ranks)

    def owner(self, gids):
        """Rank of each gid (int64 array; int32 for int32 gids where the partition allows)."""
        raise NotImplementedError

    def grouped(self, gids):
        """(``gids``, ascending and distinct, stably grouped by owner; how many of them each
        rank owns: int32 counts, MPI's, below 2^31 gids): the requests of a rank to the
        owners of the sources it needs (:mod:`bigbrain.exchange`). A counting sort."""
        return grouped(gids, self.owner, self.n_ranks)

    #: Whether :meth:`located` can tell a gid's position among its owner's gids.
    LOCATES = False

    def located(self, gids):
        """:meth:`grouped` with each gid given as its position among its owner's gids
        (ascending, those :meth:`local_gids` gives over all nodes: the owner's local
        index), in the narrowest unsigned type that holds every rank's: the requests of a
        rank as their owners look them up, so that no owner searches for them. Only where
        :data:`LOCATES`."""
        raise NotImplementedError

    @classmethod
    def from_network(cls, net, n_ranks):
        """The partition of network ``net`` (a ``bigbrain.Network``) on ``n_ranks`` ranks."""
        return cls(net.n_nodes, n_ranks)

    def local_gids(self, rank, first, size):
        """The gids in [first, first+size) that ``rank`` owns, ascending."""
        gids = np.arange(first, first + size, dtype=np.int64)
        return gids[self.owner(gids) == rank]

    def describe(self):
        return {"name": self.name, "n_nodes": self.n_nodes, "n_ranks": self.n_ranks}


class RoundRobin(Partition):
    name = "round_robin"

    def owner(self, gids):
        gids = np.asarray(gids)
        gids = gids if gids.dtype in (np.int32, np.int64) else gids.astype(np.int64)
        return gids % self.n_ranks

    def grouped(self, gids):
        """:meth:`Partition.grouped` without a division or a scattered write per gid
        (:func:`~bigbrain.kernels.csr.grouped_by_residue`)."""
        return grouped_by_residue(gids, self.n_ranks)

    LOCATES = True

    def located(self, gids):
        """:meth:`Partition.located`: gid g is the (g // P)-th of its owner's, found by
        :meth:`grouped`'s sweeps (no division)."""
        most = -(-self.n_nodes // self.n_ranks)  # rank 0's nodes, the most of any rank
        return grouped_by_residue(gids, self.n_ranks, np.min_scalar_type(max(most - 1, 0)))

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

    def grouped(self, gids):
        """:meth:`Partition.grouped`: ascending gids are grouped already (no copy); the
        counts from each rank's first gid."""
        gids = np.asarray(gids)
        counts = np.diff(np.searchsorted(gids, self.bounds()))
        return gids, counts.astype(count_type(len(gids)))

    def local_gids(self, rank, first, size):
        lo, hi = self.bounds()[rank:rank + 2]
        return np.arange(max(first, lo), min(first + size, hi), dtype=np.int64)


def parse(spec):
    """(name, options) of a partition given as a name or as ``{"name": ..., **options}``."""
    if isinstance(spec, dict):
        options = dict(spec)
        return options.pop("name", None), options
    return spec, {}


def make(spec, net, n_ranks):
    """The partition ``spec`` (a name or a dict, see :func:`parse`) of network ``net`` on
    ``n_ranks`` ranks."""
    name, options = parse(spec)
    cls = PARTITIONS[name]
    known = list(inspect.signature(cls.from_network).parameters)[2:]
    for key in options:
        if key not in known:
            raise ModelError(f"partition.{key}", f"not an option of partition {name!r}"
                             + (f"; expected one of {', '.join(known)}" if known else " (it has none)"))
    return cls.from_network(net, n_ranks, **options)


from .population import PopulationBlocks  # noqa: E402 - subclasses need Partition above
from .graph import GraphPartition  # noqa: E402

PARTITIONS = {cls.name: cls for cls in (RoundRobin, Blocks, PopulationBlocks, GraphPartition)}
