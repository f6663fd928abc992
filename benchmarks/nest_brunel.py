"""NEST 3.x reference for the Brunel (2000) network, model A: figures and timings.

Classic parameters: NE = 0.8 N, NI = 0.2 N ``iaf_psc_delta`` neurons (C_m = 1 pF,
tau_m = 20 ms, t_ref = 2 ms, E_L = 0, V_th = 20, V_reset = 10 mV, initial V_m
uniform in [0, 20) mV); CE = 1000, CI = 250 inputs per neuron (fixed_indegree,
autapses and multapses allowed); J = 0.1 mV, inhibitory -g J with g = 5; delay
1.5 ms everywhere; one poisson_generator at eta * nu_th * CE = 20 kHz (eta = 2)
connected all_to_all with weight J; dt = 0.1 ms.  With ``stdp=True`` E->E uses
an additive ``stdp_synapse`` (lambda 0.01, alpha 1, mu_plus = mu_minus = 0,
Wmax = 2 J, tau_plus = tau_minus = 20 ms).  With ``weights="normal"`` the recurrent
weights are drawn from normal(J, 0.1 J) and normal(-g J, 0.1 g J).

Usage::

    python benchmarks/nest_brunel.py --stats [--seeds 1 2 3] [--threads 2]
    python benchmarks/nest_brunel.py --bench [--N 12500] [--threads 1] [--stdp] [--record]

From a driver: ``from benchmarks.nest_brunel import run_nest_brunel`` (or load this
file by path).  Every run happens in a fresh child process so that its peak RSS
(``ru_maxrss`` of the child) belongs to that run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: Model A constants (ms, mV, pF).
DT, DELAY, J, G, ETA = 0.1, 1.5, 0.1, 5.0, 2.0
CE, CI = 1000, 250
NEURON = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}
#: Standard deviation of the recurrent weights relative to their mean, by ``weights`` option.
WEIGHT_REL_STD = {"fixed": 0.0, "normal": 0.1}
#: Statistics window starts here (ms).
T_SKIP = 100.0

_MARK = "NEST_BRUNEL_RESULT "
_REPO = Path(__file__).resolve().parents[1]


def poisson_rate_hz() -> float:
    """External Poisson rate in Hz: eta * V_th / (J CE tau_m) * CE * 1000 = 20 kHz."""
    nu_th = NEURON["V_th"] / (J * CE * NEURON["tau_m"])  # 1/ms
    return ETA * nu_th * CE * 1000.0


def _weight(nest, mean: float, weights: str):
    """A recurrent weight (mV): ``mean``, or a normal draw for ``weights="normal"``."""
    std = WEIGHT_REL_STD[weights] * abs(mean)
    return nest.random.normal(mean, std) if std > 0 else mean


def _build(nest, n_total: int, stdp: bool, weights: str = "fixed"):
    """Create and connect the network in the current NEST kernel; return all neurons."""
    ne = int(round(0.8 * n_total))
    ni = n_total - ne
    nest.SetDefaults("iaf_psc_delta", NEURON)
    exc = nest.Create("iaf_psc_delta", ne)
    inh = nest.Create("iaf_psc_delta", ni)
    neurons = exc + inh
    neurons.V_m = nest.random.uniform(0.0, NEURON["V_th"])
    noise = nest.Create("poisson_generator", params={"rate": poisson_rate_hz()})
    nest.Connect(noise, neurons, "all_to_all", {"weight": J, "delay": DELAY})
    e_in = {"rule": "fixed_indegree", "indegree": CE}
    i_in = {"rule": "fixed_indegree", "indegree": CI}
    static_e = {"synapse_model": "static_synapse", "weight": _weight(nest, J, weights), "delay": DELAY}
    if stdp:
        neurons.tau_minus = 20.0
        nest.Connect(exc, exc, e_in, {"synapse_model": "stdp_synapse", "weight": _weight(nest, J, weights),
                                      "delay": DELAY,
                                      "lambda": 0.01, "alpha": 1.0, "mu_plus": 0.0,
                                      "mu_minus": 0.0, "Wmax": 2 * J, "tau_plus": 20.0})
        nest.Connect(exc, inh, e_in, static_e)
    else:
        nest.Connect(exc, neurons, e_in, static_e)
    nest.Connect(inh, neurons, i_in, {"synapse_model": "static_synapse",
                                      "weight": _weight(nest, -G * J, weights), "delay": DELAY})
    return neurons


def window_stats(times: np.ndarray, senders: np.ndarray, n_total: int, t_sim: float) -> dict:
    """Mean rate (Hz, over all n_total neurons) and mean ISI CV (neurons with >= 3
    spikes) of spikes with t > T_SKIP ms; senders are 0-based neuron indices."""
    keep = times > T_SKIP
    t, s = times[keep], senders[keep]
    rate = t.size / n_total / ((t_sim - T_SKIP) / 1000.0)
    o = np.lexsort((t, s))
    t, s = t[o], s[o]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if s.size else np.zeros(0, int)
    ends = np.r_[starts[1:], s.size]
    cvs = []
    for a, b in zip(starts, ends):
        if b - a >= 3:
            isi = np.diff(t[a:b])
            cvs.append(isi.std() / isi.mean())
    return {"rate_hz": float(rate), "cv_isi": float(np.mean(cvs)) if cvs else float("nan"),
            "n_cv_neurons": len(cvs), "n_spikes_window": int(t.size)}


def _child(cfg: dict) -> dict:
    """Build and simulate one network in this process; return timings and counts."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest  # noqa: PLC0415 - only the child imports NEST

    nest.verbosity = nest.VerbosityLevel.ERROR
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    nest.ResetKernel()
    nest.local_num_threads = int(cfg["threads"])
    nest.resolution = DT
    nest.rng_seed = int(cfg["seed"])
    t0 = time.perf_counter()
    neurons = _build(nest, int(cfg["N"]), bool(cfg["stdp"]), cfg.get("weights", "fixed"))
    rec = None
    if cfg["record"]:
        rec = nest.Create("spike_recorder")
        nest.Connect(neurons, rec)
    t1 = time.perf_counter()
    nest.Prepare()
    t2 = time.perf_counter()
    nest.Run(float(cfg["t_sim"]))
    t3 = time.perf_counter()
    nest.Cleanup()
    n_spikes = int(np.sum(nest.GetKernelStatus("local_spike_counter")))
    out = {"build_s": t1 - t0, "sim_s": t3 - t1, "prepare_s": t2 - t1, "run_s": t3 - t2,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "base_rss_mb": base_rss, "n_spikes": n_spikes,
           "rate_hz": n_spikes / int(cfg["N"]) / (float(cfg["t_sim"]) / 1000.0),
           "num_connections": int(nest.num_connections), "nest_version": nest.__version__}
    if rec is not None and cfg.get("stats"):
        ev = rec.get("events")
        senders = np.asarray(ev["senders"], dtype=np.int64) - neurons[0].global_id
        out["window"] = window_stats(np.asarray(ev["times"]), senders, int(cfg["N"]), float(cfg["t_sim"]))
        out["n_spikes_recorded"] = int(senders.size)
    return out


def _spawn(cfg: dict, timeout_s: float | None = None) -> dict:
    """Run ``_child(cfg)`` in a fresh Python process and return its result dict."""
    env = dict(os.environ, PYNEST_QUIET="1", OMP_NUM_THREADS=str(cfg["threads"]))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(cfg)],
                          capture_output=True, text=True, env=env, timeout=timeout_s)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    raise RuntimeError(f"NEST child failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")


def run_nest_brunel(N: int = 12500, threads: int = 1, t_sim: float = 1000.0, stdp: bool = False,
                    seed: int = 1, record: bool = False, weights: str = "fixed") -> dict:
    """Build and simulate the Brunel network in NEST in a fresh subprocess.

    N neurons (NE = 0.8 N, NI = 0.2 N, CE = 1000, CI = 250), ``threads`` NEST threads,
    ``t_sim`` ms, recurrent ``weights`` "fixed" or "normal" (see the module docstring).
    Returns build_s (create + connect, s), sim_s (Prepare + Run, s), peak_rss_mb (child's
    ru_maxrss, MiB, includes Python + NEST, see base_rss_mb), n_spikes (all neurons, whole
    run) and rate_hz (n_spikes / N / t_sim), plus prepare_s, run_s, base_rss_mb,
    num_connections and nest_version.
    """
    cfg = {"N": int(N), "threads": int(threads), "t_sim": float(t_sim), "stdp": bool(stdp),
           "seed": int(seed), "record": bool(record), "stats": False, "weights": weights}
    return _spawn(cfg)


def brunel_stats(seeds=(1, 2, 3), threads: int = 2, t_sim: float = 1000.0, N: int = 12500) -> dict:
    """Rate and ISI CV (spikes after T_SKIP ms) for each seed, one run at a time."""
    per_seed = []
    for seed in seeds:
        cfg = {"N": N, "threads": threads, "t_sim": t_sim, "stdp": False, "seed": int(seed),
               "record": True, "stats": True}
        r = _spawn(cfg)
        w = r["window"]
        per_seed.append({"seed": int(seed), **w, "n_spikes_total": r["n_spikes"],
                         "build_s": r["build_s"], "sim_s": r["sim_s"]})
        print(f"seed {seed}: rate {w['rate_hz']:.3f} Hz, CV {w['cv_isi']:.4f}", file=sys.stderr)
    return {
        "model": "Brunel 2000 model A (NEST iaf_psc_delta), g=5, eta=2, J=0.1 mV, D=1.5 ms",
        "N": N, "NE": int(round(0.8 * N)), "NI": N - int(round(0.8 * N)), "CE": CE, "CI": CI,
        "dt_ms": DT, "t_sim_ms": t_sim, "window_ms": [T_SKIP, t_sim], "poisson_rate_hz": poisson_rate_hz(),
        "threads": threads, "nest_version": r["nest_version"],
        "rate_definition": f"spikes with t > {T_SKIP:g} ms / (N * {(t_sim - T_SKIP) / 1000:g} s), all N neurons",
        "cv_definition": "mean over neurons with >= 3 spikes in the window of std(ISI)/mean(ISI), ddof=0",
        "per_seed": per_seed,
        "mean": {"rate_hz": float(np.mean([p["rate_hz"] for p in per_seed])),
                 "cv_isi": float(np.mean([p["cv_isi"] for p in per_seed]))},
    }


def main(argv=None) -> None:
    """Command line: --stats writes the JSON figures; --bench prints one timing run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--stats", action="store_true", help="rate/CV for --seeds, write --out")
    ap.add_argument("--bench", action="store_true", help="print build/sim time, peak RSS, spikes")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--threads", type=int, default=None, help="NEST threads (stats: 2, bench: 1)")
    ap.add_argument("--N", type=int, default=12500)
    ap.add_argument("--t-sim", type=float, default=1000.0, help="ms")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stdp", action="store_true")
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--out", default=str(_REPO / "tests" / "data" / "nest_brunel_stats.json"))
    a = ap.parse_args(argv)
    if a.child:
        print(_MARK + json.dumps(_child(json.loads(a.child))), flush=True)
    elif a.stats:
        res = brunel_stats(a.seeds, a.threads or 2, a.t_sim, a.N)
        res["command"] = "python benchmarks/nest_brunel.py " + " ".join(argv if argv is not None else sys.argv[1:])
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
        print(json.dumps(res["mean"]))
    elif a.bench:
        print(json.dumps(run_nest_brunel(a.N, a.threads or 1, a.t_sim, a.stdp, a.seed, a.record), indent=2))
    else:
        ap.print_help()


if __name__ == "__main__":
    main()
