"""Run a SONATA simulation config with bigbrain and write what rank 0 sees.

    sonata_run.py CONFIG OUT.npz [PARTITION]

Every rank loads the config (each reads the edges onto its own neurons) and runs to the
config's tstop; rank 0 saves every population's spikes, or ``error`` = the ModelError's
message of every rank (a bad network) to OUT.npz.
"""
import sys

import numpy as np
from mpi4py import MPI

import bigbrain as bb
from bigbrain import sonata

config, out = sys.argv[1], sys.argv[2]
partition = sys.argv[3] if len(sys.argv) > 3 else "round_robin"
try:
    net, loaded = sonata.network(config, seed=1, partition=partition)
    result = net.run(loaded.tstop)
    saved = {}
    for pop in loaded.populations.values():
        for part in pop.parts if not pop.virtual else ():
            saved[f"{part.name}/t"], saved[f"{part.name}/i"] = result.spikes(part.name)
except bb.ModelError as exc:
    saved = {"error": np.array(MPI.COMM_WORLD.gather(str(exc)) or [], dtype=str)}
if MPI.COMM_WORLD.rank == 0:
    np.savez(out, **saved)
