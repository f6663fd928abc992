"""bernoulli_synapse on real MPI ranks: the same spikes, bit for bit, on 1, 2 and 3 ranks."""
from pathlib import Path

import numpy as np
import pytest

from mpi_helpers import run_mpi

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "scripts" / "bernoulli_ranks.py"


def test_transmissions_are_the_same_on_one_two_and_three_ranks(tmp_path):
    results = []
    for n in (1, 2, 3):
        out = tmp_path / str(n)
        out.mkdir()
        run_mpi(SCRIPT, n, out, timeout=180)
        results.append(np.load(out / "result.npz"))
    one = results[0]
    assert len(one["t_E"]) > 50 and len(one["t_R"]) > 500
    for other in results[1:]:
        for key in one.files:
            np.testing.assert_array_equal(one[key], other[key], err_msg=key)
