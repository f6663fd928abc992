"""Per-call cost of ``run``, ``get`` and ``set`` in a learning protocol (issue 20).

    python benchmarks/run_overhead.py [--t 2000] [--calls 200]

A small plastic network as digit-learning protocols use (dt 0.5 ms): 784 inhomogeneous
Poisson generators drive 784 parrot neurons one to one, which connect all to all with
STDP to 400 iaf_psc_exp neurons whose spikes are recorded. After ``--t`` ms (records pile
up), prints in CPU ms per call (``time.process_time``, steadier than wall time on a shared
machine): ``run(0)`` (the cost of a call itself: result gathering included), ``run(dt)``
against one step of the simulation loop, get and set of every weight (313,600 synapses) and
of V_m, and what one sample (run(350) and run(150) with a get and a set of the weights)
spends besides simulating, as a share of its simulation time.
"""
import argparse
import time

import numpy as np

import bigbrain as bb


def network():
    net = bb.Network(dt=0.5, seed=1)
    gen = net.inhomogeneous_poisson_generator("gen", 784, rate_times=[0.5], rate_values=[20.0])
    inp = net.population("inp", 784, "parrot_neuron")
    exc = net.population("exc", 400, "iaf_psc_exp")
    net.connect(gen, inp, rule="one_to_one", weight=1.0, delay=0.5)
    conn = net.connect(inp, exc, rule="all_to_all", weight=bb.uniform(0.0, 30.0), delay=1.0,
                       synapse=bb.STDP(Wmax=100.0))
    net.record(exc)
    return net, exc, conn


def per_call(fn, calls):
    """CPU ms per call of ``fn``."""
    t0 = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t0) / calls * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--t", type=float, default=2000.0, help="ms simulated first")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    net, exc, conn = network()
    net.run(args.t)
    sim, n = net.build(), args.calls
    print(f"after {args.t:g} ms: {net.run(0.0).n_spikes('exc')} spikes recorded")
    costs = {"run(0)": per_call(lambda: net.run(0.0), n),
             "run(dt)": per_call(lambda: net.run(net.dt), n),
             "one step of the loop": per_call(lambda: sim.run(1), n),
             "get weights": per_call(lambda: net.get(conn, "weight"), 20),
             "set weights": per_call(lambda: net.set(conn, weight=np.full(784 * 400, 5.0)), 20),
             "get V_m": per_call(lambda: net.get(exc, "V_m"), n),
             "set V_m": per_call(lambda: net.set(exc, V_m=-65.0), n)}
    for name, ms in costs.items():
        print(f"  {name:22s} {ms:8.3f} ms")
    overhead = 2 * costs["run(0)"] + costs["get weights"] + costs["set weights"]
    simulated = 500.0 / net.dt * costs["one step of the loop"]
    print(f"one sample: {overhead:.2f} ms besides {simulated:.0f} ms of simulation "
          f"({100 * overhead / simulated:.1f} %)")


if __name__ == "__main__":
    main()
