"""Timing and input semantics checked against analytic values."""
import math

import numpy as np

import bigbrain as bb


def test_spike_source_spike_arrives_after_the_delay():
    """A spike at t through delay d makes an iaf_psc_delta neuron jump at t + d exactly."""
    net = bb.Network(dt=0.1)
    src = net.spike_source("S", [[2.0]])
    n = net.population("N", 1, "iaf_psc_delta", E_L=0.0, V_m=0.0, V_th=100.0, tau_m=10.0)
    net.connect(src, n, weight=5.0, delay=1.3)
    net.record(n, "V_m")
    net.record(src, "spikes")
    res = net.run(10.0)
    t, _, v = res.V_m("N")
    assert np.allclose(res.spikes("S")[0], [2.0])
    jump = t[np.argmax(v[:, 0] > 0)]
    assert math.isclose(jump, 3.3)
    later = t > 3.3
    assert np.allclose(v[later, 0], 5.0 * np.exp(-(t[later] - 3.3) / 10.0))


def test_constant_current_gives_the_analytic_period():
    """iaf_psc_exp with I_e above rheobase fires with period t_ref + tau ln(RI / (RI - theta))."""
    net = bb.Network(dt=0.1)
    n = net.population("N", 1, "iaf_psc_exp", I_e=500.0, E_L=-70.0, V_m=-70.0, V_th=-55.0,
                       V_reset=-70.0, tau_m=10.0, C_m=250.0, t_ref=2.0)
    net.record(n, "spikes")
    t, _ = net.run(200.0).spikes("N")
    R_I = 500.0 * 10.0 / 250.0
    period = 2.0 + 10.0 * math.log(R_I / (R_I - 15.0))
    assert abs(np.diff(t).mean() - period) < 0.1 + 1e-9


def test_poisson_input_has_the_requested_rate():
    """A Poisson generator's events into a passive delta neuron: mean input matches rate."""
    net = bb.Network(dt=0.1, seed=5)
    n = net.population("N", 200, "iaf_psc_delta", E_L=0.0, V_m=0.0, V_th=1e9, tau_m=1e6, C_m=1.0)
    net.connect(net.poisson("P", rate=5000.0), n, weight=1.0, delay=0.1)
    net.record(n, "V_m", interval=100.0)
    _, _, v = net.run(100.0).V_m("N")
    counts = v[-1]                                     # almost no leak: V counts events
    expected = 5000.0 * 0.1 - 5000.0 * 1e-4            # one step of delay is not yet counted
    assert abs(counts.mean() - expected) < 4 * math.sqrt(expected / 200)
    assert abs(counts.var() / counts.mean() - 1.0) < 0.25   # Poisson: variance = mean


def test_runs_continue_where_they_stopped():
    def network():
        net = bb.Network(seed=9)
        from bigbrain.models import brunel
        exc, _ = brunel(net, N=1000)
        net.record(exc, "spikes")
        return net
    whole = network().run(60.0).spikes("E")
    net = network()
    net.run(25.0)
    net.run(10.0)
    parts = net.run(25.0).spikes("E")
    assert len(whole[0]) > 100
    assert np.array_equal(whole[0], parts[0]) and np.array_equal(whole[1], parts[1])


def test_each_run_keeps_its_records_while_later_runs_append():
    """Records are gathered run by run and appended: the result of an earlier run still
    holds exactly its own records after later runs, the last one equals one long run's, and
    changing an array a result returned changes no result."""
    def network():
        net = bb.Network(dt=0.1, seed=4)
        n = net.population("N", 30, "iaf_psc_exp", I_e=bb.uniform(500.0, 900.0))
        net.connect(n, n, rule="fixed_indegree", indegree=3, weight=40.0, delay=0.1)
        net.record(n, "spikes")
        net.record(n[::4], ["V_m", "I_syn_ex"], interval=0.5)
        return net

    def records(res):
        return [*res.spikes("N"), *res.samples("N", "V_m"), res.samples("N", "I_syn_ex")[2]]

    whole = records(network().run(60.0))
    net = network()
    first = net.run(20.0)
    at_20 = records(first)
    first.spikes("N")[1][:] = -1                       # the caller's copy, not the records
    first.V_m("N")[2][:] = np.nan
    net.run(0.0)
    last = records(net.run(40.0))
    assert len(at_20[0]) > 20 and len(at_20[0]) < len(whole[0])
    for kept, now in zip(at_20, records(first)):
        assert np.array_equal(kept, now)
    for one, parts in zip(whole, last):
        assert np.array_equal(one, parts)


def test_poisson_input_reaches_every_step_once():
    """With a one-step minimum delay, Poisson input is drawn several steps ahead: every step
    still gets exactly one draw, however the run is cut. 400 non-leaking delta neurons count
    their input; the summed count of each step is Poisson with mean 400·λ (λ = 0.5), so a
    skipped or doubled step stands out."""
    def counts(run_lengths):
        net = bb.Network(dt=0.1, seed=3)
        n = net.population("N", 400, "iaf_psc_delta", E_L=0.0, V_m=0.0, V_th=1e9, tau_m=1e9,
                           C_m=1.0)
        net.connect(net.poisson("P", rate=5000.0), n, weight=1.0, delay=0.1)
        net.connect(n, n, rule="one_to_one", weight=1.0, delay=4.0)  # 40 ring slots, no spike
        net.record(n, "V_m")
        for t in run_lengths:
            res = net.run(t)
        return res.V_m("N")[2]
    whole = counts([20.0])
    per_step = np.diff(whole.sum(axis=1))
    mean = 400 * 0.5
    assert len(per_step) == 199 and np.all(np.abs(per_step - mean) < 6 * math.sqrt(mean))
    assert np.array_equal(whole, counts([0.3, 1.7, 5.0, 13.0]))


def _driven(models, t_ms=60.0):
    """Populations of ``models`` (in that order), each of 3 neurons driven by its own spike
    source through its own weights; V_m and spikes of each, by position."""
    net = bb.Network(dt=0.1)
    out = []
    for i, model in enumerate(models):
        extra = {"tau_syn_ex": 0.5 + i, "tau_syn_in": 1.0} if model == "iaf_psc_exp" else {}
        pop = net.population(f"P{i}", 3, model, E_L=-70.0, V_m=-70.0 + i, V_th=-60.0 + i,
                             V_reset=-72.0, t_ref=1.0 + i, **extra)
        src = net.spike_source(f"S{i}", [[1.0 + i, 5.0, 5.2, 9.0], [2.0], []])
        w = 700.0 + 40 * i if model == "iaf_psc_exp" else 4.0 + i
        net.connect(src, pop, "all_to_all", weight=w, delay=0.5 + 0.1 * i)
        net.record(pop, "V_m")
        net.record(pop, "spikes")
        out.append(f"P{i}")
    res = net.run(t_ms)
    return [(res.V_m(name)[2], *res.spikes(name)) for name in out]


def test_populations_of_two_models_interleaved_evolve_as_each_alone():
    """The blocks of a model advance in one kernel call (neurons.BlockGroup):
    interleaving populations of two models changes nothing in any of them."""
    models = ["iaf_psc_delta", "iaf_psc_exp", "iaf_psc_delta", "iaf_psc_exp"]
    together = _driven(models)
    assert all(len(spikes) for _, spikes, _ in together)
    for i, model in enumerate(models):
        alone = _driven([model] * (i + 1))[i]  # the same position: the same parameters
        for got, want in zip(together[i], alone):
            np.testing.assert_array_equal(got, want)


def test_recorded_spikes_do_not_depend_on_the_record_batch(monkeypatch):
    """The spike recorders get a rank's spikes every RECORD_BATCH intervals: a run whose
    recorders get them every interval, or every 7, records the same spikes (a subset of
    neurons recorded; batches cut across runs and a result read in between)."""
    from bigbrain import simulation
    from bigbrain.models import brunel

    def spikes(batch):
        monkeypatch.setattr(simulation, "RECORD_BATCH", batch)
        net = bb.Network(seed=3)
        exc, inh = brunel(net, N=1000)
        net.record(exc[100:400], "spikes")
        net.record(inh, "spikes")
        first = net.run(20.0).spikes("E")
        res = net.run(30.0)
        return first, res.spikes("E"), res.spikes("I")

    every = spikes(1)
    assert len(every[1][0]) > 100 and len(every[2][0]) > 10
    assert set(np.unique(every[1][1])) <= set(range(100, 400))
    for batch in (7, 1024):
        for got, want in zip(spikes(batch), every):
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
