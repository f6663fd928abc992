"""Run the STDP network of tests/networks.py and save its records (rank 0).

    mpiexec -n K python stdp_network.py OUT.npz [triplet [T_MS]]
"""
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from networks import stdp_results  # noqa: E402

triplet = sys.argv[2:3] == ["triplet"]
results = stdp_results(float(sys.argv[3]), triplet=True) if triplet else stdp_results()
if MPI.COMM_WORLD.rank == 0:
    np.savez(sys.argv[1], **results)
