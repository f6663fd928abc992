"""One rank of a cluster run, emulated in one process: its peak memory, kept memory, build time.

    python benchmarks/emulate.py                              # Brunel, 2,000 neurons per rank,
                                                              # N = 10^6, 10^7, 10^8
    python benchmarks/emulate.py --N 1e9 --local 2000         # 500,000 ranks' rank
    python benchmarks/emulate.py --N 1e8 --ranks 10000 --t 20 --exchange sparse
    python benchmarks/emulate.py --real 1 2 4 8 16 --local 500 --t 20   # real ranks, weak scaling

The rank is built by bigbrain itself, on :class:`bigbrain.comm.EmulatedMPI`: a
communicator that says it is rank r of P while being one process, and answers every
collective as if the other ranks held the same load (round-robin partition, Brunel's
random connectivity). What a rank of a real job of P ranks holds and does is therefore
measured here, before the job is submitted: what grows with the whole network (N, P) and
what with the rank's own neurons and synapses.

Brunel (2000) model A with CE = 1000, CI = 250 (1,250 synapses per neuron, plus one Poisson
synapse each), N neurons on P = N / local ranks unless ``--ranks``. Each N runs in its own
process; prints, per N: P, the rank's neurons and synapses, build time (s; wall clock and
this process's CPU time, which a busy machine does not inflate, and of it the time
inside the emulated communicator's collectives, which stands for MPI's on a cluster and
which the emulation cannot represent faithfully: one process moves every word that P
ranks would send it, over no network; the rest is the rank's own), peak resident
memory (ru_maxrss, MiB, imports included), resident memory after the build, and the
arrays the built rank keeps, by structure (MiB), its exchange tables (bytes; with
``alltoall`` also the mesh's, derived from them: :func:`mesh_tables`), and the resident
memory and peak so far after each stage of the build (the messages of the
``bigbrain.build`` log: which stage makes the peak); with ``--t`` also the simulation time
and the messages of the exchange per interval (and of them, those of the count phase).
"""
import argparse
import json
import logging
import resource
import subprocess
import sys
import time

from types import SimpleNamespace

import numpy as np

MIB = 2**20


def rss_now():
    """Resident memory of this process now (MiB)."""
    with open("/proc/self/statm") as f:
        import os
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: Objects that reach everything: a structure's arrays are not counted through them.
WHOLE = ("Network", "Simulation")


def array_bytes(obj, seen, depth=0):
    """Bytes of the NumPy arrays reachable from ``obj`` through attributes, dicts, lists and
    tuples of bigbrain objects (not through :data:`WHOLE`), each buffer counted once
    (``seen``: ids of buffers)."""
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen:
            return 0
        seen.add(id(base))
        return base.nbytes
    if depth > 6 or id(obj) in seen or type(obj).__name__ in WHOLE:
        return 0
    seen.add(id(obj))
    if isinstance(obj, dict):
        return sum(array_bytes(v, seen, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(array_bytes(v, seen, depth + 1) for v in obj)
    if type(obj).__module__.startswith("bigbrain") and hasattr(obj, "__dict__"):
        return sum(array_bytes(v, seen, depth + 1) for v in vars(obj).values())
    return 0


class Stages(logging.Handler):
    """Resident memory now and the peak so far (MiB) at each message of the build's log
    (``bigbrain.build``): which stage makes the build's peak."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.seen = []

    def emit(self, record):
        self.seen.append((record.getMessage()[:40], round(rss_now()), round(peak_rss())))


def kept_by_structure(net, sim):
    """MiB of arrays the built rank keeps, by structure (first owner counts a shared one)."""
    seen = set()
    parts = {
        "populations": list(net.populations.values()),
        "connections": [{k: v for k, v in vars(c).items() if k != "rule"} for c in net.connections],
        "needed sources": [sim.static_sources] + [p.sources for p in sim.plasticity.projections],
        "static rows (ptr)": [p.row_starts for p in sim.static],
        "static synapses": sim.static,
        "plastic synapses": sim.plasticity,
        "poisson synapses": sim.poisson,
        "neurons": sim.blocks,
        "ring buffers": [sim.ring_ex, sim.ring_in, sim.ring_cur],
        "exchange tables": sim.exchange,
        "partition": sim.partition,
    }
    return {name: array_bytes(objs, seen) / MIB for name, objs in parts.items()}


def csr(keys, values):
    """(distinct keys, row pointers, values) of the distinct (key, value) pairs, sorted by
    key then value."""
    order = np.lexsort((values, keys))
    keys, values = keys[order], values[order]
    new = np.r_[True, (keys[1:] != keys[:-1]) | (values[1:] != values[:-1])]
    keys, values = keys[new], values[new]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return SimpleNamespace(keys=keys[first], ptr=np.r_[first, len(keys)], ranks=values)


def table_bytes(table, counted_keys):
    """Bytes of a routing table as the exchanges stored it before runs (issue 24): int32
    keys (when ``counted_keys``), int64 row pointers, int16 ranks."""
    return 4 * len(table.keys) * counted_keys + 8 * len(table.ptr) + 2 * len(table.ranks)


def mesh_tables(ex, n, gid_type):
    """Bytes of the tables the mesh exchange would hold on this rank: (row-phase table,
    forwarding table) as runs (:class:`bigbrain.exchange.RunTable`) and as before, derived
    from the emulated rank's alltoall routing table. By the emulation's symmetry rank o's
    table is this one moved by o − r (sources and destinations, as EmulatedMPI moves them),
    so this rank (row R, column C) forwards, for each rank o of its row, o's sources with
    destinations in column C, to the rows of those destinations. ``gid_type``: that of the
    needed sources, in which the forwarding keys arrive."""
    from bigbrain.exchange import RunTable
    mesh, r, P = ex.mesh, ex.comm.rank, ex.comm.size
    src = np.repeat(ex.table.keys.astype(np.int64), np.diff(ex.table.ptr))
    dst = ex.table.ranks.astype(np.int64)
    row_phase = csr(src, mesh.col(dst))
    keys, rows = [], []
    for col in range(mesh.cols):
        shift = (int(mesh.row(r)) * mesh.cols + col - r) % P
        moved = (dst + shift) % P
        here = mesh.col(moved) == mesh.col(r)
        gids = src[here] + shift
        gids[gids >= n] -= P
        keys.append(gids)
        rows.append(mesh.row(moved[here]))
    forward = csr(np.concatenate(keys).astype(gid_type), np.concatenate(rows))  # as requested
    runs = [RunTable(row_phase, mesh.cols), RunTable(forward, mesh.rows)]
    return {"mesh_table_bytes": [sum(a.nbytes for a in (t.starts, t.ptr, t.ranks)) for t in runs],
            "mesh_table_bytes_before": [table_bytes(row_phase, False), table_bytes(forward, True)],
            "mesh": [mesh.rows, mesh.cols]}


def worker(n, ranks, rank, exchange, t):
    """Build (and run ``t`` ms of) rank ``rank`` of ``ranks`` (``rank`` −1: this is a real
    rank of an mpiexec job); print one JSON line (rank 0 of a real job: the largest of
    every rank's figures)."""
    import bigbrain as bb
    from bigbrain.comm import EmulatedMPI
    from bigbrain.models import brunel
    comm = None if rank < 0 else EmulatedMPI(ranks, rank, n)
    net = bb.Network(dt=0.1, seed=1, comm=comm, exchange=exchange)
    brunel(net, N=n, CE=1000, CI=250, J=0.1)
    before = rss_now()
    stages, log = Stages(), logging.getLogger("bigbrain.build")
    log.addHandler(stages)
    log.setLevel(logging.INFO)
    t0, c0, e0 = time.perf_counter(), time.process_time(), getattr(comm, "seconds", 0.0)
    sim = net.build()
    t1, c1, e1 = time.perf_counter(), time.process_time(), getattr(comm, "seconds", 0.0)
    log.removeHandler(stages)
    out = {"N": n, "P": ranks, "rank": rank, "neurons": len(sim.local_gids),
           "synapses": sim.n_synapses(), "build_s": t1 - t0, "build_cpu_s": c1 - c0,
           "collectives_cpu_s": e1 - e0, "described_mib": before,
           "peak_build_mib": peak_rss(), "after_build_mib": rss_now(),
           "kept_mib": kept_by_structure(net, sim), "stages": stages.seen}
    if t > 0:
        t2 = time.perf_counter()
        net.run(t)
        intervals = -(-int(round(t / net.dt)) // sim.interval)  # exchanges, the last may be short
        traffic = sim.exchange.traffic
        out.update(sim_s=time.perf_counter() - t2, peak_mib=peak_rss(), spikes=sim.n_spikes,
                   messages_per_interval=traffic.messages / max(intervals, 1),
                   count_messages_per_interval=traffic.count_messages / max(intervals, 1))
    if rank >= 0:
        out["table_bytes"] = sim.exchange.table_bytes()
        if exchange == "alltoall" and ranks > 1:
            out.update(mesh_tables(sim.exchange, n, sim.static_sources.dtype))
    if rank < 0:
        every = net.comm.allgather(out)
        out = {k: (max(o[k] for o in every) if not isinstance(v, dict) else
                   {s: max(o[k][s] for o in every) for s in v}) for k, v in out.items()
               if k != "stages"}
        out["rank"] = -1
        if net.rank != 0:
            return
    print(json.dumps(out))


def run_one(n, local, ranks, rank, exchange, t, real=False):
    ranks = ranks or max(1, n // local)
    rank = -1 if real else ranks // 2 if rank is None else rank
    cmd = [sys.executable, __file__, "--worker", str(n), str(ranks), str(rank), exchange, str(t)]
    cmd = ["mpiexec", "-n", str(ranks)] + cmd if real else cmd
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"N = {n}: the emulated rank failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def own(r):
    """The build's CPU time split into the rank's own and the emulated collectives' (which
    stand for MPI's time on a cluster), where emulated."""
    if r["rank"] < 0:
        return ""
    return (f": the rank's own {r['build_cpu_s'] - r['collectives_cpu_s']:.3f} s, "
            f"emulated collectives {r['collectives_cpu_s']:.3f} s")


def show(r):
    kept = ", ".join(f"{k} {v:.1f}" for k, v in r["kept_mib"].items() if v >= 0.05)
    who = "every rank (largest)" if r["rank"] < 0 else f"rank {r['rank']:>7d}"
    line = (f"N {r['N']:.0e}  P {r['P']:>7d}  {who}: {r['neurons']} neurons, "
            f"{r['synapses']:,} synapses; build {r['build_s']:.2f} s ({r['build_cpu_s']:.2f} s CPU{own(r)}), peak {r['peak_build_mib']:.0f} MiB, "
            f"after build {r['after_build_mib']:.0f} MiB (described {r['described_mib']:.0f})\n"
            f"    kept (MiB): {kept}")
    if r.get("stages"):
        line += "\n    build stages (MiB now / peak so far): " + "; ".join(
            f"{what}: {now} / {peak}" for what, now, peak in r["stages"])
    if "sim_s" in r:
        line += (f"\n    run: {r['sim_s']:.2f} s, {r['spikes']} spikes, "
                 f"{r['messages_per_interval']:.0f} messages per interval "
                 f"({r['count_messages_per_interval']:.0f} in the count phase), peak {r['peak_mib']:.0f} MiB")
    if "table_bytes" in r:
        line += f"\n    exchange tables: {r['table_bytes'] / MIB:.3f} MiB"
    if "mesh" in r:
        rows, cols = r["mesh"]
        line += (f"; mesh {rows} x {cols} (from them): routing + forwarding "
                 f"{' + '.join(f'{b / MIB:.3f}' for b in r['mesh_table_bytes'])} MiB "
                 f"(before runs: {' + '.join(f'{b / MIB:.3f}' for b in r['mesh_table_bytes_before'])}), "
                 f"count phase {cols - 1 + rows - 1} messages per interval")
    print(line, flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        n, ranks, rank, exchange, t = sys.argv[2:7]
        return worker(int(n), int(ranks), int(rank), exchange, float(t))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=float, nargs="+", default=[1e6, 1e7, 1e8],
                        help="neurons of the whole network (default: 1e6 1e7 1e8)")
    parser.add_argument("--local", type=int, default=2000, help="neurons per rank (P = N / local)")
    parser.add_argument("--ranks", type=int, default=None, help="P (overrides --local)")
    parser.add_argument("--rank", type=int, default=None, help="the rank emulated (default P // 2)")
    parser.add_argument("--exchange", default="alltoall", choices=["alltoall", "sparse"])
    parser.add_argument("--t", type=float, default=0.0, help="ms to simulate after the build")
    parser.add_argument("--json", action="store_true", help="print the raw JSON lines too")
    parser.add_argument("--real", type=int, nargs="+", default=None, metavar="P",
                        help="weak scaling with real ranks instead: mpiexec -n P for each P, "
                        "N = local · P (oversubscribed on a small machine: memory and "
                        "messages, not timings)")
    args = parser.parse_args()
    if args.real:
        for ranks in args.real:
            show(run_one(args.local * ranks, args.local, ranks, None, args.exchange, args.t, real=True))
        return
    for n in args.N:
        r = run_one(int(n), args.local, args.ranks, args.rank, args.exchange, args.t)
        show(r)
        if args.json:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
