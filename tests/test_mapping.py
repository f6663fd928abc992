"""The mapping report: cores from the neuron and fan-in capacities, hops, and link loads
that agree with the mesh exchange's multicast accounting."""
import numpy as np
import pytest

import bigbrain as bb
from bigbrain.mapping import Chip, _multicast_loads, map_network
from bigbrain.partition.mesh import Mesh
from bigbrain.traffic import Traffic


def two_populations(indegree=100):
    net = bb.Network()
    a = net.population("A", 256, "iaf_psc_delta")
    b = net.population("B", 256, "iaf_psc_delta")
    net.connect(a, b, rule="fixed_indegree", indegree=indegree)
    return net


def test_cores_follow_neuron_and_fan_in_capacity():
    report = map_network(two_populations(), Chip(neurons_per_core=256, fan_in_per_core=1 << 20))
    assert report.cores == 2 and report.shape == (1, 2)
    report = map_network(two_populations(), Chip(neurons_per_core=256, fan_in_per_core=6400))
    # B: 100 synapses per neuron -> 64 neurons per core; A has no input -> 256
    assert report.neurons_per_core == {"A": 256, "B": 64} and report.cores == 1 + 4


def test_two_neighbouring_cores():
    report = map_network(two_populations(), Chip(256, 1 << 20), rates={"A": 10.0, "B": 0.0})
    # each neuron of A has 100 expected targets among B's 256 neurons: one packet per spike
    expected = 10.0 * 256 * -np.expm1(-100 * 256 / 256)
    assert report.packets_per_s == pytest.approx(expected)
    assert report.deliveries_per_s == pytest.approx(expected) and report.mean_hops == pytest.approx(1.0)
    assert report.link_packets_per_s[0, 0, 0] == pytest.approx(expected)      # east link of core 0
    assert report.link_packets_per_s.sum() == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_expected_link_loads_match_the_mesh_exchange_multicast(seed):
    """With targets certain (p = 0 or 1), the expected loads are the loads the mesh
    exchange counts: row phase at the source, column phase at each intermediate."""
    rng = np.random.default_rng(seed)
    mesh = Mesh(12)  # 3 x 4
    source = int(rng.integers(12))
    hit = rng.random(12) < 0.4
    with np.errstate(divide="ignore"):
        expected = _multicast_loads(mesh, source, np.log1p(-hit.astype(float)))
    dest = np.flatnonzero(hit)
    origin = Traffic(mesh, None, source)
    columns = np.unique(mesh.col(dest))
    origin.multicast(0, int(mesh.col(source)), np.zeros(len(columns), np.int64), columns, 1)
    counted = origin.links()
    for c in columns:
        router = Traffic(mesh, None, int(mesh.rank(mesh.row(source), c)))
        rows = mesh.row(dest[mesh.col(dest) == c])
        router.multicast(1, int(mesh.row(source)), np.zeros(len(rows), np.int64), rows, 1)
        counted += router.links()
    assert np.array_equal(expected, counted)
