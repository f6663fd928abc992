"""Exchange strategies: the same spikes whatever the strategy, partition and number of
ranks; every packet reaches exactly the ranks that need it; hops and link loads on the
logical mesh; failures end every rank."""
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from bigbrain.kernels import aer
from bigbrain.partition.mesh import EAST, NORTH, SOUTH, WEST, Mesh
from bigbrain.traffic import Traffic, router_loads
from mpi_helpers import run_mpi

SCRIPTS = Path(__file__).parent / "scripts"
RANKS = (1, 2, 3, 4, 9)
STRATEGIES = ("alltoall", "sparse", "mesh")
PARTITIONS = ("round_robin", "blocks", "population", "graph")
T = 100.0


@lru_cache(maxsize=None)
def spike_runs(n_ranks, tmp):
    """All strategy × partition runs of the cluster network on ``n_ranks`` ranks (one job)."""
    out = Path(tmp) / f"exchange_{n_ranks}.npz"
    run_mpi(SCRIPTS / "exchange_spikes.py", n_ranks, T, out, timeout=900)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("exchange"))
    return lambda n_ranks: spike_runs(n_ranks, tmp)


@pytest.mark.mpi
@pytest.mark.parametrize("n_ranks", RANKS)
def test_every_strategy_and_partition_gives_the_same_spikes(runs, n_ranks):
    """Reference: 1 rank, round-robin, alltoall."""
    ref, got = runs(1), runs(n_ranks)
    assert len(ref["round_robin_alltoall_times_E"]) > 5000, "the network must be active"
    for partition in PARTITIONS:
        for strategy in STRATEGIES:
            for what in ("times_E", "ids_E", "times_I", "ids_I"):
                a, b = ref[f"round_robin_alltoall_{what}"], got[f"{partition}_{strategy}_{what}"]
                assert a.dtype == b.dtype and np.array_equal(a, b), (
                    f"{what} differs: {n_ranks} ranks, {partition}, {strategy}")


@pytest.mark.mpi
@pytest.mark.parametrize("n_ranks", (4, 9))
def test_strategies_deliver_the_same_packets(runs, n_ranks):
    got = runs(n_ranks)
    for partition in PARTITIONS:
        pairs = got[f"{partition}_alltoall_pairs"]
        assert pairs.shape == (n_ranks, n_ranks) and (pairs.sum() - np.trace(pairs)) > 0
        for strategy in ("sparse", "mesh"):
            assert np.array_equal(got[f"{partition}_{strategy}_pairs"], pairs), (partition, strategy)


@lru_cache(maxsize=None)
def routing(n_ranks, tmp):
    out = Path(tmp) / f"routing_{n_ranks}.npz"
    run_mpi(SCRIPTS / "routing_check.py", n_ranks, out, timeout=300)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.mpi
@pytest.mark.parametrize("n_ranks", (6, 9))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_packets_reach_exactly_the_ranks_that_need_them(tmp_path_factory, n_ranks, strategy):
    got = routing(n_ranks, str(tmp_path_factory.getbasetemp()))
    received = got[f"{strategy}_received"]
    needed = got[f"{strategy}_needed"]
    rows, cols = got["mesh"]
    assert rows * cols == n_ranks and rows == Mesh(n_ranks).rows
    pairs = np.unique(received, axis=1)
    assert pairs.shape == received.shape, "a rank received a packet twice"
    assert np.array_equal(pairs, np.unique(needed, axis=1)), "missing or unneeded packets"
    assert got[f"{strategy}_offsets_ok"].all()
    origin = got["owner"][needed[0]]
    manhattan = np.abs(origin // cols - needed[1] // cols) + np.abs(origin % cols - needed[1] % cols)
    hops = got[f"{strategy}_hops"]
    assert np.array_equal(hops, np.bincount(manhattan, minlength=len(hops)))
    total_hops = int((np.arange(len(hops)) * hops).sum())
    links = got[f"{strategy}_links"]
    if strategy == "mesh":
        assert 0 < links.sum() < total_hops, "multicast shares links"
    else:
        assert links.sum() == total_hops, "a unicast packet crosses one link per hop"


@pytest.mark.mpi
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_failure_on_one_rank_ends_all_ranks(tmp_path, strategy):
    n_ranks = 6
    proc = run_mpi(SCRIPTS / "fail_during_run.py", n_ranks, tmp_path, strategy, timeout=180, check=False)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    for rank in range(n_ranks):
        report = (tmp_path / f"rank{rank}.txt").read_text()
        assert re.search(r"injected failure at step 5\d\d", report), f"rank {rank}: {report}"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_one_rank_delivers_and_counts_without_messages(strategy):
    """On one rank the exchange makes no MPI call: the spikes of sources with targets are
    delivered (those of a source without targets are not), counted once per message phase
    of the strategy (the mesh has two), with no message and no link crossed."""
    net = bb.Network(dt=0.1, exchange=strategy)
    src = net.spike_source("S", [[1.0, 2.0], [3.0], [4.0]])
    post = net.population("P", 2, "iaf_psc_delta", E_L=0.0, V_m=0.0, V_th=1e9, tau_m=1e9)
    net.connect(src[:2], post, rule="one_to_one", weight=1.0, delay=0.1)
    net.record(post, "V_m")
    v = net.run(6.0).V_m("P")[2][-1]
    traffic = net._simulation.exchange.traffic.snapshot()
    phases = 2 if strategy == "mesh" else 1
    assert np.allclose(v, [2.0, 1.0])
    assert traffic["pairs"].tolist() == [3] and traffic["hops"].tolist() == [3]
    assert traffic["words_sent"] == traffic["words_received"] == 3 * phases
    assert traffic["messages"] == 0 and not traffic["links"].any()


@pytest.mark.parametrize("n_ranks,shape", [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 2)),
                                            (6, (2, 3)), (9, (3, 3)), (12, (3, 4)), (1024, (32, 32))])
def test_mesh_is_the_most_square_factorisation(n_ranks, shape):
    assert Mesh(n_ranks).shape == shape


def test_segment_loads_count_each_link_crossed():
    mesh = Mesh(9)  # 3 x 3
    # along row 1: column 0 -> 2 (two east links), column 2 -> 1 (one west link)
    loads = mesh.segment_loads(0, [1, 1], [0, 2], [2, 1])
    expected = np.zeros((9, 4), np.int64)
    expected[[3, 4], EAST] = 1
    expected[5, WEST] = 1
    assert np.array_equal(loads, expected)
    # along column 2: row 0 -> 2, row 2 -> 0
    loads = mesh.segment_loads(1, [2, 2], [0, 2], [2, 0])
    expected = np.zeros((9, 4), np.int64)
    expected[[2, 5], SOUTH] = 1
    expected[[8, 5], NORTH] = 1
    assert np.array_equal(loads, expected)


def test_multicast_crosses_each_link_of_its_tree_once():
    mesh = Mesh(16)  # 4 x 4; rank 5 sits at row 1, column 1
    traffic = Traffic(mesh, None, 5)
    # packet 0 drops copies at columns 0, 2 and 3 of row 1; packet 1 at column 1 only
    traffic.multicast(0, 1, np.array([0, 0, 0, 1]), np.array([0, 2, 3, 1]), 2)
    expected = np.zeros((16, 4), np.int64)
    expected[[5, 6], EAST] = 1
    expected[5, WEST] = 1
    assert np.array_equal(traffic.links(), expected)
    assert np.array_equal(router_loads(mesh, traffic.links())[[4, 6, 7]], [1, 1, 1])
    unicast = Traffic(mesh, None, 5)
    unicast.unicast(np.bincount([4, 6, 7, 15], minlength=16))
    assert unicast.links().sum() == 1 + 1 + 2 + 4 and np.array_equal(unicast.hops()[:5], [0, 2, 1, 0, 1])


def test_aer_words_hold_gid_and_offset_in_their_bits():
    """Bits 63 … 16 the source gid, 15 … 0 the step offset; unpacking gives both back, and
    the routing kernel writes the same words."""
    gids = np.array([0, 1, 2**40 + 5, 2**47 - 1], np.int64)
    offsets = np.array([0, 65535, 7, 1], np.int64)
    words = aer.pack(gids, offsets)
    assert words.dtype == np.uint64
    assert [int(w) for w in words] == [(int(g) << 16) | int(o) for g, o in zip(gids, offsets)]
    back = aer.unpack(words)
    np.testing.assert_array_equal(back[0], gids)
    np.testing.assert_array_equal(back[1], offsets)
    ptr, ranks = np.array([0, 1, 3, 3, 4]), np.array([1, 0, 1, 0])  # node i -> its ranks
    routed, counts = aer.route(np.arange(4), gids, offsets, ptr, ranks, 2)
    np.testing.assert_array_equal(counts, [2, 2])
    np.testing.assert_array_equal(routed, words[[1, 3, 0, 1]])


@pytest.mark.mpi
def test_routing_requests_in_rounds_build_the_same_tables(tmp_path):
    """The routing requests go in rounds of a bounded size (each rank's buffers stay small
    however many sources it needs), their requests kept as positions where a rank has
    few nodes, else sent again for the second pass: the tables are those of one round
    (whose ranks are not sorted: they arrive ascending) and of requests sent as gids
    instead of the owner's positions (round robin's), and list for each source exactly
    the ranks that need it, ascending."""
    out = tmp_path / "rounds.npz"
    run_mpi(SCRIPTS / "routing_rounds.py", 3, 7, out, timeout=300)
    with np.load(out) as got:
        assert got["rounds"] > 3
        for strategy in STRATEGIES:
            assert got[f"{strategy}_same"].all(), strategy
            if strategy != "mesh":
                assert got[f"{strategy}_expected"].all(), strategy
