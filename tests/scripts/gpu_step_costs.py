"""The microcircuit on the GPU code path with the CUDA kernels compiled for the CPU (the
library LIB that tests/cuda_host.py built) standing in for the device, on every rank: what
the run's intervals cost in device operations, and its spikes.

    gpu_step_costs.py LIB OUT_DIR SCALE WARM_MS T_MS

After WARM_MS, rank r counts launches, waits and copies over T_MS and writes them, with
the number of intervals, to OUT_DIR/rank<r>.json; rank 0 writes every population's
spikes (times, ids) to OUT_DIR/spikes.npz.
"""
import ctypes
import json
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import bigbrain as bb
import bigbrain.simulation
from bigbrain.backends import Backend
from bigbrain.kernels.gpu import CudaKernels
from bigbrain.models.microcircuit import POPULATIONS, microcircuit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cuda_host import DeviceModule, HostLauncher, select_standing_in  # noqa: E402

LIB, OUT = sys.argv[1], Path(sys.argv[2])
SCALE, WARM, T = (float(a) for a in sys.argv[3:6])

xp = DeviceModule()
host = Backend("cuda-on-host", xp, CudaKernels(xp, HostLauncher(ctypes.CDLL(LIB))),
               label="CUDA on the host")
bigbrain.simulation.select_backend = select_standing_in(host)
net = bb.Network(dt=0.1, seed=1, backend="cupy")
microcircuit(net, scale=SCALE)
net.run(WARM)
sim = net.build()
before, step = dict(host.kernels.counts), sim.step
sim.run(net.steps("T", T))
costs = {k: v - before[k] for k, v in host.kernels.counts.items()}
costs["intervals"] = (sim.step - step) // sim.interval
(OUT / f"rank{MPI.COMM_WORLD.rank}.json").write_text(json.dumps(costs))
result = net.run(0.0)
if MPI.COMM_WORLD.rank == 0:
    np.savez(OUT / "spikes.npz", **{f"{p}_{k}": v for p in POPULATIONS
                                     for k, v in zip(("t", "id"), result.spikes(p))})
