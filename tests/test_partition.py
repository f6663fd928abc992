"""Partitions: population-aware placement, the graph partition (balance, determinism,
fewer packets than round-robin) and the partition stored in the archive."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

import bigbrain as bb
from bigbrain.partition import make
from bigbrain.partition.coarse import CoarseGraph
from bigbrain.partition.graph import cut
from mpi_helpers import run_mpi

SCRIPTS = Path(__file__).parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
from traffic_networks import clusters  # noqa: E402


def cluster_net(**kwargs):
    net = bb.Network(dt=0.1, seed=5, **kwargs)
    clusters(net)
    return net


def per_rank(partition, gids, n_ranks):
    return np.bincount(partition.owner(gids), minlength=n_ranks)


@pytest.mark.parametrize("n_ranks", (1, 3, 7, 16))
def test_population_partition_spreads_every_population_in_contiguous_blocks(n_ranks):
    net = cluster_net()
    part = make("population", net, n_ranks)
    total = np.zeros(n_ranks, np.int64)
    for pop in net.node_populations():
        gids = pop.gids()
        owner = part.owner(gids)
        counts = np.bincount(owner, minlength=n_ranks)
        assert counts.max() - counts.min() <= 1
        assert np.count_nonzero(np.diff(owner)) == min(n_ranks, pop.size) - 1, "blocks are contiguous"
        for rank in range(n_ranks):
            assert np.array_equal(part.local_gids(rank, pop.first_gid, pop.size), gids[owner == rank])
        total += counts
    assert total.max() - total.min() <= 1


@pytest.mark.parametrize("n_ranks", (2, 4, 9))
def test_graph_partition_is_balanced_deterministic_and_cuts_less_than_round_robin(n_ranks):
    net = cluster_net()
    part = make("graph", net, n_ranks)
    again = make("graph", cluster_net(), n_ranks)
    assert np.array_equal(part.parts, again.parts)
    gids = np.arange(net.n_nodes)
    neurons = per_rank(part, gids, n_ranks)
    assert neurons.max() <= 1.2 * net.n_nodes / n_ranks + 1 and neurons.min() >= 0.8 * net.n_nodes / n_ranks - 1
    graph = CoarseGraph(net, part.bounds, np.zeros(len(part.parts), np.int64))
    synapses = np.bincount(part.parts, weights=graph.synapses, minlength=n_ranks)
    assert synapses.max() <= 1.2 * synapses.mean() and synapses.min() >= 0.8 * synapses.mean()
    weights = np.rint(graph.packets + graph.packets.T).astype(np.int64)
    round_robin = (1 - 1 / n_ranks) * weights.sum() / 2  # every chunk spread over all ranks
    assert cut(weights, part.parts) < 0.5 * round_robin


def test_graph_partition_with_rates_and_bad_rates():
    net = cluster_net(partition={"name": "graph", "rates": {"E": 20.0, "I": 40.0}})
    assert make(net.partition["name"], net, 3).parts.shape == make("graph", net, 3).parts.shape
    with pytest.raises(bb.ModelError, match="partition.rates"):
        make({"name": "graph", "rates": {"X": 1.0}}, net, 3)
    with pytest.raises(bb.ModelError, match="partition"):
        bb.Network(partition={"name": "metis"})


def test_archive_stores_the_partition_and_traffic(tmp_path):
    path = tmp_path / "run.zarr"
    net = bb.Network(dt=0.1, seed=5, partition="graph", exchange="mesh", archive=path)
    clusters(net, n_clusters=4, n_exc=40, n_inh=10, k_exc=10, k_inh=3, k_next=2)
    net.run(20.0)
    root = zarr.open_group(str(path), mode="r")
    layout = root.attrs["bigbrain"]["segments"][0]["layout"]
    assert layout["exchange"] == {"strategy": "mesh", "mesh": [1, 1]}
    assert layout["partition"]["name"] == "graph" and layout["partition"]["n_ranks"] == 1
    owner = root[layout["partition"]["owner"]["array_ref"]][:]
    assert owner.shape == (net.n_nodes,) and not owner.any()
    pairs = root["telemetry/traffic/pairs/to_0"]  # each rank writes its own row
    spikes = int(root["telemetry/spikes"][:].sum())
    assert pairs["packets"][:].sum() > 0 and np.all(pairs["origin"][:] == 0)
    assert root["telemetry/traffic/hops/hops"][:].max() == 0
    assert root["telemetry/traffic"].attrs["bytes_per_packet"] == 8
    assert spikes > 0


@pytest.mark.mpi
def test_graph_partition_sends_fewer_packets_than_round_robin(tmp_path, record_property):
    out = tmp_path / "traffic.json"
    run_mpi(SCRIPTS / "partition_traffic.py", 4, out, timeout=600)
    got = json.loads(out.read_text())
    for model in ("microcircuit", "clusters"):
        rr, graph = got[f"{model}_round_robin"]["packets"], got[f"{model}_graph"]["packets"]
        record_property(f"{model}_packets_round_robin_vs_graph", f"{rr} -> {graph} ({graph / rr - 1:+.0%})")
        print(f"{model}: packets between 4 ranks, round-robin {rr}, graph {graph} ({graph / rr - 1:+.0%})")
        assert graph < rr
    assert got["clusters_graph"]["packets"] < 0.5 * got["clusters_round_robin"]["packets"]
