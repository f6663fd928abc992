"""The archived rank-pair traffic (issue 24): each rank writes its own row of the pair
counters, so that no rank holds O(P²), and the rows stay exact through resume."""
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import zarr

import bigbrain as bb
from bigbrain import archive
from bigbrain.comm import EmulatedMPI
from bigbrain.traffic import read_pairs


def flush_peak(tmp_path, P, monkeypatch):
    """Peak bytes allocated while rank 0 of an emulated P-rank job writes a telemetry
    block: 2 neurons per rank, each with inputs from half the network, so nearly every
    rank pair carries spikes (pairs nz ≈ 0.87 P per rank)."""
    net = bb.Network(dt=0.1, seed=1, comm=EmulatedMPI(P, 0, 2 * P),
                     archive=bb.Archive(tmp_path / f"p{P}.zarr", flush_every=1.0))
    pop = net.population("E", 2 * P, "iaf_psc_delta", I_e=1000.0)
    net.connect(pop, pop, rule="fixed_indegree", indegree=P, weight=0.01, delay=1.0)
    sim = net.build()
    peaks, flush = [], archive.ArchiveWriter.flush

    def measured(self, final=False):
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = flush(self, final)
        peaks.append(tracemalloc.get_traced_memory()[1] - base)
        return out

    monkeypatch.setattr(archive.ArchiveWriter, "flush", measured)
    tracemalloc.start()
    try:
        net.run(5.0)
    finally:
        tracemalloc.stop()
    assert np.count_nonzero(sim.exchange.traffic.pairs) > P // 2  # a dense pair matrix
    return max(peaks)


def test_rank_0_writes_telemetry_in_memory_linear_in_the_ranks(tmp_path, monkeypatch):
    """Before: rank 0 gathered every rank's non-zero pairs, 40·P² bytes per block
    (16 MiB at P = 500, 217 MiB at 2,000); now its own row, about 0.6 KiB per rank."""
    small, large = (flush_peak(tmp_path, P, monkeypatch) for P in (500, 2000))
    assert large < 4096 * 2000 and large < 6 * small, (small, large)


@pytest.mark.mpi
def test_resumed_pair_rows_equal_the_packets_each_rank_received(tmp_path):
    """Run 2 ranks with checkpoints, cut back to the first one (the rows after it stay in
    the store, as after a crash) and resume on 3 ranks: per block and destination rank,
    the archived pair rows sum to the packets the rank received (``telemetry/ranks``,
    counted apart from the pair counters), so the rows after the checkpoint were dropped
    and none is missing; the first segment's rows are the uninterrupted run's."""
    from mpi_helpers import run_mpi
    from test_checkpoint import cut_back
    from test_archive import RESUME, SCRIPT, T_MS
    (tmp_path / "run.py").write_text(SCRIPT)
    (tmp_path / "resume.py").write_text(RESUME)
    whole = tmp_path / "whole.zarr"
    run_mpi(tmp_path / "run.py", 2, whole, T_MS, '{"checkpoint_every": 100.0}', timeout=120)
    path = cut_back(whole, tmp_path / "cut.zarr", 1000)
    run_mpi(tmp_path / "resume.py", 3, path, T_MS, timeout=120)

    def rows(p):
        root = zarr.open_group(str(p), mode="r")
        pairs = read_pairs(root["telemetry/traffic/pairs"], lambda a, _: a[:])
        ranks = {k: root[f"telemetry/ranks/{k}"][:] for k in ("block", "rank", "packets_received")}
        return pairs, ranks, root

    pairs, ranks, root = rows(path)
    assert [s["n_ranks"] for s in root.attrs["bigbrain"]["segments"]] == [2, 3]
    received = np.zeros((int(ranks["block"].max()) + 1, 3), np.int64)
    np.add.at(received, (ranks["block"], ranks["rank"]), ranks["packets_received"])
    archived = np.zeros_like(received)
    np.add.at(archived, (pairs["block"], pairs["destination"]), pairs["packets"])
    assert received.sum() > 0 and np.array_equal(archived, received)
    before, _, whole_root = rows(whole)
    n_first = int(np.count_nonzero(whole_root["telemetry/t_stop_ms"][:] <= 100.0 + 1e-9))
    assert n_first > 0 and np.array_equal(first_blocks(pairs, n_first), first_blocks(before, n_first))


@pytest.mark.mpi
def test_a_failed_write_of_another_ranks_rows_stops_every_rank(tmp_path):
    """Rank 1's writes fail (EFBIG, as on a full disk) during a 2-rank run without
    checkpoints: the first it writes is its own row of the pair counters at the end, and
    every rank raises an error naming rank 1 (no hang)."""
    from mpi_helpers import run_mpi
    script = Path(__file__).parent / "scripts" / "full_disk.py"
    proc = run_mpi(script, 2, tmp_path / "full.zarr", "rows", 1, check=False, timeout=60)
    assert proc.returncode == 7, proc.stderr
    for rank in (0, 1):
        assert f"rank {rank} failed: " in proc.stdout
    assert "rank 1: writing the archive failed" in proc.stdout and "File too large" in proc.stdout


def first_blocks(pairs, n):
    """(block, origin, destination, packets) rows of blocks below ``n``, sorted."""
    rows = np.stack([pairs[k] for k in ("block", "origin", "destination", "packets")])[:, pairs["block"] < n]
    return rows[:, np.lexsort(rows[::-1])]


#: Packets from origin (row) to destination (column) of a 2-rank run, one block.
MATRIX = np.array([[7, 0], [3, 5]])


def write_pairs(root, legacy):
    """MATRIX as ``telemetry/traffic/pairs`` rows: those of older archives (rank 0 wrote
    every rank's, with a destination column) or one group per destination rank."""
    pairs = root.require_group("telemetry/traffic/pairs")
    origin, destination = np.nonzero(MATRIX)
    if legacy:
        for name, values in (("block", [0] * 3), ("origin", origin), ("destination", destination),
                             ("packets", MATRIX[origin, destination])):
            pairs.create_array(name, data=np.asarray(values, np.int64))
        return
    for r in (0, 1):
        mine = np.flatnonzero(MATRIX[:, r])
        for name, values in (("block", [0] * len(mine)), ("origin", mine), ("packets", MATRIX[mine, r])):
            pairs.require_group(f"to_{r}").create_array(name, data=np.asarray(values, np.int64))


@pytest.mark.parametrize("legacy", [True, False], ids=["older-archive", "per-rank-rows"])
def test_both_layouts_read_as_the_same_matrix(tmp_path, legacy):
    import archive_factory as af
    import bigbrain.analysis as ba
    from bigbrain.analysis.traffic import traffic_matrix
    segment = {"from_step": 0, "n_ranks": 2, "layout": {"exchange": {"mesh": [1, 2]}}}
    root = af.create_run(tmp_path / "run.zarr", [{"name": "E", "size": 10}],
                         attrs={"segments": [segment]})
    af.write_telemetry(root, {"t_start_ms": [0.0], "t_stop_ms": [10.0]})
    write_pairs(root, legacy)
    run = ba.open(tmp_path / "run.zarr")
    assert np.array_equal(traffic_matrix(run), MATRIX)
    df = run.telemetry("traffic/pairs")
    assert sorted(zip(df["origin"], df["destination"], df["packets"])) == [(0, 0, 7), (1, 0, 3), (1, 1, 5)]
