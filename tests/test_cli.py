"""The ``bigbrain`` command under mpiexec: run, default model, progress, report, resume."""
import argparse
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bigbrain.archive import ArchiveResult, open_store
from bigbrain.cli import main as cli, parser
from bigbrain.jobs.batch import BatchJob
from bigbrain.modelfile import shipped_models
from mpi_helpers import mpiexec

SMALL = ["--set", "builder.N=1000", "--t", "150"]


EXE = str(Path(sys.executable).parent / "bigbrain")
EXAMPLE = Path(__file__).parent.parent / "examples" / "model.toml"


def command(*args, ranks=None):
    """The ``bigbrain`` command line (under mpiexec -n ranks)."""
    return ([mpiexec(), "-n", str(ranks)] if ranks else []) + [EXE, *map(str, args)]


def bigbrain(*args, ranks=None, cwd=None, code=0):
    """Run the installed ``bigbrain`` command (under mpiexec -n ranks); check its exit code."""
    cmd = command(*args, ranks=ranks)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert proc.returncode == code, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
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


@pytest.mark.mpi
def test_errors_print_once_in_the_commands_words_under_mpiexec(tmp_path):
    bigbrain("run", EXAMPLE, "--t", "1", "--progress-every", "0", cwd=tmp_path)
    err = bigbrain("run", EXAMPLE, "--t", "1", ranks=2, cwd=tmp_path, code=1).stderr
    assert err.count("exists there already") == 1, err
    assert "--overwrite" in err and "bigbrain resume model.zarr --t MS" in err and "=True" not in err
    err = bigbrain("run", EXAMPLE, "--out", "b.zarr", "--set", "network.dt=-1", ranks=2, cwd=tmp_path,
                   code=2).stderr
    assert err.count("must be a positive number of ms") == 1 and err.count("\n") == 1, err


@pytest.mark.mpi
def test_build_stages_and_projections_show_once_on_rank_0(tmp_path):
    err = bigbrain("run", EXAMPLE, "--t", "1", "--progress-every", "0", ranks=2, cwd=tmp_path).stderr
    build = [line for line in err.splitlines() if line.startswith("bigbrain: build: ")]
    assert build[0].startswith("bigbrain: build: 1000 neurons and 3 projections on 2 rank(s) [")
    assert [line.split(" [")[0] for line in build if "projection " in line] == [
        "bigbrain: build: projection 1/3 built: E->E|I (fixed_indegree)",
        "bigbrain: build: projection 2/3 built: I->E|I (fixed_indegree)",
        "bigbrain: build: projection 3/3 built: noise->E|I (all_to_all)"]
    assert sum("exchange routes built" in line for line in build) == 1


def test_progress_leaves_start_up_out_of_the_real_time_factor_and_resume_shows_it(tmp_path, capsys):
    out = str(tmp_path / "a.zarr")
    assert cli(["run", str(EXAMPLE), "--t", "100", "--out", out, "--progress-every", "1e-9"]) == 0
    lines = [l for l in capsys.readouterr().err.splitlines() if l.startswith("bigbrain: t ")]
    assert lines[0].startswith("bigbrain: t 10.0/100.0 ms  RTF ?  ") and "left ?  (start-up " in lines[0]
    assert lines[-1].startswith("bigbrain: t 100.0/100.0 ms  RTF ") and "RTF ?" not in lines[-1]
    assert cli(["report", out, "--out", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    progress_rtf = float(lines[-1].split("RTF ")[1].split()[0])
    report_rtf = float(page.split("real-time factor ")[1].split()[0])
    assert 0.67 < report_rtf / progress_rtf < 1.5, (report_rtf, progress_rtf)     # the same measure
    capsys.readouterr()
    assert cli(["resume", out, "--t", "110", "--progress-every", "1e-9"]) == 0
    captured = capsys.readouterr()
    assert "bigbrain: t 110.0/110.0 ms  RTF " in captured.err
    assert captured.out.startswith(f"{out}: resumed and ran to 110.0 ms")


@pytest.mark.mpi
@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_mpiexec_in_a_terminal_draws_the_bar(tmp_path):
    line = shlex.join(command("run", EXAMPLE, "--t", "20", ranks=2))
    proc = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert b"\r[" in proc.stdout and b"100% t 20.0/20.0 ms" in proc.stdout
    assert b"bigbrain: t " not in proc.stdout                # no log lines instead


def test_info_into_a_closed_pipe_ends_quietly(tmp_path):
    out = tmp_path / "a.zarr"
    bigbrain("run", EXAMPLE, "--t", "1", "--out", out, "--progress-every", "0")
    proc = subprocess.Popen(command("info", out, "--json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    proc.stdout.close()                                      # as `| head` does, before any output
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


def _subcommand(name):
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return actions[0].choices[name]


def test_help_lists_the_shipped_models_and_explains_every_submit_argument():
    run_help = re.sub(r"-\s+", "-", " ".join(_subcommand("run").format_help().split()))  # unwrapped
    for name in shipped_models():
        assert f"{name}," in run_help or f"{name} (default" in run_help, name
    undocumented = [a.dest for a in _subcommand("submit")._actions if not a.help]
    assert not undocumented


def test_sweep_archives_lie_beside_the_out_path(tmp_path, capsys):
    assert cli(["submit", "brunel-ai", "--dry-run", "--out", str(tmp_path / "sweep.zarr"),
                "--array", "builder.g=4,5"]) == 0
    script = capsys.readouterr().out
    assert f'ARCHIVE={tmp_path}/sweep-builder.g="$VALUE".zarr' in script and "mkdir" not in script
    job = BatchJob("brunel-ai", out=str(tmp_path / "sweep.zarr"), sweep="builder.g=4,5")
    assert job.archives() == [f"{tmp_path}/sweep-builder.g={g}.zarr" for g in (4, 5)]
