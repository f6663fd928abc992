"""gamma_sup_generator and ppd_sup_generator on real MPI ranks: the same spikes, bit for
bit, on 1, 2 and 3 ranks (several connections, random delays, multapses, a change
between runs)."""
from pathlib import Path

import pytest

from mpi_helpers import assert_identical, results_on_ranks

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "scripts" / "superposition_ranks.py"


def test_trains_are_the_same_on_one_two_and_three_ranks(tmp_path):
    results = results_on_ranks(SCRIPT, tmp_path)
    one = results[0]
    assert len(one["t_P"]) > 200 and len(one["t_E"]) > 5
    assert_identical(results)
