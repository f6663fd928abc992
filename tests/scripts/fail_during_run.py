"""Rank 1 raises in the middle of a run; every rank must end with that message.

Prints ``rank R ended: message`` on every rank and exits with status 3.
"""
import sys

from mpi4py import MPI

import bigbrain as bb
from bigbrain import neuron_models
from bigbrain.models import brunel

net = bb.Network(dt=0.1, seed=1)
brunel(net, N=1000)
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
    print(f"rank {MPI.COMM_WORLD.rank} ended: {err}", flush=True)
    sys.exit(3)
print(f"rank {MPI.COMM_WORLD.rank} finished without error", flush=True)
