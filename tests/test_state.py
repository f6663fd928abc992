"""net.get / net.set on populations, selections and connections, before the build and
between runs; NEST's SetStatus between Simulate calls as the reference; checkpoints carry
what was set."""
import numpy as np
import pytest

import bigbrain as bb
from bigbrain.archive import Archive

DT = 0.1


def _exp_net(seed=2, n=12):
    net = bb.Network(dt=DT, seed=seed)
    pop = net.population("N", n, "iaf_psc_exp", I_e=np.linspace(300.0, 420.0, n), tau_m=10.0,
                         V_m=bb.uniform(-70.0, -55.0))
    net.record(pop, "spikes")
    return net, pop


# ------------------------------------------------------------------ neurons
def test_get_before_the_build_gives_the_values_the_build_uses():
    net, pop = _exp_net()
    before = {k: net.get(pop, k) for k in ("V_m", "I_e", "tau_m")}
    net.run(0.0)
    for key, values in before.items():
        np.testing.assert_array_equal(net.get(pop, key), values, err_msg=key)
    assert len(np.unique(before["V_m"])) == pop.size and np.all(before["tau_m"] == 10.0)


def test_get_follows_selection_order_across_populations():
    net, pop = _exp_net()
    other = net.population("M", 3, "iaf_psc_delta", I_e=np.array([7.0, 8.0, 9.0]))
    sel = pop[[5, 1]] | other[::-1]
    expected = np.r_[net.get(pop, "I_e")[[5, 1]], 9.0, 8.0, 7.0]
    np.testing.assert_array_equal(net.get(sel, "I_e"), expected)
    net.run(1.0)
    np.testing.assert_array_equal(net.get(sel, "I_e"), expected)


def test_set_before_the_build_changes_the_description():
    net, pop = _exp_net()
    net.set(pop[:3], I_e=np.array([1.0, 2.0, 3.0]))
    net.set(pop, tau_m=bb.uniform(9.0, 11.0))
    assert np.array_equal(pop.params["I_e"][:4], [1.0, 2.0, 3.0, 300.0 + 120.0 / 11 * 3])
    assert isinstance(pop.params["tau_m"], bb.uniform)
    tau = net.get(pop, "tau_m")
    net.run(0.0)
    np.testing.assert_array_equal(net.get(pop, "tau_m"), tau)


def test_set_between_runs_changes_state_and_parameters():
    net, pop = _exp_net()
    net.run(20.0)
    net.set(pop[2:5], V_m=-60.0, I_e=0.0)
    net.set(pop, tau_m=12.5)
    assert np.all(net.get(pop[2:5], "V_m") == -60.0)
    I_e = np.linspace(300.0, 420.0, 12)
    I_e[2:5] = 0.0
    np.testing.assert_array_equal(net.get(pop, "I_e"), I_e)
    spikes = net.run(50.0).spikes("N")[1]
    t, ids = net.run(0.0).spikes("N")
    assert not np.isin([2, 3, 4], ids[t > 21.0]).any()   # no current: silent after the set
    assert np.isin([1, 5, 11], spikes).all()   # above rheobase (300 pA at tau_m = 12.5 ms)


def test_a_new_E_L_keeps_the_absolute_V_m_as_in_nest():
    net, pop = _exp_net()
    net.run(5.0)
    V = net.get(pop, "V_m")
    net.set(pop, E_L=-60.0)
    np.testing.assert_allclose(net.get(pop, "V_m"), V, rtol=0, atol=1e-12)


def test_set_draws_distributions_per_neuron_between_runs():
    net, pop = _exp_net(n=200)
    net.run(1.0)
    net.set(pop, I_e=bb.uniform(100.0, 200.0))
    I_e = net.get(pop, "I_e")
    assert I_e.min() >= 100.0 and I_e.max() < 200.0 and len(np.unique(I_e)) == 200
    net.set(pop[:2], I_e=bb.uniform(100.0, 200.0))   # same step, same stream: same values
    np.testing.assert_array_equal(net.get(pop, "I_e"), I_e)


@pytest.mark.parametrize("call, field, message", [
    (lambda net, pop: net.set(pop, I_f=1.0), "population 'N'.I_f", "did you mean 'I_e'"),
    (lambda net, pop: net.get(pop, "tau"), "population 'N'.tau", "unknown parameter"),
    (lambda net, pop: net.set(pop[:3], I_e=np.zeros(4)), "population 'N'.I_e", "has 4 values for 3"),
    (lambda net, pop: net.set(pop, I_e=np.nan), "population 'N'.I_e", "got nan"),
    (lambda net, pop: net.set(pop, tau_m=np.r_[np.ones(11), -1.0]), "population 'N'.tau_m",
     "must be > 0 ms, got -1.0 (neuron 11)"),
    (lambda net, pop: net.set(pop[4], V_reset=-50.0), "population 'N'.V_reset", "must be below V_th"),
    (lambda net, pop: net.set(pop, refractory_input=True), "population 'N'.refractory_input",
     "unknown parameter of iaf_psc_exp"),
])
@pytest.mark.parametrize("built", [False, True])
def test_bad_sets_name_the_field_and_change_nothing(call, field, message, built):
    net, pop = _exp_net()
    if built:
        net.run(1.0)
    before = net.get(pop, "I_e")
    with pytest.raises(bb.ModelError) as err:
        call(net, pop)
    assert str(err.value).startswith(field) and message in str(err.value), str(err.value)
    np.testing.assert_array_equal(net.get(pop, "I_e"), before)


def test_tau_minus_and_relay_parameters_are_refused_after_the_build():
    net, pop = _exp_net()
    parrots = net.population("P", 2, "parrot_neuron")
    net.run(1.0)
    with pytest.raises(bb.ModelError, match=r"^population 'N'.tau_minus: cannot change"):
        net.set(pop, I_e=1.0, tau_minus=30.0)
    assert net.get(pop, "I_e")[0] == 300.0      # nothing changed
    with pytest.raises(bb.ModelError, match=r"^population 'P'.tau_minus: the parameters of parrot"):
        net.set(parrots, tau_minus=30.0)


@pytest.mark.nest
def test_set_between_runs_equals_nest_set_status_between_simulate_calls():
    nest = pytest.importorskip("nest")
    n, rng = 12, np.random.default_rng(4)
    V0, I0 = rng.uniform(-70.0, -55.0, n), np.linspace(300.0, 420.0, n)
    I1, tau1 = np.linspace(350.0, 500.0, 6), rng.uniform(8.0, 14.0, n)
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT})
    cells = nest.Create("iaf_psc_exp", n, params={"E_L": -65.0, "V_reset": -70.0, "V_th": -50.0})
    cells.set(V_m=V0.tolist(), I_e=I0.tolist())
    rec = nest.Create("spike_recorder")
    nest.Connect(cells, rec)
    nest.Simulate(40.0)
    cells[:6].set(I_e=I1.tolist())
    cells.set(tau_m=tau1.tolist(), E_L=-62.0)
    cells[6:9].set(V_m=-52.0)
    nest.Simulate(60.0)
    ev = rec.get("events")
    order = np.lexsort((ev["senders"], ev["times"]))
    nest_t, nest_i = ev["times"][order], ev["senders"][order] - cells[0].global_id

    net = bb.Network(dt=DT)
    pop = net.population("N", n, "iaf_psc_exp", E_L=-65.0, V_reset=-70.0, V_th=-50.0, V_m=V0, I_e=I0)
    net.record(pop, "spikes")
    net.run(40.0)
    net.set(pop[:6], I_e=I1)
    net.set(pop, tau_m=tau1, E_L=-62.0)
    net.set(pop[6:9], V_m=-52.0)
    t, ids = net.run(60.0).spikes("N")
    assert len(nest_t) > 40 and (nest_t > 40.0).sum() > 20
    np.testing.assert_array_equal(np.rint(t / DT), np.rint(nest_t / DT))
    np.testing.assert_array_equal(ids, nest_i)


# ------------------------------------------------------------------ synapses
def _driven(weight_set=None, synapse=None):
    """Spike sources into 6 iaf_psc_delta neurons through explicit synapses (with multapses);
    returns the network, the connection and the explicit (sources, targets, weights)."""
    rng = np.random.default_rng(9)
    src, tgt = rng.integers(0, 8, 60), rng.integers(0, 6, 60)
    w = np.round(rng.uniform(0.5, 4.0, 60), 3)
    net = bb.Network(dt=DT)
    s = net.spike_source("S", [sorted(set(np.round(rng.uniform(0.1, 60.0, 15), 1))) for _ in range(8)])
    n = net.population("N", 6, "iaf_psc_delta", tau_m=20.0, C_m=1.0, E_L=0.0, V_th=15.0,
                       V_reset=0.0, I_e=0.2, V_m=0.0)
    conn = net.connect(s, n, rule="explicit", sources=src, targets=tgt, delay=1.0, synapse=synapse,
                       weight=w if weight_set is None else 1.0)
    net.record(n, "spikes")
    return net, conn, (src, tgt, w)


def _in_weights_order(src, tgt, w):
    """Explicit synapses' weights in the order of Result.weights: (post, pre, ordinal)."""
    return w[np.lexsort((np.arange(len(src)), src, tgt))]


def test_static_weights_set_in_weights_order_act_like_the_described_ones():
    ref_net, ref, (src, tgt, w) = _driven()
    want = ref_net.run(70.0).spikes("N")
    # static weights are stored in fixed point: about 2**-31 of the largest weight
    np.testing.assert_allclose(ref.get("weight"), _in_weights_order(src, tgt, w), rtol=0,
                               atol=w.max() * 2.0**-30)
    net, conn, _ = _driven(weight_set=True)
    net.run(0.0)
    conn.set(weight=_in_weights_order(src, tgt, w))
    np.testing.assert_array_equal(conn.get("weight"), ref.get("weight"))
    got = net.run(70.0).spikes("N")
    assert len(want[0]) > 10
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_plastic_weights_get_and_set_in_the_order_of_result_weights():
    stdp = bb.STDP(tau_plus=20.0, lambda_=0.05, alpha=1.0, Wmax=10.0)
    net, conn, _ = _driven(synapse=stdp)
    result = net.run(30.0)
    np.testing.assert_array_equal(conn.get("weight"), result.weights(conn)[2])
    new = np.linspace(1.0, 3.0, 60)
    conn.set(weight=new)
    np.testing.assert_array_equal(net.run(0.0).weights(conn)[2], new)
    conn.set(weight=bb.uniform(1.0, 2.0))
    assert len(np.unique(conn.get("weight"))) == 60


@pytest.mark.parametrize("value, field, message", [
    (np.ones(59), "weight", "has 59 values for 60 synapses"),
    (np.nan, "weight", "must be finite"),
    ({"delay": 2.0}, "delay", "unknown synapse parameter"),
])
def test_bad_weight_sets_name_the_field(value, field, message):
    net, conn, _ = _driven()
    net.run(1.0)
    with pytest.raises(bb.ModelError) as err:
        conn.set(**value) if isinstance(value, dict) else conn.set(weight=value)
    assert str(err.value).startswith(f"{conn.where}.{field}") and message in str(err.value)


def test_weights_before_the_build_are_refused_by_name():
    net, conn, _ = _driven()
    with pytest.raises(bb.ModelError, match=r"\.weight: synapses exist once the network is built"):
        conn.get("weight")


# ------------------------------------------------------------------ checkpoints
def _protocol(path, stop_at=None):
    """Run 30 ms, set parameters, V_m and static weights, run to 90 ms (checkpoints every
    40 ms); with ``stop_at``, stop there (an interrupted run)."""
    net, conn, (src, tgt, w) = _driven(weight_set=True)
    net.archive = Archive(path, checkpoint_every=40.0, checkpoint_at_end=False)
    n = net.populations["N"]
    net.run(30.0)
    net.set(n[:3], I_e=np.array([0.5, 0.8, 0.1]), tau_m=15.0)
    net.set(n, V_m=5.0)
    conn.set(weight=_in_weights_order(src, tgt, w))
    net.run((stop_at or 90.0) - 30.0)
    return net


def test_resume_after_sets_equals_the_uninterrupted_run(tmp_path):
    whole = _protocol(tmp_path / "whole.zarr").run(0.0).spikes("N")
    _protocol(tmp_path / "cut.zarr", stop_at=60.0)     # checkpoint at 40 ms, after the sets
    net = bb.resume(tmp_path / "cut.zarr")
    assert net.time == 40.0
    np.testing.assert_array_equal(net.get(net.populations["N"], "I_e")[:4], [0.5, 0.8, 0.1, 0.2])
    got = net.run(50.0).spikes("N")
    assert len(whole[0]) > 10
    for a, b in zip(got, whole):
        np.testing.assert_array_equal(a, b)


def test_plastic_weights_of_the_wrong_sign_are_refused_before_any_draw():
    net, conn, _ = _driven(synapse=bb.STDP(Wmax=10.0))
    net.run(1.0)
    before = conn.get("weight")
    with pytest.raises(bb.ModelError, match=r"\.weight: weights of an STDP synapse must have the sign"):
        conn.set(weight=bb.normal(2.0, 1.0))
    with pytest.raises(bb.ModelError, match=r"\.weight: weights of an STDP synapse must have the sign"):
        conn.set(weight=np.r_[np.ones(59), -1.0])
    np.testing.assert_array_equal(conn.get("weight"), before)


def test_switches_are_not_set_through_set():
    net = bb.Network(dt=DT)
    pop = net.population("D", 2, "iaf_psc_delta")
    with pytest.raises(bb.ModelError, match=r"^population 'D'.refractory_input: is not a number"):
        net.set(pop, refractory_input=True)


class _Generator:
    """The device side of the contract: set_params / get_params (stimulation devices)."""

    def __init__(self):
        self.amplitude = 0.0

    def set_params(self, net, **params):
        self.amplitude = params["amplitude"]

    def get_params(self, net, name):
        return getattr(self, name)


def test_devices_answer_get_and_set_themselves():
    net, _ = _exp_net()
    gen = _Generator()
    net.set(gen, amplitude=3.5)
    assert net.get(gen, "amplitude") == 3.5


# ------------------------------------------------------------------ spike sources
def _source_protocol(path=None, stop_at=None):
    """Two spike sources driving two neurons; at 20 ms source 0 gets new times (source 1's
    stay); with ``path`` an archive checkpointed every 30 ms, with ``stop_at`` cut there."""
    net = bb.Network(dt=DT)
    src = net.spike_source("S", [[5.0, 12.0, 30.0], [8.0, 25.0]])
    n = net.population("N", 2, "iaf_psc_exp")
    net.connect(src, n, rule="one_to_one", weight=900.0, delay=1.0)
    net.record(src, "spikes")
    if path is not None:
        net.archive = Archive(path, checkpoint_every=30.0, checkpoint_at_end=False)
    net.run(20.0)
    net.set(src[:1], spike_times=[[21.0, 33.3, 40.0]])
    return net, net.run((stop_at or 50.0) - 20.0)


def test_spike_times_set_between_runs_replace_the_future_spikes(tmp_path):
    net, result = _source_protocol()
    t, i = result.spikes("S")
    assert sorted(zip(i.tolist(), np.round(t, 6).tolist())) == [
        (0, 5.0), (0, 12.0), (0, 21.0), (0, 33.3), (0, 40.0), (1, 8.0), (1, 25.0)]
    with pytest.raises(bb.ModelError, match=r"'S'.spike_times\[1\]: must be later than the "
                                            r"current time 50.0 ms"):
        net.set(net.populations["S"], spike_times=[[60.0], [50.0]])
    with pytest.raises(bb.ModelError, match="set.spike_times: has 1 trains for 2"):
        net.set(net.populations["S"], spike_times=[[60.0]])
    whole = _source_protocol(tmp_path / "whole.zarr")[1].spikes("S")
    _source_protocol(tmp_path / "cut.zarr", stop_at=40.0)   # checkpoint at 30 ms
    resumed = bb.resume(tmp_path / "cut.zarr")
    assert resumed.time == 30.0
    for a, b in zip(resumed.run(20.0).spikes("S"), whole):
        np.testing.assert_array_equal(a, b)
