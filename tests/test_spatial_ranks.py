"""Spatial connections, fixed_outdegree and their plastic synapses are the same, bit for
bit, on 1, 2 and 3 ranks and two partitions (tests/scripts/spatial_network.py)."""
from pathlib import Path

import numpy as np
import pytest

from mpi_helpers import run_mpi

pytestmark = pytest.mark.mpi
SCRIPT = Path(__file__).parent / "scripts" / "spatial_network.py"


def records(tmp_path, n_ranks, partition):
    out = tmp_path / f"spatial_{n_ranks}_{partition}.npz"
    run_mpi(SCRIPT, n_ranks, out, partition, timeout=300)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ref = records(tmp_path_factory.mktemp("ref"), 1, "round_robin")
    assert ref["synapses"].shape[1] > 5000 and len(ref["weights"][0]) == 240 * 6
    assert len(ref["E_t"]) > 200 and len(ref["I_t"]) > 50, "the network must be active"
    return ref


@pytest.mark.parametrize("n_ranks,partition", [(2, "blocks"), (3, "round_robin"), (3, "blocks")])
def test_spatial_network_identical_across_ranks_and_partitions(reference, tmp_path, n_ranks, partition):
    got = records(tmp_path, n_ranks, partition)
    for key, ref in reference.items():
        assert got[key].dtype == ref.dtype and np.array_equal(got[key], ref), (
            f"{key} differs with {n_ranks} ranks, partition {partition}")
