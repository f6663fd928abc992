"""Where a rank's time goes, per simulation step: the microcircuit (or Brunel) under mpiexec.

    mpiexec -n 2 python benchmarks/step_profile.py                  # full-scale microcircuit
    mpiexec -n 2 python benchmarks/step_profile.py --scale 0.1 --t 500
    mpiexec -n 1 python benchmarks/step_profile.py --brunel 12500

Builds the network, runs ``--warmup`` ms, then times ``--t`` ms with each kernel entry point
of the backend and the exchange wrapped in timers (``time.perf_counter``; no profiler, so
the figures are those of a plain run plus ~1 µs per wrapped call). Prints one line per
rank, in µs per step: the whole step, static delivery, STDP delivery, neuron updates,
Poisson input, the exchange's MPI calls (counts and words, waiting for the other ranks
included) and the rest of the exchange (packing, routing, counters), and what is left
(the step loop and recorders in Python).
"""
import argparse
import time

import bigbrain as bb
import bigbrain.exchange
from bigbrain.models import brunel, microcircuit

KERNELS = {"static delivery": ("deliver_table", "deliver_log"), "STDP delivery": ("deliver_stdp",),
           "Poisson input": ("poisson_input",)}


def timed(fn, spent, key):
    """``fn`` adding its wall time to ``spent[key]``."""
    def wrapper(*args):
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            spent[key] += time.perf_counter() - t0
    return wrapper


def wrap(sim, spent):
    """Put timers around the kernels, the exchange and its MPI calls."""
    kernels = sim.backend.kernels
    for part, names in KERNELS.items():
        for name in names:
            setattr(kernels, name, timed(getattr(kernels, name), spent, part))
    for group in sim.block_groups:
        group.kernel = timed(group.kernel, spent, "neuron updates")
    sim.exchange.exchange = timed(sim.exchange.exchange, spent, "exchange")
    bigbrain.exchange._flagged_alltoallv = timed(bigbrain.exchange._flagged_alltoallv, spent, "MPI")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="microcircuit scale")
    parser.add_argument("--brunel", type=int, default=0, help="Brunel's N instead (0: microcircuit)")
    parser.add_argument("--warmup", type=float, default=20.0, help="ms before the timed part")
    parser.add_argument("--t", type=float, default=200.0, help="ms timed")
    args = parser.parse_args()
    net = bb.Network(dt=0.1, seed=1)
    if args.brunel:
        brunel(net, N=args.brunel, CE=1000, CI=250, J=0.1)
    else:
        microcircuit(net, scale=args.scale)
    sim = net.build()
    net.run(args.warmup)
    spent = dict.fromkeys(list(KERNELS) + ["neuron updates", "exchange", "MPI"], 0.0)
    wrap(sim, spent)
    net.comm.mpi.Barrier()
    t0 = time.perf_counter()
    net.run(args.t)
    wall = time.perf_counter() - t0
    steps = round(args.t / net.dt)
    rest = wall - sum(spent.values()) + spent["MPI"]  # MPI is inside the exchange
    parts = {"step": wall, **{k: spent[k] for k in list(KERNELS) + ["neuron updates"]}, "MPI": spent["MPI"],
             "exchange besides MPI": spent["exchange"] - spent["MPI"], "rest": rest}
    line = ", ".join(f"{k} {v / steps * 1e6:.0f}" for k, v in parts.items())
    for rank in range(net.n_ranks):
        if rank == net.rank:
            print(f"rank {rank} (µs per step of {net.dt} ms, {steps} steps): {line}", flush=True)
        net.comm.mpi.Barrier()


if __name__ == "__main__":
    main()
