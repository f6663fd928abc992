"""Signals after the run: late_signal.py ARCHIVE (after | exit).

A short archived run on 2 ranks; then ``after``: each rank writes its pid to
ARCHIVE.pidR (R its rank; written whole, then renamed into place, since the ranks' lines on
mpiexec's shared stdout may interleave) and waits 3 s (the test signals it meanwhile); ``exit``: while the process shuts down, rank 0 gets
SIGUSR1 and SIGTERM (from a shell started by an exit handler, 0.5 s later: it is waiting
in MPI_Finalize then, after Python's own shutdown, for rank 1, which lingers 2 s in its
exit handler). Either way the process must exit 0.
"""
import atexit
import os
import subprocess
import sys
import time

import bigbrain as bb


def signal_me_soon():
    pid = os.getpid()
    subprocess.Popen(["sh", "-c", f"sleep 0.5; kill -USR1 {pid}; sleep 0.1; kill -TERM {pid}"])


net = bb.Network(dt=0.1, seed=1, archive=bb.Archive(sys.argv[1], flush_every=5.0))
pop = net.population("E", 10, "iaf_psc_delta", E_L=0.0, V_th=20.0, V_reset=10.0)
net.connect(net.poisson("noise", rate=30_000.0), pop, rule="all_to_all", weight=0.1, delay=1.0)
net.record(pop, "spikes")
net.run(20.0)
if sys.argv[2] == "after":
    pid_file = f"{sys.argv[1]}.pid{net.rank}"
    with open(pid_file + ".part", "w") as f:
        f.write(str(os.getpid()))
    os.replace(pid_file + ".part", pid_file)
    time.sleep(3.0)
elif net.rank == 0:
    atexit.register(signal_me_soon)
else:
    atexit.register(time.sleep, 2.0)
