"""Poisson input kernel on one rank of the microcircuit: ns per synapse and step.

    NUMBA_NUM_THREADS=1 python benchmarks/poisson_kernel.py
    NUMBA_NUM_THREADS=1 python benchmarks/poisson_kernel.py --variant mymodule:poisson_input

    # against the kernel of an earlier commit:
    git show REV:kernels/poisson.py | sed 's/from .philox/from bigbrain.kernels.philox/' \
        > /tmp/poisson_old.py
    NUMBA_NUM_THREADS=1 PYTHONPATH=/tmp python benchmarks/poisson_kernel.py \
        --variant poisson_old:poisson_input

The layout is that of one of 2 ranks of the full-scale microcircuit (dt = 0.1 ms): half of
each population's neurons, one Poisson synapse each (rate 8 Hz × K_ext, one delay of
1.5 ms and one weight per population), ring buffers of 58 slots, and calls of
``POISSON_STEPS`` = 16 steps as the simulation makes them. Each repetition adds
``--calls`` consecutive calls; the best repetition is printed. With ``--variant
module:function`` (a kernel with the arguments of ``kernels/poisson.py::poisson_input``)
the two kernels alternate within one process, so the machine's drift hits both alike;
before timing, the two must give equal ring buffers on the microcircuit layout and on
mixed delays and weights, early steps (t0 < delay) and odd t0 and n_steps.
"""
import argparse
import importlib
import time

import numpy as np

from bigbrain.kernels.fixed_point import to_fixed
from bigbrain.kernels import philox, poisson
from bigbrain.models.microcircuit import K_EXT, SIZES

DT = 0.1        # ms
RING = 58       # ring-buffer slots
STEPS = 16      # steps per call (simulation.POISSON_STEPS)


def rank_layout():
    """One (args, cdf, guide) per population: the Poisson projections of rank 0 of 2."""
    projections, column, gid = [], 0, 0
    for index, (size, k_ext) in enumerate(zip(SIZES, K_EXT)):
        n = (size + 1) // 2
        cols = np.arange(column, column + n)
        gids = np.arange(gid, gid + size, 2)
        cdf, guide = poisson.poisson_cdf(8.0 * k_ext * DT * 1e-3)
        projections.append(dict(post=cols, post_gid=gids, ordinal=np.zeros(n, np.int64),
                                delay=np.full(n, 15), weight=np.full(n, to_fixed(87.8)),
                                cdf=cdf, guide=guide, c2=philox.purpose_word(3, index)))
        column, gid = column + n, gid + size
    return projections, column


def mixed_layout(n=5000, seed=1):
    """Per-synapse delays (1–19 steps) and weights of both signs."""
    rng = np.random.default_rng(seed)
    cdf, guide = poisson.poisson_cdf(1.7)
    return [dict(post=rng.integers(0, 3000, n), post_gid=rng.integers(0, 2**31, n),
                 ordinal=rng.integers(0, 2**20, n), delay=rng.integers(1, 20, n),
                 weight=to_fixed(rng.normal(0, 0.3, n)), cdf=cdf, guide=guide,
                 c2=philox.purpose_word(3, 9))], 3000


def run(kernel, projections, n_columns, calls, key=philox.key_words(12345)):
    """Ring buffers after the calls [(t0, n_steps), ...], and the seconds they took."""
    ring_ex, ring_in = np.zeros((2, RING, n_columns), np.int64)
    start = time.perf_counter()
    for t0, n_steps in calls:
        for p in projections:
            kernel(t0, n_steps, p["post"], p["post_gid"], p["ordinal"], p["delay"], p["weight"],
                   p["cdf"], p["guide"], *key, p["c2"], ring_ex, ring_in)
    return ring_ex, ring_in, time.perf_counter() - start


def check(kernels):
    """The kernels give equal ring buffers (and warms up their compilation)."""
    odd = [(0, 1), (1, 15), (16, 16), (32, 3), (35, 13), (48, 16)]
    for layout, calls in ((rank_layout(), odd), (mixed_layout(), odd),
                          (rank_layout(), [(t, STEPS) for t in range(0, 64, STEPS)])):
        rings = [run(k, *layout, calls)[:2] for k in kernels]
        for other in rings[1:]:
            assert all(np.array_equal(a, b) for a, b in zip(rings[0], other)), "rings differ"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", help="module:function to alternate with poisson_input")
    parser.add_argument("--calls", type=int, default=50, help="calls of 16 steps per repetition")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    kernels = {"poisson_input": poisson.poisson_input}
    if args.variant:
        module, name = args.variant.split(":")
        kernels[args.variant] = getattr(importlib.import_module(module), name)
    check(list(kernels.values()))
    projections, n_columns = rank_layout()
    n_syn = sum(len(p["post"]) for p in projections)
    calls = [(t, STEPS) for t in range(0, args.calls * STEPS, STEPS)]
    best = {name: np.inf for name in kernels}
    for _ in range(args.repeat):
        for name, kernel in kernels.items():
            best[name] = min(best[name], run(kernel, projections, n_columns, calls)[2])
    for name, seconds in best.items():
        print(f"{name}: {seconds / (n_syn * len(calls) * STEPS) * 1e9:.2f} ns per synapse and step"
              f" (best of {args.repeat}, {n_syn} synapses)")


if __name__ == "__main__":
    main()
