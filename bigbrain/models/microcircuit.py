"""The cortical microcircuit of Potjans & Diesmann (2014), Cereb. Cortex 24:785–806.

Eight populations (excitatory E and inhibitory I in layers 2/3, 4, 5 and 6) of
``iaf_psc_exp`` neurons, 77,169 neurons and about 0.3 billion synapses at full scale.
Each pair of populations is connected with a fixed total number of synapses (multapses
allowed) derived from the published connection probabilities; weights are set as PSP
amplitudes, converted to PSC amplitudes (pA), drawn normal with a relative standard
deviation of 0.1 and redrawn until they keep their sign; delays are normal (1.5 ms from
excitatory, 0.75 ms from inhibitory sources, relative std 0.5) redrawn until above dt/2. Every
neuron receives an independent Poisson train of 8 Hz × K_ext (K_ext scaled by K_scale).

Scaling follows NEST's PyNEST example: ``scale`` multiplies the neuron counts and
``K_scale`` the in-degrees (synapse counts scale by scale·K_scale). When K_scale < 1 the
weights grow by 1/sqrt(K_scale) and a DC current compensates the missing mean input,
computed from the full-scale rates :data:`RATES`.
"""
import math

import numpy as np

from ..distributions import clipped_normal, normal

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
SIZES = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])   # mV
V0_STD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])                     # mV
RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])   # Hz, full scale
# Connection probabilities: row = target, column = source (POPULATIONS order).
P = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
NEURON = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "E_L": -65.0,
          "V_th": -50.0, "V_reset": -65.0, "t_ref": 2.0}
PSP_EXC = 0.15          # mV, mean excitatory PSP amplitude
G = -4.0                # inhibitory / excitatory weight
W_REL_STD = 0.1
DELAY_EXC, DELAY_INH, DELAY_REL_STD = 1.5, 0.75, 0.5      # ms
BG_RATE = 8.0           # Hz per external input
DELAY_POISSON = 1.5     # ms
TRANSIENT_MS = 500.0    # left out of statistics


def psc_over_psp(C_m, tau_m, tau_syn):
    """PSC amplitude (pA) per 1 mV PSP peak of an exponential current into a LIF membrane."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / C_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def full_synapse_numbers():
    """Synapses per (target, source) at full scale: ln(1 − p) / ln(1 − 1/(N_pre·N_post))."""
    prod = np.outer(SIZES, SIZES).astype(np.float64)
    return np.log(1.0 - P) / np.log((prod - 1.0) / prod)


def mean_weights():
    """Mean PSC amplitudes (pA), row = target, column = source; L4E → L23E doubled."""
    w = PSP_EXC * psc_over_psp(NEURON["C_m"], NEURON["tau_m"], NEURON["tau_syn_ex"])
    W = np.tile([w, G * w] * 4, (8, 1))
    W[0, 2] *= 2.0
    return W


def dc_compensation(K_scale):
    """DC current (pA) per population that restores the mean input lost when in-degrees
    are scaled by K_scale (NEST's example; zero at K_scale = 1)."""
    w = mean_weights()
    w_ext = PSP_EXC * psc_over_psp(NEURON["C_m"], NEURON["tau_m"], NEURON["tau_syn_ex"])
    indegree = full_synapse_numbers() / SIZES[:, None]
    mean_input = (w * indegree * RATES).sum(axis=1) + w_ext * K_EXT * BG_RATE   # pA/ms · Hz
    return 1e-3 * NEURON["tau_syn_ex"] * (1.0 - math.sqrt(K_scale)) * mean_input


def microcircuit(net, scale=1.0, K_scale=None, record=True):
    """Add the microcircuit to ``net``; return its populations (a dict name -> population).

    scale: fraction of the 77,169 neurons. K_scale: fraction of the in-degrees (default
    ``scale``). record: record the spikes of every neuron.
    """
    K_scale = scale if K_scale is None else K_scale
    sizes = np.maximum(1, np.round(SIZES * scale).astype(int))
    n_syn = np.round(full_synapse_numbers() * scale * K_scale).astype(int)
    W = mean_weights() / math.sqrt(K_scale)
    w_ext = PSP_EXC * psc_over_psp(NEURON["C_m"], NEURON["tau_m"], NEURON["tau_syn_ex"]) / math.sqrt(K_scale)
    dc = dc_compensation(K_scale)
    pops = {name: net.population(name, int(sizes[i]), "iaf_psc_exp", **NEURON, I_e=float(dc[i]),
                                 V_m=normal(V0_MEAN[i], V0_STD[i]))
            for i, name in enumerate(POPULATIONS)}
    for i, post in enumerate(POPULATIONS):
        for j, pre in enumerate(POPULATIONS):
            if n_syn[i, j] > 0:
                net.connect(pops[pre], pops[post], rule="fixed_total_number", N=int(n_syn[i, j]),
                            weight=_weight(W[i, j]), delay=_delay(j, net.dt))
    for i, name in enumerate(POPULATIONS):
        noise = net.poisson(f"bg_{name}", rate=BG_RATE * round(K_EXT[i] * K_scale))
        net.connect(noise, pops[name], rule="all_to_all", weight=w_ext, delay=DELAY_POISSON)
        if record:
            net.record(pops[name], "spikes")
    return pops


def _weight(mean):
    """Normal weight of relative std W_REL_STD, redrawn until it keeps the sign of ``mean``."""
    low, high = (0.0, math.inf) if mean > 0 else (-math.inf, 0.0)
    return clipped_normal(mean, abs(mean) * W_REL_STD, low, high)


def _delay(source, dt):
    """Normal delay (ms) of the source's kind, redrawn until above dt/2 (≥ 1 step)."""
    mean = DELAY_EXC if source % 2 == 0 else DELAY_INH
    return clipped_normal(mean, mean * DELAY_REL_STD, math.nextafter(dt / 2, math.inf), math.inf)
