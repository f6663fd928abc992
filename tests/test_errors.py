"""Bad input names the bad field on every rank; a failure on one rank ends all, no hang."""
import re
from pathlib import Path

import pytest

import bigbrain as bb
from mpi_helpers import run_mpi

SCRIPTS = Path(__file__).parent / "scripts"
N_RANKS = 2

CASES = {
    "negative_tau": r"population 'E'\.tau_m: must be > 0 ms, got -5\.0",
    "unknown_parameter": r"population 'E'\.tau_mem: unknown parameter .*did you mean 'tau_m'",
    "unknown_population": r"connect\[0\]\.pre: unknown population 'X'",
    "delay_below_dt": r"connect\[0\] E->E\.delay: delay 0\.04 ms is below the resolution",
    "drawn_delay_below_dt": r"connect\[0\] E->E\.delay: a delay drawn from normal\(mean=0\.4, std=0\.2\) is below",
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
