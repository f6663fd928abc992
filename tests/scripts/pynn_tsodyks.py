"""TsodyksMarkramSynapse in a small PyNN network, for tests: ``python pynn_tsodyks.py
BACKEND OUT.npz`` (BACKEND ``bigbrain.pynn`` or ``pyNN.nest``). Spike sources at irregular
intervals reach IF_curr_exp cells through facilitating excitatory synapses (U a function
of distance) and depressing inhibitory ones; saves V_m of every cell (mV, every step, in
cell order; rank 0)."""
import importlib
import sys

import numpy as np

sim = importlib.import_module(sys.argv[1])
sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
rng = np.random.default_rng(11)
times = [np.round(1.0 + np.cumsum(rng.choice([0.5, 2.3, 7.1, 25.0, 60.0], 25)), 1) for _ in range(6)]
if sys.argv[1] == "pyNN.nest":
    times = [t - 1e-9 for t in times]   # keeps NEST's precise generator on its step (see pynn_network.py)
src = sim.Population(6, sim.SpikeSourceArray(spike_times=times))
cells = sim.Population(3, sim.IF_curr_exp(tau_syn_E=2.0, tau_syn_I=4.0, v_thresh=-40.0),
                       initial_values={"v": -65.0})
facilitating = sim.TsodyksMarkramSynapse(weight=0.8, delay=1.0, U=lambda d: 0.05 + 0.05 * d,
                                         tau_rec=120.0, tau_facil=600.0)
depressing = sim.TsodyksMarkramSynapse(weight=-0.5, delay=0.6, U=0.5, tau_rec=700.0, tau_facil=0.0)
sim.Projection(src[:4], cells, sim.AllToAllConnector(), facilitating, receptor_type="excitatory")
sim.Projection(src[4:], cells, sim.AllToAllConnector(), depressing, receptor_type="inhibitory")
cells.record("v")
sim.run(max(t[-1] for t in times) + 20.0)
v = cells.get_data().segments[0].analogsignals[0]
order = np.argsort(v.array_annotations["channel_index"])   # gathered by rank under MPI
if sim.rank() == 0:
    np.savez(sys.argv[2], v=np.asarray(v.magnitude)[:, order])
sim.end()
