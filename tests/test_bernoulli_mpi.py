"""bernoulli_synapse on real MPI ranks: the same spikes, bit for bit, on 1, 2 and 3 ranks."""
from pathlib import Path

import pytest

from mpi_helpers import assert_identical, results_on_ranks

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "scripts" / "bernoulli_ranks.py"


def test_transmissions_are_the_same_on_one_two_and_three_ranks(tmp_path):
    results = results_on_ranks(SCRIPT, tmp_path)
    one = results[0]
    assert len(one["t_E"]) > 50 and len(one["t_R"]) > 500
    assert_identical(results)
