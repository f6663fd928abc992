"""A small PyNN network for tests: ``python pynn_network.py BACKEND OUT.npz``, BACKEND a
module name (``bigbrain.pynn`` or ``pyNN.nest``). Spike sources, Poisson input, three
current-based cell types, excitatory and inhibitory projections of several connectors,
a DC current; optional flags: dc, poisson, v, listed (gamma weights, distance delays,
Connection writes), changes (set and initialize between runs;
with poisson also the Poisson rates), cond (a conductance-based
population); it saves every recorded spike (times ms, cell index, population) and V_m."""
import importlib
import sys

import numpy as np

sim = importlib.import_module(sys.argv[1])
sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")  # NEST: grid models
poisson = "poisson" in sys.argv[3:]
record_v = "v" in sys.argv[3:]
rng = np.random.default_rng(7)
times = [np.round(np.sort(rng.uniform(1.0, 190.0, 30)), 1) for _ in range(20)]
if sys.argv[1] == "pyNN.nest":
    # pyNN.nest gives NEST's precise spike_generator t - min_delay, which floating point puts
    # just after the grid point for some t (64.9 - 0.1 = 64.80000000000001): NEST then emits
    # the spike one step late. A time a hair earlier keeps every spike on its step.
    times = [t - 1e-9 for t in times]
src = sim.Population(20, sim.SpikeSourceArray(spike_times=times), label="src")
cells = {name: sim.Population(12, getattr(sim, name)(tau_refrac=2.0, v_thresh=-55.0),
                              initial_values={"v": -70.0}, label=name)
         for name in ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta")}
# -70 mV: pyNN.nest 0.13 on NEST 3.10 leaves IF_curr_delta at NEST's default V_m (-70 mV)
# whatever initial v it is given.
pairs = [(i, j) for i in range(20) for j in range(12) if (3 * i + 5 * j) % 4 == 0]
for name, pop in cells.items():
    w = 0.5 if name == "IF_curr_delta" else 0.4  # mV, nA
    exc = [(i, j, w * (1 + 0.1 * (i % 3)), 1.0 + 0.1 * (j % 5)) for i, j in pairs]
    sim.Projection(src, pop, sim.FromListConnector(exc, column_names=["weight", "delay"]),
                   receptor_type="excitatory")
    sim.Projection(pop, pop, sim.AllToAllConnector(allow_self_connections=False),
                   sim.StaticSynapse(weight=-w / 4, delay=1.5), receptor_type="inhibitory")
    if "dc" in sys.argv[3:]:
        sim.DCSource(amplitude=0.2, start=50.0, stop=120.0).inject_into(pop[:6])
    pop.record(["spikes", "v"] if record_v else "spikes")
if "cond" in sys.argv[3:]:   # tau_m of conductance cells is computed from cm: set on all ranks
    cells["IF_cond_exp"] = sim.Population(6, sim.IF_cond_exp(cm=sim.RandomDistribution(
        "uniform", (0.5, 1.5), rng=sim.NumpyRNG(seed=3)), i_offset=1.5), label="IF_cond_exp")
    cells["IF_cond_exp"].set(tau_m=12.0)
    cells["IF_cond_exp"].record("spikes")
if "listed" in sys.argv[3:]:   # values per synapse: gamma weights, distance delays
    listed = sim.Projection(src, cells["IF_curr_alpha"], sim.FixedProbabilityConnector(0.3),
                            sim.StaticSynapse(weight=sim.RandomDistribution("gamma", k=2.0, theta=0.1),
                                              delay="1.0 + 0.1*d"), receptor_type="excitatory")
    for c in listed.connections:   # each rank writes its own connections; run gathers them
        if c.presynaptic_index == 0:
            c.weight, c.delay = 0.5, 2.0
if poisson:
    noise = sim.Population(12, sim.SpikeSourcePoisson(rate=500.0), label="noise")
    sim.Projection(noise, cells["IF_curr_exp"], sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.2, delay=1.0))
    noise.record("spikes")
if "changes" in sys.argv[3:]:   # parameters and V_m changed between runs
    # pyNN.nest's first run goes one min_delay past the time asked for (it says so, to get
    # all the recorded data), so its changes after run(100) act from 100.1 ms on.
    sim.run(100.0 if sys.argv[1] == "pyNN.nest" else 100.1)
    for name, pop in cells.items():
        pop.set(tau_m=15.0, v_thresh=np.linspace(-56.0, -54.0, pop.size))
        pop[3:5].set(i_offset=0.3)
        if name != "IF_curr_delta":   # pyNN.nest ignores its initial v (see above)
            pop.initialize(v=np.linspace(-70.0, -56.0, pop.size))
    if poisson:   # one rate per cell from now on
        noise.set(rate=np.linspace(100.0, 900.0, noise.size))
sim.run(200.0 - sim.get_current_time())
out = {}
for name, pop in [*cells.items()] + ([("noise", noise)] if poisson else []):
    seg = pop.get_data().segments[0]
    ids = np.concatenate([[st.annotations["source_index"]] * len(st) for st in seg.spiketrains])
    t = np.concatenate([st.magnitude for st in seg.spiketrains])
    order = np.lexsort((t, ids))                   # by cell, then time
    out[f"{name}_t"], out[f"{name}_i"] = t[order], ids[order]
    if seg.analogsignals:
        v = seg.analogsignals[0]
        out[f"{name}_v"] = v.magnitude[:, np.argsort(v.array_annotations["channel_index"])]
if "listed" in sys.argv[3:]:
    out["listed"] = listed.get(["weight", "delay"], format="array")
if sim.rank() == 0:
    np.savez(sys.argv[2], **out)
sim.end()
