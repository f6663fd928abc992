"""Rank 1 raises in the middle of a run; every rank must end with that message.

    fail_during_run.py OUT_DIR [EXCHANGE]

EXCHANGE is the spike exchange strategy (default alltoall). Each rank writes the error it ended with to OUT_DIR/rank<R>.txt and exits with status 3.
"""
import sys
from pathlib import Path

from mpi4py import MPI

import bigbrain as bb
from bigbrain import neurons
from bigbrain.models import brunel

exchange = sys.argv[2] if len(sys.argv) > 2 else "alltoall"
net = bb.Network(dt=0.1, seed=1, exchange=exchange)
brunel(net, N=1000)
if MPI.COMM_WORLD.rank == 1:
    original = neurons.BlockGroup.update

    def failing_update(self, ring_ex, ring_in, ring_cur, t0, n_steps):
        if t0 >= 500:
            raise RuntimeError(f"injected failure at step {t0}")
        return original(self, ring_ex, ring_in, ring_cur, t0, n_steps)

    neurons.BlockGroup.update = failing_update
try:
    net.run(100.0)
except Exception as err:  # noqa: BLE001 - the point of the script
    (Path(sys.argv[1]) / f"rank{MPI.COMM_WORLD.rank}.txt").write_text(str(err))
    sys.exit(3)
