"""bigbrain's neuron dynamics and spike delivery against NEST 3.x, spike for spike.

Each test builds one network description (explicit connectivity, explicit input spike
trains), runs it in NEST and in bigbrain, and asserts identical spike trains.
"""
import numpy as np
import pytest

from neutral import build_bigbrain, run_bigbrain

nest_reference = pytest.importorskip("nest_reference")
pytest.importorskip("nest")
pytestmark = pytest.mark.nest

DT = 0.1


def poisson_trains(rng, n, rate_hz, t_sim, dt=DT):
    """``n`` Poisson spike trains on the dt grid (ms), at most one spike per step."""
    steps = int(t_sim / dt)
    p = rate_hz * dt * 1e-3
    return [list(np.flatnonzero(rng.random(steps) < p)[1:] * dt) for _ in range(n)]


def random_connections(rng, pre, post, n_pre, n_post, n_syn, weight, delays):
    """``n_syn`` random synapses (multapses allowed) with weights w·(0.5 … 1.5) and
    delays drawn from ``delays`` (ms)."""
    return {"pre": pre, "post": post,
            "sources": rng.integers(0, n_pre, n_syn).tolist(),
            "targets": rng.integers(0, n_post, n_syn).tolist(),
            "weights": (weight * rng.uniform(0.5, 1.5, n_syn)).tolist(),
            "delays": rng.choice(delays, n_syn).tolist()}


def assert_same_spikes(desc):
    ours = run_bigbrain(desc)
    theirs = nest_reference.run_nest(desc)["spikes"]
    for name in desc["record"]:
        t_nest, i_nest = theirs[name]
        t_bb, i_bb = ours[name]
        assert len(t_nest) > 0, f"{name}: NEST produced no spikes, the test checks nothing"
        np.testing.assert_array_equal(np.rint(t_bb / DT).astype(int), np.rint(t_nest / DT).astype(int),
                                      err_msg=f"{name}: spike times differ")
        np.testing.assert_array_equal(i_bb, i_nest, err_msg=f"{name}: spiking neurons differ")
    return ours


@pytest.mark.parametrize("refractory_input", [False, True])
def test_iaf_psc_delta_with_input_during_refractoriness(refractory_input):
    rng = np.random.default_rng(3)
    n = 20
    desc = {
        "dt": DT, "t_sim": 500.0,
        "populations": [
            {"name": "S", "model": "spike_generator", "n": 40,
             "spike_times": poisson_trains(rng, 40, 60.0, 500.0)},
            {"name": "N", "model": "iaf_psc_delta", "n": n,
             "params": {"tau_m": 20.0, "C_m": 1.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0,
                        "t_ref": 2.0, "I_e": 0.5, "refractory_input": refractory_input},
             "V_m": rng.uniform(0.0, 20.0, n).tolist()},
        ],
        "connections": [random_connections(rng, "S", "N", 40, n, 600, 1.2, [0.1, 0.5, 1.0, 1.5]),
                        random_connections(rng, "S", "N", 40, n, 150, -1.0, [0.2, 2.0])],
        "record": ["N"],
    }
    assert_same_spikes(desc)


def trains_into_exp_neurons(rng, n):
    """Populations: 50 Poisson spike trains at 40 Hz over 500 ms ("S") and ``n``
    ``iaf_psc_exp`` neurons driven by a 250 pA current, V_m random ("N")."""
    return [
        {"name": "S", "model": "spike_generator", "n": 50,
         "spike_times": poisson_trains(rng, 50, 40.0, 500.0)},
        {"name": "N", "model": "iaf_psc_exp", "n": n,
         "params": {"tau_m": 10.0, "C_m": 250.0, "tau_syn_ex": 0.5, "tau_syn_in": 3.0,
                    "E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "t_ref": 2.0, "I_e": 250.0},
         "V_m": rng.uniform(-65.0, -50.0, n).tolist()},
    ]


def test_iaf_psc_exp_excitatory_and_inhibitory_inputs_with_several_delays():
    rng = np.random.default_rng(5)
    n = 30
    desc = {
        "dt": DT, "t_sim": 500.0,
        "populations": trains_into_exp_neurons(rng, n),
        "connections": [random_connections(rng, "S", "N", 50, n, 900, 180.0, [0.1, 0.7, 1.5, 3.2]),
                        random_connections(rng, "S", "N", 50, n, 300, -150.0, [0.3, 1.0, 4.9])],
        "record": ["S", "N"],
    }
    assert_same_spikes(desc)


def test_short_and_long_delays_and_one_shared_delay_delivered_together():
    """Projections whose delays need one and two bytes, and one whose synapses all share a
    weight and a delay, go through the ring buffers in one compiled call (grouped by array
    types): the spikes are NEST's."""
    rng = np.random.default_rng(8)
    n = 30
    shared = random_connections(rng, "S", "N", 50, n, 200, 150.0, [2.0])
    shared["weights"] = [150.0] * 200
    desc = {
        "dt": DT, "t_sim": 500.0,
        "populations": trains_into_exp_neurons(rng, n),
        "connections": [random_connections(rng, "S", "N", 50, n, 600, 180.0, [0.1, 0.7, 1.5]),
                        random_connections(rng, "S", "N", 50, n, 300, -150.0, [25.6, 31.0, 40.0]),
                        shared],
        "record": ["S", "N"],
    }
    sim = build_bigbrain(desc).build()
    assert [len(group) for group in sim.static_table] == [2, 1]  # 1- and 2-byte delays
    assert [len(p.delay) for p in sim.static] == [600, 300, 0]
    assert_same_spikes(desc)


@pytest.mark.parametrize("model", ["iaf_psc_delta", "iaf_psc_exp"])
def test_recurrent_network_over_one_second(model):
    """300 neurons (240 E, 60 I) with random recurrent connectivity, driven by input trains."""
    rng = np.random.default_rng(11)
    n_e, n_i, n_s = 240, 60, 100
    if model == "iaf_psc_delta":
        params = {"tau_m": 20.0, "C_m": 1.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0, "t_ref": 2.0}
        v0, j_ext, j_e, j_i = (0.0, 20.0), 2.0, 0.4, -1.6
    else:
        params = {"tau_m": 10.0, "C_m": 250.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5,
                  "E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "t_ref": 2.0}
        v0, j_ext, j_e, j_i = (-65.0, -50.0), 700.0, 150.0, -600.0
    pops = [("E", n_e), ("I", n_i)]
    desc = {
        "dt": DT, "t_sim": 1000.0,
        "populations": [{"name": "S", "model": "spike_generator", "n": n_s,
                         "spike_times": poisson_trains(rng, n_s, 50.0, 1000.0)}]
        + [{"name": name, "model": model, "n": n, "params": params,
            "V_m": rng.uniform(*v0, n).tolist()} for name, n in pops],
        "connections": [random_connections(rng, "S", post, n_s, n, n * 20, j_ext, [1.0, 1.5])
                        for post, n in pops]
        + [random_connections(rng, pre, post, n_pre, n_post, n_post * n_pre // 10,
                              j_e if pre == "E" else j_i, [0.8, 1.5, 2.2])
           for pre, n_pre in pops for post, n_post in pops],
        "record": ["E", "I"],
    }
    spikes = assert_same_spikes(desc)
    assert len(spikes["E"][0]) > 1000, "too little activity to test the recurrent dynamics"


def current_network(rng, model, n, t_sim, tau_syn_ex, tau_syn_in, V_min=None):
    """50 Poisson trains ("S") into ``n`` neurons of ``model`` ("N", 300 pA of I_e, V_m
    random), excitatory and inhibitory synapses of several delays; V_m sampled every step.
    Weights are multiples of 1/16 pA, which the ring buffers' fixed point and NEST's double
    sums hold exactly, so that V_m can be compared to rounding error."""
    params = {"tau_m": 10.0, "C_m": 250.0, "tau_syn_ex": tau_syn_ex, "tau_syn_in": tau_syn_in,
              "E_L": -65.0, "V_th": -50.0, "V_reset": -65.0, "t_ref": 2.0, "I_e": 300.0}
    if V_min is not None:
        params["V_min"] = V_min
    connections = [random_connections(rng, "S", "N", 50, n, 40 * n, 100.0, [0.1, 0.7, 1.5, 3.2]),
                   random_connections(rng, "S", "N", 50, n, 10 * n, -60.0, [0.3, 1.0, 4.9])]
    for c in connections:
        c["weights"] = (np.round(np.asarray(c["weights"]) * 16.0) / 16.0).tolist()
    return {
        "dt": DT, "t_sim": t_sim,
        "populations": [
            {"name": "S", "model": "spike_generator", "n": 50,
             "spike_times": poisson_trains(rng, 50, 40.0, t_sim)},
            {"name": "N", "model": model, "n": n, "params": params,
             "V_m": rng.uniform(-65.0, -50.0, n).tolist()}],
        "connections": connections,
        "record": ["N"],
        "multimeter": {"N": ["V_m"]},
    }


@pytest.mark.parametrize("model, tau_syn_ex, tau_syn_in, V_min", [
    ("iaf_psc_alpha", 0.5, 3.0, None),
    # tau_syn = tau_m, and so close that the singular P31 applies
    ("iaf_psc_alpha", 10.0, 10.0 + 1e-10, -64.5),
    ("iaf_psc_exp", 3.0, 5.0, None),
])
def test_current_based_spikes_and_V_m(model, tau_syn_ex, tau_syn_in, V_min):
    """iaf_psc_alpha and iaf_psc_exp: NEST's spikes step for step and its V_m to 1e-12
    relative (bit for bit against the NEST 3.10 wheel), including refractoriness, the lower
    bound V_min and the singular propagators."""
    rng = np.random.default_rng(13)
    desc = current_network(rng, model, 20, 400.0, tau_syn_ex, tau_syn_in, V_min=V_min)
    net = build_bigbrain(desc)
    net.record("N", "V_m")
    result = net.run(desc["t_sim"])
    ref = nest_reference.run_nest(desc)
    t_nest, i_nest = ref["spikes"]["N"]
    t_bb, i_bb = result.spikes("N")
    assert len(t_nest) > 100, "too little activity to test the dynamics"
    np.testing.assert_array_equal(np.rint(t_bb / DT), np.rint(t_nest / DT))
    np.testing.assert_array_equal(i_bb, i_nest)
    times, ids, v = result.V_m("N")
    t_ref, ids_ref, samples = ref["samples"]["N"]
    np.testing.assert_array_equal(ids, ids_ref)
    np.testing.assert_allclose(times, t_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(v, samples["V_m"], rtol=1e-12, atol=0)
    if V_min is not None:
        assert np.count_nonzero(v == V_min) > 10, "the lower bound must act to be tested"
