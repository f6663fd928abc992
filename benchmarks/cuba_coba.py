"""CUBA and COBA (Brette et al. 2007, after Vogels & Abbott 2005): bigbrain, NEST and Brian2.

    python benchmarks/cuba_coba.py            # both, N = 4,000 40,000 400,000, 1 s, cores 1 2
    python benchmarks/cuba_coba.py --model cuba --N 4000 --t 1000 --cores 1
    python benchmarks/cuba_coba.py --no-brian2 [--no-nest]    # leave a simulator out

The networks of benchmarks 1 (COBA) and 2 (CUBA) of Brette et al. (2007, appendix B), as
NEST's ``pynest/examples/brette_et_al_2007`` and Brette's Brian scripts build them:
N = 4,000 neurons, 80 % excitatory, each receiving CE = 64 excitatory and CI = 16
inhibitory inputs (2 % of 3,200 and 800; fixed in-degree, multapses and autapses allowed,
NEST's rule), kept at 64 / 16 when N is scaled to 40,000 and 400,000. Neurons: C_m 200 pF,
tau_m 20 ms (g_L 10 nS), V_th -50 mV, V_reset -60 mV, t_ref 5 ms, tau_syn_ex 5 ms,
tau_syn_in 10 ms, initial V_m uniform in [-60, -50) mV; delay 0.1 ms (one step), dt 0.1 ms.

* CUBA: ``iaf_psc_exp``, E_L -49 mV (above threshold: the activity sustains itself),
  weights 16.2 pA and -90 pA (0.27 nS x 60 mV and 4.5 nS x -20 mV, the driving forces at
  -60 mV of Brette's script; NEST's example takes -139.5 pA, 4.5 nS x -31 mV);
* COBA: ``iaf_cond_exp``, E_L -60 mV, E_ex 0 mV, E_in -80 mV, weights 6 nS and -67 nS.

Initial stimulation (NEST's example): the first 50 excitatory neurons each receive an
independent Poisson train of 300 Hz from 1 to 51 ms with the excitatory weight. The trains
are drawn once with NumPy (``--seed``) and given to all three simulators as explicit spike
trains (bigbrain ``spike_source``, NEST ``spike_generator``, Brian2 ``SpikeGeneratorGroup``).

Every configuration runs in its own process (bigbrain under ``mpiexec -n K``, NEST with K
threads, Brian2's C++ standalone binary with K OpenMP threads), one after the other, so that
peak memory belongs to that run. Printed per run: build time (create and connect), simulation
time (wall, and CPU seconds of all ranks or threads: on a loaded machine the wall time
swings with the other processes' demand, the CPU time much less), peak memory (bigbrain: the largest rank, ratios use all ranks), spikes of the 4,000 …
neurons (stimulus excluded) and their mean rate; then the ratios bigbrain / NEST and
bigbrain / Brian2 (``benchmarks/brunel.py``'s lines). bigbrain's COBA needs the
``iaf_cond_exp`` model (bigbrain/neurons/iaf_cond.py): where it is missing the script says
so and runs NEST and Brian2 alone. Brian2 integrates COBA with exponential Euler (Brette's
script), NEST and bigbrain with their own methods; its CUBA follows NEST's ``iaf_psc_exp``
step for step (schedule and timing of ``benchmarks/brian2_brunel.py``), connectivity and
random streams differ, so rates agree statistically. Brian2 may run under another
interpreter (``--brian2-python`` or ``$BRIAN2_PYTHON``; see brian2_brunel.py).
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from brunel import print_brian2, print_nest  # noqa: E402 - after the path is set

DT, DELAY = 0.1, 0.1                  # ms
CE, CI = 64, 16                       # inputs per neuron
N_STIM, STIM_RATE, STIM_START, STIM_STOP = 50, 300.0, 1.0, 51.0   # neurons, Hz, ms, ms
NEURON = {"C_m": 200.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0, "tau_syn_ex": 5.0,
          "tau_syn_in": 10.0}
V0 = (-60.0, -50.0)                   # initial V_m, uniform (mV)
#: Per benchmark: NEST's model, its extra parameters, weights (pA or nS) exc, inh.
MODELS = {
    "cuba": ("iaf_psc_exp", {"E_L": -49.0, "tau_m": 20.0}, 16.2, -90.0),
    "coba": ("iaf_cond_exp", {"E_L": -60.0, "g_L": 10.0, "E_ex": 0.0, "E_in": -80.0}, 6.0, -67.0),
}
_MARK = "CUBA_COBA_RESULT "


def stimulus(seed):
    """The initial stimulation: N_STIM Poisson trains (ms, on the dt grid, one spike per step
    at most) of STIM_RATE Hz in [STIM_START, STIM_STOP)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(round(STIM_START / DT), round(STIM_STOP / DT))
    return [(steps[rng.random(steps.size) < STIM_RATE * DT * 1e-3] * DT).round(1).tolist()
            for _ in range(N_STIM)]


def sizes(N):
    ne = int(round(0.8 * N))
    return ne, N - ne


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _result(out):
    print(_MARK + json.dumps(out), flush=True)


# ---------------------------------------------------------------- the three simulators
def bigbrain_worker(cfg):
    """Inside each rank: build, simulate; rank 0 prints the figures."""
    import bigbrain as bb
    model, extra, w_ex, w_in = MODELS[cfg["model"]]
    ne, ni = sizes(cfg["N"])
    trains = stimulus(cfg["seed"])
    net = bb.Network(dt=DT, seed=cfg["seed"])
    t0 = time.perf_counter()
    p = {**NEURON, **extra, "V_m": bb.uniform(*V0)}
    exc, inh = net.population("E", ne, model, **p), net.population("I", ni, model, **p)
    net.connect(exc, exc | inh, rule="fixed_indegree", indegree=CE, weight=w_ex, delay=DELAY)
    net.connect(inh, exc | inh, rule="fixed_indegree", indegree=CI, weight=w_in, delay=DELAY)
    net.connect(net.spike_source("stimulus", trains), exc[:N_STIM], rule="one_to_one",
                weight=w_ex, delay=DELAY)
    sim = net.build()
    net.comm.mpi.Barrier()
    t1, c1 = time.perf_counter(), time.process_time()
    net.run(cfg["t"])
    c2 = time.process_time()
    net.comm.mpi.Barrier()
    t2 = time.perf_counter()
    stats = np.array(net.comm.allgather((sim.n_spikes, _rss_mb(), c2 - c1)))
    if net.rank == 0:
        n_spikes = int(stats[:, 0].sum()) - sum(map(len, trains))  # the sources' spikes out
        _result({"build_s": t1 - t0, "sim_s": t2 - t1, "sim_cpu_s": stats[:, 2].sum(),
                 "peak_rss_mb": stats[:, 1].max(),
                 "n_spikes": n_spikes, "rate_hz": n_spikes / cfg["N"] / (cfg["t"] / 1000.0)})


def nest_worker(cfg):
    """NEST with cfg["cores"] threads: build (create, connect), simulate (Prepare, Run)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest
    nest.set_verbosity("M_ERROR")
    model, extra, w_ex, w_in = MODELS[cfg["model"]]
    ne, ni = sizes(cfg["N"])
    nest.ResetKernel()
    nest.local_num_threads = cfg["cores"]
    nest.resolution = DT
    nest.rng_seed = cfg["seed"]
    t0 = time.perf_counter()
    nest.SetDefaults(model, {**NEURON, **extra})
    exc, inh = nest.Create(model, ne), nest.Create(model, ni)
    neurons = exc + inh
    neurons.V_m = nest.random.uniform(*V0)
    nest.Connect(exc, neurons, {"rule": "fixed_indegree", "indegree": CE},
                 {"weight": w_ex, "delay": DELAY})
    nest.Connect(inh, neurons, {"rule": "fixed_indegree", "indegree": CI},
                 {"weight": w_in, "delay": DELAY})
    gens = nest.Create("spike_generator", N_STIM)
    gens.set([{"spike_times": t} for t in stimulus(cfg["seed"])])
    nest.Connect(gens, exc[:N_STIM], "one_to_one", {"weight": w_ex, "delay": DELAY})
    t1, c1 = time.perf_counter(), time.process_time()
    nest.Prepare()
    nest.Run(cfg["t"])
    t2, c2 = time.perf_counter(), time.process_time()
    nest.Cleanup()
    n_spikes = int(np.sum(nest.GetKernelStatus("local_spike_counter")))  # neurons only
    _result({"build_s": t1 - t0, "sim_s": t2 - t1, "sim_cpu_s": c2 - c1, "peak_rss_mb": _rss_mb(),
             "n_spikes": n_spikes, "rate_hz": n_spikes / cfg["N"] / (cfg["t"] / 1000.0)})


#: Brian2 equations (E_L, V_th, ... in the namespace) and the variables inputs jump.
BRIAN2 = {
    "cuba": ("""dv/dt = (E_L - v) / tau_m + (I_ex + I_in) / C_m : volt (unless refractory)
                dI_ex/dt = -I_ex / tau_syn_ex : amp
                dI_in/dt = -I_in / tau_syn_in : amp""", "I_ex", "I_in", "exact", "pA"),
    "coba": ("""dv/dt = (g_L * (E_L - v) + g_ex * (E_ex - v) + g_in * (E_in - v)) / C_m
                    : volt (unless refractory)
                dg_ex/dt = -g_ex / tau_syn_ex : siemens
                dg_in/dt = -g_in / tau_syn_in : siemens""", "g_ex", "g_in", "exponential_euler",
             "nS"),
}


def brian2_worker(cfg):
    """Brian2's C++ standalone with cfg["cores"] OpenMP threads, timed as in
    benchmarks/brian2_brunel.py (build inside the binary, its run timer, its peak RSS)."""
    import brian2 as b2
    from brian2_brunel import SCHEDULE, connect_fixed_indegree, standalone_device, standalone_run
    _, extra, w_ex, w_in = MODELS[cfg["model"]]
    eqs, ex, inh, method, unit = BRIAN2[cfg["model"]]
    ne, ni = sizes(cfg["N"])
    ms, mV, pF, nS = b2.ms, b2.mV, b2.pF, b2.nS
    t0 = time.perf_counter()
    measure_file = standalone_device(b2, cfg["workdir"], cfg["cores"], cfg["seed"])
    ns = {"C_m": NEURON["C_m"] * pF, "V_th": NEURON["V_th"] * mV,
          "V_reset": NEURON["V_reset"] * mV, "tau_syn_ex": NEURON["tau_syn_ex"] * ms,
          "tau_syn_in": NEURON["tau_syn_in"] * ms, "E_L": extra["E_L"] * mV,
          "w_ex": w_ex * getattr(b2, unit), "w_in": w_in * getattr(b2, unit)}
    if cfg["model"] == "cuba":
        ns.update(tau_m=extra["tau_m"] * ms)
    else:  # conductances are positive in Brian2
        ns.update(g_L=extra["g_L"] * nS, E_ex=extra["E_ex"] * mV, E_in=extra["E_in"] * mV,
                  w_in=-w_in * nS)
    # NEST's timing (brian2_brunel.py): refractory t_ref + dt, delay D - dt, input before
    # the threshold.
    neurons = b2.NeuronGroup(cfg["N"], eqs, threshold="v >= V_th", reset="v = V_reset",
                             refractory=(NEURON["t_ref"] + DT) * ms, method=method,
                             namespace=ns, name="neurons")
    neurons.v = f"{V0[0]}*mV + rand() * {V0[1] - V0[0]}*mV"
    rng = np.random.default_rng(cfg["seed"])
    draw_s, objects = 0.0, [neurons]
    for name, pre, var, w, k in (("syn_e", neurons[:ne], ex, "w_ex", CE),
                                 ("syn_i", neurons[ne:], inh, "w_in", CI)):
        syn = b2.Synapses(pre, neurons, on_pre=f"{var}_post += {w}", delay=(DELAY - DT) * ms,
                          namespace=ns, name=name)
        draw_s += connect_fixed_indegree(b2, syn, rng, len(pre), cfg["N"], k)
        objects.append(syn)
    trains = stimulus(cfg["seed"])
    index = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)]).astype(int)
    times = (np.concatenate(trains) - DT) * ms  # Brian2 stamps a spike dt earlier than NEST
    gen = b2.SpikeGeneratorGroup(N_STIM, index, times, name="stimulus")
    stim = b2.Synapses(gen, neurons[:N_STIM], on_pre=f"{ex}_post += w_ex",
                       delay=(DELAY - DT) * ms, namespace=ns, name="stim")
    stim.connect(j="i")
    mon = b2.SpikeMonitor(neurons, record=False, name="spikes")
    net = b2.Network(*objects, gen, stim, mon)
    net.schedule = SCHEDULE
    net.run(cfg["t"] * ms, namespace=ns)
    out = standalone_run(b2, cfg["workdir"], measure_file, t0, draw_s)
    n_spikes = int(mon.num_spikes)
    _result({**out, "n_spikes": n_spikes, "rate_hz": n_spikes / cfg["N"] / (cfg["t"] / 1000.0)})


WORKERS = {"bigbrain": bigbrain_worker, "nest": nest_worker, "brian2": brian2_worker}


# ---------------------------------------------------------------- driver
def run(sim, cfg, brian2_python=None):
    """``sim``'s figures for ``cfg`` from a fresh process (bigbrain: mpiexec -n cores)."""
    cmd = [sys.executable, __file__, "--worker", sim, json.dumps(cfg)]
    env = dict(os.environ, OMP_NUM_THREADS=str(cfg["cores"]), PYNEST_QUIET="1")
    if sim == "bigbrain":
        cmd = ["mpiexec", "-n", str(cfg["cores"])] + cmd
    if sim == "brian2":
        cmd[0] = brian2_python or os.environ.get("BRIAN2_PYTHON") or sys.executable
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    raise RuntimeError(f"{sim} failed (rc={proc.returncode}): {proc.stderr.strip()[-2000:]}")


def has_bigbrain_model(model):
    from bigbrain.neurons import MODELS as BIGBRAIN_MODELS
    return model in BIGBRAIN_MODELS


def attempt(sim, cfg, brian2_python=None):
    """:func:`run`, or None with the reason printed."""
    try:
        return run(sim, cfg, brian2_python)
    except RuntimeError as err:
        print(f"  {sim}: failed: {str(err).strip().splitlines()[-1]}", flush=True)
        return None


def compare(name, N, t, cores, seed, nest=True, brian2=True, brian2_python=None):
    """One line per simulator and the ratios, for benchmark ``name`` with N neurons."""
    model = MODELS[name][0]
    for k in cores:
        cfg = {"model": name, "N": N, "t": t, "cores": k, "seed": seed}
        print(f"{name.upper()} N={N} cores={k} t={t} ms ({model})", flush=True)
        ours = None
        if not has_bigbrain_model(model):
            print(f"  bigbrain: skipped: no {model} model in this bigbrain (bigbrain/neurons)")
        elif (ours := attempt("bigbrain", cfg)) is not None:
            print(f"  bigbrain: build {ours['build_s']:.2f} s, sim {ours['sim_s']:.2f} s "
                  f"(CPU {ours['sim_cpu_s']:.2f} s), "
                  f"peak/rank {ours['peak_rss_mb']:.0f} MiB, spikes {ours['n_spikes']}, rate "
                  f"{ours['rate_hz']:.2f} Hz", flush=True)
        theirs = attempt("nest", cfg) if nest else None
        if theirs is not None:
            print_nest(ours, theirs, k)
        if brian2:
            workdir = tempfile.mkdtemp(prefix="cuba_coba_brian2_")
            try:
                b2 = attempt("brian2", {**cfg, "workdir": workdir}, brian2_python)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            if b2 is not None:
                print_brian2(ours, theirs, b2, k)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), nargs="*", default=["cuba", "coba"])
    parser.add_argument("--N", type=int, nargs="*", default=[4_000, 40_000, 400_000])
    parser.add_argument("--t", type=float, default=1000.0, help="ms")
    parser.add_argument("--cores", type=int, nargs="*", default=[1, 2],
                        help="bigbrain ranks = NEST threads = Brian2 OpenMP threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-nest", action="store_true")
    parser.add_argument("--no-brian2", action="store_true")
    parser.add_argument("--brian2-python", default=None,
                        help="interpreter with Brian2 (default $BRIAN2_PYTHON or this one)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        WORKERS[args.worker[0]](json.loads(args.worker[1]))
        return
    for name in args.model:
        for N in args.N:
            compare(name, N, args.t, args.cores, args.seed, not args.no_nest, not args.no_brian2,
                    args.brian2_python)


if __name__ == "__main__":
    main()
