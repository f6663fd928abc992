"""The Brunel (2000) network in its asynchronous irregular regime.

    python examples/brunel.py                 # N = 12,500, 1 s
    mpiexec -n 2 python examples/brunel.py --N 5000 --t 200

Prints, on rank 0, the mean firing rate and the mean CV of inter-spike intervals of the
excitatory population (after a 100 ms transient).
"""
import argparse
import time

import numpy as np

import bigbrain as bb
from bigbrain.models import brunel


def statistics(times, ids, n, t_start, t_stop):
    """Mean rate (Hz) over n neurons and mean ISI CV over neurons with >= 3 spikes."""
    keep = (times > t_start) & (times <= t_stop)
    times, ids = times[keep], ids[keep]
    rate = len(times) / n / ((t_stop - t_start) * 1e-3)
    order = np.lexsort((times, ids))
    t, i = times[order], ids[order]
    isi = np.diff(t)
    same = i[1:] == i[:-1]
    cvs = []
    for neuron in np.unique(i[1:][same]):
        x = isi[same & (i[1:] == neuron)]
        if len(x) >= 2:
            cvs.append(x.std() / x.mean())
    return rate, float(np.mean(cvs)) if cvs else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=12_500)
    parser.add_argument("--t", type=float, default=1000.0, help="simulated time (ms)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--partition", default="round_robin")
    args = parser.parse_args()
    net = bb.Network(dt=0.1, seed=args.seed, partition=args.partition)
    exc, _ = brunel(net, N=args.N)
    net.record(exc, "spikes")
    start = time.perf_counter()
    result = net.run(args.t)
    wall = time.perf_counter() - start
    rate, cv = statistics(*result.spikes("E"), exc.size, 100.0, args.t)
    if net.rank == 0:
        print(f"N={args.N} ranks={net.n_ranks} t={args.t} ms: rate {rate:.2f} Hz, CV {cv:.3f}, "
              f"build+run {wall:.1f} s")


if __name__ == "__main__":
    main()
