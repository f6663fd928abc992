"""STDP delivery replayed from a real network state: a steady measure for kernel changes.

    python benchmarks/stdp_replay.py                       # N = 12,500, 20 intervals, 1 rank
    python benchmarks/stdp_replay.py --variant mymodule:deliver
    python benchmarks/stdp_replay.py --rows 32:16 40:0    # history row layouts

Builds the Brunel network with STDP on E->E (as benchmarks/brunel.py --stdp), runs
``--warmup`` ms, then records what the plastic synapses receive in the next ``--intervals``
intervals: the post-synaptic spikes recorded into the history and the spikes delivered,
in the network's order. It then replays exactly that, ``--repeat`` times from the same
state, and prints the best delivery time, the time per plastic event and a digest of the
weights and ring buffers afterwards. With ``--variant module:function`` (a kernel with the
arguments of ``kernels/stdp.py::deliver``) the two kernels alternate within one process,
so the machine's drift hits both alike, and equal digests show equal results. With
``--rows WORDS:OFFSET …`` the kernel alternates over copies of the post-synaptic history
laid out in rows of WORDS int64 words starting OFFSET bytes into a cache line (the
layout's cost: ``32:16`` is the 256-byte rows, 16 bytes into a line, of NumPy's own
allocation of capacity 14; ``40:0`` rows of 5 whole lines, as ``bigbrain.plasticity``
lays them out).
"""
import argparse
import hashlib
import importlib
import sys
import time

import numpy as np

import bigbrain as bb
from bigbrain.backends import CPU_KERNELS
from bigbrain.models import brunel
from bigbrain.plasticity import _line_aligned_zeros
from bigbrain.projection import source_positions

J = 0.1


def capture(N, warmup, intervals):
    """The simulation after ``warmup`` ms, its state then, and the calls that followed."""
    synapse = bb.STDP(tau_plus=20.0, lambda_=0.01, alpha=1.0, mu_plus=0.0, mu_minus=0.0,
                      Wmax=2 * J)
    net = bb.Network(dt=0.1, seed=1)
    brunel(net, N=N, CE=1000, CI=250, J=J, synapse=synapse)
    sim = net.build()
    net.run(warmup)
    state = snapshot(sim)
    plasticity, calls = sim.plasticity, []
    post_spikes, deliver = plasticity.post_spikes, plasticity.deliver
    plasticity.post_spikes = lambda cols, stamps: (
        calls.append(("post", cols.copy(), stamps.copy())), post_spikes(cols, stamps))
    plasticity.deliver = lambda gids, steps, ring_ex, ring_in: (
        calls.append(("deliver", gids.copy(), steps.copy())), deliver(gids, steps, ring_ex, ring_in))
    net.run(intervals * sim.interval * net.dt)
    plasticity.post_spikes, plasticity.deliver = post_spikes, deliver
    return sim, state, calls


def snapshot(sim):
    history = sim.plasticity.history
    return {"h": history.h.copy(), "kminus": history.kminus.copy(),
            "last": history.last_stamp.copy(), "bound": history.bound,
            "rows": [(p.weight.copy(), p.kplus.copy(), p.t_last.copy())
                     for p in sim.plasticity.projections],
            "rings": (sim.ring_ex.copy(), sim.ring_in.copy())}


def restore(sim, state):
    history = sim.plasticity.history
    h = state["h"]
    history.h = laid_out(h, h.shape[1], h.ctypes.data % 64)  # a copy in the same layout
    history.hf = history.h.view(np.float64)
    history.kminus[:], history.last_stamp[:] = state["kminus"], state["last"]
    history.bound = state["bound"]
    for proj, (w, kplus, t_last) in zip(sim.plasticity.projections, state["rows"]):
        proj.weight[:], proj.kplus[:], proj.t_last[:] = w, kplus, t_last
    sim.ring_ex[...], sim.ring_in[...] = state["rings"]


def replay(sim, state, calls):
    """Seconds spent delivering, and the digest of the result."""
    restore(sim, state)
    plasticity, spent = sim.plasticity, 0.0
    for kind, a, b in calls:
        if kind == "post":
            plasticity.post_spikes(a, b)
            continue
        t0 = time.perf_counter()
        plasticity.deliver(a, b, sim.ring_ex, sim.ring_in)
        spent += time.perf_counter() - t0
    weights = b"".join(p.weight.tobytes() for p in plasticity.projections)
    return spent, hashlib.sha256(weights + sim.ring_ex.tobytes()).hexdigest()[:16]


def laid_out(h, words, offset):
    """A copy of history ``h`` in rows of ``words`` words, ``offset`` bytes into a line."""
    if h[:, 0].max() > (words - 4) // 2:
        raise SystemExit(f"--rows {words}:{offset}: rows too short for the entries held")
    size, start = h.shape[0] * words, offset // 8
    out = _line_aligned_zeros((size + 8,))[start:start + size].reshape(h.shape[0], words)
    n = min(words, h.shape[1])
    out[:, :n] = h[:, :n]
    return out


def plastic_events(sim, calls):
    total = 0
    for kind, gids, _ in calls:
        if kind == "deliver":
            for proj in sim.plasticity.projections:
                rows = source_positions(proj.sources, gids)
                rows = rows[rows >= 0]
                total += int((proj.ptr[rows + 1] - proj.ptr[rows]).sum())
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=12_500)
    parser.add_argument("--warmup", type=float, default=200.0, help="ms before the capture")
    parser.add_argument("--intervals", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--variant", help="module:function, a kernel to compare")
    parser.add_argument("--rows", nargs="+", default=[], metavar="WORDS:OFFSET",
                        help="history layouts to compare (row words, byte offset in a line)")
    args = parser.parse_args()
    kernels = {"kernels/stdp.py": CPU_KERNELS.deliver_stdp}
    if args.variant:
        module, function = args.variant.split(":")
        sys.path.insert(0, ".")
        kernels[args.variant] = getattr(importlib.import_module(module), function)
    sim, state, calls = capture(args.N, args.warmup, args.intervals)
    events = plastic_events(sim, calls)
    runs = {name: (kernel, state["h"]) for name, kernel in kernels.items()}
    for rows in args.rows:
        words, offset = map(int, rows.split(":"))
        runs[f"rows {rows}"] = (kernels["kernels/stdp.py"], laid_out(state["h"], words, offset))
    best, digest = {name: np.inf for name in runs}, {}
    for _ in range(args.repeat):
        for name, (kernel, h) in runs.items():
            CPU_KERNELS.deliver_stdp = kernel
            spent, digest[name] = replay(sim, dict(state, h=h), calls)
            best[name] = min(best[name], spent)
    for name in runs:
        print(f"{name}: {best[name]:.4f} s for {events} plastic events "
              f"({best[name] / events * 1e9:.1f} ns each), digest {digest[name]}")


if __name__ == "__main__":
    main()
