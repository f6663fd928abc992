"""A disk that fills up during a run: full_disk.py ARCHIVE [spikes|quiet|rows] [RANK].

Runs 50 ms (checkpoint at 50 ms), then makes every further file that rank RANK (0) writes fail
as on a full disk (RLIMIT_FSIZE of 0 bytes; SIGXFSZ ignored, so write() fails with EFBIG)
and runs 50 ms more. ``quiet``: the neurons get no input and no checkpoint is written, so
the first write to fail is that of the telemetry at the end of the run; ``rows``: input
but no checkpoint (on a rank other than 0 the first write to fail is then that of its own
traffic rows at the end of the run). Each rank prints the error it got and exits with 7.
"""
import resource
import signal
import sys

import bigbrain as bb

mode = sys.argv[2] if len(sys.argv) > 2 else "spikes"
quiet = mode == "quiet"
full = int(sys.argv[3]) if len(sys.argv) > 3 else 0
checkpoints = dict(checkpoint_at_end=False) if mode != "spikes" else dict(checkpoint_every=50.0)
net = bb.Network(dt=0.1, seed=1, archive=bb.Archive(sys.argv[1], flush_every=5.0,
                                                     spikes_per_chunk=100, **checkpoints))
pop = net.population("E", 40, "iaf_psc_delta", E_L=0.0, V_th=20.0, V_reset=10.0, t_ref=2.0)
net.connect(pop, pop, rule="fixed_indegree", indegree=4, weight=2.0, delay=1.5)
if not quiet:
    net.connect(net.poisson("noise", rate=30_000.0), pop, rule="all_to_all", weight=0.1, delay=1.5)
net.record(pop, "spikes")
net.run(50.0)
if net.rank == full:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
try:
    net.run(50.0)
except Exception as exc:  # noqa: BLE001 - what each rank reports
    print(f"rank {net.rank} failed: {type(exc).__name__}: {exc}", flush=True)
    sys.exit(7)
print(f"rank {net.rank} finished", flush=True)
