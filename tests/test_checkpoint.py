"""Checkpoints and resume under real MPI ranks: exact equality with an uninterrupted run
(same and different rank counts and partitions), kill -9, a crash while a checkpoint is
written, SIGUSR1 and SIGTERM.

The reference is the uninterrupted 1-rank run of test_archive.py (``reference``).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

import bigbrain as bb
from bigbrain.checkpoint import CRASH_HOOK, checkpoint_steps, manifest
from bigbrain.cli import main as cli
from mpi_helpers import mpiexec, run_mpi
from test_archive import RESUME, SCRIPT, T_MS, assert_same_spikes, chunk_bytes, reference  # noqa: F401

pytestmark = pytest.mark.mpi


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    d = tmp_path_factory.mktemp("scripts")
    (d / "run.py").write_text(SCRIPT)
    (d / "resume.py").write_text(RESUME)
    return d / "run.py", d / "resume.py"


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory, scripts):
    """The 300 ms run on 2 ranks with checkpoints at 100, 200 and 300 ms."""
    path = tmp_path_factory.mktemp("mpi") / "run.zarr"
    run_mpi(scripts[0], 2, path, T_MS, json.dumps({"checkpoint_every": 100.0}), timeout=120)
    return path


def cut_back(src, dst, keep_until_step):
    """A copy of archive ``src`` whose later checkpoints are gone (an interrupted run)."""
    shutil.copytree(src, dst)
    for step in checkpoint_steps(zarr.open_group(str(dst), mode="r")):
        if step > keep_until_step:
            shutil.rmtree(dst / "checkpoints" / str(step))
    return dst


def test_two_ranks_write_the_same_archive_as_one(two_rank_run, reference):
    assert_same_spikes(two_rank_run, reference)
    for arr in ("spikes/E/node_ids", "spikes/E/timestamps", "spikes/I/node_ids", "samples/E/V_m"):
        assert chunk_bytes(two_rank_run, arr) == chunk_bytes(reference, arr)
    assert manifest(zarr.open_group(str(two_rank_run), mode="r"), 2000)["n_ranks"] == 2


def test_resume_on_the_same_number_of_ranks(tmp_path, scripts, two_rank_run, reference):
    path = cut_back(two_rank_run, tmp_path / "r2.zarr", 2000)
    run_mpi(scripts[1], 2, path, T_MS, timeout=120)
    assert_same_spikes(path, reference)
    for arr in ("spikes/E/node_ids", "spikes/E/timestamps", "samples/E/V_m"):
        assert chunk_bytes(path, arr) == chunk_bytes(reference, arr)
    segments = zarr.open_group(str(path), mode="r").attrs["bigbrain"]["segments"]
    assert segments[-1]["how"] == "resume" and segments[-1]["from_step"] == 2000


def test_resume_on_another_rank_count_and_partition(tmp_path, two_rank_run, reference):
    path = cut_back(two_rank_run, tmp_path / "r1.zarr", 2000)
    net = bb.resume(path, partition="blocks")
    assert net.time == 200.0 and net.n_ranks == 1
    net.run(T_MS - net.time)
    assert_same_spikes(path, reference)
    for arr in ("spikes/E/node_ids", "spikes/E/timestamps", "samples/E/V_m"):
        assert chunk_bytes(path, arr) == chunk_bytes(reference, arr)


@pytest.mark.parametrize("stdp", [True, "triplet"], ids=["stdp", "triplet"])
def test_resume_with_stdp_gives_the_same_weights(tmp_path, scripts, stdp):
    """Plastic weights after a resume (on another rank count) equal the uninterrupted run's
    (stdp_synapse and stdp_triplet_synapse)."""
    full, cut = tmp_path / "full.zarr", tmp_path / "cut.zarr"
    run_mpi(scripts[0], 2, full, T_MS, json.dumps({"checkpoint_every": 100.0, "stdp": stdp}),
            timeout=120)
    cut_back(full, cut, 2000)
    net = bb.resume(cut)
    net.run(T_MS - net.time)
    assert_same_spikes(cut, full)

    def weights(path):
        root = zarr.open_group(str(path), mode="r")
        m = manifest(root, 3000)
        arrays = {k: np.concatenate([root[f"checkpoints/3000/{p}/plastic/synapse/{k}"][...]
                                     for p in m["parts"]])
                  for k in ("post_gid", "pre_gid", "multapse", "weight")}
        order = np.lexsort((arrays["multapse"], arrays["pre_gid"], arrays["post_gid"]))
        return arrays["weight"][order]

    w_full, w_cut = weights(full), weights(cut)
    assert len(w_full) > 0 and not np.all(w_full == 1.0)
    np.testing.assert_array_equal(w_cut, w_full)


# ------------------------------------------------------------------ faults
def start(script, path, opts, env=None):
    cmd = [mpiexec(), "-n", "2", sys.executable, str(script), str(path), str(T_MS), json.dumps(opts)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def wait_for(predicate, proc, timeout=90):
    end = time.time() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early ({proc.returncode}): {proc.communicate()}")
        if time.time() > end:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(0.02)


def has_checkpoint(path, step):
    meta = Path(path) / "checkpoints" / str(step) / "zarr.json"
    return meta.exists() and '"manifest"' in meta.read_text()


def pid_of(path, rank):
    f = Path(f"{path}.pid{rank}")
    return int(f.read_text()) if f.exists() and f.read_text() else None


def test_kill_9_one_rank_then_resume(tmp_path, scripts, reference):
    path = tmp_path / "killed.zarr"
    proc = start(scripts[0], path, {"checkpoint_every": 100.0, "checkpoint_at_end": False,
                                    "piece_ms": 10.0})
    wait_for(lambda: has_checkpoint(path, 1000) and pid_of(path, 1), proc)
    os.kill(pid_of(path, 1), signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "finished" not in out
    root = zarr.open_group(str(path), mode="r")
    assert root.attrs["bigbrain"]["t_end_ms"] < T_MS
    net = bb.resume(path)
    assert net.time >= 100.0
    net.run(T_MS - net.time)
    assert_same_spikes(path, reference)


def test_crash_while_writing_a_checkpoint(tmp_path, scripts, reference, capsys):
    path = tmp_path / "crashed.zarr"
    proc = start(scripts[0], path, {"checkpoint_every": 100.0}, env={CRASH_HOOK: "1@2000"})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "finished" not in out
    root = zarr.open_group(str(path), mode="r")
    assert checkpoint_steps(root) == [1000, 2000]
    assert cli(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "checkpoint   2000: BROKEN, skipped on resume: checkpoint 2000: incomplete" in out
    reach = re.search(r"run          running, records reach ([0-9.]+) ms \(the metadata was last "
                      r"updated at 0.0 ms\)", out)
    assert reach and 100.0 < float(reach.group(1)) <= 200.0, out
    with pytest.warns(UserWarning, match="checkpoint 2000: incomplete"):
        net = bb.resume(path)
    assert net.time == 100.0
    net.run(T_MS - net.time)
    assert_same_spikes(path, reference)


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM])
def test_signal_to_one_rank_writes_a_checkpoint(tmp_path, scripts, reference, sig):
    path = tmp_path / "signalled.zarr"
    proc = start(scripts[0], path, {"checkpoint_at_end": False, "piece_ms": 10.0})
    wait_for(lambda: pid_of(path, 1) and _reached(path, 50.0), proc)
    os.kill(pid_of(path, 1), sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    root = zarr.open_group(str(path), mode="r")
    steps = checkpoint_steps(root)
    assert len(steps) == 1
    m = manifest(root, steps[0])
    assert m["reason"] == sig.name and m["n_ranks"] == 2
    meta = root.attrs["bigbrain"]
    if sig == signal.SIGUSR1:
        assert "finished 300.0" in out and meta["t_end_ms"] == T_MS
        assert_same_spikes(path, reference)
        path = cut_back(path, tmp_path / "again.zarr", steps[0])
    else:
        assert "finished" not in out and meta["status"] == "stopped by SIGTERM"
        assert meta["t_end_ms"] == steps[0] * 0.1 < T_MS
    net = bb.resume(path)
    assert net.time == steps[0] * 0.1
    net.run(T_MS - net.time)
    assert_same_spikes(path, reference)


def _reached(path, t_ms):
    try:
        return zarr.open_group(str(path), mode="r")["telemetry/t_stop_ms"][-1] >= t_ms
    except Exception:  # noqa: BLE001 - not written yet
        return False


# ------------------------------------------------------------------ damaged checkpoints
def truncate_metadata(group):
    meta = group / "zarr.json"
    meta.write_text(meta.read_text()[:40])


def drop_parts(group):
    meta = json.loads((group / "zarr.json").read_text())
    del meta["attributes"]["manifest"]["parts"]
    (group / "zarr.json").write_text(json.dumps(meta))


DAMAGE = {"truncated zarr.json": (truncate_metadata, "unreadable group metadata"),
          "manifest without parts": (drop_parts, "damaged manifest (no parts)"),
          "no zarr.json": (lambda group: (group / "zarr.json").unlink(), "unreadable group metadata")}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_newest_checkpoint_is_skipped_on_two_ranks(tmp_path, scripts, two_rank_run,
                                                            reference, damage, capsys):
    """The resume falls back to the previous checkpoint on every rank (no hang), replaces
    the damaged one when it reaches its step, and info names it."""
    path = tmp_path / "damaged.zarr"
    shutil.copytree(two_rank_run, path)
    spoil, message = DAMAGE[damage]
    spoil(path / "checkpoints" / "3000")
    assert cli(["info", str(path), "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert f"checkpoint   3000: BROKEN, skipped on resume: checkpoint 3000: {message}" in out
    assert "checkpoint   2000 (200.0 ms, interval, 2 ranks): intact" in out
    proc = run_mpi(scripts[1], 2, path, T_MS, timeout=120)
    assert f"checkpoint 3000: {message}" in proc.stderr and "skipped" in proc.stderr
    assert_same_spikes(path, reference)
    root = zarr.open_group(str(path), mode="r")
    assert root.attrs["bigbrain"]["status"] == "done"
    assert manifest(root, 3000)["n_ranks"] == 2 and checkpoint_steps(root) == [1000, 2000, 3000]
    assert cli(["info", str(path)]) == 0   # the records' lengths and checksums too


@pytest.mark.parametrize("mode", ["spikes", "quiet"])
def test_full_disk_stops_every_rank_and_keeps_the_checkpoint(tmp_path, mode):
    """Rank 0's writes fail (EFBIG, as on a full disk) in the middle of a 2-rank run, at
    the spikes or, ``quiet``, only at the telemetry written when the run ends: every rank
    raises (no hang) and the archive still resumes from the checkpoint before."""
    path = tmp_path / "full.zarr"
    script = Path(__file__).parent / "scripts" / "full_disk.py"
    proc = run_mpi(script, 2, path, *([mode] if mode == "quiet" else []), check=False, timeout=60)
    assert proc.returncode == 7, proc.stderr
    for rank in (0, 1):
        assert f"rank {rank} failed: " in proc.stdout and "File too large" in proc.stdout
    assert cli(["info", str(path)]) == 0
    if mode == "spikes":
        net = bb.resume(path)
        assert net.time == 50.0
        assert net.run(50.0).n_spikes("E") > 0


def wait_for_file(path, proc, timeout=60.0):
    """``path`` once it exists; fails if ``proc`` exits first or ``timeout`` (s) passes."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, f"{path} not written in {timeout} s"
        time.sleep(0.05)
    return path


@pytest.mark.parametrize("when", ["after", "exit"])
def test_signal_after_the_run_is_harmless(tmp_path, when):
    """SIGUSR1 and SIGTERM that arrive after ``run`` returned (``after``) or while the
    process exits (``exit``, rank 0 waiting in MPI_Finalize) neither kill a rank nor
    change the archive."""
    path = tmp_path / "late.zarr"
    script = Path(__file__).parent / "scripts" / "late_signal.py"
    proc = subprocess.Popen([mpiexec(), "-n", "2", sys.executable, str(script), str(path), when],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if when == "after":
        for rank in range(2):
            pid = int(wait_for_file(Path(f"{path}.pid{rank}"), proc).read_text())
            os.kill(pid, signal.SIGUSR1)
            os.kill(pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    root = zarr.open_group(str(path), mode="r")
    assert root.attrs["bigbrain"]["status"] == "done" and checkpoint_steps(root) == [200]
    assert manifest(root, 200)["reason"] == "end of run"
