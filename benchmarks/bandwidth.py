"""The physical limit: this machine's memory bandwidth against bigbrain's synaptic events per second.

    python benchmarks/bandwidth.py                    # 2**26 doubles (512 MiB) per array

STREAM-like kernels on arrays far larger than the caches, with NumPy and with a compiled
(Numba) loop: copy a[i] = b[i] (16 bytes moved per element: one read, one write) and
triad a[i] = b[i] + s·c[i] (24 bytes). Best of ``--repeat`` runs, GB/s = 1e9 bytes/s.

Then spike delivery (kernels/delivery.py::deliver) on the static Brunel layout: 700
spikes × 1,250 targets scattered into a ring buffer of 12,500 neurons, homogeneous weight
and delay, as on one rank of the N = 12,500 network. Each event must stream its target
column from memory (``post``: 2 bytes); the ring buffer row it adds to stays in cache.
The bandwidth limit is copy-bandwidth / 2 bytes per event; the script prints the events
per second reached and that limit.
"""
import argparse
import time

import numba
import numpy as np

from bigbrain.kernels.delivery import deliver


@numba.njit(cache=True)
def copy(a, b):
    for i in range(a.shape[0]):
        a[i] = b[i]


@numba.njit(cache=True)
def triad(a, b, c, s):
    for i in range(a.shape[0]):
        a[i] = b[i] + s * c[i]


def best(fn, repeat):
    """Smallest wall time (s) of ``repeat`` calls of ``fn()``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def stream(n, repeat):
    """GB/s of copy and triad, NumPy and Numba, on arrays of n doubles."""
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    copy(a[:8], b[:8])
    triad(a[:8], b[:8], c[:8], 3.0)
    runs = {"numpy copy": (lambda: np.copyto(a, b), 16),
            "numpy triad": (lambda: np.add(b, np.multiply(c, 3.0, out=a), out=a), 24),
            "numba copy": (lambda: copy(a, b), 16),
            "numba triad": (lambda: triad(a, b, c, 3.0), 24)}
    return {name: bytes_per * n / best(fn, repeat) / 1e9 for name, (fn, bytes_per) in runs.items()}


def delivery(repeat, n_neurons=12_500, n_spikes=700, fan_out=1_250, ring=15):
    """Synaptic events per second of :func:`deliver` (static Brunel layout, see above)."""
    rng = np.random.default_rng(1)
    n_sources = n_neurons
    ptr = np.arange(n_sources + 1, dtype=np.int64) * fan_out
    post = rng.integers(0, n_neurons, n_sources * fan_out).astype(np.uint16)
    ring_ex, ring_in = np.zeros((ring, n_neurons), np.int64), np.zeros((ring, n_neurons), np.int64)
    gids = rng.choice(n_sources, n_spikes, replace=False).astype(np.int64)
    steps = rng.integers(0, ring, n_spikes).astype(np.int64)
    no_weights, no_delays = np.zeros(0, np.int32), np.zeros(0, np.int64)
    run = lambda: deliver(gids, steps, 0, ptr, post, no_weights, np.int64(0),  # noqa: E731
                          np.int64(1 << 32), no_delays, np.int64(15), ring_ex, ring_in)
    run()
    return n_spikes * fan_out / best(run, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2**26, help="doubles per array")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bw = stream(args.n, args.repeat)
    for name, gbs in bw.items():
        print(f"{name:12s} {gbs:6.1f} GB/s")
    events = delivery(args.repeat * 4)
    limit = max(bw["numpy copy"], bw["numba copy"]) * 1e9 / 2
    print(f"delivery     {events / 1e6:8.0f} M events/s ({1e9 / events:.2f} ns/event); the "
          f"bandwidth allows {limit / 1e6:.0f} M events/s at 2 bytes per event "
          f"({events / limit:.2f} of it)")


if __name__ == "__main__":
    main()
