"""How a network would map onto a neuromorphic chip: cores, link traffic, hop counts.

A chip-like target is a 2-D mesh of cores (:class:`Chip`): each core holds at most
``neurons_per_core`` neurons and ``fan_in_per_core`` synapses ending on them (its synaptic
memory), and cores exchange spikes as multicast packets routed along the row, then along
the column (as bigbrain's ``mesh`` exchange does between ranks).

:func:`map_network` works from the model description alone (no synapse is generated):

1. Placement: every population is packed into its own cores, ``min(neurons_per_core,
   fan_in_per_core // in-degree)`` neurons per core (in-degree: expected synapses per
   neuron from node sources; Poisson inputs are taken as generated on the core). Cores are
   laid out in gid order along a snake path (row 0 left to right, row 1 right to left, …)
   of the most square mesh that holds them, so consecutive cores are neighbours.
2. Traffic: with S(a→b) expected synapses from core a to core b, a spike of a neuron of a
   reaches b with probability p = 1 − exp(−S/|a|). A packet leaves a once and is
   multicast: it crosses an east link of its row when some destination lies further east,
   a south link of a column when some destination in that column lies further south, and
   so on; the expected packets per second of every link follow from the p of the cores
   beyond it (independent targets). Hops: each delivery to another core travels the
   Manhattan distance.

Example — the cortical microcircuit at 10 % on cores of 256 neurons and 64k synapses::

    import bigbrain as bb
    from bigbrain.mapping import Chip, map_network
    from bigbrain.models.microcircuit import microcircuit, POPULATIONS, RATES

    net = bb.Network()
    microcircuit(net, scale=0.1)
    report = map_network(net, Chip(neurons_per_core=256, fan_in_per_core=65_536),
                         rates=dict(zip(POPULATIONS, RATES)))
    print(report.summary())
    # cores, mesh shape, packets/s injected, mean and max packets/s per link, mean hops
"""
from dataclasses import dataclass

import numpy as np

from .partition.coarse import CoarseGraph
from .partition.mesh import EAST, NORTH, SOUTH, WEST, Mesh


@dataclass(frozen=True)
class Chip:
    """A mesh of identical cores: neurons and synapses (fan-in) each core can hold, and
    the mesh shape (rows, cols), or None for the most square mesh that fits."""

    neurons_per_core: int = 256
    fan_in_per_core: int = 65_536
    shape: tuple | None = None


@dataclass
class MappingReport:
    """The result of :func:`map_network`; rates are per second of biological time."""

    cores: int
    shape: tuple
    neurons_per_core: dict          # population -> neurons per core
    packets_per_s: float            # packets injected (multicast: one per spike leaving its core)
    deliveries_per_s: float         # packet copies delivered to other cores
    link_packets_per_s: np.ndarray  # (rows, cols, 4): east, west, south, north
    mean_hops: float                # per delivery to another core

    @property
    def mean_link_packets_per_s(self):
        """Mean over the links inside the mesh."""
        return float(self.link_packets_per_s[_inside(*self.shape)].mean())

    @property
    def max_link_packets_per_s(self):
        return float(self.link_packets_per_s.max())

    def summary(self):
        return (f"{self.cores} cores on a {self.shape[0]} x {self.shape[1]} mesh; "
                f"{self.packets_per_s:.4g} packets/s injected, {self.deliveries_per_s:.4g} deliveries/s; "
                f"per link {self.mean_link_packets_per_s:.4g} packets/s mean, "
                f"{self.max_link_packets_per_s:.4g} max; {self.mean_hops:.3g} hops per delivery")


def map_network(net, chip=Chip(), rates=None):
    """Map ``net`` (a described ``bigbrain.Network``) onto ``chip``; ``rates``: expected
    firing rate (Hz) per population name (default 1 Hz). Returns a :class:`MappingReport`."""
    pops = net.node_populations()
    per_core = _neurons_per_core(net, chip)
    bounds, population = _cores(pops, per_core, net.n_nodes)
    graph = CoarseGraph(net, bounds, population, rates)
    n = len(graph.neurons)
    mesh = Mesh.of_shape(*(chip.shape or _square(n)))
    if mesh.n_ranks < n:
        raise ValueError(f"the network needs {n} cores, the chip has {mesh.n_ranks}")
    where = _snake(mesh, n)
    p = np.zeros((n, mesh.n_ranks))
    p[:, where] = -np.expm1(-graph.between / graph.neurons[:, None])
    p[np.arange(n), where] = 0.0                                      # local deliveries
    spikes = graph.rate * graph.neurons                                # per second, per core
    hops = mesh.hops(where[:, None], np.arange(mesh.n_ranks)[None, :])
    deliveries = spikes[:, None] * p
    with np.errstate(divide="ignore"):
        miss = np.log1p(-p)                                            # log P(no target on b)
    links = sum(s * _multicast_loads(mesh, r, m) for s, r, m in zip(spikes, where, miss))
    return MappingReport(
        cores=n, shape=mesh.shape, neurons_per_core={pop.name: per_core[pop.name] for pop in pops},
        packets_per_s=float(spikes @ -np.expm1(miss.sum(axis=1))),
        deliveries_per_s=float(deliveries.sum()),
        link_packets_per_s=np.asarray(links).reshape(*mesh.shape, 4),
        mean_hops=float((deliveries * hops).sum() / max(deliveries.sum(), 1e-300)))


def _neurons_per_core(net, chip):
    """Population name -> neurons per core allowed by the neuron and fan-in capacities."""
    pops = net.node_populations()
    graph = CoarseGraph(net, np.r_[[p.first_gid for p in pops], net.n_nodes], np.arange(len(pops)))
    indegree = graph.between.sum(axis=0) / np.maximum(graph.neurons, 1)
    fit = np.floor(chip.fan_in_per_core / np.maximum(indegree, 1e-300))
    return {pop.name: int(max(1, min(chip.neurons_per_core, f))) for pop, f in zip(pops, fit)}


def _cores(pops, per_core, n_nodes):
    """(bounds, population index) of the cores: each population in runs of its per-core size."""
    starts = [pop.first_gid + np.arange(0, pop.size, per_core[pop.name]) for pop in pops]
    population = [np.full(len(s), j) for j, s in enumerate(starts)]
    return np.r_[np.concatenate(starts), n_nodes].astype(np.int64), np.concatenate(population)


def _square(n):
    cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / cols)), cols


def _snake(mesh, n):
    """Mesh node of core i (0 … n−1) on the snake path."""
    i = np.arange(n)
    row, col = i // mesh.cols, i % mesh.cols
    return mesh.rank(row, np.where(row % 2 == 1, mesh.cols - 1 - col, col))


def _multicast_loads(mesh, source, miss):
    """Expected crossings per packet of each link, (P, 4), for a packet from node ``source``
    that misses node b with log-probability ``miss[b]`` (independently), row first."""
    miss = miss.reshape(mesh.rows, mesh.cols)
    r, c = int(mesh.row(source)), int(mesh.col(source))
    loads = np.zeros((mesh.rows, mesh.cols, 4))
    column_miss = miss.sum(axis=0)
    beyond_east = np.cumsum(column_miss[::-1])[::-1]                       # columns >= k
    beyond_west = np.cumsum(column_miss)                                    # columns <= k
    loads[r, c:-1, EAST] = -np.expm1(beyond_east[c + 1:])
    loads[r, 1:c + 1, WEST] = -np.expm1(beyond_west[:c])
    below = np.cumsum(miss[::-1], axis=0)[::-1]                              # rows >= k
    above = np.cumsum(miss, axis=0)                                          # rows <= k
    loads[r:-1, :, SOUTH] = -np.expm1(below[r + 1:])
    loads[1:r + 1, :, NORTH] = -np.expm1(above[:r])
    return loads.reshape(-1, 4)


def _inside(rows, cols):
    """Mask (rows, cols, 4) of the links that stay inside the mesh."""
    mask = np.ones((rows, cols, 4), bool)
    mask[:, -1, EAST] = mask[:, 0, WEST] = mask[-1, :, SOUTH] = mask[0, :, NORTH] = False
    return mask
