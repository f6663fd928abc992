"""Stimulation devices on real MPI ranks: the same V_m and spikes, bit for bit, on 1 and
3 ranks (several devices summed onto one neuron, changes between runs, a Poisson group
with one rate per generator, a Bernoulli one), and bad values
reported with the same message on every rank (the same as on one, test_stimulation.py)."""
from pathlib import Path

import numpy as np
import pytest

from mpi_helpers import run_mpi

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "scripts" / "stimulation_ranks.py"


def test_devices_give_the_same_results_on_one_and_three_ranks(tmp_path):
    results = []
    for n in (1, 3):
        out = tmp_path / str(n)
        out.mkdir()
        run_mpi(SCRIPT, n, out, timeout=180)
        results.append(np.load(out / "result.npz"))
    one, three = results
    assert len(one["t_P"]) > 100 and len(one["t_E"]) > 0
    for key in one.files:
        np.testing.assert_array_equal(one[key], three[key], err_msg=key)


@pytest.mark.parametrize("case,message", [
    ("unsorted_times", "step_current_generator 'step'.amplitude_times: times must be strictly increasing"),
    ("negative_std", "noise_generator 'noise'.std: must be >= 0 pA, got -1.0"),
    ("nan_rate", "p.rate: must be finite, got nan"),
    ("short_rates", "pr.rate: has 8 rates for 9 generators"),
    ("bernoulli_rate", "pb.rate[0]: rate·dt above 1")])
def test_bad_values_are_reported_alike_on_every_rank(tmp_path, case, message):
    run_mpi(SCRIPT, 3, tmp_path, case, timeout=120)
    reports = {(tmp_path / f"rank{r}.txt").read_text() for r in range(3)}
    assert len(reports) == 1, reports
    assert reports.pop().startswith("ModelError: " + message)
