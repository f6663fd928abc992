"""Poisson rates set between runs through PyNN: ``python pynn_rate_change.py BACKEND
OUT.npz`` (BACKEND ``bigbrain.pynn`` or ``pyNN.nest``). Three populations of
SpikeSourcePoisson: "on" (0 Hz, set to 10^6 Hz at 10 ms, back to 0 at 12 ms: a spike in
every step between, so the steps the change acts on show exactly), "window" (start 5 ms,
duration 10 ms, 0 Hz set to 10^6 Hz at 8 ms) and "counts" (20 Hz for 2 s, then one rate
per cell from 10 to 100 Hz for 2 s). Saves each population's spike times and cell ids."""
import importlib
import sys

import numpy as np

sim = importlib.import_module(sys.argv[1])
sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
pops = {"on": sim.Population(3, sim.SpikeSourcePoisson(rate=0.0)),
        "window": sim.Population(3, sim.SpikeSourcePoisson(rate=0.0, start=5.0, duration=10.0)),
        "counts": sim.Population(30, sim.SpikeSourcePoisson(rate=20.0))}
for pop in pops.values():
    pop.record("spikes")
sim.run(8.0)
pops["window"].set(rate=1e6)
sim.run(2.0)
pops["on"].set(rate=1e6)
sim.run(2.0)
pops["on"].set(rate=0.0)
sim.run(1988.0)
pops["counts"].set(rate=np.linspace(10.0, 100.0, 30))
sim.run(2000.0)
out = {}
for name, pop in pops.items():
    trains = pop.get_data().segments[0].spiketrains
    out[f"{name}_t"] = np.concatenate([np.asarray(st.magnitude) for st in trains])
    out[f"{name}_i"] = np.concatenate([np.full(len(st), k) for k, st in enumerate(trains)])
sim.end()
np.savez(sys.argv[2], **out)
