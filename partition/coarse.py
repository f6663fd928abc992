"""The coarse graph of a network: contiguous blocks of neurons and the traffic between them.

Built on every rank from the model description alone (no synapse is generated):

* Vertices are *chunks*: contiguous gid ranges inside one population, each population cut
  into a number of nearly equal chunks proportional to its size. Gid order is kept, so the
  neuron order of a spatially structured network (clusters, grids, ``pop[a:b]`` subsets)
  shows up in the graph.
* ``synapses[B]``: expected synapses onto chunk B (Poisson inputs included), the load
  that comes with hosting B.
* ``packets[A, B]``: expected packets per second from A to B if A and B sit on different
  ranks. With S(A→B) expected synapses, a spike of a neuron of A reaches B's rank once when
  it has at least one target there, so packets = rate(A) · min(S(A→B), |A|) (the synapse
  count weighted by the rate, saturated at one packet per spike).

Expected synapse counts: rules that draw sources uniformly (``all_to_all``,
``fixed_indegree``, ``pairwise_bernoulli``, ``fixed_total_number``) put
``expected_per_target · |B ∩ post| · |A ∩ pre| / |pre|`` synapses from A to B;
``one_to_one`` and ``explicit`` are counted exactly from their positions. Only elementwise
IEEE arithmetic and sequential sums over connections are used, so every rank computes the
same bits.
"""
import numpy as np

CHUNKS_PER_RANK = 32
MAX_CHUNKS = 4096


def chunk_bounds(firsts, n_nodes, n_chunks):
    """(bounds, population): the first gid of every chunk, then ``n_nodes``, and each
    chunk's population index; about ``n_chunks`` chunks, never crossing a population
    boundary (``firsts``: first gid of each population, ascending)."""
    firsts = np.asarray(firsts, np.int64)
    sizes = np.diff(np.r_[firsts, n_nodes])
    starts, population = [], []
    for j, (first, size) in enumerate(zip(firsts, sizes)):
        k = int(min(size, max(1, round(n_chunks * size / max(n_nodes, 1)))))
        starts.append(first + (np.arange(k, dtype=np.int64) * size) // max(k, 1))
        population.append(np.full(k, j, np.int64))
    return (np.concatenate(starts + [np.array([n_nodes], np.int64)]),
            np.concatenate(population + [np.zeros(0, np.int64)]))


class CoarseGraph:
    """Chunks ``bounds[i] … bounds[i+1] − 1`` of population ``population[i]`` with their
    ``neurons``, expected ``synapses`` (incoming, Poisson included), expected synapses
    ``between`` chunks (from row to column, node sources only), ``rate`` (Hz) and expected
    ``packets`` per second between them (see module docstring)."""

    def __init__(self, net, bounds, population, rates=None):
        self.bounds, self.population = bounds, population
        C = len(bounds) - 1
        self.neurons = np.diff(bounds)
        self.synapses = np.zeros(C)
        self.between = np.zeros((C, C))
        for conn in net.connections:
            self.synapses += self._incoming(conn)
            if conn.pre_gids is not None:  # not from a generator (Poisson, current)
                self.between += self._between(conn)
        self.rate = _per_chunk(self, net.node_populations(), rates)

    @classmethod
    def for_ranks(cls, net, n_ranks, rates=None):
        """About ``CHUNKS_PER_RANK`` chunks per rank (at most ``MAX_CHUNKS``)."""
        n_chunks = min(MAX_CHUNKS, CHUNKS_PER_RANK * n_ranks, max(net.n_nodes, 1))
        return cls(net, *chunk_bounds([p.first_gid for p in net.node_populations()], net.n_nodes, n_chunks),
                   rates)

    @property
    def packets(self):
        return self.rate[:, None] * np.minimum(self.between, self.neurons[:, None])

    def chunk(self, gids):
        """Chunk index of each gid."""
        return np.searchsorted(self.bounds, gids, side="right") - 1

    def _members(self, gids):
        """Members per chunk (float64) of ``gids`` (an array, or a selection's
        :class:`~bigbrain.population.Members`: counted from its ranges, no gid array)."""
        if hasattr(gids, "histogram"):
            return gids.histogram(self.bounds).astype(np.float64)
        return np.bincount(self.chunk(gids), minlength=len(self.neurons)).astype(np.float64)

    def _pairs(self, conn):
        """(source positions, target positions) of rules counted exactly, else None."""
        rule = conn.rule
        if rule.name == "explicit":
            return rule.sources, rule.targets
        if rule.name == "one_to_one":
            n = np.arange(len(conn.post), dtype=np.int64)
            return n, n
        return None

    def _incoming(self, conn):
        pairs = self._pairs(conn)
        if pairs is not None:
            return self._members(conn.post.members()[pairs[1]])
        return conn.rule.expected_per_target * self._members(conn.post.members())

    def _between(self, conn):
        C = len(self.neurons)
        pairs = self._pairs(conn)
        if pairs is not None:
            a = self.chunk(conn.pre_gids[pairs[0]])
            b = self.chunk(conn.post.members()[pairs[1]])
            return np.bincount(a * C + b, minlength=C * C).reshape(C, C).astype(np.float64)
        fraction = self._members(conn.pre_gids) / max(len(conn.pre), 1)
        incoming = conn.rule.expected_per_target * self._members(conn.post.members())
        return fraction[:, None] * incoming[None, :]


def _per_chunk(graph, pops, rates):
    """Expected rate (Hz) of each chunk's neurons: ``rates[population name]``, default 1."""
    rate = np.ones(len(graph.neurons))
    for pop in pops:
        lo, hi = graph.chunk([pop.first_gid, pop.first_gid + pop.size - 1]) if pop.size else (0, -1)
        rate[lo:hi + 1] = (rates or {}).get(pop.name, 1.0)
    return rate
