"""PyNN's composed cells (PointNeuron) for tests: ``python pynn_composed.py BACKEND OUT.npz``,
BACKEND ``bigbrain.pynn`` or ``pyNN.nest``. The network of PyNN's
test_composed_neuron_model_homogeneous_receptors (an AdExp cell with AMPA, NMDA and GABAA
alpha conductances, a LIF cell with exponential currents) driven by more spikes, so that
both cells fire; saves V_m, every receptor's conductance or current, and the spikes."""
import importlib
import sys

import numpy as np

sim = importlib.import_module(sys.argv[1])
sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
rng = np.random.default_rng(5)
times = [np.round(np.sort(rng.uniform(1.0, 190.0, n)), 1) for n in (60, 20, 30)]
if sys.argv[1] == "pyNN.nest":   # keep NEST's precise spike generator on the grid
    times = [t - 1e-9 for t in times]   # (tests/scripts/pynn_network.py)
adexp = sim.PointNeuron(sim.AdExp(tau_m=10.0, v_rest=-60.0, i_offset=0.3),
                        AMPA=sim.AlphaPSR(tau_syn=1.0, e_syn=0.0),
                        NMDA=sim.AlphaPSR(tau_syn=20.0, e_syn=0.0),
                        GABAA=sim.AlphaPSR(tau_syn=1.5, e_syn=-70.0))
lif = sim.PointNeuron(sim.LIF(tau_m=10.0, v_rest=-60.0, i_offset=0.9),
                      AMPA=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
                      NMDA=sim.CurrExpPostSynapticResponse(tau_syn=20.0),
                      GABAA=sim.CurrExpPostSynapticResponse(tau_syn=1.5))
cells = {"adexp": sim.Population(1, adexp, initial_values={"v": -60.0}),
         "lif": sim.Population(1, lif, initial_values={"v": -60.0})}
cells["adexp"].record(["spikes", "v", "AMPA.gsyn", "NMDA.gsyn", "GABAA.gsyn"])
cells["lif"].record(["spikes", "v", "AMPA.isyn", "NMDA.isyn", "GABAA.isyn"])
inputs = sim.Population(3, sim.SpikeSourceArray(spike_times=times))
weights = {"adexp": {"AMPA": 0.01, "GABAA": 0.02, "NMDA": 0.002},
           "lif": {"AMPA": 0.5, "GABAA": -0.6, "NMDA": 0.05}}
for name, pop in cells.items():
    for k, receptor in enumerate(("AMPA", "GABAA", "NMDA")):
        sim.Projection(inputs[k:k + 1], pop, sim.AllToAllConnector(),
                       synapse_type=sim.StaticSynapse(weight=weights[name][receptor], delay=1.5),
                       receptor_type=receptor)
sim.run(200.0)
out = {}
for name, pop in cells.items():
    segment = pop.get_data().segments[0]
    out[f"{name}_spikes"] = np.asarray(segment.spiketrains[0].magnitude)
    for signal in segment.analogsignals:
        out[f"{name}_{signal.name}"] = np.asarray(signal.magnitude)[:2000, 0]
np.savez(sys.argv[2], **out)
sim.end()
