"""Archive figures for the Brunel network (model A, benchmarks/nest_brunel.py parameters).

Reports: bytes per stored spike, checkpoint size per neuron and per synapse, checkpoint
write and load time, and the run-time overhead of streaming the spike records (the same
run with and without an archive, less the one checkpoint written at the end).

Usage::

    python benchmarks/archive_figures.py [--N 125000] [--t 200] [--stdp] [--dir /tmp]
    mpiexec -n 2 python benchmarks/archive_figures.py --N 125000

Prints one JSON object (rank 0).
"""
import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import zarr

import bigbrain as bb
from bigbrain.checkpoint import manifest, restore

DT, DELAY, J, G, RATE = 0.1, 1.5, 0.1, 5.0, 20_000.0
NEURON = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}


def brunel(N, archive=None, stdp=False):
    """Brunel (2000) model A with CE = 1000, CI = 250 (as benchmarks/nest_brunel.py)."""
    net = bb.Network(dt=DT, seed=1, archive=archive)
    ne = int(round(0.8 * N))
    exc = net.population("E", ne, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), **NEURON)
    inh = net.population("I", N - ne, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), **NEURON)
    noise = net.poisson("noise", RATE)
    net.connect(noise, exc | inh, weight=J, delay=DELAY)
    if stdp:
        net.connect(exc, exc, rule="fixed_indegree", indegree=1000, weight=J, delay=DELAY,
                    synapse=bb.STDP(lambda_=0.01, alpha=1.0, mu_plus=0.0, mu_minus=0.0, Wmax=2 * J))
        net.connect(exc, inh, rule="fixed_indegree", indegree=1000, weight=J, delay=DELAY)
    else:
        net.connect(exc, exc | inh, rule="fixed_indegree", indegree=1000, weight=J, delay=DELAY)
    net.connect(inh, exc | inh, rule="fixed_indegree", indegree=250, weight=-G * J, delay=DELAY)
    net.record(exc, "spikes")
    net.record(inh, "spikes")
    return net


def du(path):
    """Bytes of all files below ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def timed_run(net, t):
    net.build()
    net.comm.mpi.Barrier()
    start = time.perf_counter()
    net.run(t)
    net.comm.mpi.Barrier()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=125_000)
    ap.add_argument("--t", type=float, default=200.0, help="biological time (ms)")
    ap.add_argument("--stdp", action="store_true")
    ap.add_argument("--dir", default="/tmp")
    args = ap.parse_args()
    path = Path(args.dir) / f"archive_figures_{args.N}.zarr"

    plain = brunel(args.N, stdp=args.stdp)
    t_plain = timed_run(plain, args.t)
    rank = plain.rank
    if rank == 0:
        shutil.rmtree(path, ignore_errors=True)
    plain.comm.mpi.Barrier()
    net = brunel(args.N, bb.Archive(path, checkpoint_every=None, checkpoint_at_end=True), args.stdp)
    t_archived = timed_run(net, args.t)
    sim = net.build()
    n_syn = net.comm.mpi.allreduce(sim.n_synapses())
    n_plastic = net.comm.mpi.allreduce(len(sim.plasticity)) if hasattr(sim, "plasticity") else 0

    # load: rebuild the network, then time restoring the checkpoint alone
    step = int(round(args.t / DT))
    again = brunel(args.N, stdp=args.stdp)
    sim2 = again.build()
    root = zarr.open_group(str(path), mode="r")
    again.comm.mpi.Barrier()
    start = time.perf_counter()
    restore(sim2, root, step)
    again.comm.mpi.Barrier()
    t_load = time.perf_counter() - start
    if rank != 0:
        return
    m = manifest(root, step)
    n_spikes = sum(root[f"spikes/{p}/node_ids"].shape[0] for p in ("E", "I"))
    spike_bytes = sum(du(path / "spikes" / p / a) for p in ("E", "I") for a in ("node_ids", "timestamps"))
    ckpt = path / "checkpoints" / str(step)
    plastic = sum(du(p) for p in ckpt.glob("rank_*/plastic"))
    print(json.dumps({
        "N": args.N, "t_ms": args.t, "ranks": net.n_ranks, "stdp": args.stdp,
        "synapses": n_syn, "spikes_stored": n_spikes,
        "bytes_per_spike": spike_bytes / max(n_spikes, 1),
        "checkpoint_bytes": du(ckpt),
        "checkpoint_bytes_per_neuron": (du(ckpt) - plastic) / args.N,
        "checkpoint_bytes_per_synapse": du(ckpt) / n_syn,
        "checkpoint_bytes_per_plastic_synapse": plastic / n_plastic if n_plastic else None,
        "checkpoint_write_s": m["write_s"], "checkpoint_load_s": t_load,
        "run_s_plain": t_plain, "run_s_archived": t_archived,
        "streaming_overhead": (t_archived - m["write_s"]) / t_plain - 1.0,
        "telemetry_write_s": float(np.sum(root["telemetry/t_write_s"][:])),
    }, indent=1))


if __name__ == "__main__":
    main()
