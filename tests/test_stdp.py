"""STDP (NEST's stdp_synapse): weights against NEST 3.x, rank invariance, API and checks."""
import os
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from mpi_helpers import run_mpi

os.environ.setdefault("PYNEST_QUIET", "1")
SCRIPT = Path(__file__).parent / "scripts" / "stdp_network.py"
DT = 0.1
RTOL = 1e-9

ADDITIVE = dict(lambda_=0.05, mu_plus=0.0, mu_minus=0.0, Wmax=100.0)
MULTIPLICATIVE = dict(lambda_=0.1, mu_plus=1.0, mu_minus=1.0, alpha=1.2, Wmax=100.0, tau_plus=15.0)
CLIPPED_AT_WMAX = dict(lambda_=0.5, mu_plus=0.0, mu_minus=0.0, alpha=0.0, Wmax=50.0)
CLIPPED_AT_ZERO = dict(lambda_=0.5, mu_plus=0.0, mu_minus=0.0, alpha=3.0, Wmax=50.0)


def nest_synapse(stdp, traces):
    """The synapse of a NEST description; ``traces``: the post-synaptic time constants
    (tau_minus, and tau_minus_triplet for stdp_triplet_synapse)."""
    return {**traces, **stdp.describe()}


def run_nest(desc):
    pytest.importorskip("nest")
    from nest_reference import run_nest as run
    return run(desc)


def trains(rng, n, t_sim, rate_hz):
    """Spike times (ms, on the grid) of n Poisson-like trains, with some coincidences."""
    out = []
    for _ in range(n):
        steps = rng.integers(1, int(t_sim / DT) - 20, rng.poisson(rate_hz * t_sim / 1000.0))
        out.append(np.sort(steps) * DT)
    return out


# ---------------------------------------------------------------- parrot pairs vs NEST
def parrot_pairs(pre_trains, post_trains, sources, targets, weights, delay, stdp, traces, t_sim):
    """Spike sources -> parrots -> STDP (port 1) -> parrots driven by their own sources;
    ``traces``: the post-synaptic trace time constants (dict of neuron parameters)."""
    n_pre, n_post = len(pre_trains), len(post_trains)
    one = {"weights": 1.0, "delays": 1.0}
    desc = {
        "dt": DT, "t_sim": t_sim,
        "populations": [
            {"name": "Spre", "model": "spike_generator", "n": n_pre, "spike_times": pre_trains},
            {"name": "Spost", "model": "spike_generator", "n": n_post, "spike_times": post_trains},
            {"name": "pre", "model": "parrot_neuron", "n": n_pre},
            {"name": "post", "model": "parrot_neuron", "n": n_post}],
        "connections": [
            {"pre": "Spre", "post": "pre", "sources": range(n_pre), "targets": range(n_pre), **one},
            {"pre": "Spost", "post": "post", "sources": range(n_post), "targets": range(n_post), **one},
            {"pre": "pre", "post": "post", "sources": sources, "targets": targets,
             "weights": weights, "delays": delay, "synapse": nest_synapse(stdp, traces),
             "receptor_type": 1, "weight_recorder": True}],
        "record": ["pre", "post"],
    }
    net = bb.Network(dt=DT)
    s_pre = net.spike_source("Spre", pre_trains)
    s_post = net.spike_source("Spost", post_trains)
    pre = net.population("pre", n_pre, "parrot_neuron")
    post = net.population("post", n_post, "parrot_neuron", **traces)
    net.connect(s_pre, pre, "one_to_one", delay=1.0)
    net.connect(s_post, post, "one_to_one", delay=1.0)
    conn = net.connect(pre, post, "explicit", sources=sources, targets=targets, weight=weights,
                       delay=delay, synapse=stdp, receptor=1)
    net.record_weights(conn)
    net.record(pre)
    net.record(post)
    return desc, net, conn


def canonical(sources, targets):
    """Index of the given synapses in bigbrain's order (post, pre, ordinal)."""
    return np.lexsort((np.arange(len(sources)), sources, targets))


@pytest.mark.nest
@pytest.mark.parametrize("delay", [1.0, 2.3, 3.0])
@pytest.mark.parametrize("rule", [ADDITIVE, MULTIPLICATIVE, CLIPPED_AT_WMAX, CLIPPED_AT_ZERO],
                         ids=["additive", "multiplicative", "clipped_at_Wmax", "clipped_at_0"])
def test_parrot_pairs_match_nest(rule, delay):
    rng = np.random.default_rng(int(delay * 10))
    t_sim = 400.0
    pre_trains = trains(rng, 6, t_sim, 40.0)
    pre_trains[0] = np.sort(np.r_[pre_trains[0], pre_trains[0][:3]])  # doubled spikes
    post_trains = trains(rng, 5, t_sim, 40.0)
    post_trains[1] = np.sort(np.r_[post_trains[1], post_trains[1][:3], pre_trains[2] + 0.5])
    sources = np.r_[np.repeat(np.arange(6), 5), 0, 3]   # all pairs, and two multapses
    targets = np.r_[np.tile(np.arange(5), 6), 2, 4]
    weights = rng.uniform(10.0, 45.0, len(sources))
    stdp = bb.STDP(**rule)
    desc, net, conn = parrot_pairs(pre_trains, post_trains, sources, targets, weights, delay,
                                   stdp, {"tau_minus": 12.0}, t_sim)
    w = assert_parrot_pairs_match(desc, net, conn, sources, targets, weights)
    if rule is CLIPPED_AT_WMAX:
        assert np.sum(w == stdp.Wmax) > 20, "the weights must reach Wmax"
    if rule is CLIPPED_AT_ZERO:
        assert np.sum(w == 0.0) > 20, "the weights must reach 0"


def assert_parrot_pairs_match(desc, net, conn, sources, targets, weights):
    """Run :func:`parrot_pairs` in NEST and bigbrain: the spikes, final weights and weight
    recorder events must agree (weights to RTOL); returns the recorded weights."""
    ref = run_nest(desc)
    res = net.run(desc["t_sim"])
    for name in ("pre", "post"):
        np.testing.assert_allclose(res.spikes(name)[0], ref["spikes"][name][0], atol=1e-9)
    order = canonical(sources, targets)
    pre, post, w = res.weights(conn)
    np.testing.assert_array_equal(pre, sources[order])
    np.testing.assert_array_equal(post, targets[order])
    np.testing.assert_allclose(w, ref["weights"][2][order], rtol=RTOL, atol=0)
    assert not np.allclose(w, weights[order], rtol=1e-3), "weights must have changed"

    events = ref["weight_recorders"][2]
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    nest_key = np.lexsort((rank[events["index"]], events["times"].round(6)))
    times, pre, post, w = res.weight_events(conn)
    np.testing.assert_allclose(times, events["times"][nest_key], atol=1e-9)
    np.testing.assert_array_equal(pre, events["senders"][nest_key])
    np.testing.assert_array_equal(post, events["targets"][nest_key])
    np.testing.assert_allclose(w, events["weights"][nest_key], rtol=RTOL, atol=0)
    return w


@pytest.mark.nest
def test_parrot_repeats_port_zero_with_multiplicity():
    spikes = [[1.0, 1.0, 4.0], [2.0]]
    desc = {"dt": DT, "t_sim": 10.0, "populations": [
        {"name": "S", "model": "spike_generator", "n": 2, "spike_times": spikes},
        {"name": "P", "model": "parrot_neuron", "n": 2}],
        "connections": [
            {"pre": "S", "post": "P", "sources": [0], "targets": [0], "weights": -3.0, "delays": 1.0},
            {"pre": "S", "post": "P", "sources": [1], "targets": [1], "weights": 1.0, "delays": 1.0,
             "receptor_type": 1}],
        "record": ["P"]}
    ref = run_nest(desc)["spikes"]["P"]
    net = bb.Network(dt=DT)
    s = net.spike_source("S", spikes)
    p = net.population("P", 2, "parrot_neuron")
    net.connect(s[0], p[0], weight=-3.0, delay=1.0)
    net.connect(s[1], p[1], weight=1.0, delay=1.0, receptor=1)
    net.record(p)
    t, ids = net.run(10.0).spikes("P")
    np.testing.assert_allclose(t, ref[0], atol=1e-9)
    np.testing.assert_array_equal(ids, ref[1])
    np.testing.assert_allclose(t, [2.0, 2.0, 5.0], atol=1e-9)


# ---------------------------------------------------------------- recurrent network vs NEST
def recurrent_description(n_exc=800, n_inh=200, n_in=100, t_sim=2000.0, seed=3, stdp=None,
                          traces=None):
    """A recurrent iaf_psc_delta network with explicit connectivity, STDP on E->E (``stdp``,
    by default an additive bb.STDP) and spike-source input; ``traces``: the post-synaptic
    trace time constants (neuron parameters, default tau_minus = 30 ms). Returns the
    neutral description used by both simulators, and the synapse model."""
    rng = np.random.default_rng(seed)
    traces = traces or {"tau_minus": 30.0}
    neuron = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0,
              **traces}

    def explicit(n_src, n_tgt, k):
        return rng.integers(0, n_src, n_tgt * k), np.repeat(np.arange(n_tgt), k)

    ee_s, ee_t = explicit(n_exc, n_exc, 80)
    ie_s, ie_t = explicit(n_exc, n_inh, 80)
    ii_s, ii_t = explicit(n_inh, n_exc + n_inh, 20)
    in_s, in_t = explicit(n_in, n_exc + n_inh, 10)
    stdp = stdp or bb.STDP(tau_plus=16.8, lambda_=0.02, alpha=1.0, mu_plus=0.0, mu_minus=0.0, Wmax=0.4)
    return {
        "dt": DT, "t_sim": t_sim,
        "populations": [
            {"name": "E", "model": "iaf_psc_delta", "n": n_exc, "params": neuron,
             "V_m": rng.uniform(0.0, 20.0, n_exc)},
            {"name": "I", "model": "iaf_psc_delta", "n": n_inh, "params": neuron,
             "V_m": rng.uniform(0.0, 20.0, n_inh)},
            {"name": "X", "model": "spike_generator", "n": n_in,
             "spike_times": trains(rng, n_in, t_sim, 80.0)}],
        "connections": [
            {"pre": "E", "post": "E", "sources": ee_s, "targets": ee_t,
             "weights": rng.uniform(0.1, 0.3, ee_s.size), "delays": rng.choice([1.0, 1.5, 2.3], ee_s.size),
             "synapse": nest_synapse(stdp, traces)},
            {"pre": "E", "post": "I", "sources": ie_s, "targets": ie_t, "weights": 0.3, "delays": 1.5},
            {"pre": "I", "post": "EI", "sources": ii_s, "targets": ii_t, "weights": -3.0, "delays": 1.2},
            {"pre": "X", "post": "EI", "sources": in_s, "targets": in_t, "weights": 2.1, "delays": 1.0}],
        "record": ["E", "I"],
    }, stdp


def build_bigbrain(desc, stdp, comm=None):
    """The network of ``desc`` in bigbrain ("EI" means E then I)."""
    net = bb.Network(dt=desc["dt"], comm=comm)
    pops = {}
    for p in desc["populations"]:
        if p["model"] == "spike_generator":
            pops[p["name"]] = net.spike_source(p["name"], p["spike_times"])
        else:
            pops[p["name"]] = net.population(p["name"], p["n"], p["model"], V_m=p["V_m"], **p["params"])
    pops["EI"] = pops["E"] | pops["I"]
    conns = [net.connect(pops[c["pre"]], pops[c["post"]], "explicit", sources=c["sources"],
                         targets=c["targets"], weight=c["weights"], delay=c["delays"],
                         synapse=stdp if "synapse" in c else None)
             for c in desc["connections"]]
    for name in desc["record"]:
        net.record(pops[name])
    return net, conns[0]


def nest_recurrent(desc):
    """NEST has no "EI" population: split connections onto E|I into E and I parts."""
    n_exc = desc["populations"][0]["n"]
    conns = []
    for c in desc["connections"]:
        if c["post"] != "EI":
            conns.append(c)
            continue
        t = np.asarray(c["targets"])
        for name, sel, shift in (("E", t < n_exc, 0), ("I", t >= n_exc, n_exc)):
            conns.append({**c, "post": name, "sources": np.asarray(c["sources"])[sel],
                          "targets": t[sel] - shift})
    return run_nest({**desc, "connections": conns})


def assert_recurrent_network_matches_nest(desc, stdp, min_spikes, min_change):
    """The network of :func:`recurrent_description` run by bigbrain and by NEST: the same
    E and I spikes (at least ``min_spikes`` each) and final E→E weights (rtol RTOL), the
    weights moved on average by more than ``min_change``."""
    ref = nest_recurrent(desc)
    net, conn = build_bigbrain(desc, stdp)
    res = net.run(desc["t_sim"])
    for name in ("E", "I"):
        t, ids = res.spikes(name)
        assert len(t) > min_spikes, "the network must be active"
        np.testing.assert_allclose(t, ref["spikes"][name][0], atol=1e-9)
        np.testing.assert_array_equal(ids, ref["spikes"][name][1])
    c = desc["connections"][0]
    order = canonical(c["sources"], c["targets"])
    pre, post, w = res.weights(conn)
    np.testing.assert_array_equal(pre, c["sources"][order])
    np.testing.assert_allclose(w, ref["weights"][0][order], rtol=RTOL, atol=0)
    assert np.abs(w - c["weights"][order]).mean() > min_change, "weights must have changed"


@pytest.mark.nest
def test_recurrent_network_matches_nest():
    desc, stdp = recurrent_description()
    assert_recurrent_network_matches_nest(desc, stdp, min_spikes=2000, min_change=0.02)


# ---------------------------------------------------------------- rank invariance
def rank_results(tmp_path, ranks, *args, timeout):
    """The arrays SCRIPT saves, run with ``args`` on each number of ``ranks``."""
    results = []
    for n_ranks in ranks:
        out = tmp_path / f"run_{n_ranks}.npz"
        run_mpi(SCRIPT, n_ranks, out, *args, timeout=timeout)
        with np.load(out) as f:
            results.append({k: f[k] for k in f.files})
    return results


def assert_identical(ranks, results):
    """Every array of every run equals the first run's."""
    for n_ranks, got in zip(ranks[1:], results[1:]):
        for key in results[0]:
            assert np.array_equal(got[key], results[0][key]), f"{key} differs with {n_ranks} ranks"


@pytest.mark.mpi
def test_spikes_and_weights_identical_on_1_to_4_ranks(tmp_path):
    ranks = (1, 2, 3, 4)
    results = rank_results(tmp_path, ranks, timeout=600)
    ref = results[0]
    assert len(ref["E_t"]) > 1000 and np.abs(ref["w"] - ref["w0"]).max() > 0.01
    assert_identical(ranks, results)


# ---------------------------------------------------------------- analytic and API checks
def test_single_pair_matches_the_closed_form():
    """One pre spike at 10 ms, one post spike at 13 ms, delay 1 ms, then a pre spike at
    30 ms: potentiation lambda·exp(−(13 + 1 − 10)/tau_plus) and depression by the post
    trace exp(−(30 − 1 − 13)/tau_minus), additive."""
    stdp = bb.STDP(tau_plus=20.0, lambda_=0.1, mu_plus=0.0, mu_minus=0.0, alpha=0.5, Wmax=10.0)
    net = bb.Network(dt=DT)
    src = net.spike_source("S", [[9.0, 29.0], [12.0]])
    pre, post = net.population("pre", 1, "parrot_neuron"), net.population("post", 1, "parrot_neuron", tau_minus=25.0)
    net.connect(src[0], pre, delay=1.0)
    net.connect(src[1], post, delay=1.0)
    conn = net.connect(pre, post, weight=4.0, delay=1.0, synapse=stdp, receptor=1)
    net.record_weights(conn)
    times, _, _, w = net.run(40.0).weight_events(conn)
    w1 = 4.0
    w2 = (w1 / 10.0 + 0.1 * np.exp(-4.0 / 20.0)) * 10.0
    w2 = (w2 / 10.0 - 0.5 * 0.1 * np.exp(-16.0 / 25.0)) * 10.0
    np.testing.assert_allclose(times, [10.0, 30.0], atol=1e-12)
    np.testing.assert_allclose(w, [w1, w2], rtol=1e-13)


def test_bytes_per_plastic_synapse():
    net = bb.Network(dt=DT)
    exc = net.population("E", 2000, "iaf_psc_delta")
    net.connect(exc, exc, "fixed_indegree", indegree=200, weight=bb.normal(45.0, 5.0), delay=1.5,
                synapse=bb.STDP(mu_plus=0.0, mu_minus=0.0))
    nbytes, n = net.build().plasticity.nbytes()
    assert n == 400_000 and nbytes / n <= 10.5


@pytest.mark.parametrize("rule, kwargs, field", [
    (bb.STDP, {"tau_plus": -1.0}, "STDP.tau_plus"), (bb.STDP, {"tau_plus": 0.0}, "STDP.tau_plus"),
    (bb.STDP, {"lambda_": -0.1}, "STDP.lambda_"), (bb.STDP, {"alpha": float("nan")}, "STDP.alpha"),
    (bb.STDP, {"mu_plus": -1.0}, "STDP.mu_plus"), (bb.STDP, {"Wmax": 0.0}, "STDP.Wmax"),
    (bb.STDP, {"Wmax": "x"}, "STDP.Wmax"),
    (bb.TripletSTDP, {"tau_plus": 0.0}, "TripletSTDP.tau_plus"),
    (bb.TripletSTDP, {"tau_plus_triplet": -1.0}, "TripletSTDP.tau_plus_triplet"),
    (bb.TripletSTDP, {"Aplus": -0.1}, "TripletSTDP.Aplus"),
    (bb.TripletSTDP, {"Aminus_triplet": float("nan")}, "TripletSTDP.Aminus_triplet"),
    (bb.TripletSTDP, {"Kplus_triplet": -1.0}, "TripletSTDP.Kplus_triplet"),
    (bb.TripletSTDP, {"Wmax": 0.0}, "TripletSTDP.Wmax"), (bb.TripletSTDP, {"Aminus": "x"}, "TripletSTDP.Aminus")])
def test_invalid_rule_parameters_name_the_field(rule, kwargs, field):
    with pytest.raises(bb.ModelError) as err:
        rule(**kwargs)
    assert err.value.field == field


def test_weight_and_wmax_signs_must_agree_like_nest():
    net = bb.Network(dt=DT)
    a = net.population("A", 3, "iaf_psc_delta")
    with pytest.raises(bb.ModelError, match="sign of Wmax") as err:
        net.connect(a, a, weight=1.0, synapse=bb.STDP(Wmax=-5.0))
    assert err.value.field == "connect[0] A->A.weight"
    net.connect(a, a, weight=-1.0, synapse=bb.STDP(Wmax=-5.0))
    net.connect(a, a, weight=0.0, synapse=bb.STDP(Wmax=5.0))
    net.connect(a, a, weight=bb.normal(-1.0, 0.1), synapse=bb.STDP(Wmax=5.0))
    with pytest.raises(bb.ModelError, match="sign of Wmax"):
        net.build()


def test_tau_minus_and_receptor_checks():
    net = bb.Network(dt=DT)
    with pytest.raises(bb.ModelError, match="tau_minus"):
        net.population("A", 3, "iaf_psc_exp", tau_minus=0.0)
    a = net.population("A", 3, "iaf_psc_exp", tau_minus=10.0)
    p = net.population("P", 3, "parrot_neuron")
    with pytest.raises(bb.ModelError, match="receptor"):
        net.connect(a, a, receptor=1)
    with pytest.raises(bb.ModelError, match="separate calls"):
        net.connect(a, a | p)
    with pytest.raises(bb.ModelError, match="plastic"):
        net.connect(net.poisson("x", 10.0), a, synapse=bb.STDP())
    with pytest.raises(bb.ModelError, match="has no V_m"):
        net.record(p, "V_m")


def test_state_arrays_restore_continues_the_run_exactly():
    """A network restored (neurons, ring buffers, plastic state) at 150 ms and run on to
    300 ms gives the weights and spikes of an uninterrupted 300 ms run."""
    def make():
        net = bb.Network(dt=DT, seed=7)
        p = {"C_m": 1.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0}
        e = net.population("E", 300, "iaf_psc_delta", V_m=bb.uniform(0.0, 20.0), **p)
        net.connect(net.poisson("noise", 16000.0), e, weight=0.1, delay=1.5)
        conn = net.connect(e, e, "fixed_indegree", indegree=50, weight=bb.uniform(0.05, 0.2),
                           delay=bb.uniform(1.0, 3.0),
                           synapse=bb.STDP(lambda_=0.02, mu_plus=0.0, mu_minus=0.0, Wmax=0.3))
        net.record(e)
        return net, conn

    whole, conn = make()
    ref = whole.run(300.0)
    first, _ = make()
    first.run(150.0)
    saved = first.build()
    second, conn2 = make()
    sim = second.build()
    for old, new in zip(saved.blocks, sim.blocks):
        new.set_state({k: np.copy(v) for k, v in old.exact_state().items()})
    sim.ring_ex[...], sim.ring_in[...], sim.step = saved.ring_ex, saved.ring_in, saved.step
    sim.plasticity.restore_state_arrays(saved.plasticity.state_arrays())
    got = second.run(150.0)
    assert np.array_equal(got.weights(conn2)[2], ref.weights(conn)[2])
    t, _ = ref.spikes("E")
    assert np.array_equal(got.spikes("E")[0], t[t > 150.0 + DT / 2])
