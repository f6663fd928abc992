"""Recorders whose selections leave some ranks without a recorded neuron (spikes, V_m,
weights), on every partition, in memory and archived: the records equal a 1-rank run's."""
from pathlib import Path

import numpy as np
import pytest

from mpi_helpers import run_mpi

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "scripts" / "sparse_records.py"


@pytest.fixture(scope="module")
def one_rank(tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "one.npz"
    run_mpi(SCRIPT, 1, "round_robin", out, timeout=120)
    return np.load(out)


@pytest.mark.parametrize("partition, n_ranks, archived", [
    ("round_robin", 2, False), ("round_robin", 3, True), ("blocks", 3, False),
    ("blocks", 2, True), ("population", 3, False), ("graph", 3, True)])
def test_records_with_empty_ranks_equal_one_rank(tmp_path, one_rank, partition, n_ranks, archived):
    out = tmp_path / "out.npz"
    run_mpi(SCRIPT, n_ranks, partition, out, *([tmp_path / "a.zarr"] if archived else []), timeout=120)
    got = np.load(out)
    assert sorted(got.files) == sorted(one_rank.files)
    assert len(one_rank["E_spikes_0"]) > 0 and len(one_rank["weights_0"]) > 0
    assert one_rank["I_V_m_2"].shape == (300, 6) and one_rank["E_V_m_2"].shape == (60, 1)
    for key in one_rank.files:
        np.testing.assert_array_equal(got[key], one_rank[key], err_msg=key)
