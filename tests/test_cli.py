"""The ``bigbrain`` command under mpiexec: run, default model, progress, report, resume."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bigbrain.archive import ArchiveResult, open_store
from bigbrain.cli import main as cli
from mpi_helpers import mpiexec

SMALL = ["--set", "builder.N=1000", "--t", "150"]


def bigbrain(*args, ranks=None, cwd=None):
    """Run the installed ``bigbrain`` command (under mpiexec -n ranks); check it succeeds."""
    exe = str(Path(sys.executable).parent / "bigbrain")
    cmd = ([mpiexec(), "-n", str(ranks)] if ranks else []) + [exe, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.mpi
def test_one_and_two_ranks_write_identical_archives(tmp_path):
    for n in (1, 2):
        bigbrain("run", "brunel-ai-stdp", *SMALL, "--out", tmp_path / f"{n}.zarr", ranks=n)
    one, two = (open_store(str(tmp_path / f"{n}.zarr")).attrs["bigbrain"] for n in (1, 2))
    for key in ("model", "model_sha256", "dt_ms", "seed", "t_end_ms", "status", "partition"):
        assert one[key] == two[key], key
    assert (one["n_ranks"], two["n_ranks"]) == (1, 2)
    for name in ("E", "I"):
        a, b = (ArchiveResult(tmp_path / f"{n}.zarr").spikes(name) for n in (1, 2))
        assert len(a[0]) > 1000
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_no_model_runs_the_default_brunel_network_with_progress(tmp_path):
    proc = bigbrain("run", "--t", "5", "--progress-every", "0.01", cwd=tmp_path)
    assert (tmp_path / "brunel-ai.zarr").is_dir()
    meta = open_store(str(tmp_path / "brunel-ai.zarr")).attrs["bigbrain"]
    assert [p["size"] for p in meta["model"]["populations"]] == [10_000, 2_500]
    lines = [l for l in proc.stderr.splitlines() if l.startswith("bigbrain: t ")]
    assert lines and lines[-1].startswith("bigbrain: t 5.0/5.0 ms  RTF ") and "spikes" in lines[-1]
    assert "left 0:00:00" in lines[-1]


def test_existing_archive_is_refused_then_resumed_and_reported(tmp_path, capsys):
    out = str(tmp_path / "a.zarr")
    assert cli(["run", "brunel-ai", *SMALL, "--out", out, "--progress-every", "0"]) == 0
    assert cli(["run", "brunel-ai", *SMALL, "--out", out]) == 1
    assert "exists there already" in capsys.readouterr().err
    assert cli(["resume", out, "--t", "200"]) == 0
    assert open_store(out).attrs["bigbrain"]["t_end_ms"] == 200.0
    assert cli(["report", out, "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "index.html").is_file()


def test_submit_dry_run_quotes_and_validates(tmp_path, capsys):
    model = tmp_path / "m; rm -rf ~.toml"
    model.write_text('[builder]\nname = "brunel"\nN = 100\n')
    assert cli(["submit", str(model), "--dry-run", "--out", str(tmp_path / "x.zarr"),
                "--ntasks-per-node", "2", "--time", "00:01:00", "--partition", "debug"]) == 0
    script = capsys.readouterr().out
    assert f"'{model}'" in script and "#SBATCH --signal=B:USR1@60" in script
    assert "#SBATCH --partition=debug" in script and "#SBATCH --requeue" in script
    for bad in (["--job-name", "a$(id)"], ["--time", "1h"], ["--account", "a b"],
                ["--array", "builder.g=1;id"], ["--out", str(tmp_path / "a b.zarr")]):
        assert cli(["submit", str(model), "--dry-run", *bad]) == 2, bad
        assert "expected" in capsys.readouterr().err
