"""The run archive: layout and metadata, streamed records, refusals, bad archives, CLI.

``brunel`` (a 1,000-neuron Brunel network) and ``SCRIPT`` (the same network as an MPI
script) are shared with test_checkpoint.py.
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

import bigbrain as bb
import bigbrain.analysis as ba
from bigbrain.archive import ArchiveResult, verify
from bigbrain.checkpoint import CheckpointError, latest_checkpoint, verify_checkpoint
from bigbrain.cli import main as cli
from bigbrain.description import describe
from bigbrain.rebuild import build_network

T_MS = 300.0
CHUNK = 1000          # spikes per chunk: several chunks per population in 300 ms


def brunel(archive=None, N=1000, seed=42, partition="round_robin", comm=None, stdp=False):
    """Brunel's model A (benchmarks/nest_brunel.py) scaled to N neurons, ~40 spikes/s;
    ``stdp``: plastic E→E (True: bb.STDP, "triplet": bb.TripletSTDP)."""
    net = bb.Network(dt=0.1, seed=seed, partition=partition, archive=archive, comm=comm)
    p = dict(tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0, C_m=1.0, t_ref=2.0,
             V_m=bb.uniform(0.0, 20.0))
    exc = net.population("E", N * 4 // 5, "iaf_psc_delta", **p)
    inh = net.population("I", N // 5, "iaf_psc_delta", **p)
    noise = net.poisson("noise", rate=20_000.0)
    if stdp:
        net.connect(exc, exc, rule="fixed_indegree", indegree=N * 4 // 50, weight=1.0, delay=1.5,
                    synapse=bb.TripletSTDP(Aplus=0.01, Aminus=0.01, Aplus_triplet=0.005,
                                           Aminus_triplet=0.002, Wmax=2.0) if stdp == "triplet"
                    else bb.STDP(lambda_=0.01, alpha=1.0, mu_plus=0.0, mu_minus=0.0, Wmax=2.0))
        net.connect(exc, inh, rule="fixed_indegree", indegree=N * 4 // 50, weight=1.0, delay=1.5)
    else:
        net.connect(exc, exc | inh, rule="fixed_indegree", indegree=N * 4 // 50, weight=1.0, delay=1.5)
    net.connect(inh, exc | inh, rule="fixed_indegree", indegree=N // 50, weight=-5.0, delay=1.5)
    net.connect(noise, exc | inh, rule="all_to_all", weight=0.1, delay=1.5)
    net.record(exc, "spikes")
    net.record(inh[:50], "spikes")
    net.record(exc[:3], "V_m", interval=0.5)
    return net


def archive(path, **kw):
    return bb.Archive(path, spikes_per_chunk=CHUNK, **kw)


# The network above as an MPI script: run ARCHIVE T [options as JSON] [stdp].
SCRIPT = f"""
import json, os, sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_archive import brunel, archive
path, t_end, opts = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
piece, stdp = opts.pop("piece_ms", None), opts.pop("stdp", False)
net = brunel(archive(path, **opts), stdp=stdp)
with open(path + f".pid{{net.rank}}", "w") as f:
    f.write(str(os.getpid()))
while net.time < t_end - 1e-9:
    net.run(min(piece or t_end, t_end - net.time))
    if piece:
        time.sleep(0.05)
print("finished", net.time, flush=True)
"""

RESUME = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import bigbrain as bb
path, t_end = sys.argv[1], float(sys.argv[2])
partition = sys.argv[3] if len(sys.argv) > 3 else None
net = bb.resume(path, partition=partition, t_end=t_end)
net.run(t_end - net.time)
"""


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """An uninterrupted, archived 300 ms run on one rank, checkpoints every 100 ms."""
    path = tmp_path_factory.mktemp("ref") / "ref.zarr"
    brunel(archive(path, checkpoint_every=100.0)).run(T_MS)
    return path


def spikes_of(path):
    res = ArchiveResult(str(path))
    return {pop: res.spikes(pop) for pop in ("E", "I")}


def assert_same_spikes(path, ref):
    got, want = spikes_of(path), spikes_of(ref)
    for pop in want:
        assert len(want[pop][0]) > 1000 or pop == "I"
        np.testing.assert_array_equal(got[pop][0], want[pop][0], err_msg=f"{pop} times")
        np.testing.assert_array_equal(got[pop][1], want[pop][1], err_msg=f"{pop} ids")


def chunk_bytes(path, array):
    """{chunk key: sha256 of the stored bytes} of one array."""
    base = Path(path) / array / "c"
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*")) if p.is_file()}


def stamps(path):
    """(size, mtime, bytes) of every file below ``path``."""
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(Path(path).rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ layout and records
def test_archive_holds_the_runs_records_and_metadata(tmp_path, reference):
    plain = brunel().run(T_MS)
    root = zarr.open_group(str(reference), mode="r")
    meta = root.attrs["bigbrain"]
    assert meta["format_version"] == 1 and meta["dt_ms"] == 0.1 and meta["seed"] == 42
    assert meta["partition"] == "round_robin" and meta["n_ranks"] == 1
    assert meta["t_end_ms"] == T_MS and meta["status"] == "done" and meta["finished"]
    assert {"bigbrain", "numpy", "zarr"} <= set(meta["versions"])
    assert [p["name"] for p in meta["model"]["populations"]] == ["E", "I"]
    json.dumps(meta)
    res = ArchiveResult(str(reference))
    for pop in ("E", "I"):
        g = root[f"spikes/{pop}"]
        assert g.attrs["sorting"] == "by_time" and g.attrs["t_stop_ms"] == T_MS
        assert g["node_ids"].chunks == (CHUNK,)
        for got, want in zip(res.spikes(pop), plain.spikes(pop)):
            np.testing.assert_array_equal(got, want)
    assert root["spikes/I"].attrs["recorded"] == list(range(50))
    for got, want in zip(res.V_m("E"), plain.V_m("E")):
        np.testing.assert_array_equal(got, want)
    tel = root["telemetry"]
    n = tel["t_stop_ms"].shape[0]
    assert n == 30 and tel["t_stop_ms"][-1] == T_MS and tel["spikes"][:].sum() > 0
    assert tel["ranks/t_update_s"].shape == (n,) and (tel["t_update_s"][:] > 0).all()
    assert sorted(str(s) for s, _ in root["checkpoints"].groups()) == ["1000", "2000", "3000"]


def test_archive_bytes_do_not_depend_on_block_length(tmp_path, reference):
    path = tmp_path / "blocks.zarr"
    brunel(archive(path, flush_every=3.7, checkpoint_at_end=False)).run(T_MS)
    for arr in ("spikes/E/node_ids", "spikes/E/timestamps", "samples/E/V_m"):
        assert chunk_bytes(path, arr) == chunk_bytes(reference, arr)


def test_description_round_trip():
    net = bb.Network(dt=0.1, seed=3)
    src = net.spike_source("S", [[1.0, 2.5], [], [0.3]] * 40)
    pop = net.population("P", 30, "iaf_psc_exp", V_m=bb.normal(-65.0, 2.0), I_e=10.0)
    net.poisson("noise", 1000.0, size=2)
    n = 200
    net.connect(src, pop, rule="explicit", sources=np.arange(n) % 120, targets=np.arange(n) % 30,
                weight=np.linspace(1, 2, n), delay=np.full(n, 1.0))
    net.connect("noise", pop[::2], weight=bb.uniform(1.0, 2.0), delay=0.5)
    net.record(pop[3:30:7], "V_m", interval=0.2)
    arrays = {}
    desc = describe(net, arrays)
    json.dumps(desc)
    assert arrays and any("sources" in k for k in arrays)
    again = {}
    assert describe(build_network(desc, arrays), again) == desc
    assert all(np.array_equal(again[k], arrays[k]) for k in arrays)


# ------------------------------------------------------------------ refusals leave files alone
def test_existing_archive_is_refused_and_untouched(reference):
    before = stamps(reference)
    with pytest.raises(bb.ArchiveError, match="exists there already.*overwrite=True"):
        brunel(str(reference))
    assert stamps(reference) == before


def test_failed_build_leaves_an_archive_to_overwrite_untouched(tmp_path, reference):
    path = tmp_path / "copy.zarr"
    shutil.copytree(reference, path)
    before = stamps(path)
    net = bb.Network(archive=bb.Archive(path, overwrite=True))
    pop = net.population("P", 10, "iaf_psc_delta")
    net.connect(pop, pop, rule="fixed_indegree", indegree=2, weight=bb.normal(0.0, 1e30))
    with pytest.raises(bb.ModelError, match="weight"):
        net.run(1.0)
    assert stamps(path) == before


def test_refused_resume_leaves_the_archive_untouched(tmp_path, reference):
    path = tmp_path / "copy.zarr"
    shutil.copytree(reference, path)
    before = stamps(path)
    with pytest.raises(CheckpointError, match="cannot resume to 100.0 ms.*300.0 ms"):
        bb.resume(path, t_end=100.0)
    with pytest.raises(bb.ModelError, match=r"model\.seed.*differs from the model archived"):
        bb.resume(path, net=brunel(seed=43))
    assert stamps(path) == before


# ------------------------------------------------------------------ bad archives
@pytest.fixture
def damaged(tmp_path, reference):
    path = tmp_path / "damaged.zarr"
    shutil.copytree(reference, path)
    return path


def test_not_an_archive(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(bb.ArchiveError, match="not a bigbrain archive"):
        bb.resume(tmp_path / "x")
    with pytest.raises(bb.ArchiveError, match="no archive there"):
        bb.resume(tmp_path / "missing")


def test_missing_spike_array(damaged):
    shutil.rmtree(damaged / "spikes/E/node_ids")
    with pytest.raises(bb.ArchiveError, match="'spikes/E/node_ids' is missing"):
        ArchiveResult(str(damaged)).spikes("E")


def test_truncated_chunk_is_reported(damaged, capsys):
    chunk = damaged / "spikes/E/timestamps/c/3"
    chunk.write_bytes(chunk.read_bytes()[:-20])
    with pytest.raises(bb.ArchiveError, match="'spikes/E/timestamps' is damaged"):
        ArchiveResult(str(damaged)).spikes("E")
    assert any("spikes/E/timestamps" in p for p in verify(str(damaged)))
    assert cli(["info", str(damaged)]) == 1
    assert "damaged      spikes/E/timestamps" in capsys.readouterr().out


def test_manifest_with_wrong_checksum_is_skipped(damaged):
    group = zarr.open_group(str(damaged), mode="r+")["checkpoints/3000"]
    m = group.attrs["manifest"]
    m["parts"]["rank_0"]["ring/ex"]["sha256"] = "0" * 64
    group.attrs["manifest"] = m
    with pytest.raises(CheckpointError, match="'rank_0/ring/ex' does not match the manifest"):
        verify_checkpoint(zarr.open_group(str(damaged), mode="r"), 3000)
    with pytest.warns(UserWarning, match="checkpoint 3000.*checksum; skipped"):
        net = bb.resume(damaged, t_end=T_MS)
    assert net.time == 200.0


def test_truncated_checkpoint_chunk_is_skipped(damaged):
    part = damaged / "checkpoints/3000/rank_0/neurons/E/y3/c/0"
    part.write_bytes(part.read_bytes()[:10])
    step, reports = latest_checkpoint(zarr.open_group(str(damaged), mode="r"))
    assert step == 2000 and "'rank_0/neurons/E/y3' is damaged" in reports[0]


def test_checkpoint_of_another_model_is_refused(tmp_path, damaged):
    other = tmp_path / "other.zarr"
    brunel(archive(other), N=1000, seed=7).run(20.0)
    for step in ("1000", "2000", "3000"):
        shutil.rmtree(damaged / "checkpoints" / step)
    shutil.copytree(other / "checkpoints/200", damaged / "checkpoints/200")
    with (pytest.warns(UserWarning, match="checkpoint 200: written for a different model"),
          pytest.raises(CheckpointError, match="checkpoint 200: written for a different model")):
        bb.resume(damaged)


# ------------------------------------------------------------------ record integrity
def info_of(path, capsys):
    """(exit code, stdout) of ``bigbrain info``."""
    code = cli(["info", str(path)])
    return code, capsys.readouterr().out


def test_deleted_spike_chunk_is_reported_not_read(damaged, capsys):
    (damaged / "spikes/E/timestamps/c/2").unlink()   # zarr would read its fill value, 0.0
    with pytest.raises(bb.ArchiveError, match=r"'spikes/E/timestamps' is damaged: chunk 2 "
                                              r"\(rows 2000…2999\) does not match its checksum"):
        ArchiveResult(str(damaged)).spikes("E")
    code, out = info_of(damaged, capsys)
    assert code == 1 and "damaged      spikes/E/timestamps is damaged: chunk 2" in out
    run = ba.open(damaged)
    assert run.record("E").n_spikes == zarr.open_array(str(damaged / "spikes/E/node_ids")).shape[0]
    with pytest.raises(bb.ArchiveError, match="spikes/E/timestamps is damaged: chunk 2"):
        run.rates("E").compute()
    with pytest.raises(bb.ArchiveError, match="spikes/E/timestamps is damaged: chunk 2"):
        run.spikes("E", t=(0.0, 300.0)).compute()


@pytest.mark.parametrize("array", ["spikes/I/node_ids", "samples/E/V_m", "telemetry/spikes"])
def test_deleted_record_array_is_reported(damaged, capsys, array):
    shutil.rmtree(damaged / array)
    code, out = info_of(damaged, capsys)
    assert code == 1 and f"damaged      {array}: missing" in out
    if array == "spikes/I/node_ids":
        with pytest.raises(bb.ArchiveError, match="'spikes/I/node_ids' is missing"):
            ArchiveResult(str(damaged)).spikes("I")
        with pytest.raises(bb.ArchiveError, match="spikes/I is incomplete: missing node_ids"):
            ba.open(damaged).record("I")


def test_enlarged_shape_adds_no_spikes(damaged, reference, capsys):
    """Rows past the length written (a write a crash interrupted, or tampering) are not
    read; an array cut short of it is damaged."""
    want = zarr.open_array(str(reference / "spikes/E/timestamps"))[...]
    for name in ("node_ids", "timestamps"):
        zarr.open_array(str(damaged / "spikes/E" / name), mode="r+").resize((100_000,))
    times, ids = ArchiveResult(str(damaged)).spikes("E")
    np.testing.assert_array_equal(times, want)
    assert len(ids) == len(want) and ArchiveResult(str(damaged)).n_spikes("E") == len(want)
    run = ba.open(damaged)
    assert run.record("E").n_spikes == len(want)
    assert run.rates("E").compute().sum() == pytest.approx(len(want) / 0.3)
    code, out = info_of(damaged, capsys)
    assert code == 0 and f"E: {len(want)} spikes of 800 neurons, {round(want[0], 6)}–{want[-1]} ms" in out
    zarr.open_array(str(damaged / "spikes/E/node_ids"), mode="r+").resize((len(want) - 5,))
    code, out = info_of(damaged, capsys)
    assert code == 1 and f"spikes/E/node_ids is damaged: it holds {len(want) - 5} rows of " \
        f"the {len(want)} written" in out
    with pytest.raises(bb.ArchiveError, match="holds .* rows of the .* written"):
        ArchiveResult(str(damaged)).spikes("E")


def test_archive_without_record_checksums_still_reads(damaged, reference, capsys):
    """An archive written before ``attrs.written`` existed reads as it is."""
    root = zarr.open_group(str(damaged), mode="r+")
    for path in root.attrs["bigbrain"]["records"]:
        attrs = dict(root[path].attrs)
        del attrs["written"]
        root[path].attrs.clear()
        root[path].attrs.update(attrs)
    meta = root.attrs["bigbrain"]
    del meta["records"]
    root.attrs["bigbrain"] = meta
    assert info_of(damaged, capsys)[0] == 0
    assert_same_spikes(damaged, reference)
    assert ba.open(damaged).rates("E").compute().equals(ba.open(reference).rates("E").compute())
    shutil.rmtree(damaged / "samples/E/V_m")
    assert info_of(damaged, capsys)[0] == 1


def test_info_reports_what_a_crashed_run_stored(damaged, capsys):
    """A run that died before its first ``run`` call ended leaves the metadata of its
    start (status running, 0.0 ms); info reports the records as stored."""
    root = zarr.open_group(str(damaged), mode="r+")
    meta = root.attrs["bigbrain"]
    meta.update(status="running", t_end_ms=0.0, finished=None)
    root.attrs["bigbrain"] = meta
    for pop in ("E", "I"):
        root[f"spikes/{pop}"].attrs["t_stop_ms"] = 0.0
    times = zarr.open_array(str(damaged / "spikes/E/timestamps"))[...]
    code, out = info_of(damaged, capsys)
    assert code == 0
    assert "run          running, records reach 300.0 ms (the metadata was last updated at " \
        "0.0 ms)" in out
    assert f"spikes       E: {len(times)} spikes of 800 neurons, {round(times[0], 6)}–{times[-1]} ms" in out
    assert times[-1] > 299.0 and len(times) > 5000


def test_cli_info(reference, capsys):
    assert cli(["info", str(reference)]) == 0
    out = capsys.readouterr().out
    assert "E: " in out and "checkpoint   2000 (200.0 ms, interval, 1 ranks): intact" in out
    assert cli(["info", str(reference) + "-missing"]) == 1
    assert "no archive there" in capsys.readouterr().err


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


def stdp_network(archive=None):
    """Parrot pairs driven by spike sources, STDP from the first parrots to the second
    (port 1: not repeated), a weight recorder on the synapses onto three targets."""
    rng = np.random.default_rng(4)
    net = bb.Network(dt=0.1, seed=2, archive=archive)
    trains = [np.unique(np.round(rng.uniform(1, 300, 40), 1)) for _ in range(60)]
    pre_src, post_src = net.spike_source("S", trains[:30]), net.spike_source("T", trains[30:])
    pre, post = net.population("P", 30, "parrot_neuron"), net.population("Q", 30, "parrot_neuron")
    net.connect(pre_src, pre, "one_to_one", delay=1.0)
    net.connect(post_src, post, "one_to_one", delay=1.0)
    conn = net.connect(pre, post, "fixed_indegree", indegree=10, weight=5.0, delay=1.5, receptor=1,
                       synapse=bb.STDP(lambda_=0.05, mu_plus=0.0, mu_minus=0.0, Wmax=20.0))
    net.record_weights(conn, post=[0, 3, 7])
    return net, conn


def test_weight_samples_are_archived(tmp_path):
    net, ref_conn = stdp_network()
    ref = net.run(300.0)
    net, conn = stdp_network(bb.Archive(str(tmp_path / "w.zarr"), flush_every=50.0))
    res = net.run(300.0)
    expected = ref.weight_events(ref_conn)
    assert len(expected[0]) > 50
    for got, want in zip(res.weight_events(conn), expected):
        assert np.array_equal(got, want)
    for got, want in zip(res.weights(conn), ref.weights(ref_conn)):
        assert np.array_equal(got, want)
    stored = ArchiveResult(str(tmp_path / "w.zarr")).weight_events(conn)
    assert np.array_equal(stored[3], expected[3])
