"""Current generators against NEST 3: one neuron driven by one device, V_m step for step.

Each case drives a single ``iaf_psc_exp`` or ``iaf_psc_delta`` neuron (NEST's defaults,
so a strong enough current makes it fire) by a device with a weight and a delay, in
NEST and in bigbrain, optionally changing the device's parameters between two runs, and
asserts equal spike steps and V_m equal to 1e-12 relative.
"""
import numpy as np
import pytest

import bigbrain as bb

nest_reference = pytest.importorskip("nest_reference")
pytest.importorskip("nest")
nest = nest_reference._import_nest()
pytestmark = pytest.mark.nest

DT = 0.1


def run_nest(model, kind, params, weight, delay, runs):
    """(V_m after every step, spike steps) of a NEST neuron driven by the device."""
    nest.ResetKernel()
    nest.resolution = DT
    neuron = nest.Create(model)
    device = nest.Create(kind, params=params)
    nest.Connect(device, neuron, syn_spec={"weight": weight, "delay": delay})
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": DT})
    spikes = nest.Create("spike_recorder")
    nest.Connect(meter, neuron)
    nest.Connect(neuron, spikes)
    for t, change in runs:
        if change:
            device.set(change)
        nest.Simulate(t)
    ev = meter.events
    return (dict(zip(np.rint(ev["times"] / DT).astype(int).tolist(), ev["V_m"])),
            np.rint(spikes.events["times"] / DT).astype(int))


def run_bigbrain(model, kind, params, weight, delay, runs):
    net = bb.Network(dt=DT)
    neuron = net.population("N", 1, model)
    device = getattr(net, kind)("device", **params)
    net.connect(device, neuron, weight=weight, delay=delay)
    net.record(neuron, "V_m")
    net.record(neuron, "spikes")
    for t, change in runs:
        if change:
            device.set_params(net, **change)
        result = net.run(t)
    t, _, v = result.V_m("N")
    times, _ = result.spikes("N")
    return dict(zip(np.rint(t / DT).astype(int).tolist(), v[:, 0])), np.rint(times / DT).astype(int)


CASES = {
    "dc": ("dc_generator", {"amplitude": 400.0, "start": 5.0, "stop": 60.0}, 1.5, 1.0,
           [(100.0, None)]),
    "dc_delay": ("dc_generator", {"amplitude": -200.0, "start": 0.0}, -3.0, 2.3, [(80.0, None)]),
    "dc_change": ("dc_generator", {"amplitude": 300.0}, 1.0, 1.5,
                  [(30.0, None), (40.0, {"amplitude": 700.0}), (30.0, {"amplitude": 0.0})]),
    "step": ("step_current_generator", {"amplitude_times": [10.0, 30.0, 60.0],
                                        "amplitude_values": [500.0, -100.0, 800.0],
                                        "start": 5.0, "stop": 80.0}, 1.2, 2.0, [(100.0, None)]),
    "step_change": ("step_current_generator", {"amplitude_times": [2.0, 20.0],
                                               "amplitude_values": [700.0, 100.0]}, 1.0, 0.5,
                    [(30.0, None), (50.0, {"amplitude_times": [35.0, 50.2],
                                           "amplitude_values": [900.0, 200.0]})]),
    "ac": ("ac_generator", {"amplitude": 600.0, "offset": 250.0, "frequency": 40.0,
                            "phase": 30.0, "start": 5.0, "stop": 80.0}, 1.2, 1.0, [(100.0, None)]),
    "ac_change": ("ac_generator", {"amplitude": 500.0, "offset": 300.0, "frequency": 25.0},
                  1.0, 1.5, [(30.0, None), (40.0, {"frequency": 60.0, "phase": 90.0})]),
    # noise of std 0 is its mean: NEST's window and its draws every dt (a change between
    # runs in the middle of an interval acts from the next draw on)
    "noise_mean": ("noise_generator", {"mean": 450.0, "std": 0.0, "dt": 0.5, "start": 3.0,
                                       "stop": 40.0}, 1.5, 1.0,
                   [(30.2, None), (30.0, {"mean": -300.0})]),
}


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_current_generator_equals_nest(model, case):
    kind, params, weight, delay, runs = CASES[case]
    v_nest, s_nest = run_nest(model, kind, params, weight, delay, runs)
    v_bb, s_bb = run_bigbrain(model, kind, params, weight, delay, runs)
    steps = sorted(v_nest)  # NEST's multimeter has not yet delivered the last min_delay
    assert len(steps) > 0.95 * sum(t for t, _ in runs) / DT and set(steps) <= set(v_bb)
    v_nest, v_bb = (np.array([v[k] for k in steps]) for v in (v_nest, v_bb))
    assert np.ptp(v_nest) > 1.0, "the device moved V_m too little for the test to check anything"
    np.testing.assert_allclose(v_bb, v_nest, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(s_bb, s_nest)
    assert len(s_nest) > 0, "the neuron never fired: spike timing is not checked"
