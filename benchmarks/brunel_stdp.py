"""Brunel network with STDP on E->E: bigbrain (1, 2 ranks) beside NEST 3 stdp_synapse (1, 2 threads).

    python benchmarks/brunel_stdp.py                  # N = 12,500, 1 s
    python benchmarks/brunel_stdp.py --N 12500 --t 1000 --ranks 1 2

Network: Brunel (2000) model A (see benchmarks/nest_brunel.py), E->E plastic: additive
stdp_synapse, lambda 0.01, alpha 1, mu_plus = mu_minus = 0, Wmax = 2 J, initial weight J,
tau_plus = tau_minus = 20 ms. Each configuration runs in its own process, one after the
other. Reports build and simulation time (s), peak resident memory per process (MiB), and
bytes per plastic synapse (weights, targets, rows and pre traces of the plastic
projections, all ranks, divided by the number of plastic synapses).
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
J = 0.1


def worker(N, t):
    """Run inside each rank: build, simulate, report (rank 0 prints one JSON line)."""
    import bigbrain as bb
    from bigbrain.models import brunel
    net = bb.Network(dt=0.1, seed=1)
    exc, _ = brunel(net, N=N, CE=1000, CI=250, J=J, synapse=bb.STDP(
        tau_plus=20.0, lambda_=0.01, alpha=1.0, mu_plus=0.0, mu_minus=0.0, Wmax=2 * J))
    t0 = time.perf_counter()
    sim = net.build()
    net.comm.mpi.Barrier()
    t1 = time.perf_counter()
    res = net.run(t)
    net.comm.mpi.Barrier()
    t2 = time.perf_counter()
    w = res.weights(exc, exc)[2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats = net.comm.allgather((sim.exchange.packets_sent, rss, *sim.plasticity.nbytes()))
    if net.rank == 0:
        print(json.dumps({"build_s": t1 - t0, "sim_s": t2 - t1, "peak_rss_mb": max(s[1] for s in stats),
                          "plastic_synapses": sum(s[3] for s in stats),
                          "bytes_per_plastic_synapse": sum(s[2] for s in stats) / sum(s[3] for s in stats),
                          "mean_weight": float(w.mean()), "at_Wmax": float((w == 2 * J).mean())}))


def run_bigbrain(N, t, ranks):
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, __file__, "--worker", "--N", str(N), "--t", str(t)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=12_500)
    parser.add_argument("--t", type=float, default=1000.0)
    parser.add_argument("--ranks", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.N, args.t)
        return
    from nest_brunel import run_nest_brunel
    for k in args.ranks:
        ours = run_bigbrain(args.N, args.t, k)
        nest = run_nest_brunel(N=args.N, threads=k, t_sim=args.t, stdp=True)
        print(f"brunel+stdp N={args.N} cores={k} t={args.t} ms")
        print(f"  bigbrain: build {ours['build_s']:.2f} s, sim {ours['sim_s']:.2f} s, peak/rank "
              f"{ours['peak_rss_mb']:.0f} MiB, {ours['plastic_synapses']} plastic synapses, "
              f"{ours['bytes_per_plastic_synapse']:.2f} B/plastic synapse, mean w "
              f"{ours['mean_weight']:.4f} mV ({100 * ours['at_Wmax']:.1f} % at Wmax)")
        print(f"  NEST:     build {nest['build_s']:.2f} s, sim {nest['sim_s']:.2f} s, peak "
              f"{nest['peak_rss_mb']:.0f} MiB, rate {nest['rate_hz']:.2f} Hz")
        print(f"  ratio bigbrain/NEST: sim {ours['sim_s'] / nest['sim_s']:.2f}, memory "
              f"{ours['peak_rss_mb'] * k / nest['peak_rss_mb']:.2f} (all ranks / NEST process)", flush=True)


if __name__ == "__main__":
    main()
