"""Triplet STDP (NEST's stdp_triplet_synapse): weights against NEST 3.x, a closed form, rank
invariance, the API, model files and checks."""

import numpy as np
import pytest

import bigbrain as bb
from test_stdp import (DT, assert_identical, assert_parrot_pairs_match,
                       assert_recurrent_network_matches_nest, parrot_pairs, rank_results,
                       recurrent_description, trains)

TRACES = {"tau_minus": 12.0, "tau_minus_triplet": 90.0}

#: Pfister & Gerstner's defaults scaled up so that a few hundred ms change the weights.
TRIPLET = dict(Aplus=0.5, Aminus=0.7, Aplus_triplet=0.6, Aminus_triplet=0.05, Wmax=100.0)
#: Diehl & Cook (2015): no pair potentiation, no triplet depression; initial traces set.
DIEHL_COOK = dict(tau_plus=20.0, tau_plus_triplet=40.0, Aplus=0.0, Aminus=0.4, Aplus_triplet=0.8,
                  Aminus_triplet=0.0, Wmax=80.0, Kplus=0.5, Kplus_triplet=1.5)
CLIPPED_AT_WMAX = dict(Aplus=4.0, Aminus=0.0, Aplus_triplet=2.0, Aminus_triplet=0.0, Wmax=50.0)
CLIPPED_AT_ZERO = dict(Aplus=0.5, Aminus=6.0, Aplus_triplet=0.1, Aminus_triplet=2.0, Wmax=50.0)
INHIBITORY = dict(TRIPLET, Wmax=-100.0)


@pytest.mark.nest
@pytest.mark.parametrize("delay", [1.0, 2.3])
@pytest.mark.parametrize("rule", [TRIPLET, DIEHL_COOK, CLIPPED_AT_WMAX, CLIPPED_AT_ZERO, INHIBITORY],
                         ids=["triplet", "diehl_cook", "clipped_at_Wmax", "clipped_at_0", "Wmax<0"])
def test_parrot_pairs_match_nest(rule, delay):
    rng = np.random.default_rng(int(delay * 10) + 1)
    t_sim = 400.0
    pre_trains = trains(rng, 6, t_sim, 40.0)
    pre_trains[0] = np.sort(np.r_[pre_trains[0], pre_trains[0][:3]])  # doubled spikes
    post_trains = trains(rng, 5, t_sim, 40.0)
    post_trains[1] = np.sort(np.r_[post_trains[1], post_trains[1][:3], pre_trains[2] + 0.5])
    sources = np.r_[np.repeat(np.arange(6), 5), 0, 3]   # all pairs, and two multapses
    targets = np.r_[np.tile(np.arange(5), 6), 2, 4]
    sign = np.sign(rule["Wmax"])
    weights = sign * rng.uniform(10.0, 45.0, len(sources))
    stdp = bb.TripletSTDP(**rule)
    desc, net, conn = parrot_pairs(pre_trains, post_trains, sources, targets, weights, delay,
                                   stdp, TRACES, t_sim)
    w = assert_parrot_pairs_match(desc, net, conn, sources, targets, weights)
    if rule is CLIPPED_AT_WMAX:
        assert np.sum(w == stdp.Wmax) > 20, "the weights must reach Wmax"
    if rule is CLIPPED_AT_ZERO:
        assert np.sum(w == 0.0) > 20, "the weights must reach 0"
    assert np.all(sign * w >= 0), "weights keep the sign of Wmax"


@pytest.mark.nest
def test_recurrent_network_matches_nest():
    stdp = bb.TripletSTDP(tau_plus=16.8, Aplus=0.004, Aminus=0.006, Aplus_triplet=0.003,
                          Aminus_triplet=0.001, Wmax=0.4)
    desc, stdp = recurrent_description(n_exc=400, n_inh=100, t_sim=1000.0, stdp=stdp,
                                       traces={"tau_minus": 30.0, "tau_minus_triplet": 100.0})
    assert_recurrent_network_matches_nest(desc, stdp, min_spikes=500, min_change=0.01)


@pytest.mark.mpi
def test_spikes_and_weights_identical_on_1_to_3_ranks(tmp_path):
    """Triplet STDP on E→E beside pair STDP onto parrots (one history with both)."""
    ranks = (1, 2, 3)
    results = rank_results(tmp_path, ranks, "triplet", 150.0, timeout=300)
    ref = results[0]
    assert len(ref["E_t"]) > 500 and np.abs(ref["w"] - ref["w0"]).max() > 0.01
    assert len(ref["ev_w"]) > 0
    assert_identical(ranks, results)


# ---------------------------------------------------------------- closed form, API and checks
def test_one_triplet_matches_the_closed_form():
    """Pre spikes at 10 and 30 ms, post spikes at 13 and 16 ms, delay 1 ms (all dendritic),
    initial traces K+ = 0.5 and K+₃ = 2: at 30 ms the post spikes potentiate (the second
    with the triplet term of the first), then the pre spike depresses (with K+₃)."""
    tp, tx, tm, ty = 20.0, 50.0, 25.0, 70.0
    a2p, a2m, a3p, a3m = 0.3, 0.2, 0.4, 0.1
    stdp = bb.TripletSTDP(tau_plus=tp, tau_plus_triplet=tx, Aplus=a2p, Aminus=a2m, Aplus_triplet=a3p,
                          Aminus_triplet=a3m, Wmax=10.0, Kplus=0.5, Kplus_triplet=2.0)
    net = bb.Network(dt=DT)
    src = net.spike_source("S", [[9.0, 29.0], [12.0, 15.0]])
    pre = net.population("pre", 1, "parrot_neuron")
    post = net.population("post", 1, "parrot_neuron", tau_minus=tm, tau_minus_triplet=ty)
    net.connect(src[0], pre, delay=1.0)
    net.connect(src[1], post, delay=1.0)
    conn = net.connect(pre, post, weight=4.0, delay=1.0, synapse=stdp, receptor=1)
    net.record_weights(conn)
    times, _, _, w = net.run(40.0).weight_events(conn)
    kplus = 0.5 * np.exp(-10.0 / tp) + 1.0
    w2 = 4.0 + kplus * np.exp(-4.0 / tp) * a2p
    w2 += kplus * np.exp(-7.0 / tp) * (a2p + a3p * np.exp(-3.0 / ty))
    kx = (2.0 * np.exp(-10.0 / tx) + 1.0) * np.exp(-20.0 / tx)
    kminus = (np.exp(-3.0 / tm) + 1.0) * np.exp(-13.0 / tm)
    w2 -= kminus * (a2m + a3m * kx)
    np.testing.assert_allclose(times, [10.0, 30.0], atol=1e-12)
    np.testing.assert_allclose(w, [4.0, w2], rtol=1e-13)


def test_triplet_defaults_and_description():
    stdp = bb.TripletSTDP()
    assert stdp.describe() == {
        "model": "stdp_triplet_synapse", "tau_plus": 16.8, "tau_plus_triplet": 101.0,
        "Aplus": 5e-10, "Aminus": 7e-3, "Aplus_triplet": 6.2e-3, "Aminus_triplet": 2.3e-4,
        "Wmax": 100.0, "Kplus": 0.0, "Kplus_triplet": 0.0}
    net = bb.Network(dt=DT)
    a = net.population("A", 2, "iaf_psc_delta")
    assert a.params["tau_minus_triplet"] == 110.0 and a.params["tau_minus"] == 20.0
    assert repr(bb.TripletSTDP(Aplus=0.0)).startswith("TripletSTDP(tau_plus=16.8, ")


def test_triplet_checks_weight_signs_and_tau_minus_triplet():
    net = bb.Network(dt=DT)
    a = net.population("A", 3, "iaf_psc_delta")
    with pytest.raises(bb.ModelError, match="sign of Wmax") as err:
        net.connect(a, a, weight=1.0, synapse=bb.TripletSTDP(Wmax=-5.0))
    assert err.value.field == "connect[0] A->A.weight"
    with pytest.raises(bb.ModelError) as err:
        net.population("B", 3, "parrot_neuron", tau_minus_triplet=0.0)
    assert err.value.field.endswith("tau_minus_triplet")


def test_model_file_round_trip(tmp_path):
    """A network with stdp_triplet_synapse written as a model file reads back with the same
    rule and neuron parameters; unknown keys name the field."""
    from bigbrain import modelfile
    from bigbrain.rebuild import synapse_model
    stdp = bb.TripletSTDP(Aplus=0.0, Aminus_triplet=0.0, Wmax=1.0, Kplus_triplet=0.5)
    net = bb.Network(dt=DT)
    e = net.population("E", 20, "iaf_psc_delta", tau_minus_triplet=80.0)
    net.connect(e, e, "fixed_indegree", indegree=5, weight=0.2, delay=1.5, synapse=stdp)
    modelfile.write(net, tmp_path / "m.toml", t=10.0)
    assert "stdp_triplet_synapse" in (tmp_path / "m.toml").read_text()
    back = modelfile.read(str(tmp_path / "m.toml")).network()
    (conn,) = [c for c in back.connections if c.synapse is not None]
    assert isinstance(conn.synapse, bb.TripletSTDP) and conn.synapse.describe() == stdp.describe()
    assert back.populations["E"].params["tau_minus_triplet"] == 80.0
    with pytest.raises(bb.ModelError, match="not a parameter of stdp_triplet_synapse") as err:
        synapse_model({"model": "stdp_triplet_synapse", "Aplus3": 1.0})
    assert err.value.field == "synapse.Aplus3"
