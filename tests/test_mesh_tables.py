"""The mesh exchange's tables as runs (issue 24): no larger than alltoall's routing tables
where every rank pair shares synapses, the same destinations as the table they compact."""
import json
from pathlib import Path

import numpy as np
import pytest

from bigbrain.exchange import RoutingTable, RunTable


def test_runs_give_the_destinations_of_every_key():
    """Keys 10…50 with destinations {0, 2}, {0, 2}, {1}, {}, {1}: four runs (10 and 20
    share one), one byte per destination."""
    table = RoutingTable(np.array([10, 20, 30, 40, 50]), np.array([0, 2, 0, 2, 1, 1], np.int16),
                         np.array([0, 2, 4, 5, 5, 6]))
    runs = RunTable(table, n_dest=3)
    assert runs.starts.tolist() == [10, 30, 40, 50] and runs.ranks.dtype == np.uint8
    packet, dest = runs.destinations(np.array([20, 50, 40, 10]))
    assert list(zip(packet.tolist(), dest.tolist())) == [(0, 0), (0, 2), (1, 1), (3, 0), (3, 2)]


def test_many_destinations_keep_the_tables_rank_type():
    table = RoutingTable(np.array([5]), np.arange(300, dtype=np.int16), np.array([0, 300]))
    runs = RunTable(table, n_dest=300)
    assert runs.ranks.dtype == table.ranks.dtype
    assert runs.destinations(np.array([5]))[1].tolist() == list(range(300))


@pytest.mark.mpi
def test_mesh_tables_are_no_larger_than_alltoalls(tmp_path):
    """Brunel, 400 neurons per rank, 4 ranks: alltoall 6,408 B per rank; the mesh's were
    17,616 B (2.7×; 2.6× on 9 ranks), now 24 B (one run per table)."""
    from mpi_helpers import run_mpi
    run_mpi(Path(__file__).parent / "scripts" / "table_sizes.py", 4, tmp_path / "sizes.json", timeout=300)
    got = json.loads((tmp_path / "sizes.json").read_text())
    assert min(got["alltoall"]) > 0 and got["sparse"] == got["alltoall"]
    assert max(got["mesh"]) <= min(got["alltoall"]), got
