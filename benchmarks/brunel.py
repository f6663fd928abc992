"""Brunel network, static or with STDP on E->E: bigbrain with 1 and 2 ranks beside NEST with 1 and 2 threads.

    python benchmarks/brunel.py                       # N = 12,500 and 125,000, 1 s
    python benchmarks/brunel.py --N 12500 --t 1000 --ranks 1 2
    python benchmarks/brunel.py --N 12500 --stdp      # E->E stdp_synapse
    python benchmarks/brunel.py --N 12500 --brian2    # Brian2 (C++ standalone) beside NEST
    python benchmarks/brunel.py --N 12500 --weights normal   # heterogeneous static weights

Network: Brunel (2000) model A, CE = 1000, CI = 250 fixed whatever N (as NEST's
``brunel_delta_nest`` scales it), J = 0.1 mV, g = 5, eta = 2, delay 1.5 ms, dt 0.1 ms.
With ``--stdp`` E->E is plastic: additive stdp_synapse, lambda 0.01, alpha 1,
mu_plus = mu_minus = 0, Wmax = 2 J, initial weight J, tau_plus = tau_minus = 20 ms.
With ``--weights normal`` the recurrent weights are heterogeneous (in both simulators):
normal(J, 0.1 J) excitatory, normal(-g J, 0.1 g J) inhibitory; the Poisson input stays J.
Every configuration runs in its own process (bigbrain under ``mpiexec -n K``, NEST in a
fresh Python), one after the other, so peak memory (ru_maxrss, build included) belongs to
that run alone. Prints one line per run and the ratios bigbrain / NEST for the same
number of cores: build and simulation time, peak memory (all ranks / the NEST process),
bytes per synapse (synapse storage of all ranks: rows, targets, weights, delays, and for
plastic projections the row traces, divided by the synapses; static and plastic apart).
With ``--brian2`` Brian2 (``benchmarks/brian2_brunel.py``: C++ standalone, OpenMP threads
= ranks, the same network step for step) runs too, for static fixed weights only: its
build (inside the binary), simulation time (Brian2's run timer, compilation excluded), peak
memory (the standalone binary) and rate, the ratios bigbrain / Brian2 and bigbrain's
simulation time over the faster of NEST and Brian2 (issue 9 asks for at most 0.1).
``--brian2-python`` (or ``$BRIAN2_PYTHON``) runs Brian2 under another interpreter.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

J = 0.1  # mV
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nest_brunel import WEIGHT_REL_STD  # noqa: E402 - after the path is set


def worker(N, t, stdp, weights):
    """Run inside each rank: build, simulate, report (rank 0 prints one JSON line)."""
    import bigbrain as bb
    from bigbrain.models import brunel
    synapse = bb.STDP(tau_plus=20.0, lambda_=0.01, alpha=1.0, mu_plus=0.0, mu_minus=0.0,
                      Wmax=2 * J) if stdp else None
    net = bb.Network(dt=0.1, seed=1)
    exc, _ = brunel(net, N=N, CE=1000, CI=250, J=J, synapse=synapse,
                    J_rel_std=WEIGHT_REL_STD[weights])
    t0 = time.perf_counter()
    sim = net.build()
    net.comm.mpi.Barrier()
    t1 = time.perf_counter()
    res = net.run(t)
    net.comm.mpi.Barrier()
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # build and run
    w = res.weights(exc, exc)[2] if stdp else np.zeros(1)  # gathered on every rank: not counted
    static = (sum(p.nbytes() for p in sim.static), sum(len(p) for p in sim.static))
    stats = np.array(net.comm.allgather((sim.n_spikes, *static, *sim.plasticity.nbytes(), rss)))
    total = stats.sum(axis=0)
    if net.rank == 0:
        print(json.dumps({"build_s": t1 - t0, "sim_s": t2 - t1, "peak_rss_mb": stats[:, 5].max(),
                          "n_spikes": int(total[0]), "n_static": int(total[2]),
                          "static_bytes_per_synapse": total[1] / max(1, total[2]),
                          "n_plastic": int(total[4]),
                          "plastic_bytes_per_synapse": total[3] / max(1, total[4]),
                          "mean_weight": float(w.mean()), "at_Wmax": float((w == 2 * J).mean())}))


def run_bigbrain(N, t, ranks, stdp=False, weights="fixed"):
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, __file__, "--worker", "--N", str(N), "--t", str(t),
           "--weights", weights]
    if stdp:
        cmd.append("--stdp")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_brian2(N, t, threads, python=None):
    """Brian2's figures for the same network, or None (the reason printed) when it fails."""
    from brian2_brunel import run_brian2_brunel
    try:
        return run_brian2_brunel(N=N, threads=threads, t_sim=t, python=python)
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        print(f"  Brian2:   failed: {str(err).strip().splitlines()[-1]}", flush=True)
        return None


def print_nest(ours, nest, k):
    """NEST's line and the ratios bigbrain / NEST (``ours``: bigbrain on ``k`` ranks; None
    when bigbrain did not run)."""
    print(f"  NEST:     build {nest['build_s']:.2f} s, sim {nest['sim_s']:.2f} s"
          f"{_cpu(nest)}, "
          f"peak {nest['peak_rss_mb']:.0f} MiB, spikes {nest['n_spikes']}, rate {nest['rate_hz']:.2f} Hz")
    if ours is not None:
        print(f"  ratio bigbrain/NEST: build {ours['build_s'] / nest['build_s']:.2f}, "
              f"sim {ours['sim_s'] / nest['sim_s']:.2f}{_cpu_ratio(ours, nest)}, memory "
              f"{ours['peak_rss_mb'] * k / nest['peak_rss_mb']:.2f} (all ranks / NEST process)",
              flush=True)


def _cpu(figures):
    """' (CPU x s)' where ``figures`` hold the simulation's CPU seconds (all threads/ranks)."""
    return f" (CPU {figures['sim_cpu_s']:.2f} s)" if "sim_cpu_s" in figures else ""


def _cpu_ratio(ours, theirs):
    """' (CPU r)': the ratio of simulation CPU seconds, where both have them (on a loaded
    machine the wall times swing with the other processes, CPU times much less)."""
    if "sim_cpu_s" in ours and "sim_cpu_s" in theirs:
        return f" (CPU {ours['sim_cpu_s'] / theirs['sim_cpu_s']:.2f})"
    return ""


def print_brian2(ours, nest, b2, k):
    """Brian2's line, the ratios bigbrain / Brian2 and bigbrain / the faster of NEST and Brian2
    (``ours`` or ``nest`` None: that simulator did not run)."""
    nest_rate = f" (NEST {nest['rate_hz']:.2f} Hz)" if nest else ""
    print(f"  Brian2:   build {b2['build_s']:.2f} s (+ codegen {b2['codegen_s']:.1f} s, compile "
          f"{b2['compile_s']:.1f} s), sim {b2['sim_s']:.2f} s{_cpu(b2)}, peak "
          f"{b2['peak_rss_mb']:.0f} MiB, spikes "
          f"{b2['n_spikes']}, rate {b2['rate_hz']:.2f} Hz{nest_rate}")
    if ours is None:
        return
    print(f"  ratio bigbrain/Brian2: build {ours['build_s'] / b2['build_s']:.2f}, "
          f"sim {ours['sim_s'] / b2['sim_s']:.2f}{_cpu_ratio(ours, b2)}, memory "
          f"{ours['peak_rss_mb'] * k / b2['peak_rss_mb']:.2f} (all ranks / Brian2 binary)")
    name, best = min((("NEST", nest), ("Brian2", b2)) if nest else (("Brian2", b2),),
                     key=lambda item: item[1]["sim_s"])
    print(f"  ratio bigbrain/faster of NEST and Brian2 ({name}): sim "
          f"{ours['sim_s'] / best['sim_s']:.3f}{_cpu_ratio(ours, best)}", flush=True)


def compare(N, t, ranks, stdp=False, weights="fixed", brian2=False, brian2_python=None):
    """Run bigbrain and NEST (and Brian2 if ``brian2``) for each core count; print a line
    per run and the ratios."""
    from nest_brunel import run_nest_brunel
    if brian2 and (stdp or weights != "fixed"):
        print("Brian2: skipped (benchmarks/brian2_brunel.py has static fixed weights only)")
        brian2 = False
    label = ("brunel+stdp" if stdp else "brunel") + ("" if weights == "fixed" else f" ({weights} weights)")
    for k in ranks:
        ours = run_bigbrain(N, t, k, stdp, weights)
        print(f"{label} N={N} cores={k} t={t} ms")
        plastic = (f", {ours['n_plastic']} plastic {ours['plastic_bytes_per_synapse']:.2f} B/synapse, "
                   f"mean w {ours['mean_weight']:.4f} mV ({100 * ours['at_Wmax']:.1f} % at Wmax)"
                   if stdp else "")
        print(f"  bigbrain: build {ours['build_s']:.2f} s, sim {ours['sim_s']:.2f} s, peak/rank "
              f"{ours['peak_rss_mb']:.0f} MiB, spikes {ours['n_spikes']}, {ours['n_static']} static "
              f"{ours['static_bytes_per_synapse']:.2f} B/synapse{plastic}")
        try:
            nest = run_nest_brunel(N=N, threads=k, t_sim=t, stdp=stdp, weights=weights)
        except RuntimeError as err:  # e.g. NEST's limit of 2**27 synapses per thread and model
            print(f"  NEST:     failed: {str(err).strip().splitlines()[-1]}", flush=True)
            nest = None
        if nest is not None:
            print_nest(ours, nest, k)
        b2 = run_brian2(N, t, k, brian2_python) if brian2 else None
        if b2 is not None:
            print_brian2(ours, nest, b2, k)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, nargs="*", default=[12_500, 125_000])
    parser.add_argument("--t", type=float, default=1000.0)
    parser.add_argument("--ranks", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--stdp", action="store_true", help="STDP on E->E (additive, Wmax = 2 J)")
    parser.add_argument("--weights", choices=sorted(WEIGHT_REL_STD), default="fixed",
                        help="recurrent weights: fixed J and -g J, or normal with 10 %% std")
    parser.add_argument("--brian2", action="store_true",
                        help="also run Brian2 (C++ standalone, OpenMP threads = ranks)")
    parser.add_argument("--brian2-python", default=None,
                        help="interpreter with Brian2 (default $BRIAN2_PYTHON or this one)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.N[0], args.t, args.stdp, args.weights)
        return
    for N in args.N:
        compare(N, args.t, args.ranks, args.stdp, args.weights, args.brian2, args.brian2_python)


if __name__ == "__main__":
    main()
