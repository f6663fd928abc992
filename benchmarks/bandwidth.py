"""The physical limit: this machine's memory bandwidth against bigbrain's synaptic events per second.

    python benchmarks/bandwidth.py                    # 2**26 doubles (512 MiB) per array
    python benchmarks/bandwidth.py --footprint        # random accesses against the span they fall in

STREAM-like kernels on arrays far larger than the caches, with NumPy and with a compiled
(Numba) loop: copy a[i] = b[i] (16 bytes moved per element: one read, one write) and
triad a[i] = b[i] + s·c[i] (24 bytes). Best of ``--repeat`` runs, GB/s = 1e9 bytes/s.

Then spike delivery (kernels/delivery.py::deliver) on the static Brunel layout: 700
spikes × 1,250 targets scattered into a ring buffer of 12,500 neurons, homogeneous weight
and delay, as on one rank of the N = 12,500 network. Each event must stream its target
column from memory (``post``: 2 bytes); the ring buffer row it adds to stays in cache.
The bandwidth limit is copy-bandwidth / 2 bytes per event; the script prints the events
per second reached, that limit, and the events per second of a plain compiled loop that
scatter-adds into the same ring-buffer entries, listed in advance (what no delivery can
beat).

Then delivery with per-synapse weights and delays on the layout of one of 2 ranks of the
full-scale microcircuit: 38,586 neurons, 58 ring-buffer slots (36 MB of ring buffers, far
beyond L2), rows of 245 synapses (7 bytes each). Every event is then a random
read-modify-write in the last-level cache: the script compares it with a plain Numba loop
of random scatter-adds into an array of the same size (the latency limit).

Last, what a random access costs against the span of memory it falls in (``--footprint``):
random scatter-adds into arrays of 1 MiB to 256 MiB, and re-reads of the same 4,000 cache
lines (256 KiB, which the L2 cache holds) spread over 1 MiB to 1 GiB. On this virtual
machine the re-reads cost ~1 ns per line within 4 MiB and 6-8 ns beyond 64 MiB although
the lines stay cached: address translation (TLB misses and page walks), not the caches,
sets the price of scattered accesses, so what counts is how much memory the accesses span.
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
    """Synaptic events per second of :func:`deliver` (static Brunel layout, see above) and
    of the plainest loop that does its work: the same events' ring-buffer entries, listed
    in advance, scatter-added in order (the floor of any delivery)."""
    rng = np.random.default_rng(1)
    n_sources = n_neurons
    ptr = np.arange(n_sources + 1, dtype=np.int64) * fan_out
    post = np.sort(rng.integers(0, n_neurons, (n_sources, fan_out)), axis=1)  # rows in order,
    post = post.astype(np.uint16).ravel()                                   # as built
    ring_ex, ring_in = np.zeros((ring, n_neurons), np.int64), np.zeros((ring, n_neurons), np.int64)
    gids = rng.choice(n_sources, n_spikes, replace=False).astype(np.int64)
    steps = rng.integers(0, ring, n_spikes).astype(np.int64)
    no_weights, no_delays = np.zeros(0, np.int32), np.zeros(0, np.int64)
    run = lambda: deliver(gids, steps, 0, ptr, post, no_weights, np.int64(0),  # noqa: E731
                          np.int64(1 << 32), no_delays, np.int64(15), ring_ex, ring_in)
    run()
    slots = (steps + 15) % ring * n_neurons
    targets = np.concatenate([slot + post[ptr[g]:ptr[g + 1]] for g, slot in zip(gids, slots)])
    plain = lambda: scatter_add(ring_ex.reshape(-1), targets)  # noqa: E731
    plain()
    events = n_spikes * fan_out
    return events / best(run, repeat), events / best(plain, repeat)


@numba.njit(cache=True)
def scatter_add(target, index):
    for i in range(index.shape[0]):
        target[index[i]] += 1


def delayed_delivery(repeat, n_neurons=38_586, slots=58, fan_out=245, n_spikes=4_000):
    """Events per second of :func:`deliver` with per-synapse weights and delays (the
    microcircuit layout above) and of random scatter-adds into as many int64."""
    rng = np.random.default_rng(2)
    n_sources = 20_000
    ptr = np.arange(n_sources + 1, dtype=np.int64) * fan_out
    post = rng.integers(0, n_neurons, n_sources * fan_out).astype(np.uint16)
    weight = rng.integers(1, 1 << 20, n_sources * fan_out).astype(np.int32)
    delay = np.clip(rng.normal(15, 7.5, n_sources * fan_out), 1, slots - 1).astype(np.uint8)
    ring_ex, ring_in = (np.zeros((slots, n_neurons), np.int64) for _ in range(2))
    gids = rng.integers(0, n_sources, n_spikes).astype(np.int64)
    steps = np.sort(rng.integers(0, 400, n_spikes)).astype(np.int64)
    run = lambda: deliver(gids, steps, 0, ptr, post, weight, np.int64(12), np.int64(0),  # noqa: E731
                          delay, np.int64(0), ring_ex, ring_in)
    flat = np.zeros(2 * slots * n_neurons, np.int64)
    index = rng.integers(0, len(flat), n_spikes * fan_out)
    scatter_add(flat[:8], index[:8] % 8)
    run()
    events = n_spikes * fan_out
    return events / best(run, repeat), events / best(lambda: scatter_add(flat, index), repeat)


@numba.njit(cache=True)
def reread(target, index):
    touched = 0
    for i in range(index.shape[0]):
        touched ^= target[index[i]]
    return touched


def footprint(repeat, spans_mib=(1, 4, 16, 64, 256, 1024), n_lines=4_000, n_adds=2_000_000):
    """(span MiB, ns per random scatter-add into an int64 array of that size (up to 256 MiB),
    ns per re-read of ``n_lines`` cache lines spread over that span) for each span."""
    rng = np.random.default_rng(3)
    memory = np.ones(max(spans_mib) << 17, np.int64)  # 8-byte words
    scatter_add(memory[:8], np.arange(8))
    reread(memory[:8], np.arange(8))
    rows = []
    for span in spans_mib:
        words = span << 17
        adds = rng.integers(0, words, n_adds) if span <= 256 else None
        lines = np.sort(rng.choice(words // 8, n_lines, replace=False)) * 8
        add_ns = (best(lambda: scatter_add(memory[:words], adds), repeat) / n_adds * 1e9
                  if adds is not None else float("nan"))
        read_ns = best(lambda: reread(memory, lines), repeat * 4) / n_lines * 1e9
        rows.append((span, add_ns, read_ns))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2**26, help="doubles per array")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--footprint", action="store_true",
                        help="only the cost of random accesses against the memory they span")
    args = parser.parse_args()
    if args.footprint:
        for span, add_ns, read_ns in footprint(args.repeat):
            print(f"span {span:5d} MiB  scatter-add {add_ns:5.1f} ns/event  "
                  f"re-read of 4,000 cached lines {read_ns:4.1f} ns/line")
        return
    bw = stream(args.n, args.repeat)
    for name, gbs in bw.items():
        print(f"{name:12s} {gbs:6.1f} GB/s")
    events, plain = delivery(args.repeat * 4)
    limit = max(bw["numpy copy"], bw["numba copy"]) * 1e9 / 2
    print(f"delivery     {events / 1e6:8.0f} M events/s ({1e9 / events:.2f} ns/event); the "
          f"bandwidth allows {limit / 1e6:.0f} M events/s at 2 bytes per event "
          f"({events / limit:.2f} of it); a plain scatter-add into the "
          f"same ring-buffer entries: {plain / 1e6:.0f} M/s ({1e9 / plain:.2f} ns; "
          f"{events / plain:.2f} of it)")
    events, scattered = delayed_delivery(args.repeat)
    print(f"delayed      {events / 1e6:8.0f} M events/s ({1e9 / events:.2f} ns/event) with "
          f"per-synapse weights and delays into 36 MB of ring buffers; random scatter-adds "
          f"into as much memory: {scattered / 1e6:.0f} M/s ({1e9 / scattered:.2f} ns; "
          f"{events / scattered:.2f} of it)")


if __name__ == "__main__":
    main()
