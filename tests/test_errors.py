"""Bad input names the bad field on every rank; a failure on one rank ends all, no hang."""
import json
import math
import pickle
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from bigbrain.archive import open_store
from bigbrain.cli import main as cli
from mpi_helpers import run_mpi

SCRIPTS = Path(__file__).parent / "scripts"
N_RANKS = 2

CASES = {
    "negative_tau": r"population 'E'\.tau_m: must be > 0 ms, got -5\.0",
    "unknown_parameter": r"population 'E'\.tau_mem: unknown parameter .*did you mean 'tau_m'",
    "unknown_population": r"connect\[0\]\.pre: unknown population 'X'",
    "delay_below_dt": r"connect\[0\] E->E\.delay: delay 0\.04 ms is below the resolution",
    "drawn_delay_below_dt": (r"connect\[0\] E->E\.delay: a delay drawn from normal\(mean=0\.4, "
                             r"std=0\.2\) is below"),
    "probability_above_one": r"connect\[0\] E->E\.p: must be in \[0, 1\], got 1\.5",
    "indegree_too_large": r"connect\[0\] E->E\.indegree: 300 is larger than the 200 possible",
}


@pytest.mark.mpi
@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_field_on_every_rank(case, tmp_path):
    run_mpi(SCRIPTS / "bad_input.py", N_RANKS, case, tmp_path, timeout=120)
    for rank in range(N_RANKS):
        report = (tmp_path / f"rank{rank}.txt").read_text()
        assert re.search(CASES[case], report), f"rank {rank}: {report}"


@pytest.mark.mpi
def test_uncaught_bad_input_ends_the_job_without_hanging(tmp_path):
    proc = run_mpi(SCRIPTS / "bad_input.py", N_RANKS, "negative_tau", tmp_path, "uncaught",
                   timeout=120, check=False)
    assert proc.returncode != 0
    assert "tau_m: must be > 0 ms" in proc.stderr


@pytest.mark.mpi
def test_exception_on_one_rank_during_run_ends_all_ranks_with_its_message(tmp_path):
    proc = run_mpi(SCRIPTS / "fail_during_run.py", N_RANKS, tmp_path, timeout=120, check=False)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    for rank in range(N_RANKS):
        report = (tmp_path / f"rank{rank}.txt").read_text()
        assert re.search(r"injected failure at step 5\d\d", report), f"rank {rank}: {report}"


@pytest.mark.parametrize("kwargs,field", [
    (dict(dt=0.0), "dt"), (dict(seed=-1), "seed"), (dict(partition="roundrobin"), "partition")])
def test_bad_network_arguments(kwargs, field):
    with pytest.raises(bb.ModelError) as err:
        bb.Network(**kwargs)
    assert err.value.field == field


def test_unknown_model_suggests_the_nearest():
    with pytest.raises(bb.ModelError, match="did you mean 'iaf_psc_exp'"):
        bb.Network().population("E", 10, "iaf_psc_ex")


def test_unknown_recorded_population_in_result():
    net = bb.Network()
    net.record(net.population("E", 10, "iaf_psc_delta"), "spikes")
    with pytest.raises(bb.ModelError, match="unknown population 'F'"):
        net.run(1.0).spikes("F")


@pytest.mark.mpi
def test_bad_inputs_raise_the_same_error_on_one_and_two_ranks(tmp_path):
    """Every case of scripts/bad_input_table.py: the class and message of 1 rank on both of 2."""
    reports = {}
    for n in (1, 2):
        out = tmp_path / str(n)
        out.mkdir()
        run_mpi(SCRIPTS / "bad_input_table.py", n, out, timeout=120)
        reports[n] = [json.loads((out / f"rank{r}.json").read_text()) for r in range(n)]
    one = reports[1][0]
    disagree = one.pop("ranks_disagree")
    assert disagree == ["ModelError", "x: rank 0", True, "x"]
    for case, (kind, message, _) in one.items():
        assert kind in ("ModelError", "ArchiveError"), (case, kind, message)
        for rank, report in enumerate(reports[2]):
            assert report[case] == one[case], (case, rank, report[case])
    for report in reports[2]:  # ranks whose ModelErrors differ: a RankError, still a ModelError
        assert report["ranks_disagree"] == ["RankError[ModelError]", "rank 0: ModelError: x: rank 0; "
                                            "rank 1: ModelError: x: rank 1", True, "x"]


def test_network_too_large_for_memory_is_refused_before_the_build():
    net = bb.Network()
    exc = net.population("E", 10**7, "iaf_psc_delta")
    net.connect(exc, exc, rule="fixed_indegree", indegree=10**4)
    start = time.perf_counter()
    with pytest.raises(bb.ModelError, match=r"^backend: the network needs about 374\.\d\d GiB per "
                       r"rank .* on the CPU, which has \d+\.\d\d GiB available per rank") as err:
        net.run(1.0)
    assert time.perf_counter() - start < 10
    assert net._simulation is None and "1e+11 synapses" in str(err.value)


def test_population_too_large_to_describe_is_refused():
    with pytest.raises(bb.ModelError, match=r"^population 'E'\.size: 1000000000000 nodes do not fit"):
        bb.Network().population("E", 10**12, "iaf_psc_delta")


def test_time_not_on_the_dt_grid_is_refused():
    """As in NEST: four run(0.25) calls with dt 0.1 would otherwise reach 0.8 ms, not 1.0."""
    net = bb.Network(dt=0.1)
    net.population("E", 2, "iaf_psc_delta")
    net.run(0.3)
    with pytest.raises(bb.ModelError, match=r"^run\.t: 0\.25 ms is not a multiple of .* dt = 0\.1"):
        net.run(0.25)
    assert net.time == pytest.approx(0.3)


@pytest.mark.parametrize("make,field", [
    (lambda: bb.Network(dt=True), "dt"),
    (lambda: bb.Network(seed=True), "seed"),
    (lambda: bb.Network().population("E", True, "iaf_psc_delta"), "population 'E'.size"),
    (lambda: bb.Network().poisson("P", 10.0, size=True), "poisson 'P'.size"),
    (lambda: bb.Network().population("E", 2, "iaf_psc_delta", I_e=math.inf), "population 'E'.I_e"),
    (lambda: bb.Network().population("E", 2, "iaf_psc_delta", V_m=math.nan), "population 'E'.V_m"),
    (lambda: bb.Network().population("E", 2, "iaf_psc_delta", V_m=bb.uniform(0, math.inf)), "uniform.high"),
    (lambda: bb.normal(0.0, math.inf), "normal.std"),
    (lambda: bb.clipped_normal(0.0, 1.0, 0.0, "1"), "clipped_normal.high"),
    (lambda: bb.Network().population("E", 10, "iaf_psc_delta")[2:11], "population 'E'[2:11]"),
    (lambda: bb.Network().population("E", 10, "iaf_psc_delta")[[1, -11]], "population 'E'[ids]"),
])
def test_bad_value_names_its_field(make, field):
    with pytest.raises(bb.ModelError) as err:
        make()
    assert err.value.field == field, str(err.value)


def test_archive_block_must_be_finite(tmp_path):
    with pytest.raises(bb.ArchiveError, match=r"^archive\.flush_every: must be > 0 ms, got inf"):
        bb.Archive(tmp_path / "a.zarr", flush_every=math.inf)


def test_graph_partition_options_are_checked():
    net = bb.Network(partition={"name": "graph", "rate": {"E": 5.0}})
    net.population("E", 10, "iaf_psc_delta")
    with pytest.raises(bb.ModelError, match=r"^partition\.rate: not an option of partition 'graph'"):
        net.run(1.0)


def test_model_error_survives_pickling():
    """Ranks send their errors to each other pickled (bigbrain.comm)."""
    from bigbrain.modelfile import ModelFileError
    for err in (bb.ModelError("a.b", "bad"), ModelFileError("m.toml", "run.t", "bad")):
        back = pickle.loads(pickle.dumps(err))
        assert (type(back), str(back), back.field) == (type(err), str(err), err.field)


def test_run_refuses_a_time_that_is_not_a_duration(tmp_path, capsys):
    for t in ("nan", "-5"):
        assert cli(["run", "brunel-ai", "--t", t, "--out", str(tmp_path / "a.zarr")]) == 1
        assert f"bigbrain run: --t: must be a time >= 0 ms, got {float(t)}" in capsys.readouterr().err
    assert not (tmp_path / "a.zarr").exists()


def test_resume_refuses_a_model_that_differs_from_the_archive(tmp_path, capsys):
    out = str(tmp_path / "a.zarr")
    small = ["run", "brunel-ai", "--t", "10", "--out", out, "--progress-every", "0"]
    assert cli([*small, "--set", "builder.N=1000"]) == 0
    capsys.readouterr()
    assert cli([*small, "--set", "builder.N=2000", "--resume"]) == 1
    assert ("bigbrain run: model.populations[0].size: the network differs from the model "
            f"archived in {out}") in capsys.readouterr().err
    assert open_store(out).attrs["bigbrain"]["model"]["populations"][0]["size"] == 800


def test_submit_checks_the_model_before_submitting(capsys):
    assert cli(["submit", "brunel-ai", "--set", "network.partition=metis", "--dry-run"]) == 2
    assert "partition: unknown partition 'metis'" in capsys.readouterr().err


@pytest.mark.mpi
@pytest.mark.parametrize("args,message", [
    (["--out", "/proc/bigbrain-test.zarr"], "/proc/bigbrain-test.zarr: cannot create the archive"),
    (["--set", "builder.N=10000000"], "backend: the network needs about")])
def test_command_prints_a_clean_message_under_mpiexec(tmp_path, args, message):
    """Errors raised while building (on one rank or several) reach the command's handler."""
    proc = run_mpi(Path(sys.executable).parent / "bigbrain", N_RANKS, "run", "brunel-ai",
                   "--set", "builder.N=100", "--t", "1", "--out", tmp_path / "a.zarr", *args,
                   timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and message in proc.stderr, proc.stderr


def test_memory_check_takes_an_empty_explicit_connection():
    """The CPU memory estimate runs before every build: arrays of no delays have no bounds."""
    net = bb.Network()
    exc = net.population("E", 5, "iaf_psc_delta")
    net.connect(exc, exc, rule="explicit", sources=[], targets=[], delay=np.zeros(0), weight=np.zeros(0))
    net.record(exc)
    assert net.run(1.0).spikes("E")[0].size == 0
