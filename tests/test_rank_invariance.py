"""The same spikes, bit for bit, whatever the number of ranks and the partition."""
from pathlib import Path

import numpy as np
import pytest

from mpi_helpers import run_mpi

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "scripts" / "brunel_spikes.py"
N, T = 5000, 200.0


def spikes(tmp_path, n_ranks, partition):
    out = tmp_path / f"spikes_{n_ranks}_{partition}.npz"
    run_mpi(SCRIPT, n_ranks, N, T, partition, out, timeout=600)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ref = spikes(tmp_path_factory.mktemp("ref"), 1, "round_robin")
    assert len(ref["times_E"]) > 10_000, "the network must be active for the test to mean anything"
    return ref


CASES = [(n, p) for n in (1, 2, 3, 4) for p in ("round_robin", "blocks") if (n, p) != (1, "round_robin")]


@pytest.mark.parametrize("n_ranks,partition", CASES)
def test_brunel_spikes_identical_across_ranks_and_partitions(reference, tmp_path, n_ranks, partition):
    """Compared with the reference run: 1 rank, round-robin."""
    got = spikes(tmp_path, n_ranks, partition)
    for key, ref in reference.items():
        assert got[key].dtype == ref.dtype and np.array_equal(got[key], ref), (
            f"{key} differs with {n_ranks} ranks, partition {partition}")
