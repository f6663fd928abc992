"""Scale on one machine: Brunel with 10^6 neurons and the full-scale microcircuit, 2 ranks.

    python benchmarks/scale.py                        # both, 1 s of biological time
    python benchmarks/scale.py --brunel 1000000 --microcircuit 1.0 --t 1000 --ranks 2
    python benchmarks/scale.py --brunel 0 --microcircuit 1.0 --nest   # beside NEST

* Brunel (2000) model A with N neurons (CE = 1000, CI = 250: 1.25·10^9 synapses for
  N = 10^6), static synapses, as in benchmarks/brunel.py (bigbrain only: NEST cannot pass
  N = 200,000 on 24 GiB).
* Potjans & Diesmann (2014) microcircuit (bigbrain.models.microcircuit) at ``scale`` of
  its 77,169 neurons and ~3·10^8 synapses, Poisson input, spikes of every neuron recorded.

With ``--nest`` the microcircuit also runs in NEST (benchmarks/nest_microcircuit.py, as
many threads as ranks) after bigbrain, and the ratios are printed.

Each runs in its own ``mpiexec`` job; prints build and simulation time (s), the real-time
factor (simulation time / biological time), peak resident memory per rank and in all
(MiB, build included), synapses and spikes.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def microcircuit_worker(scale, t):
    """Run inside each rank: build, simulate, report (rank 0 prints one JSON line)."""
    import bigbrain as bb
    from bigbrain.models import microcircuit
    net = bb.Network(dt=0.1, seed=1)
    microcircuit(net, scale=scale)
    t0 = time.perf_counter()
    sim = net.build()
    net.comm.mpi.Barrier()
    t1 = time.perf_counter()
    net.run(t)
    net.comm.mpi.Barrier()
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats = net.comm.allgather((sim.n_spikes, sim.n_synapses(), rss))
    if net.rank == 0:
        print(json.dumps({"build_s": t1 - t0, "sim_s": t2 - t1,
                          "peak_rss_mb": max(s[2] for s in stats),
                          "total_rss_mb": sum(s[2] for s in stats),
                          "n_spikes": sum(s[0] for s in stats), "n_synapses": sum(s[1] for s in stats)}))


def run_microcircuit(scale, t, ranks):
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, __file__, "--worker", "--microcircuit",
           str(scale), "--t", str(t)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def report(label, t, ranks, r, unit="ranks"):
    n_syn = r.get("n_synapses", r.get("n_static", 0) + r.get("n_plastic", 0))
    total = r.get("total_rss_mb", r["peak_rss_mb"] * ranks)
    print(f"{label}, {ranks} {unit}, {t:g} ms: build {r['build_s']:.1f} s, sim {r['sim_s']:.1f} s "
          f"(real-time factor {r['sim_s'] / (t / 1000):.1f}), peak {r['peak_rss_mb']:.0f} MiB per process "
          f"({total / 1024:.2f} GiB in all), {n_syn} synapses, {r['n_spikes']} spikes", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brunel", type=int, default=1_000_000, help="neurons (0: skip)")
    parser.add_argument("--microcircuit", type=float, default=1.0, help="scale (0: skip)")
    parser.add_argument("--t", type=float, default=1000.0)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--nest", action="store_true", help="the microcircuit in NEST too")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        microcircuit_worker(args.microcircuit, args.t)
        return
    from brunel import run_bigbrain
    if args.brunel:
        report(f"brunel N={args.brunel}", args.t, args.ranks,
               run_bigbrain(args.brunel, args.t, args.ranks))
    if args.microcircuit:
        ours = run_microcircuit(args.microcircuit, args.t, args.ranks)
        report(f"microcircuit scale={args.microcircuit:g}", args.t, args.ranks, ours)
        if args.nest:
            from nest_microcircuit import run_nest_microcircuit
            nest = run_nest_microcircuit(args.microcircuit, args.t, args.ranks)
            nest["total_rss_mb"] = nest["peak_rss_mb"]  # one process
            report(f"NEST microcircuit scale={args.microcircuit:g}", args.t, args.ranks, nest,
                   "threads")
            print(f"ratio bigbrain/NEST: build {ours['build_s'] / nest['build_s']:.2f}, sim "
                  f"{ours['sim_s'] / nest['sim_s']:.2f}, memory "
                  f"{ours['total_rss_mb'] / nest['peak_rss_mb']:.2f} (all ranks / NEST process)")


if __name__ == "__main__":
    main()
