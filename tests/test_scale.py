"""What a rank holds must not grow with the whole network (issue 24): selections as ranges,
owners from ranges, the emulated rank of a large job (bigbrain.comm.EmulatedMPI)."""
import time

import numpy as np
import pytest

import bigbrain as bb
from bigbrain.comm import EmulatedMPI
from bigbrain.partition import Blocks, RoundRobin
from bigbrain.population import Selection


def selections(net):
    a = net.population("A", 50, "iaf_psc_delta")
    b = net.population("B", 30, "iaf_psc_delta")
    return {"whole": a, "slice": a[5:40], "step": a[40:3:-3], "ids": a[np.array([7, -1, 3])],
            "union": b[2:9] | a | b[::4], "empty": a[10:10] | b[3:5]}


@pytest.mark.parametrize("name", ["whole", "slice", "step", "ids", "union", "empty"])
def test_members_index_like_the_array_of_gids(name):
    net = bb.Network()
    sel = selections(net)[name]
    gids = np.concatenate([pop.first_gid + ids for pop, ids in sel.parts] + [np.zeros(0, np.int64)])
    members = sel.members()
    assert np.array_equal(np.asarray(members), gids) and np.array_equal(sel.gids(), gids)
    assert len(members) == len(gids) == len(sel)
    if len(gids):
        pos = np.random.default_rng(1).integers(0, len(gids), 100)
        assert np.array_equal(members[pos], gids[pos])
        assert (members.min(), members.max()) == (gids.min(), gids.max())
        assert np.array_equal(gids[members.positions(gids[pos])], gids[pos])
    assert members.repeats() == (len(np.unique(gids)) < len(gids))
    for partition in (RoundRobin(net.n_nodes, 3), Blocks(net.n_nodes, 4)):
        for rank in range(partition.n_ranks):
            expected = np.flatnonzero(partition.owner(gids) == rank)
            assert np.array_equal(members.local_positions(partition, rank), expected)


def test_members_intersect_like_their_gids():
    net = bb.Network()
    s = selections(net)
    for x in s.values():
        for y in s.values():
            expected = bool(np.intersect1d(x.gids(), y.gids()).size)
            assert x.members().intersects(y.members()) == expected


def test_a_billion_neurons_cost_nothing_until_built():
    """Before: every population and connection held an int64 id per neuron (16 GB here)."""
    net = bb.Network(comm=EmulatedMPI(500_000, 7, 10**9))
    t0 = time.perf_counter()
    e = net.population("E", 8 * 10**8, "iaf_psc_delta")
    i = net.population("I", 2 * 10**8, "iaf_psc_delta")
    conn = net.connect(e, e | i, rule="fixed_indegree", indegree=1000, weight=0.1, delay=1.5)
    assert time.perf_counter() - t0 < 1.0
    assert isinstance(e._spans[0][1], range) and conn.source_range() == (0, 8 * 10**8)
    assert np.array_equal((e | i).members().local_positions(RoundRobin(10**9, 500_000), 7),
                          np.arange(7, 10**9, 500_000))


def test_selection_parts_are_arrays_for_existing_callers():
    net = bb.Network()
    a = net.population("A", 10, "iaf_psc_delta")
    (pop, ids), = a[2:5].parts
    assert pop is a and ids.dtype == np.int64 and ids.tolist() == [2, 3, 4]
    assert Selection([(a, range(3))]).describe() == [{"population": "A", "ids": [0, 1, 2]}]


def test_static_rows_are_the_needed_sources_only():
    """Before: one row pointer (8 B) per source gid of the pre selection's range, here 10^6."""
    net = bb.Network(comm=EmulatedMPI(1000, 5, 1_000_010))
    src = net.population("S", 10**6, "iaf_psc_delta")
    tgt = net.population("T", 10, "iaf_psc_delta")
    net.connect(src, tgt, rule="fixed_indegree", indegree=3, weight=0.1, delay=1.0)
    sim = net.build()
    proj, = sim.static
    assert len(proj) == 3  # one target of T here (gid 1,000,005)
    assert len(proj.ptr) <= len(proj) + 1 and len(sim.static_sources) <= len(proj)
    pre_pos = net.connections[0].local_synapses(net.seed, net.dt, sim._local)[0]
    assert np.array_equal(proj.source_gids(), np.unique(pre_pos))  # source gids = positions here
    assert np.array_equal(np.sort(proj.synapse_sources()), np.sort(pre_pos))


@pytest.mark.mpi
def test_archived_traffic_equals_the_ranks_counters(tmp_path):
    """Telemetry reduced on the way (links, hops summed; pairs sparse) archives what each
    rank counted."""
    from mpi_helpers import run_mpi
    from pathlib import Path
    run_mpi(Path(__file__).parent / "scripts" / "telemetry_sums.py", 3, tmp_path, timeout=300)
    got = np.load(tmp_path / "sums.npz")
    assert got["pairs"].sum() > 0 and got["links"].sum() > 0
    for name in ("pairs", "links", "messages"):
        assert np.array_equal(got[name], got[f"archived_{name}"]), name
    hops = got["hops"]
    assert np.array_equal(hops[:len(got["archived_hops"])], got["archived_hops"])
    assert not hops[len(got["archived_hops"]):].any()


def test_plastic_rows_are_the_needed_sources_only():
    """Before: K+, t_last, row pointer and flag (25 B) per source gid of the pre range."""
    net = bb.Network(comm=EmulatedMPI(1000, 5, 1_000_010))
    src = net.population("S", 10**6, "iaf_psc_delta")
    tgt = net.population("T", 10, "iaf_psc_delta")
    net.connect(src, tgt, rule="fixed_indegree", indegree=3, weight=1.0, delay=1.0,
                synapse=bb.STDP())
    sim = net.build()
    proj, = sim.plasticity.projections
    assert len(proj) == 3 and len(proj.kplus) == len(proj.t_last) == len(proj.ptr) - 1 <= 3
    pre_pos = net.connections[0].local_synapses(net.seed, net.dt, sim._local)[0]
    assert np.array_equal(proj.source_gids(), np.unique(pre_pos))


def test_memory_estimate_counts_the_rows_of_needed_sources():
    """Before: 8 B per source gid of each pre selection, here 8·10^7 B per rank."""
    from bigbrain.backends import memory
    from bigbrain.models import brunel
    net = bb.Network(comm=EmulatedMPI(5000, 0, 10**7))
    brunel(net, N=10**7, CE=1000, CI=250)
    est = memory.estimate(net, 5000)
    # 2,000 targets draw 2·10^6 of 8·10^6 E and 5·10^5 of 2·10^6 I sources
    distinct = (8e6 + 2e6) * (1 - np.exp(-0.25))
    assert est.parts["rows"] == pytest.approx(8 * distinct, rel=0.01)


@pytest.mark.mpi
def test_the_emulated_rank_builds_what_the_real_rank_builds(tmp_path):
    """EmulatedMPI(P, r) holds exactly the local part that rank r of a real P-rank job
    builds (neurons, static sources and rows)."""
    from pathlib import Path

    from mpi_helpers import run_mpi
    from bigbrain.models import brunel
    run_mpi(Path(__file__).parent / "scripts" / "rank_parts.py", 3, tmp_path, timeout=300)
    for rank in range(3):
        net = bb.Network(dt=0.1, seed=4, comm=EmulatedMPI(3, rank, 600))
        brunel(net, N=600, CE=100, CI=25)
        sim = net.build()
        real = np.load(tmp_path / f"rank{rank}.npz")
        assert np.array_equal(sim.local_gids, real["local_gids"])
        assert np.array_equal(sim.static_sources, real["sources"]) and len(sim.static) == 2
        for k, proj in enumerate(sim.static):
            assert np.array_equal(proj.ptr, real[f"ptr{k}"])
            assert np.array_equal(proj.post, real[f"post{k}"])


def test_emulated_requests_arrive_as_this_ranks_own_gids():
    """What rank s sends to rank r is what r sends to its mirror 2r − s, moved to r's gids."""
    from bigbrain.comm import Comm
    comm = Comm(EmulatedMPI(5, 2, 101))
    send = np.array([5, 10, 1, 3, 98, 100, 97], np.int64)  # owners 0, 0, 1, 3, 3, 0, 2
    owner = send % 5
    order = np.argsort(owner, kind="stable")
    recv, counts = comm.alltoallv(send[order], np.bincount(owner, minlength=5))
    assert np.all(recv % 5 == 2) and recv.max() < 101
    # from s = 0 … 4 arrive the blocks sent to 4, 3, 2, 1, 0 (the mirrors), moved by
    # (2 − mirror) mod 5, less 5 past the last gid
    assert counts.tolist() == [0, 2, 1, 1, 3]
    assert recv.tolist() == [3 + 4, 98 + 4 - 5, 97, 1 + 1, 5 + 2, 10 + 2, 100 + 2 - 5]
    assert comm.allreduce_max(7) == 7 and comm.allgather("x") == ["x"] * 5


@pytest.mark.parametrize("ranks, rank", [(13, 4), (13, 9), (13, 0), (1, 0), (500, 499)])
def test_emulated_alltoallv_moves_what_the_graph_of_all_ranks_moves(ranks, rank, monkeypatch):
    """The emulated Alltoallv (every rank's block in one pass, mirrors descending from
    2r mod P and wrapping) delivers what the neighbourhood collective over the graph of
    all ranks delivers (mirrors looked up among the destinations, a chunk of sources at a
    time), whatever the chunk: gids (int64, int32), AER words and positions among the
    owner's gids (narrow unsigned) moved alike, other data unchanged; its CPU time is
    counted."""
    import bigbrain.comm as comm_module
    from bigbrain.comm import Comm
    from bigbrain.kernels.aer import pack
    rng = np.random.default_rng(3)
    n = 10_007
    gids = np.sort(rng.choice(n, 400, replace=False)).astype(np.int64)
    owner = gids % ranks
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=ranks)
    words = pack(gids, rng.integers(0, 15, 400).astype(np.int64))
    emulated = EmulatedMPI(ranks, rank, n)
    comm, everyone = Comm(emulated), np.arange(ranks)
    graph = emulated.Create_dist_graph_adjacent(everyone, everyone)
    positions = (gids[order] // ranks).astype(np.uint16)  # among the owner's gids (round robin)
    for data in (gids[order], gids[order].astype(np.int32), words[order], gids[order] * 0.5, positions):
        recv, got = comm.alltoallv(data, counts)
        assert got.tolist() == counts[(2 * rank - everyone) % ranks].tolist()
        for chunk in (1 << 18, 7, 1):
            monkeypatch.setattr(comm_module, "BLOCKS_CHUNK", chunk)
            by_graph = np.empty_like(recv)
            graph.Neighbor_alltoallv([data, counts], [by_graph, got])
            assert np.array_equal(recv, by_graph)
        if data.dtype == np.int64:
            assert np.all(recv % ranks == rank) and 0 <= recv.min() and recv.max() < n
            gid_recv = recv
    assert np.array_equal(comm.alltoallv(words[order], counts)[0] >> np.uint64(16), gid_recv.astype(np.uint64))
    # positions arrive as those of the gids they stand for, moved
    assert np.array_equal(comm.alltoallv(positions, counts)[0], gid_recv // ranks)
    assert emulated.seconds > 0


@pytest.mark.parametrize("partition", [RoundRobin, Blocks])
def test_partitions_group_requests_by_owner(partition, monkeypatch):
    """A partition's grouping of ascending gids by owner (the routing tables' requests)
    is a stable sort by owner with each rank's count: round robin's transpose in tiles of
    ranks (one, a few, many tiles; gids from one or many sweeps of P), blocks' slices;
    round robin's requests as positions among the owner's gids (``located``) the same,
    each gid replaced by its position there."""
    from bigbrain.kernels import csr
    rng = np.random.default_rng(8)
    for tile in (1 << 15, 3, 1):
        monkeypatch.setattr(csr, "RESIDUE_TILE", tile)
        for n, ranks in ((1000, 7), (5 * 10**6, 20_000), (50, 50), (12, 1)):
            part = partition(n, ranks)
            for m in (0, 1, 5, 3000):
                gids = np.unique(rng.integers(0, n, m)).astype(np.int32)
                out, counts = part.grouped(gids)
                owner = part.owner(gids)
                assert np.array_equal(out, gids[np.argsort(owner, kind="stable")])
                assert counts.dtype == np.int32
                assert counts.tolist() == np.bincount(owner, minlength=ranks).tolist()
                if part.LOCATES:  # each gid as its position among its owner's, in order
                    at, located_counts = part.located(gids)
                    assert at.dtype.kind == "u" and np.iinfo(at.dtype).max >= -(-n // ranks) - 1
                    mine = [part.local_gids(o, 0, n) for o in owner[np.argsort(owner, kind="stable")]]
                    assert np.array_equal(at, [np.searchsorted(m, g) for m, g in zip(mine, out)])
                    assert located_counts.tolist() == counts.tolist()


@pytest.mark.parametrize("partition", [RoundRobin, Blocks])
def test_sparse_exchange_peers_are_the_ranks_present(partition, monkeypatch):
    """The ranks a sparse exchange receives from (every owner of a needed source) and
    sends to (every rank in its routing table), each once, ascending: flagged a chunk
    of values at a time, whatever the chunk."""
    import bigbrain.arrays as arrays
    rng = np.random.default_rng(4)
    part = partition(10**6, 3000)
    needed = np.unique(rng.integers(0, 10**6, 5000)).astype(np.int32)
    ranks = rng.integers(0, 3000, 4000).astype(np.int16)
    for chunk in (1 << 20, 7, 1):
        monkeypatch.setattr(arrays, "PRESENT_CHUNK", chunk)
        assert arrays.present(3000, needed, part.owner).tolist() == np.unique(part.owner(needed)).tolist()
        assert arrays.present(3000, ranks).tolist() == np.unique(ranks).tolist()
    assert len(arrays.present(3000, needed[:0], part.owner)) == 0


def test_index_helpers_agree_with_numpy(monkeypatch):
    """distinct, find (sorted and chunked lookups), grouped (stable counting sort), the
    count pass's tally of sources (runs merged as a binary counter) and the union of
    projections' sources give NumPy's answers."""
    import bigbrain.arrays as arrays
    from bigbrain.kernels.csr import grouped
    import bigbrain.projection as projection
    from bigbrain.projection import Tally, union
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 10**9, 300_000)
    assert np.array_equal(arrays.distinct(ids), np.unique(ids))
    assert arrays.distinct(ids[:1]).tolist() == ids[:1].tolist() and len(arrays.distinct(ids[:0])) == 0
    table = np.unique(ids)
    monkeypatch.setattr(arrays, "LOOKUP_CHUNK", 1000)
    keys = rng.choice(table, 5000)
    assert np.array_equal(arrays.find(table, keys), np.searchsorted(table, keys))
    values, keys = rng.integers(0, 100, 5000), rng.integers(0, 7, 5000)
    out, counts = grouped(values, lambda v: v % 7, 9, chunk=300)
    keys = values % 7
    assert np.array_equal(out, values[np.argsort(keys, kind="stable")])
    assert counts.tolist() == np.bincount(keys, minlength=9).tolist()
    chunks = [rng.integers(0, 50, n) for n in (0, 30, 1, 200, 3, 7, 100, 2)] + [np.array([2**40, 3])]
    for batch in (1, 40, 1 << 22):  # a run per chunk, runs of batches, one run
        monkeypatch.setattr(projection, "TALLY_BATCH", batch)
        per_source = Tally()
        for chunk in chunks:
            per_source.add(chunk)
            assert all(len(a) > 2 * len(b) for (a, _), (b, _) in zip(per_source.runs, per_source.runs[1:]))
        gids, n = per_source.result()
        assert [gids.tolist(), n.tolist()] == [a.tolist() for a in np.unique(np.concatenate(chunks),
                                                                             return_counts=True)]
        assert gids.dtype == np.int64  # the last chunk's gid beyond int32
    assert [len(a) for a in Tally().result()] == [0, 0]
    low, high, mixed = np.arange(0, 10), np.arange(20, 30), np.arange(5, 25, 3)
    assert union([high, low]).tolist() == list(range(10)) + list(range(20, 30))
    assert np.array_equal(union([low, mixed, high]), np.unique(np.r_[low, mixed, high]))
    assert union([mixed]) is mixed and len(union([])) == 0


@pytest.mark.parametrize("table", ["round_robin", "random", "repeats", "one", "equal"])
def test_positions_in_place_are_numpys(table):
    """Request lookups (guessed from the key, walked, else a binary search) give
    np.searchsorted's positions: evenly spaced tables (a rank's round-robin gids, int64)
    and tables where the guesses miss (random, runs of equal values), int32 keys in short
    ascending runs (as requests arrive), keys beyond both ends and between the values."""
    from bigbrain.arrays import find_in_place
    rng = np.random.default_rng(11)
    tables = {"round_robin": np.r_[np.arange(7, 800_000, 500), np.arange(800_007, 10**6, 500)],
              "random": np.sort(rng.choice(10**8, 3000, replace=False)),
              "repeats": np.sort(np.repeat(rng.integers(0, 10**5, 40), rng.integers(1, 60, 40))),
              "one": np.array([123]), "equal": np.full(50, 9)}
    table = tables[table].astype(np.int64)
    hits = rng.choice(table, 20_000)
    keys = np.r_[hits, hits + 1, hits - 1, rng.integers(-5, table[-1] + 5, 5000), 0, -(2**31), 2**31 - 1]
    keys = np.concatenate([np.sort(run) for run in np.array_split(keys, len(keys) // 5)]).astype(np.int32)
    expected = np.searchsorted(table, keys)
    assert np.array_equal(find_in_place(table, keys), expected)
    assert len(find_in_place(table[:0], np.arange(3))) == 3 and not find_in_place(table[:0], np.arange(3)).any()


@pytest.mark.parametrize("batch", [1000, 1 << 22])
@pytest.mark.parametrize("span, repeats", [(10**6, 1), (300, 1), (40, 300), (50, 2_000)])
def test_tally_rows_are_the_pointers_of_the_counts(span, repeats, batch, monkeypatch):
    """The count pass's last merge writes the rows' pointers in blocks directly: the same
    sources, and the blocks (offsets of the narrowest type: 1 byte up to 255 synapses in
    a block, 2, 4 beyond) that the full pointers of NumPy's counts give."""
    from bigbrain.kernels import csr
    import bigbrain.projection as projection
    from bigbrain.projection import Tally
    monkeypatch.setattr(projection, "TALLY_BATCH", batch)  # runs of batches merged, or one run
    rng = np.random.default_rng(span)
    gids = np.repeat(rng.integers(0, span, 20_000 // min(repeats, 20)), repeats)
    rng.shuffle(gids)
    per_source = Tally()
    for at in range(0, len(gids), 1500):
        per_source.add(gids[at:at + 1500])
    sources, rows = per_source.rows()
    expected_sources, counts = np.unique(gids, return_counts=True)
    ptr = np.r_[0, np.cumsum(counts)]
    assert np.array_equal(sources, expected_sources)
    assert np.array_equal(rows.pointers(), ptr) and rows.base.dtype == np.int32
    widest = int(max(ptr[r] - ptr[r - r % 64] for r in range(len(ptr))))
    assert rows.offset.dtype == next(t for t in (np.uint8, np.uint16, np.uint32) if widest <= np.iinfo(t).max)
    assert np.array_equal(rows.offset, csr.BlockPointers(ptr).offset)
    assert [len(sources), len(rows)] == [len(expected_sources), len(ptr)]


def test_fixed_outdegree_holds_nothing_per_target_of_other_ranks():
    """fixed_outdegree counts synapses per local target only: a rank of 1,000 targets out
    of 10^7 builds in about one chunk of draws, 34 MiB (before: also a flag and a counter
    per target of the whole selection, 90 MB more)."""
    import tracemalloc
    net = bb.Network(comm=EmulatedMPI(10_000, 3, 10**7 + 50))
    pre = net.population("pre", 50, "iaf_psc_delta")
    post = net.population("post", 10**7, "iaf_psc_delta")
    net.connect(pre, post, rule="fixed_outdegree", outdegree=20_000, weight=0.1, delay=1.0)
    tracemalloc.start()
    try:
        sim = net.build()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0 < len(sim.static[0]) < 1000 and peak < 60 * 2**20


def test_graph_partition_counts_members_from_ranges():
    """The graph partition's coarse graph counts a selection's members per chunk from its
    ranges (Members.histogram, as a bincount of the gids would), never holding the gids:
    2·10^7 neurons in well under the 160 MB one gid array takes."""
    import tracemalloc

    from bigbrain.partition.graph import GraphPartition
    from bigbrain.population import Members
    bounds = np.array([0, 3, 10, 11, 40, 100])
    for parts in ([(0, range(0, 30))], [(5, range(2, 40, 3)), (50, np.array([9, 1, 1, 40]))],
                  [(10, range(5, 20)), (60, range(0, 25))]):
        members = Members(parts)
        expected = np.bincount(np.searchsorted(bounds, np.asarray(members), side="right") - 1,
                               minlength=len(bounds) - 1)
        assert members.histogram(bounds).tolist() == expected.tolist()
    net = bb.Network()
    e = net.population("E", 16 * 10**6, "iaf_psc_delta")
    i = net.population("I", 4 * 10**6, "iaf_psc_delta")
    net.connect(e, e | i, rule="fixed_indegree", indegree=100, weight=0.1, delay=1.5)
    net.connect(i[: 10**6], e, rule="fixed_indegree", indegree=25, weight=-0.5, delay=1.5)
    tracemalloc.start()
    try:
        partition = GraphPartition.from_network(net, 8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20 and sorted(set(partition.parts.tolist())) == list(range(8))


@pytest.mark.parametrize("overlap", (False, True))
def test_static_sources_are_the_union_of_the_projections(overlap, monkeypatch):
    """Projections from different populations share one array of needed sources, joined
    in place (the first's grown); overlapping ones a sorted union: either way the shared
    array and every synapse's source are those of the union built by sorting copies."""
    import bigbrain.projection as projection
    from bigbrain.models import brunel

    def built():
        net = bb.Network(dt=0.1, seed=2)
        exc, inh = brunel(net, N=500, CE=40, CI=10, J=0.1)
        if overlap:
            net.connect(exc[:50], inh, rule="fixed_indegree", indegree=5, weight=0.2, delay=2.0)
        sim = net.build()
        assert all(p.sources is sim.static_sources for p in sim.static)
        return sim.static_sources, [p.synapse_sources() for p in sim.static]

    sources, per_synapse = built()
    monkeypatch.setattr(projection, "_joined_in_place", lambda projections: None)
    expected, expected_per_synapse = built()
    assert np.array_equal(sources, expected) and len(per_synapse) == 2 + overlap
    assert all(np.array_equal(a, b) for a, b in zip(per_synapse, expected_per_synapse))
