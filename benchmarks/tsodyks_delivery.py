"""Time of the tsodyks_synapse kernel (kernels/tsodyks.py) per synaptic event.

    python benchmarks/tsodyks_delivery.py [--heterogeneous]

700 spikes per call from 1,000 sources of 1,250 synapses each onto 12,500 ring-buffer
columns (the event count of the design notes' scatter measurement), 20 calls after one
to compile. ``--heterogeneous``: every synapse its own tau_rec (the propagators are then
computed per synapse instead of per spike).
"""
import argparse
import time

import numpy as np

from bigbrain.kernels import tsodyks

N_SOURCES, PER_SOURCE, N_COLUMNS, RING, SPIKES, CALLS = 1000, 1250, 12_500, 16, 700, 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heterogeneous", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ptr = np.arange(0, (N_SOURCES + 1) * PER_SOURCE, PER_SOURCE, dtype=np.int64)
    n = int(ptr[-1])
    post = rng.integers(0, N_COLUMNS, n).astype(np.uint16)
    weight = rng.uniform(10.0, 50.0, n)
    tau_rec = rng.uniform(700.0, 900.0, n) if args.heterogeneous else np.full(n, 800.0)
    variables = [np.full(n, 0.5), np.full(n, 3.0), np.full(n, 0.0), tau_rec,
                 np.full(n, 1.0), np.zeros(n), np.zeros(n)]           # U tau_psc tau_fac tau_rec x y u
    t_last = np.zeros(N_SOURCES, np.int64)
    ring_ex, ring_in = (np.zeros((RING, N_COLUMNS), np.int64) for _ in range(2))
    none = np.zeros(0, np.int64)

    def call(step):
        src = rng.choice(N_SOURCES, SPIKES, replace=False).astype(np.int64)
        tsodyks.deliver(src, np.full(SPIKES, step, np.int64), np.int64(0), ptr, post, weight,
                        np.zeros(0, np.uint8), np.int64(15), t_last, 0.1, *variables, 0,
                        ring_ex, ring_in, np.zeros(0, bool), none, none, none, np.zeros(0))

    call(0)
    start = time.perf_counter()
    for k in range(1, CALLS + 1):
        call(10 * k)
    elapsed = time.perf_counter() - start
    print(f"{elapsed / (CALLS * SPIKES * PER_SOURCE) * 1e9:.1f} ns per synaptic event")


if __name__ == "__main__":
    main()
