"""The Diehl & Cook network of bigbrain.models.diehl_cook written for Brian2, to time a
training sample beside bigbrain's on the same core (benchmarks/digits.py speed).

    python benchmarks/digits_brian2.py --neurons 400 --samples 20 [--target cython]

Same network, with bigbrain's settings for the digits (``DIGITS`` of
bigbrain.models.diehl_cook): 64 Poisson inputs (rate = intensity · 318.75 Hz), an
excitatory layer of conductance-based neurons with the adaptive threshold (V_th + theta,
theta += 0.25 mV per spike, tau_theta = 2e6 ms) and plastic input (Diehl & Cook's triplet rule written as NEST's
stdp_triplet_synapse with pair potentiation and triplet depression off: traces incremented
by 1, tau_plus = tau_minus = 20 ms, tau_minus_triplet = 40 ms, nu_pre 1e-4, nu_post 1e-2),
an inhibitory layer driven one-to-one (10.4 nS), inhibition of every other excitatory
neuron (17 nS), all delays 1 ms, dt = 0.5 ms; per sample the summed input weight of each
excitatory neuron normalised to 6.4 (0.1 per input) in Python, 350 ms shown, 150 ms rest.
Brian2 integrates with its default method for these equations (exact for the conductances;
V by exponential Euler at 0.5 ms), so its numbers are not bigbrain's; the work per sample is
the same. Runs in an environment with Brian2 (it needs numpy < 2.4); not a bigbrain import.
Prints wall-clock and CPU seconds per sample (means over the timed samples, after two
untimed ones that include code generation and compilation) and the spikes of the last.
"""
import argparse
import time

import numpy as np


def network(b2, n, seed):
    """(net, input group, excitatory group, input synapses, spike monitor)."""
    b2.seed(seed)
    b2.defaultclock.dt = 0.5 * b2.ms
    exc = b2.NeuronGroup(n, """
        dv/dt = (-(v - E_L) - ge * v - gi * (v - E_in)) / tau_m : volt (unless refractory)
        dge/dt = -ge / (1 * ms) : 1
        dgi/dt = -gi / (2 * ms) : 1
        dtheta/dt = -theta / (2e6 * ms) : volt
        E_L : volt (shared)
        E_in : volt (shared)
        tau_m : second (shared)
        """, threshold="v > -52 * mV + theta", reset="v = -65 * mV; theta += 0.25 * mV",
                         refractory=5 * b2.ms, method="exponential_euler")
    exc.E_L, exc.E_in, exc.tau_m, exc.v = -65 * b2.mV, -100 * b2.mV, 100 * b2.ms, -65 * b2.mV
    inh = b2.NeuronGroup(n, """
        dv/dt = (-(v + 60 * mV) - ge * v - gi * (v + 85 * mV)) / (10 * ms) : volt (unless refractory)
        dge/dt = -ge / (1 * ms) : 1
        dgi/dt = -gi / (2 * ms) : 1
        """, threshold="v > -40 * mV", reset="v = -45 * mV", refractory=2 * b2.ms,
                         method="exponential_euler")
    inh.v = -60 * b2.mV
    inp = b2.PoissonGroup(64, rates=np.zeros(64) * b2.Hz)
    syn = b2.Synapses(inp, exc, """
        w : 1
        dpre/dt = -pre / (20 * ms) : 1 (event-driven)
        dpost1/dt = -post1 / (20 * ms) : 1 (event-driven)
        dpost2/dt = -post2 / (40 * ms) : 1 (event-driven)
        """, on_pre="ge_post += w; w = clip(w - 1e-4 * post1, 0, 1); pre += 1",
                      on_post="w = clip(w + 1e-2 * pre * post2, 0, 1); post1 += 1; post2 += 1",
                      delay=1 * b2.ms)
    syn.connect()
    syn.w = "0.003 + 0.3 * rand()"
    ei = b2.Synapses(exc, inh, on_pre="ge_post += 10.4", delay=1 * b2.ms)
    ei.connect(j="i")
    ie = b2.Synapses(inh, exc, on_pre="gi_post += 17.0", delay=1 * b2.ms)
    ie.connect(condition="i != j")
    spikes = b2.SpikeMonitor(exc, record=False)
    net = b2.Network(exc, inh, inp, syn, ei, ie, spikes)
    return net, inp, syn, spikes


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--neurons", type=int, default=400)
    p.add_argument("--samples", type=int, default=20, help="timed samples")
    p.add_argument("--target", default="cython", choices=["cython", "numpy"])
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    import brian2 as b2
    from sklearn.datasets import load_digits
    b2.prefs.codegen.target = args.target
    images = load_digits().images.reshape(-1, 64) / 16.0
    net, inp, syn, spikes = network(b2, args.neurons, args.seed)
    post = np.asarray(syn.j[:])
    times = []
    for k in range(args.samples + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        weights = np.asarray(syn.w[:])
        sums = np.bincount(post, weights, minlength=args.neurons)
        syn.w[:] = weights * (6.4 / sums[post])
        before = np.asarray(spikes.count[:]).copy()
        inp.rates = images[k] * 318.75 * b2.Hz
        net.run(350 * b2.ms)
        inp.rates = 0 * b2.Hz
        net.run(150 * b2.ms)
        counts = np.asarray(spikes.count[:]) - before
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = np.mean(times[2:], axis=0)
    print(f"| Brian2 {b2.__version__} ({args.target}) | {args.neurons} | {wall:.3f} | {cpu:.3f} | "
          f"{int(counts.sum())} |")


if __name__ == "__main__":
    main()
