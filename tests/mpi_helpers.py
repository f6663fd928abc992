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


def results_on_ranks(script, tmp_path, ranks=(1, 2, 3), timeout=180):
    """The arrays (``result.npz``) that ``python script OUT_DIR`` writes on each number of
    ``ranks``, in that order; each run writes into its own folder of ``tmp_path``."""
    import numpy as np
    results = []
    for n in ranks:
        out = tmp_path / str(n)
        out.mkdir()
        run_mpi(script, n, out, timeout=timeout)
        results.append(np.load(out / "result.npz"))
    return results


def assert_identical(results):
    """Every array of every result equals the first result's, bit for bit."""
    import numpy as np
    one = results[0]
    for other in results[1:]:
        for key in one.files:
            np.testing.assert_array_equal(one[key], other[key], err_msg=key)
