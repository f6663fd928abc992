"""NEST 3.x reference for the Potjans & Diesmann (2014) microcircuit: build and run times.

The network of :func:`bigbrain.models.microcircuit` (its tables: sizes, connection
probabilities, weights, delays, Poisson input) built with PyNEST as NEST's own example
builds it: ``fixed_total_number`` connections with multapses (a copy of ``static_synapse``
per source population: NEST refuses more than 2^27 synapses of one model per thread), normal weights and delays
redrawn to keep their sign / stay at or above the resolution, one ``poisson_generator``
per population, the spikes of every neuron recorded. Runs in a fresh child process, so
that its peak RSS belongs to this run alone.

    python benchmarks/nest_microcircuit.py --scale 1.0 --t 1000 --threads 2
"""
import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import time

_MARK = "NEST_MICROCIRCUIT_RESULT "


def _child(scale, t_sim, threads, seed=1):
    import nest
    import numpy as np
    mc = importlib.import_module("bigbrain.models.microcircuit")  # the module, not the function
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": threads, "rng_seed": seed})
    t0 = time.perf_counter()
    sizes = np.maximum(1, np.round(mc.SIZES * scale).astype(int))
    n_syn = np.round(mc.full_synapse_numbers() * scale * scale).astype(int)
    W = mc.mean_weights() / np.sqrt(scale)
    dc = mc.dc_compensation(scale)
    w_ext = mc.PSP_EXC * mc.psc_over_psp(mc.NEURON["C_m"], mc.NEURON["tau_m"],
                                         mc.NEURON["tau_syn_ex"]) / np.sqrt(scale)
    pops = []
    for i, n in enumerate(sizes):
        pop = nest.Create("iaf_psc_exp", int(n), params={**mc.NEURON, "I_e": float(dc[i])})
        pop.V_m = nest.random.normal(mc.V0_MEAN[i], mc.V0_STD[i])
        pops.append(pop)
    recorder = nest.Create("spike_recorder")
    models = [f"static_from_{name}" for name in mc.POPULATIONS]  # NEST holds at most 2^27
    for model in models:                                        # synapses per model and thread
        nest.CopyModel("static_synapse", model)
    for i, post in enumerate(pops):
        for j, pre in enumerate(pops):
            if n_syn[i, j] <= 0:
                continue
            w = W[i, j]
            weight = nest.math.redraw(nest.random.normal(w, abs(w) * mc.W_REL_STD),
                                      min=0.0 if w > 0 else -np.inf, max=np.inf if w > 0 else 0.0)
            mean = mc.DELAY_EXC if j % 2 == 0 else mc.DELAY_INH
            delay = nest.math.redraw(nest.random.normal(mean, mean * mc.DELAY_REL_STD),
                                     min=0.1, max=np.inf)
            nest.Connect(pre, post, {"rule": "fixed_total_number", "N": int(n_syn[i, j])},
                         {"synapse_model": models[j], "weight": weight, "delay": delay})
        noise = nest.Create("poisson_generator",
                            params={"rate": mc.BG_RATE * round(mc.K_EXT[i] * scale)})
        nest.Connect(noise, post, "all_to_all", {"weight": w_ext, "delay": mc.DELAY_POISSON})
        nest.Connect(post, recorder)
    t1 = time.perf_counter()
    nest.Simulate(t_sim)
    t2 = time.perf_counter()
    return {"build_s": t1 - t0, "sim_s": t2 - t1, "n_spikes": int(recorder.n_events),
            "n_synapses": int(nest.num_connections),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_nest_microcircuit(scale=1.0, t_sim=1000.0, threads=2):
    """Build and simulate the microcircuit in NEST in a fresh process; returns build_s,
    sim_s (s), n_spikes, n_synapses (including the Poisson and recorder connections) and
    peak_rss_mb (MiB, the child's)."""
    env = dict(os.environ, PYNEST_QUIET="1", OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--child", json.dumps([scale, t_sim, threads])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    raise RuntimeError(f"NEST child failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--t", type=float, default=1000.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(_MARK + json.dumps(_child(*json.loads(args.child))), flush=True)
        return
    print(json.dumps(run_nest_microcircuit(args.scale, args.t, args.threads)))


if __name__ == "__main__":
    main()
