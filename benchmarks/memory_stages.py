"""Where a run's peak memory comes from: resident memory after each stage of one rank's run.

    python benchmarks/memory_stages.py                  # Brunel N = 12,500, 200 ms
    python benchmarks/memory_stages.py --N 200          # what any network pays

Prints, after each stage (Python started, NumPy, mpi4py and MPI, Numba, bigbrain, the
network described, built, run), the resident memory now and the peak so far (MiB,
``/proc/self/statm`` and ``ru_maxrss``). The first stages and the step from "described" to
"built" at N = 200 are what every rank pays whatever the network: at build, the first
kernel loaded from Numba's cache makes Numba import its lowering registries (and SciPy,
for BLAS) and start LLVM.
"""
import argparse
import os
import resource

PAGE = os.sysconf("SC_PAGE_SIZE")


def report(stage):
    with open("/proc/self/statm") as f:
        now = int(f.read().split()[1]) * PAGE / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{stage:12s} now {now:7.1f} MiB   peak {peak:7.1f} MiB", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=12_500)
    parser.add_argument("--t", type=float, default=200.0, help="ms simulated")
    args = parser.parse_args()
    report("started")
    import numpy  # noqa: F401 - imported for its memory
    report("numpy")
    from mpi4py import MPI  # noqa: F401
    report("mpi4py")
    import numba  # noqa: F401
    report("numba")
    import bigbrain as bb
    from bigbrain.models import brunel
    report("bigbrain")
    net = bb.Network(dt=0.1, seed=1)
    brunel(net, N=args.N, CE=min(1000, args.N * 4 // 5), CI=min(250, args.N // 5), J=0.1)
    report("described")
    net.build()
    report("built")
    net.run(args.t)
    report("run")


if __name__ == "__main__":
    main()
