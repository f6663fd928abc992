"""Brian2 (C++ standalone) version of the Brunel (2000) network, model A: figures and timings.

The network of ``benchmarks/nest_brunel.py`` (and ``bigbrain.models.brunel``), written as a
Brian2 user would: one NeuronGroup of N = NE + NI leaky integrate-and-fire neurons
(tau_m 20 ms, theta 20 mV, V_reset 10 mV, t_ref 2 ms, E_L 0, initial V uniform in [0, 20)
mV), two Synapses objects with ``on_pre`` adding a constant J = 0.1 mV (E) or -g J (I) to
V, fixed in-degree CE = 1000 / CI = 250 drawn with replacement from the whole source
population (autapses and multapses allowed, as NEST's ``fixed_indegree`` in the NEST
script), one delay D = 1.5 ms, and a ``PoissonInput`` of CE sources at eta * nu_th = 20 Hz
each (20 kHz per neuron) with weight J; dt = 0.1 ms; C++ standalone with
``openmp_threads = threads``.

Synapse order matters to Brian2's speed (its propagation reads the target of each synapse
of a spiking source).  ``connectivity="sorted"`` (default): the in-degree rule is drawn in
Python with NumPy and handed to ``connect(i=, j=)`` sorted by source, the order Brian2's
own ``connect(p=...)`` produces; about 2.5x faster to simulate, and the binary holds the
loaded index arrays (125 MB at N = 12,500) until the synapses are made (freed then with
``insert_code``).  ``connectivity="generator"``: ``connect(i="int(rand() * N_pre) for _k
in range(CE)")`` inside the binary, synapses in target order: less memory, slower.

NEST's ``iaf_psc_delta`` step for step.  Brian2 stamps a spike at the start of its step (t),
NEST at its end (t + dt), so the same dynamics need:

- synaptic and Poisson input added after the membrane update and before the threshold
  (schedule groups -> synapses -> thresholds -> resets; Brian2's default puts synapses
  after the threshold), so input arriving in a step can make that step's spike;
- delay D - dt and refractory period t_ref + dt in Brian2's time stamps, i.e. D and t_ref
  in NEST's: a spike in step s is felt in step s + 15 and the neuron is clamped at
  V_reset for steps s + 1 ... s + 20;
- input (recurrent and Poisson) discarded while refractory, as NEST's
  ``refractory_input = False``: Brian2 does this itself for a variable marked
  ``(unless refractory)`` (every write to V is conditional on ``not_refractory``).

With these, a 60-neuron network driven by the same spike trains with the same connectivity
gives NEST 3.10's spikes exactly (``--check-nest``: NEST in this interpreter, Brian2's
runtime target in the Brian2 one; without the three changes most spikes differ).  The only statistical difference left is
the external drive: PoissonInput draws Binomial(CE, rate dt) inputs per step, NEST's
poisson_generator Poisson(CE rate dt) (variance 1.996 instead of 2 per step).  Connectivity
and random streams differ from NEST's, so spike counts agree statistically, not exactly.

What is measured (``run_brian2_brunel``), each run in a fresh child process and project
directory:

- ``codegen_s``: Python: the network description and code generation (``device.build``
  up to the compiler); ``compile_s``: ``make`` (g++), excluded from build and sim;
- ``build_s``: inside the standalone binary, from its start to the first time step
  (allocation, loading, initial V, synapse creation, spike-queue preparation;
  ``binary_build_s``), plus the NumPy draw of the connectivity (``draw_s``, "sorted"):
  NEST's create + connect (+ Prepare, which NEST counts in sim_s);
- ``sim_s``: Brian2's own run timer (``device._last_run_time``: the time-step loop only,
  wall clock from ``omp_get_wtime``);
- ``peak_rss_mb``: max RSS of the binary alone (``os.wait4`` on it: run_cmd_unix points
  at this file, which runs ``./main`` as its child);
- ``n_spikes`` (SpikeMonitor, ``record=False``), ``rate_hz`` = n_spikes / N / t_sim.

Brian2 2.9 (the last for Python 3.11) needs NumPy < 2.4 (2.10 needs Python >= 3.12); the
child can run under another interpreter (``python=`` / ``BRIAN2_PYTHON``), e.g. a venv
with ``--system-site-packages`` and ``numpy<2.4``.

Usage::

    python benchmarks/brian2_brunel.py [--N 12500] [--t-sim 1000] [--threads 1] [--stats]
                                       [--connectivity sorted|generator] [--python PATH]
    python benchmarks/brian2_brunel.py --check-nest [--python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nest_brunel import CE, CI, DELAY, DT, G, J, NEURON, poisson_rate_hz, window_stats  # noqa: E402

_MARK = "BRIAN2_BRUNEL_RESULT "
_MEASURE = "--exec-measure"
_BUILD_FILE = "bigbrain_build_s.txt"

#: The Brian2 model of NEST's iaf_psc_delta, step for step (see the module docstring).
MODEL = "dv/dt = -v / tau_m : volt (unless refractory)"
SCHEDULE = ["start", "groups", "synapses", "thresholds", "resets", "end"]
REFRACTORY_MS = NEURON["t_ref"] + DT
DELAY_MS = DELAY - DT


def _neuron_group(b2, n: int, namespace: dict, name: str = "neurons"):
    """N iaf_psc_delta neurons (E_L = 0, I_e = 0) with NEST's timing."""
    namespace.update(tau_m=NEURON["tau_m"] * b2.ms, theta=NEURON["V_th"] * b2.mV,
                     v_reset=NEURON["V_reset"] * b2.mV)
    return b2.NeuronGroup(n, MODEL, threshold="v >= theta", reset="v = v_reset",
                          refractory=REFRACTORY_MS * b2.ms, method="exact", namespace=namespace,
                          name=name)


def standalone_device(b2, workdir: str, threads: int, seed: int) -> str:
    """Make Brian2 generate a C++ standalone project in ``workdir`` (``threads`` OpenMP
    threads, dt = DT, ``seed``), built and run later by :func:`standalone_run`, whose binary
    runs under ``--exec-measure`` (peak RSS) and writes its own build time (from its start to
    the first time step) and the CPU time of its run (all threads, ``std::clock``). Returns
    the file the measurement goes to."""
    measure_file = os.path.join(workdir, "binary_rusage.json")
    b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = threads
    b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, str(Path(__file__).resolve()),
                                                    _MEASURE, measure_file, "./main"]
    b2.prefs.codegen.cpp.headers = ["<chrono>", "<ctime>"]
    b2.prefs.logging.console_log_level = "WARNING"
    b2.defaultclock.dt = DT * b2.ms
    b2.seed(seed)
    b2.device.insert_code("before_start", "auto _bb_t0 = std::chrono::steady_clock::now();")
    b2.device.insert_code("before_network_run",
                          "const double _bb_build = std::chrono::duration<double>("
                          "std::chrono::steady_clock::now() - _bb_t0).count(); "
                          "const std::clock_t _bb_c0 = std::clock();")
    b2.device.insert_code("after_network_run",
                          f'{{ std::ofstream _f(results_dir + "{_BUILD_FILE}"); _f.precision(9); '
                          "_f << _bb_build << std::endl << double(std::clock() - _bb_c0) / "
                          "CLOCKS_PER_SEC << std::endl; }")
    return measure_file


def connect_fixed_indegree(b2, syn, rng, n_src: int, n_post: int, k: int) -> float:
    """Connect ``syn`` with ``k`` sources per target drawn with replacement (NEST's
    fixed_indegree with multapses and autapses) with NumPy, in source order; the binary frees
    the loaded index arrays once the synapses are made. Returns the drawing time (s)."""
    import numpy as np  # noqa: PLC0415

    t_draw = time.perf_counter()
    src = rng.integers(0, n_src, size=n_post * k, dtype=np.int32)
    order = np.argsort(src, kind="stable")
    pre, post = src[order], (order // k).astype(np.int32)
    del src, order
    draw_s = time.perf_counter() - t_draw
    before = set(b2.device.static_arrays)
    syn.connect(i=pre, j=post)
    del pre, post
    for name in sorted(set(b2.device.static_arrays) - before):
        b2.device.insert_code("main", f"delete [] brian::{name}; brian::{name} = 0;")
    return draw_s


def standalone_run(b2, workdir: str, measure_file: str, t0: float, draw_s: float) -> dict:
    """Generate, compile and run the standalone project of :func:`standalone_device`
    (started at ``t0``, ``draw_s`` s of it drawing connectivity in Python); its timings and
    peak memory (see the module docstring)."""
    import numpy as np  # noqa: PLC0415

    b2.device.build(directory=workdir, compile=True, run=True, with_output=False)
    t1 = time.perf_counter()
    usage = json.loads(Path(measure_file).read_text())
    build_s, sim_cpu_s = map(float, (Path(b2.device.results_dir) / _BUILD_FILE).read_text().split())
    compile_s = float(b2.device.timers["compile"]["make"] or 0.0)
    return {"build_s": build_s + draw_s, "sim_s": float(b2.device._last_run_time),
            "sim_cpu_s": sim_cpu_s,
            "binary_build_s": build_s, "draw_s": draw_s,
            "codegen_s": (t1 - t0) - compile_s - usage["wall_s"] - draw_s, "compile_s": compile_s,
            "binary_wall_s": usage["wall_s"], "peak_rss_mb": usage["maxrss_kb"] / 1024.0,
            "brian2_version": b2.__version__, "numpy_version": np.__version__}


def _child(cfg: dict) -> dict:
    """Describe, generate, compile and run the network in this process; return the figures."""
    import numpy as np  # noqa: PLC0415
    import brian2 as b2  # noqa: PLC0415 - only the child imports Brian2
    from brian2 import ms, mV, Hz  # noqa: PLC0415

    n_total, threads, t_sim = int(cfg["N"]), int(cfg["threads"]), float(cfg["t_sim"])
    t0 = time.perf_counter()
    measure_file = standalone_device(b2, cfg["workdir"], threads, int(cfg["seed"]))

    ne = int(round(0.8 * n_total))
    nu_ext = poisson_rate_hz() / CE * Hz                      # per external source: 20 Hz
    namespace = {"J_E": J * mV, "J_I": -G * J * mV, "J_X": J * mV}
    neurons = _neuron_group(b2, n_total, namespace)
    neurons.v = "rand() * theta"
    exc, inh = neurons[:ne], neurons[ne:]
    delay = DELAY_MS * ms
    # v is "(unless refractory)": Brian2 then skips every write to it (on_pre, PoissonInput)
    # while the neuron is refractory, as NEST discards input then.
    syn_e = b2.Synapses(exc, neurons, on_pre="v_post += J_E", delay=delay, namespace=namespace,
                        name="syn_e")
    syn_i = b2.Synapses(inh, neurons, on_pre="v_post += J_I", delay=delay, namespace=namespace,
                        name="syn_i")
    draw_s = 0.0
    if cfg["connectivity"] == "generator":
        # Drawn inside the binary, target by target: synapses stored in target order.
        syn_e.connect(i=f"int(rand() * N_pre) for _k in range({CE})")   # with replacement
        syn_i.connect(i=f"int(rand() * N_pre) for _k in range({CI})")
    else:
        # Drawn here with NumPy (the same rule), stored in source order as connect(p=...)
        # would store them; the binary loads them as static arrays and frees them once the
        # synapses are made.
        rng = np.random.default_rng(int(cfg["seed"]))
        for syn, n_src, k in ((syn_e, ne, CE), (syn_i, n_total - ne, CI)):
            draw_s += connect_fixed_indegree(b2, syn, rng, n_src, n_total, k)
    noise = b2.PoissonInput(neurons, "v", N=CE, rate=nu_ext, weight="J_X")
    mon = b2.SpikeMonitor(neurons, record=bool(cfg.get("stats")), name="spikes")
    net = b2.Network(neurons, syn_e, syn_i, noise, mon)
    net.schedule = SCHEDULE
    net.run(t_sim * ms, namespace=namespace)

    out = standalone_run(b2, cfg["workdir"], measure_file, t0, draw_s)
    n_spikes = int(mon.num_spikes)
    out.update(connectivity=cfg["connectivity"], n_spikes=n_spikes,
               rate_hz=n_spikes / n_total / (t_sim / 1000.0),
               num_connections=int(len(syn_e) + len(syn_i)), threads=threads)
    if cfg.get("stats"):
        out["window"] = window_stats(np.asarray(mon.t / ms), np.asarray(mon.i, dtype=np.int64),
                                     n_total, t_sim)
    return out


def _check_part(part: str, folder: str) -> None:
    """One side of ``check_against_nest``: a 60-neuron network with explicit connectivity and
    weights, driven by explicit spike trains; writes that simulator's spikes (step, neuron)."""
    import numpy as np  # noqa: PLC0415

    f = Path(folder)
    if part == "net":
        rng = np.random.default_rng(5)
        n, k, steps = 60, 12, 3000
        ext = [np.sort(rng.choice(np.arange(1, steps), size=300, replace=False)) for _ in range(n)]
        np.savez(f / "net.npz", pre=rng.integers(0, n, size=n * k), post=np.repeat(np.arange(n), k),
                 w=rng.choice([4.0, -6.0, 9.0], size=n * k), ext_n=np.repeat(np.arange(n), 300),
                 ext_s=np.concatenate(ext), ext_w=rng.uniform(3.0, 12.0, n * 300),
                 v0=rng.uniform(0.0, 20.0, n), n=n, steps=steps)
        return
    d = np.load(f / "net.npz")
    n, steps = int(d["n"]), int(d["steps"])
    if part == "nest":  # NEST time stamps: spike in step s at (s + 1) dt; generator at s dt
        os.environ.setdefault("PYNEST_QUIET", "1")
        import nest  # noqa: PLC0415

        nest.set_verbosity("M_ERROR")
        nest.ResetKernel()
        nest.resolution = DT
        nrn = nest.Create("iaf_psc_delta", n, NEURON)
        nrn.V_m = d["v0"]
        g0 = nrn[0].global_id
        nest.Connect(d["pre"] + g0, d["post"] + g0, "one_to_one",
                     {"weight": d["w"], "delay": np.full(d["w"].size, DELAY)})
        gens = nest.Create("spike_generator", n)
        for i in range(n):
            m = d["ext_n"] == i
            gens[i].set(spike_times=np.round(d["ext_s"][m] * DT, 1), spike_weights=d["ext_w"][m])
        nest.Connect(gens, nrn, "one_to_one", {"weight": 1.0, "delay": DELAY})
        rec = nest.Create("spike_recorder")
        nest.Connect(nrn, rec)
        nest.Simulate(steps * DT)
        ev = rec.events
        np.savez(f / "nest.npz", step=np.round(ev["times"] / DT).astype(int) - 1,
                 i=ev["senders"] - g0)
        return
    import brian2 as b2  # noqa: PLC0415 - Brian2 side: runtime (NumPy) target, same semantics

    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT * b2.ms
    namespace = {}
    nrn = _neuron_group(b2, n, namespace)
    nrn.v = d["v0"] * b2.mV
    rec = b2.Synapses(nrn, nrn, "w : volt", on_pre="v_post += w", delay=DELAY_MS * b2.ms)
    rec.connect(i=d["pre"], j=d["post"])
    rec.w = d["w"] * b2.mV
    m = d["ext_s"].size
    gen = b2.SpikeGeneratorGroup(m, np.arange(m), (d["ext_s"] - 1) * DT * b2.ms)
    ext = b2.Synapses(gen, nrn, "w : volt", on_pre="v_post += w", delay=DELAY_MS * b2.ms)
    ext.connect(i=np.arange(m), j=d["ext_n"])
    ext.w = d["ext_w"] * b2.mV
    mon = b2.SpikeMonitor(nrn)
    net = b2.Network(nrn, rec, gen, ext, mon)
    net.schedule = SCHEDULE
    net.run(steps * DT * b2.ms, namespace=namespace)
    np.savez(f / "brian2.npz", step=np.round(np.asarray(mon.t / b2.ms) / DT).astype(int),
             i=np.asarray(mon.i))


def check_against_nest(python: str | None = None) -> dict:
    """Spikes of a small network in NEST (this interpreter) and in Brian2 (``python``, default
    ``$BRIAN2_PYTHON`` or this one) with the Brian2 model used here: equal step for step?"""
    import numpy as np  # noqa: PLC0415

    python = python or os.environ.get("BRIAN2_PYTHON") or sys.executable
    with tempfile.TemporaryDirectory(prefix="brian2_check_") as folder:
        for part, exe in (("net", sys.executable), ("nest", sys.executable), ("brian2", python)):
            subprocess.run([exe, str(Path(__file__).resolve()), "--check-part", part, folder],
                           check=True, capture_output=True, text=True)
        a, b = (np.load(Path(folder) / f"{x}.npz") for x in ("nest", "brian2"))
        sa, sb = set(zip(a["step"].tolist(), a["i"].tolist())), set(zip(b["step"].tolist(), b["i"].tolist()))
    return {"nest_spikes": len(sa), "brian2_spikes": len(sb), "common": len(sa & sb),
            "equal": sa == sb}


def _exec_measure(argv: list[str]) -> int:
    """``--exec-measure FILE CMD...``: run CMD as a child, write its wall time and max RSS."""
    out_file, cmd = argv[0], argv[1:]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    Path(out_file).write_text(json.dumps({"wall_s": wall, "maxrss_kb": usage.ru_maxrss,
                                          "rc": proc.returncode}))
    return proc.returncode


def run_brian2_brunel(N: int = 12500, threads: int = 1, t_sim: float = 1000.0, seed: int = 1,
                      stats: bool = False, python: str | None = None, keep: str | None = None,
                      timeout_s: float | None = None, connectivity: str = "sorted") -> dict:
    """Build, compile and simulate the Brunel network in Brian2 (C++ standalone) in a fresh
    child process and project directory; return its figures (see the module docstring).

    python: interpreter for the child (default ``$BRIAN2_PYTHON`` or this one); keep: a
    directory for the standalone project (default a temporary one, removed afterwards).
    Raises RuntimeError when the child fails.
    """
    python = python or os.environ.get("BRIAN2_PYTHON") or sys.executable
    workdir = keep or tempfile.mkdtemp(prefix="brian2_brunel_")
    cfg = {"N": int(N), "threads": int(threads), "t_sim": float(t_sim), "seed": int(seed),
           "stats": bool(stats), "workdir": str(Path(workdir).resolve()), "connectivity": connectivity}
    try:
        proc = subprocess.run([python, str(Path(__file__).resolve()), "--child", json.dumps(cfg)],
                              capture_output=True, text=True, timeout=timeout_s)
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith(_MARK):
                return json.loads(line[len(_MARK):])
        raise RuntimeError(f"Brian2 child failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [_MEASURE]:
        sys.exit(_exec_measure(argv[1:]))
    if argv[:1] == ["--check-part"]:
        _check_part(argv[1], argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--N", type=int, default=12500)
    ap.add_argument("--t-sim", type=float, default=1000.0, help="ms")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stats", action="store_true", help="record spikes: rate and CV after 100 ms")
    ap.add_argument("--check-nest", action="store_true",
                    help="compare the model with NEST on a small network, spike for spike")
    ap.add_argument("--python", default=None, help="interpreter with Brian2 (default $BRIAN2_PYTHON or this one)")
    ap.add_argument("--keep", default=None, help="keep the standalone project in this directory")
    ap.add_argument("--connectivity", choices=["sorted", "generator"], default="sorted",
                    help="synapses drawn with NumPy, stored in source order (default), or drawn "
                         "in the binary, stored in target order")
    a = ap.parse_args(argv)
    if a.child:
        print(_MARK + json.dumps(_child(json.loads(a.child))), flush=True)
        return
    if a.check_nest:
        res = check_against_nest(a.python)
        print(json.dumps(res))
        sys.exit(0 if res["equal"] else 1)
    print(json.dumps(run_brian2_brunel(a.N, a.threads, a.t_sim, a.seed, a.stats, a.python, a.keep,
                                       connectivity=a.connectivity), indent=2))


if __name__ == "__main__":
    main()
