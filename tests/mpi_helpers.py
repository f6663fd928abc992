"""Run a Python script on real MPI ranks (mpiexec from the mpich wheel) from a test."""
import os
import shutil
import subprocess
import sys


def mpiexec():
    """Path of mpiexec: beside the running Python first (the mpich wheel), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


def run_mpi(script, n_ranks, *args, timeout=300, check=True, env=None):
    """Run ``python script args`` on ``n_ranks`` ranks; return the CompletedProcess.

    With ``check``, a non-zero exit raises AssertionError showing stdout and stderr. A run
    that outlasts ``timeout`` seconds (a hang) raises subprocess.TimeoutExpired.
    """
    cmd = [mpiexec(), "-n", str(n_ranks), sys.executable, str(script), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                             f"\n--- stderr\n{proc.stderr}")
    return proc
