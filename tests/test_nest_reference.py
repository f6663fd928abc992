"""Self-checks of the NEST reference harness (tests/nest_reference.py).

They check the harness against analytic results and against itself, never against
bigbrain, so a failure here means the reference, not the simulator, is wrong.
"""

import math
import os

import numpy as np
import pytest

os.environ.setdefault("PYNEST_QUIET", "1")  # no NEST banner
pytest.importorskip("nest")

try:
    from tests.nest_reference import run_nest
except ImportError:  # tests/ is on sys.path (pytest rootdir-less import)
    from nest_reference import run_nest

pytestmark = pytest.mark.nest


def test_delta_synapse_spike_arrives_after_delay():
    """A supra-threshold input stamped t_in makes iaf_psc_delta fire at exactly t_in + delay."""
    t_in = [2.0, 10.3, 25.7]  # ms, > t_ref apart
    delay = 1.5  # ms
    desc = {
        "dt": 0.1, "t_sim": 40.0, "seed": 1,
        "populations": [
            {"name": "S", "model": "spike_generator", "n": 1, "spike_times": [t_in]},
            {"name": "N", "model": "iaf_psc_delta", "n": 1,
             "params": {"E_L": -70.0, "V_reset": -70.0, "V_th": -55.0, "t_ref": 2.0}},
        ],
        "connections": [{"pre": "S", "post": "N", "sources": [0], "targets": [0],
                         "weights": [20.0], "delays": [delay]}],  # 20 mV jump > 15 mV gap
        "record": ["N"],
    }
    t, ids = run_nest(desc)["spikes"]["N"]
    np.testing.assert_allclose(t, np.array(t_in) + delay, atol=1e-9)
    assert ids.dtype == np.int64 and np.all(ids == 0)


def test_two_populations_order_ids_and_parrot_ports():
    """Spikes are sorted by (time, local id); parrots repeat port-0 input only."""
    trains = [[5.0, 1.0], [1.0, 3.2], [], [1.0]]  # unsorted train, ties at 1.0 ms
    desc = {
        "dt": 0.1, "t_sim": 20.0, "seed": 1,
        "populations": [
            {"name": "S", "model": "spike_generator", "n": 4, "spike_times": trains},
            {"name": "P", "model": "parrot_neuron", "n": 3},
        ],
        "connections": [
            # S3 -> P0 and S1 -> P2 on port 0 (repeated), S0 -> P1 on port 1 (swallowed)
            {"pre": "S", "post": "P", "sources": [3, 1], "targets": [0, 2],
             "weights": 1.0, "delays": [2.0, 0.5]},
            {"pre": "S", "post": "P", "sources": [0], "targets": [1],
             "weights": 1.0, "delays": [1.0], "receptor_type": 1},
        ],
        "record": ["S", "P"],
    }
    sp = run_nest(desc)["spikes"]
    np.testing.assert_allclose(sp["S"][0], [1.0, 1.0, 1.0, 3.2, 5.0])
    np.testing.assert_array_equal(sp["S"][1], [0, 1, 3, 1, 0])
    np.testing.assert_allclose(sp["P"][0], [1.5, 3.0, 3.7])
    np.testing.assert_array_equal(sp["P"][1], [2, 0, 2])


def test_iaf_psc_exp_constant_current_period():
    """Above rheobase the period is t_ref + tau_m ln(I R / (I R - theta)), rounded up to dt."""
    dt, tau_m, c_m, t_ref, i_e = 0.1, 10.0, 250.0, 2.0, 500.0  # ms, ms, pF, ms, pA
    theta = 15.0  # mV, V_th - V_reset with V_reset = E_L
    ir = i_e * tau_m / c_m  # mV
    t_up = tau_m * math.log(ir / (ir - theta))  # ms from reset to threshold
    desc = {
        "dt": dt, "t_sim": 200.0, "seed": 1,
        "populations": [{"name": "A", "model": "iaf_psc_exp", "n": 1, "V_m": -70.0,
                         "params": {"C_m": c_m, "tau_m": tau_m, "t_ref": t_ref, "I_e": i_e,
                                    "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}}],
        "connections": [],
        "record": ["A"],
    }
    t, _ = run_nest(desc)["spikes"]["A"]
    assert len(t) >= 10
    assert abs(t[0] - t_up) <= dt
    isi = np.diff(t)
    assert np.all(np.abs(isi - (t_ref + t_up)) <= dt)
    np.testing.assert_allclose(isi, t_ref + math.ceil(t_up / dt) * dt, atol=1e-9)


def _stdp_desc(src, tgt, w0, delays, t_sim=150.0):
    """Parrot -> parrot STDP network; post parrots fire only from their own generators."""
    n_pre, n_post = 3, 2
    rng = np.random.default_rng(7)
    trains = [np.unique(np.round(rng.uniform(1.0, t_sim - 1.0, 25), 1)) for _ in range(n_pre + n_post)]
    return {
        "dt": 0.1, "t_sim": t_sim, "seed": 1,
        "populations": [
            {"name": "G", "model": "spike_generator", "n": n_pre + n_post, "spike_times": trains},
            {"name": "PRE", "model": "parrot_neuron", "n": n_pre},
            {"name": "POST", "model": "parrot_neuron", "n": n_post},
        ],
        "connections": [
            {"pre": "G", "post": "PRE", "sources": np.arange(n_pre), "targets": np.arange(n_pre),
             "weights": 1.0, "delays": 1.0},
            {"pre": "G", "post": "POST", "sources": np.arange(n_pre, n_pre + n_post),
             "targets": np.arange(n_post), "weights": 1.0, "delays": 1.0},
            {"pre": "PRE", "post": "POST", "sources": src, "targets": tgt, "weights": w0,
             "delays": delays, "receptor_type": 1, "weight_recorder": True,
             "synapse": {"model": "stdp_synapse", "lambda": 0.05, "alpha": 1.1, "mu_plus": 0.0,
                         "mu_minus": 0.0, "Wmax": 3.0, "tau_plus": 15.0, "tau_minus": 25.0}},
        ],
        "record": ["POST"],
    }


def test_stdp_multapse_weights_keep_input_order():
    """Final STDP weights of multapses come back in input order: the full network must
    equal each synapse simulated alone (synapses onto port 1 do not interact)."""
    rng = np.random.default_rng(3)
    m = 12
    src, tgt = rng.integers(0, 3, m), rng.integers(0, 2, m)
    w0 = rng.uniform(0.5, 1.5, m)
    delays = rng.integers(1, 30, m) * 0.1
    assert np.max(np.unique(src * 2 + tgt, return_counts=True)[1]) >= 3  # real multapses
    full = run_nest(_stdp_desc(src, tgt, w0, delays))
    alone = [run_nest(_stdp_desc(src[i:i + 1], tgt[i:i + 1], w0[i:i + 1], delays[i:i + 1]))
             for i in range(m)]
    w_alone = np.array([r["weights"][2][0] for r in alone])
    assert np.any(np.abs(full["weights"][2] - w0) > 1e-3)  # plasticity did something
    np.testing.assert_array_equal(full["weights"][2], w_alone)
    assert full["weights"][0] is not None and full["weight_recorders"][0] is None
    wr = full["weight_recorders"][2]
    for i in range(m):  # the last recorded weight of synapse i is its final weight
        wi = wr["weights"][wr["index"] == i]
        assert wi.size and wi[-1] == full["weights"][2][i]
        assert np.all(src[i] == wr["senders"][wr["index"] == i])
