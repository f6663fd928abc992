"""What the PyNN layer costs: the Brunel network (model A, Brunel 2000) built and run
through ``bigbrain.pynn`` beside the same network through bigbrain's own API
(:func:`bigbrain.models.brunel`), each in its own process so that peak memory is its own.

    python benchmarks/pynn_overhead.py [--N 12500] [--t 1000] [--repeats 1]

Prints build and simulation time (s), peak resident memory (MiB), spike count and the
ratios PyNN / bigbrain. The two networks are the same model drawn from the same kind of
streams (not the same synapses: the PyNN script connects E and I as an Assembly), with
multapses as bigbrain's Brunel (``FixedNumberPreConnector(with_replacement=True)``).
"""
import argparse
import json
import resource
import subprocess
import sys
import time


def bigbrain_side(N, t):
    import bigbrain as bb
    from bigbrain.models import brunel
    t0 = time.perf_counter()
    net = bb.Network(dt=0.1, seed=1)
    exc, inh = brunel(net, N=N)
    net.record(exc, "spikes")
    net.build()
    t1 = time.perf_counter()
    n = net.run(t).n_spikes("E")
    return t1 - t0, time.perf_counter() - t1, n


def pynn_side(N, t):
    import bigbrain.pynn as sim
    from bigbrain.models.brunel import NEURON
    t0 = time.perf_counter()
    sim.setup(timestep=0.1, min_delay=1.5, seed=1)
    NE, J, g, eta = int(round(0.8 * N)), 0.1, 5.0, 2.0
    CE, CI = NE // 10, (N - NE) // 10
    rate = 1000.0 * eta * NEURON["V_th"] / (J * CE * NEURON["tau_m"]) * CE
    cell = sim.IF_curr_delta(cm=NEURON["C_m"] / 1000.0, tau_m=NEURON["tau_m"],
                             tau_refrac=NEURON["t_ref"], v_rest=NEURON["E_L"],
                             v_thresh=NEURON["V_th"], v_reset=NEURON["V_reset"])
    v0 = sim.RandomDistribution("uniform", (0.0, NEURON["V_th"]))
    exc = sim.Population(NE, cell, initial_values={"v": v0}, label="E")
    inh = sim.Population(N - NE, cell, initial_values={"v": v0}, label="I")
    both = exc + inh
    noise = sim.Population(N, sim.SpikeSourcePoisson(rate=rate), label="noise")
    sim.Projection(exc, both, sim.FixedNumberPreConnector(CE, with_replacement=True),
                   sim.StaticSynapse(weight=J, delay=1.5),
                   receptor_type="excitatory")
    sim.Projection(inh, both, sim.FixedNumberPreConnector(CI, with_replacement=True),
                   sim.StaticSynapse(weight=-g * J, delay=1.5), receptor_type="inhibitory")
    sim.Projection(noise, both, sim.OneToOneConnector(), sim.StaticSynapse(weight=J, delay=1.5))
    exc.record("spikes")
    sim.simulator.state.network().build()
    t1 = time.perf_counter()
    sim.run(t)
    n = sum(exc.get_spike_counts().values())
    sim.end()
    return t1 - t0, time.perf_counter() - t1, n


def child(side, N, t):
    build, run, n = {"bigbrain": bigbrain_side, "pynn": pynn_side}[side](N, t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"build": build, "run": run, "spikes": int(n), "peak": peak}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=12_500)
    ap.add_argument("--t", type=float, default=1000.0)
    ap.add_argument("--repeats", type=int, default=1, help="alternating runs of each side")
    ap.add_argument("--child", choices=["bigbrain", "pynn"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.N, args.t)
    results = {"bigbrain": [], "pynn": []}
    for _ in range(args.repeats):
        for side in results:
            out = subprocess.run([sys.executable, __file__, "--child", side, "--N", str(args.N),
                                  "--t", str(args.t)], capture_output=True, text=True, check=True)
            results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = {side: {k: min(r[k] for r in runs) for k in runs[0]} for side, runs in results.items()}
    print(f"Brunel N = {args.N}, {args.t} ms, best of {args.repeats}")
    print(f"{'':10s} {'build s':>8s} {'run s':>8s} {'peak MiB':>9s} {'E spikes':>9s}")
    for side, r in best.items():
        print(f"{side:10s} {r['build']:8.2f} {r['run']:8.2f} {r['peak']:9.0f} {r['spikes']:9d}")
    b, p = best["bigbrain"], best["pynn"]
    print(f"pynn / bigbrain: build {p['build'] / b['build']:.2f}, run {p['run'] / b['run']:.2f}, "
          f"build + run {(p['build'] + p['run']) / (b['build'] + b['run']):.2f}, "
          f"peak memory {p['peak'] / b['peak']:.2f}")


if __name__ == "__main__":
    main()
