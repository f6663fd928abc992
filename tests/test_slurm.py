"""Real SLURM jobs through ``bigbrain submit`` (start one: bash jobs/local-slurm/start.sh).

Tiny networks (1,000 neurons), 2 ranks per job. Skipped, with the reason, only when no
SLURM answers (``sinfo`` fails).
"""
import shutil
import subprocess
import time

import numpy as np
import pytest

import bigbrain as bb
from bigbrain.archive import ArchiveResult, open_store
from bigbrain.cli import main as cli
from bigbrain.modelfile import read

pytestmark = pytest.mark.slurm
SMALL = ["--set", "builder.N=1000", "--ntasks-per-node", "2", "--time", "00:10:00"]


def _sinfo_fails():
    if shutil.which("sinfo") is None:
        return "no SLURM: sinfo not found (start one with bash jobs/local-slurm/start.sh)"
    proc = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, timeout=30)
    return f"no SLURM reachable: sinfo failed ({proc.stderr.strip()})" if proc.returncode else None


@pytest.fixture(scope="module", autouse=True)
def slurm():
    reason = _sinfo_fails()
    if reason:
        pytest.skip(reason)


def submit(capsys, *args):
    """Run ``bigbrain submit``; return the job id."""
    assert cli(["submit", "brunel-ai", *SMALL, *args]) == 0
    line = capsys.readouterr().out
    assert line.startswith("submitted job ")
    return line.split()[2].rstrip(":")


FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL"}


def wait(job, timeout=240, on_pending=None, restarted=None):
    """Wait until the job (all its array tasks) has ended; with ``restarted`` (the job's log
    and the restart count), only once the log shows that restart began (a requeued job can
    show a final state for a moment before it is pending again). ``on_pending`` is called
    once, when the job first waits for its begin time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        show = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True).stdout
        states = [f.split("=", 1)[1] for f in show.split() if f.startswith("JobState=")]
        began = restarted is None or f"restart {restarted[1]} " in restarted[0].read_text()
        if states and all(s in FINAL for s in states) and began:
            return
        if on_pending and "Reason=BeginTime" in show:
            on_pending()
            on_pending = None  # once: a later call would push the start back again
        time.sleep(0.5)
    subprocess.run(["scancel", job])
    raise AssertionError(f"job {job} did not finish in {timeout} s")


def spikes(path):
    result = ArchiveResult(path)
    return {name: result.spikes(name) for name in ("E", "I")}


def uninterrupted(tmp_path, t, **builder):
    """The same model run in this process, without interruption."""
    settings = [("builder.N", "1000")] + [(f"builder.{k}", str(v)) for k, v in builder.items()]
    net = read("brunel-ai", settings).network(archive=tmp_path / f"ref{len(builder)}.zarr")
    net.run(t)
    return spikes(tmp_path / f"ref{len(builder)}.zarr")


def assert_same(a, b):
    for name in a:
        np.testing.assert_array_equal(a[name][0], b[name][0])
        np.testing.assert_array_equal(a[name][1], b[name][1])


def test_two_rank_run_makes_an_archive(tmp_path, capsys):
    out = tmp_path / "run.zarr"
    start = time.monotonic()
    job = submit(capsys, "--t", "200", "--out", str(out))
    wait(job)
    print(f"submit to finished archive: {time.monotonic() - start:.1f} s")
    meta = open_store(str(out)).attrs["bigbrain"]
    assert meta["status"] == "done" and meta["t_end_ms"] == 200.0 and meta["n_ranks"] == 2
    assert_same(spikes(out), uninterrupted(tmp_path, 200.0))


def test_warning_signal_checkpoints_requeues_and_finishes(tmp_path, capsys):
    out = tmp_path / "long.zarr"
    job = submit(capsys, "--t", "1500", "--out", str(out), "--progress-every", "1")
    log = tmp_path / f"long.zarr-{job}.log"
    end = time.monotonic() + 120
    while "bigbrain: t" not in (log.read_text() if log.exists() else "") and time.monotonic() < end:
        time.sleep(0.3)                       # running (the ranks catch signals from now on)
    subprocess.run(["scancel", "--signal=USR1", "--batch", job], check=True)
    # SLURM holds a requeued job ~2 minutes (BeginTime); let it start in a few seconds (at
    # once, the node may still refuse it: "Job credential revoked" for the run just ended).
    wait(job, restarted=(log, 1), on_pending=lambda: subprocess.run(
        ["scontrol", "update", f"jobid={job}", "starttime=now+5"], capture_output=True))
    text = log.read_text()
    assert "requeueing" in text and "restart 1" in text, text
    meta = open_store(str(out)).attrs["bigbrain"]
    assert [s["how"] for s in meta["segments"]] == ["start", "resume"], meta["segments"]
    assert meta["status"] == "done" and meta["t_end_ms"] == 1500.0
    assert_same(spikes(out), uninterrupted(tmp_path, 1500.0))


def test_job_array_sweeps_one_parameter(tmp_path, capsys):
    job = submit(capsys, "--t", "100", "--out", str(tmp_path / "sweep.zarr"), "--array", "builder.g=4,6")
    wait(job)
    counts = {}
    for g in ("4", "6"):
        path = tmp_path / f"sweep-builder.g={g}.zarr"
        weights = [p["weight"] for p in open_store(str(path)).attrs["bigbrain"]["model"]["projections"]]
        assert min(weights) == pytest.approx(-float(g) * 0.1)      # the inhibitory -g·J
        counts[g] = len(ArchiveResult(path).spikes("E")[0])
    assert counts["4"] > counts["6"]          # more inhibition, fewer spikes
    assert_same(spikes(tmp_path / "sweep-builder.g=6.zarr"), uninterrupted(tmp_path, 100.0, g=6))
