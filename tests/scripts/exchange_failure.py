"""Rank 1 raises in the middle of a run with exchange STRATEGY; every rank must end with
that message: exchange_failure.py STRATEGY OUT_DIR

Each rank writes the error it ended with to OUT_DIR/rank<R>.txt and exits with status 3.
"""
import sys
from pathlib import Path

from mpi4py import MPI

import bigbrain as bb
from bigbrain import neuron_models
from traffic_networks import clusters

net = bb.Network(dt=0.1, seed=1, exchange=sys.argv[1], partition="graph")
clusters(net, n_clusters=6, n_exc=40, n_inh=10, k_exc=10, k_inh=3, k_next=2)
if MPI.COMM_WORLD.rank == 1:
    original = neuron_models.IafPscDeltaBlock.update

    def failing_update(self, ring_ex, ring_in, t0, n_steps):
        if t0 >= 500:
            raise RuntimeError(f"injected failure at step {t0}")
        return original(self, ring_ex, ring_in, t0, n_steps)

    neuron_models.IafPscDeltaBlock.update = failing_update
try:
    net.run(100.0)
except Exception as err:  # noqa: BLE001 - the point of the script
    (Path(sys.argv[2]) / f"rank{MPI.COMM_WORLD.rank}.txt").write_text(str(err))
    sys.exit(3)
