"""Per-neuron parameters: every number parameter of iaf_psc_delta and iaf_psc_exp may be a
constant, an array with one value per neuron or a distribution; spikes equal NEST's with
the same per-neuron values, homogeneous populations keep number arguments."""
import numpy as np
import pytest

import bigbrain as bb

DT = 0.1


def _spikes(net, name, t=200.0):
    net.record(name, "spikes")
    return net.run(t).spikes(name)


def _exp_params(n):
    """Per-neuron iaf_psc_exp parameters; neurons 0 and 1 have tau_syn_ex == tau_m (NEST's
    singular P32) and neuron 2 a tau_syn_ex within 0.1 ms of tau_m."""
    tau_m = np.linspace(8.0, 14.0, n)
    tau_syn_ex = np.linspace(0.5, 3.0, n)
    tau_syn_ex[:2] = tau_m[:2]
    tau_syn_ex[2] = tau_m[2] + 0.05
    return {"tau_m": tau_m, "tau_syn_ex": tau_syn_ex, "tau_syn_in": np.linspace(1.0, 4.0, n),
            "C_m": np.linspace(200.0, 300.0, n), "I_e": np.linspace(300.0, 420.0, n),
            "t_ref": np.repeat([1.0, 2.0, 2.5], (n + 2) // 3)[:n],
            "V_th": np.linspace(-56.0, -50.0, n), "E_L": -65.0, "V_reset": -70.0}


@pytest.mark.nest
@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta"])
def test_per_neuron_parameters_equal_nest_spike_for_spike(model):
    pytest.importorskip("nest")
    nest_reference = pytest.importorskip("nest_reference")
    from neutral import run_bigbrain

    rng = np.random.default_rng(11)
    n = 24
    if model == "iaf_psc_exp":
        params, w = _exp_params(n), 150.0
    else:
        params = {"tau_m": np.linspace(10.0, 25.0, n), "C_m": 1.0, "E_L": 0.0,
                  "V_th": np.linspace(18.0, 22.0, n), "V_reset": np.linspace(5.0, 12.0, n),
                  "t_ref": np.linspace(1.0, 3.0, n), "I_e": np.linspace(0.4, 0.9, n),
                  "refractory_input": True}
        w = 1.0
    times = [sorted(set(np.round(rng.uniform(0.1, 300.0, 30), 1))) for _ in range(20)]
    desc = {"dt": DT, "t_sim": 300.0,
            "populations": [{"name": "S", "model": "spike_generator", "n": 20, "spike_times": times},
                            {"name": "N", "model": model, "n": n,
                             "params": {k: v.tolist() if np.ndim(v) else v for k, v in params.items()}}],
            "connections": [{"pre": "S", "post": "N", "sources": rng.integers(0, 20, 400).tolist(),
                             "targets": rng.integers(0, n, 400).tolist(),
                             "weights": (w * rng.uniform(-1.0, 1.5, 400)).tolist(),
                             "delays": rng.choice([0.1, 1.0, 2.3], 400).tolist()}],
            "record": ["N"]}
    t_nest, i_nest = nest_reference.run_nest(desc)["spikes"]["N"]
    t_bb, i_bb = run_bigbrain(desc)["N"]
    assert len(t_nest) > 50 and len(np.unique(i_nest)) > n // 2
    np.testing.assert_array_equal(np.rint(t_bb / DT), np.rint(t_nest / DT))
    np.testing.assert_array_equal(i_bb, i_nest)


def test_homogeneous_parameters_stay_numbers_and_heterogeneous_make_every_argument_an_array():
    """One per-neuron parameter makes every number argument of the block one value per
    neuron, holding that number: a model's kernel takes numbers only or arrays only (Numba
    compiles two specializations, not one per combination of parameters), and blocks whose
    per-neuron parameters differ share one kernel group."""
    net = bb.Network(dt=DT)
    net.population("A", 5, "iaf_psc_exp", I_e=376.0)
    net.population("B", 5, "iaf_psc_exp", I_e=np.full(5, 376.0), tau_m=bb.uniform(9.0, 11.0))
    net.population("C", 5, "iaf_psc_exp", V_th=np.linspace(-56.0, -54.0, 5))
    a, b, c = net.build().blocks
    assert all(np.ndim(x) == 0 for x in a.args)
    assert all(np.shape(x) == (5,) for x in b.args + c.args)
    P22, *_, I_e, theta, V_reset, refr, E_L = b.args
    assert len(np.unique(P22)) == 5 and np.array_equal(I_e, np.full(5, 376.0))
    assert np.array_equal(theta, np.full(5, 15.0)) and np.array_equal(refr, np.full(5, 20))
    assert refr.dtype == np.int64
    for number, array in zip(a.args[:6], c.args[:6]):   # propagators of the same tau_m, C_m
        np.testing.assert_array_equal(array, np.full(5, number))
    assert len(net._simulation.block_groups) == 2   # one typed list per argument types


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_cond_alpha"])
def test_array_of_equal_values_gives_the_spikes_of_the_number(model):
    spikes = []
    for I_e in (376.0, np.full(10, 376.0)):
        net = bb.Network(dt=DT)
        net.population("N", 10, model, I_e=I_e, V_m=bb.uniform(-70.0, -55.0))
        spikes.append(_spikes(net, "N"))
    assert len(spikes[0][0]) > 0
    for x, y in zip(*spikes):
        np.testing.assert_array_equal(x, y)


def test_distribution_parameters_are_drawn_per_neuron_from_their_own_streams():
    net = bb.Network(dt=DT, seed=5)
    net.population("N", 200, "iaf_psc_delta", I_e=bb.uniform(0.0, 10.0), tau_m=bb.uniform(1.0, 10.0),
                   V_m=bb.uniform(0.0, 10.0))
    (block,) = net.build().blocks
    I_e, tau_m, V_m = block.p["I_e"], block.p["tau_m"], block.y3 + block.p["E_L"]
    assert I_e.min() >= 0.0 and I_e.max() < 10.0 and abs(I_e.mean() - 5.0) < 0.6
    assert not np.array_equal(I_e, tau_m) and not np.array_equal(I_e, V_m)


@pytest.mark.parametrize("params, field, message", [
    ({"tau_m": np.array([10.0, -1.0, 10.0])}, "population 'N'.tau_m", "must be > 0 ms, got -1.0 (neuron 1)"),
    ({"I_e": np.array([1.0, np.nan, 0.0])}, "population 'N'.I_e", "got nan (neuron 1)"),
    ({"I_e": np.zeros(4)}, "population 'N'.I_e", "has 4 values for 3 neurons"),
    ({"tau_m": bb.normal(10.0, 2.0)}, "population 'N'.tau_m", "must be > 0 ms, but the distribution"),
    ({"V_reset": np.array([-70.0, -50.0, -70.0])}, "population 'N'.V_reset", "must be below V_th"),
    ({"V_th": bb.uniform(-60.0, -50.0), "V_reset": -55.0}, "population 'N'.V_reset", "must be below V_th"),
])
def test_bad_per_neuron_values_name_the_field(params, field, message):
    net = bb.Network(dt=DT)
    with pytest.raises(bb.ModelError) as err:
        net.population("N", 3, "iaf_psc_delta", **params)
    assert str(err.value).startswith(field) and message in str(err.value)


def test_model_without_per_neuron_support_is_refused_at_build():
    net = bb.Network(dt=DT)
    net.population("P", 3, "parrot_neuron", tau_minus=np.array([10.0, 20.0, 30.0]))
    with pytest.raises(bb.ModelError, match=r"^population 'P'.tau_minus: parrot_neuron takes one value"):
        net.build()
