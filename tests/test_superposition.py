"""gamma_sup_generator and ppd_sup_generator: rate and ISI statistics against the theory of
superposed renewal processes, NEST's sending window, independent trains per target,
changes between runs, checkpoints, model files and bad values. Rank invariance is in
test_superposition_mpi.py."""
import math

import numpy as np
import pytest
import zarr
from scipy import stats

import bigbrain as bb
from bigbrain import modelfile
from bigbrain.archive import ArchiveResult
from bigbrain.checkpoint import checkpoint_steps
from bigbrain.description import describe
from bigbrain.rebuild import build_network
from bigbrain.devices import cuda_devices
from test_checkpoint import cut_back

DT = 0.1


def parrot_trains(kind, n_targets, t_ms, seed=5, **params):
    """The spike trains (ms) one generator sends to ``n_targets`` parrots (delay dt)."""
    net = bb.Network(dt=DT, seed=seed)
    gen = getattr(net, kind)("g", **params)
    parrots = net.population("p", n_targets, "parrot_neuron")
    net.connect(gen, parrots, weight=1.0, delay=DT)
    net.record(parrots)
    t, i = net.run(t_ms).spikes("p")
    return [np.sort(t[i == k]) for k in range(n_targets)]


def isi_of(trains):
    return np.concatenate([np.diff(train) for train in trains])


def superposed_isi_theory(survivor, rate, n_proc, t_max):
    """(mean, CV) of the intervals of ``n_proc`` superposed stationary renewal processes
    of ``rate`` Hz whose interval survivor is ``survivor(t ms)``: an interval of the
    superposition survives t when the process that fired survives its own interval and
    the others their forward recurrence times, S(t) = F̄(t) · F̄_e(t)^(n − 1) with
    F̄_e(t) = rate ∫_t^∞ F̄ (Cox & Smith)."""
    h = 1e-3
    t = np.arange(0.0, t_max, h)
    single = survivor(t)
    forward = rate / 1000.0 * np.cumsum(single[::-1])[::-1] * h
    s = single * forward ** (n_proc - 1)
    mean = s.sum() * h
    second = 2.0 * (t * s).sum() * h
    return mean, math.sqrt(second - mean * mean) / mean


def cv_error(isi):
    """A generous 4-sigma bound on the sampling error of an interval CV."""
    return 4.0 * (isi.std() / isi.mean()) / math.sqrt(2.0 * isi.size) * 2.0


# ------------------------------------------------------------------ gamma_sup_generator
@pytest.mark.parametrize("n_proc", [1, 3])
def test_gamma_superposition_rate_and_cv_match_theory(n_proc):
    rate, shape = 20.0, 4
    trains = parrot_trains("gamma_sup_generator", 30, 10000.0, rate=rate, gamma_shape=shape,
                           n_proc=n_proc)
    isi = isi_of(trains)
    mean, cv = superposed_isi_theory(
        lambda t: stats.gamma.sf(t, shape, scale=1000.0 / (shape * rate)), rate, n_proc, 600.0)
    assert mean == pytest.approx(1000.0 / (n_proc * rate), rel=1e-3)   # the theory's own check
    measured = sum(map(len, trains)) / (30 * 10.0)
    assert abs(measured - n_proc * rate) < 4 * math.sqrt(n_proc * rate / 300.0)
    assert abs(isi.std() / isi.mean() - cv) < cv_error(isi), (isi.std() / isi.mean(), cv)
    if n_proc == 1:   # the shape of one gamma process, not only its CV
        assert stats.kstest(isi, stats.gamma(shape, scale=1000.0 / (shape * rate)).cdf).pvalue > 1e-3


def test_each_target_gets_its_own_train():
    a, b = parrot_trains("gamma_sup_generator", 2, 2000.0, rate=50.0, gamma_shape=2, n_proc=2)
    assert len(a) > 100 and len(b) > 100
    shared = len(np.intersect1d(a, b))
    assert shared < 0.1 * len(a), "the targets share spikes: one train sent to both"


# ------------------------------------------------------------------ ppd_sup_generator
def test_ppd_single_process_respects_its_dead_time():
    rate, dead = 150.0, 5.0
    trains = parrot_trains("ppd_sup_generator", 20, 5000.0, rate=rate, dead_time=dead)
    isi = isi_of(trains)
    assert isi.min() >= dead + DT - 1e-9      # NEST: floor(dead/dt) steps dead, then ready
    assert abs(isi.mean() - 1000.0 / rate) < 4 * isi.std() / math.sqrt(isi.size)
    assert abs(isi.std() / isi.mean() - (1.0 - dead * rate / 1000.0)) < 0.02


def test_ppd_superposition_rate_and_cv_match_theory():
    rate, dead, n_proc = 50.0, 10.0, 4
    trains = parrot_trains("ppd_sup_generator", 20, 10000.0, rate=rate, dead_time=dead,
                           n_proc=n_proc)
    isi = isi_of(trains)
    free = 1000.0 / rate - dead
    mean, cv = superposed_isi_theory(
        lambda t: np.where(t < dead, 1.0, np.exp(-(t - dead) / free)), rate, n_proc, 400.0)
    assert isi.min() < dead                        # the superposition has short intervals
    assert abs(isi.mean() - mean) < 4 * isi.std() / math.sqrt(isi.size)
    assert abs(isi.std() / isi.mean() - cv) < cv_error(isi), (isi.std() / isi.mean(), cv)


def test_ppd_modulation_follows_the_sine():
    """rate · (1 + a·sin(2π f t)): spikes of the positive half-periods outnumber those of
    the negative ones by (1 + 2a/π) / (1 − 2a/π)."""
    a, f = 0.8, 10.0
    trains = parrot_trains("ppd_sup_generator", 20, 5000.0, rate=40.0, frequency=f,
                           relative_amplitude=a)
    t = np.concatenate(trains) - 2 * DT          # the device step's start time
    positive = np.sin(2 * np.pi * f * t / 1000.0) > 0
    ratio = positive.sum() / (~positive).sum()
    assert ratio == pytest.approx((1 + 2 * a / np.pi) / (1 - 2 * a / np.pi), rel=0.1)


# ------------------------------------------------------------------ window, changes, checkpoints
@pytest.mark.parametrize("kind", ["gamma_sup_generator", "ppd_sup_generator"])
def test_sending_window_is_nests(kind):
    """A process that fires every step (probability 1) shows NEST's window: the device
    sends in steps n with start < n·dt <= stop; parrots stamp (n + delay + 1)·dt (the same
    times as NEST 3.10 gives: 1.3 … 2.2 ms for start 1, stop 2, delay 0.1)."""
    (train,) = parrot_trains(kind, 1, 3.0, rate=10000.0, start=1.0, stop=2.0)
    np.testing.assert_allclose(train, np.arange(13, 23) * DT)


def test_rate_change_between_runs_acts_from_then_on():
    net = bb.Network(dt=DT, seed=2)
    gen = net.gamma_sup_generator("g", rate=100.0, gamma_shape=2, n_proc=2)
    parrots = net.population("p", 20, "parrot_neuron")
    net.connect(gen, parrots, delay=DT)
    net.record(parrots)
    net.run(1000.0)
    gen.set_params(net, rate=10.0)
    t, _ = net.run(1000.0).spikes("p")
    before, after = (t <= 1000.0 + 2 * DT).sum(), (t > 1000.0 + 2 * DT).sum()
    for count, expected in ((before, 20 * 200.0), (after, 20 * 20.0)):
        assert abs(count - expected) < 5 * math.sqrt(expected) + 0.15 * expected
    with pytest.raises(bb.ModelError, match=r"^gamma_sup_generator 'g'\.gamma_shape: is fixed"):
        gen.set_params(net, gamma_shape=3)


def superposed_network(archive=None):
    net = bb.Network(dt=DT, seed=3, archive=archive)
    gamma = net.gamma_sup_generator("gamma", rate=80.0, gamma_shape=3, n_proc=2)
    ppd = net.ppd_sup_generator("ppd", rate=60.0, dead_time=2.5, n_proc=3)
    parrots = net.population("P", 6, "parrot_neuron")
    neurons = net.population("E", 3, "iaf_psc_exp", I_e=200.0)
    net.connect(gamma, parrots, delay=bb.uniform(0.1, 1.5))
    net.connect(ppd, neurons, weight=300.0, delay=0.7)
    net.record(parrots)
    net.record(neurons)
    return net, gamma


def test_resume_equals_the_uninterrupted_run(tmp_path):
    full = tmp_path / "full.zarr"
    net, gamma = superposed_network(bb.Archive(full, checkpoint_every=10.0))
    net.run(20.0)
    gamma.set_params(net, rate=300.0)
    net.run(30.0)
    assert checkpoint_steps(zarr.open_group(str(full), mode="r"))[-1] == 500
    cut = cut_back(full, tmp_path / "cut.zarr", 300)
    resumed = bb.resume(cut)
    assert resumed.time == pytest.approx(30.0)
    resumed.run(20.0)
    a, b = ArchiveResult(full), ArchiveResult(cut)
    for pop in ("P", "E"):
        np.testing.assert_array_equal(a.spikes(pop)[0], b.spikes(pop)[0])
        np.testing.assert_array_equal(a.spikes(pop)[1], b.spikes(pop)[1])
    assert len(a.spikes("P")[0]) > 50 and len(a.spikes("E")[0]) > 0


def test_description_and_model_file_round_trip(tmp_path):
    net, _ = superposed_network()
    desc = describe(net)
    assert [d["kind"] for d in desc["inputs"]] == ["gamma_sup_generator", "ppd_sup_generator"]
    assert describe(build_network(desc)) == desc
    modelfile.write(net, tmp_path / "m.toml", t=5.0)
    assert describe(modelfile.read(tmp_path / "m.toml").network()) == desc


@pytest.mark.parametrize("kind, params, message", [
    ("gamma_sup_generator", {"gamma_shape": 0}, "gamma_sup_generator 'g'.gamma_shape: must be an integer >= 1"),
    ("gamma_sup_generator", {"n_proc": 2.5}, "gamma_sup_generator 'g'.n_proc: must be an integer >= 1"),
    ("gamma_sup_generator", {"rate": -1.0}, "gamma_sup_generator 'g'.rate: must be >= 0 Hz"),
    ("gamma_sup_generator", {"rate": 6000.0, "gamma_shape": 2},
     "gamma_sup_generator 'g'.rate: gives a probability 1.2 > 1 per step"),
    ("gamma_sup_generator", {"rte": 1.0}, "gamma_sup_generator 'g'.rte: unknown parameter"),
    ("ppd_sup_generator", {"rate": 250.0, "dead_time": 4.0},
     "ppd_sup_generator 'g'.rate: the inverse rate (1000 / 250.0 ms) must be larger than dead_time"),
    ("ppd_sup_generator", {"dead_time": -1.0}, "ppd_sup_generator 'g'.dead_time: must be >= 0 ms"),
    ("ppd_sup_generator", {"relative_amplitude": 2.0},
     "ppd_sup_generator 'g'.relative_amplitude: must be in [0, 1]"),
    ("ppd_sup_generator", {"rate": 100.0, "n_proc": 10**7},
     "ppd_sup_generator 'g'.n_proc: 10000000 processes"),
    ("ppd_sup_generator", {"start": 0.05}, "ppd_sup_generator 'g'.start: times must lie on the dt"),
])
def test_bad_values_name_the_field(kind, params, message):
    net = bb.Network(dt=DT)
    with pytest.raises(bb.ModelError) as err:
        getattr(net, kind)("g", **params)
    assert str(err.value).startswith(message), str(err.value)


@pytest.mark.gpu
@pytest.mark.skipif(cuda_devices()[0] == 0, reason="needs a CUDA device")
@pytest.mark.parametrize("kind", ["gamma_sup_generator", "ppd_sup_generator"])
def test_the_gpu_backend_refuses_them_naming_the_model(kind):
    net = bb.Network(dt=DT, backend="cupy")
    getattr(net, kind)("g", rate=10.0)
    net.connect("g", net.population("p", 2, "parrot_neuron"))
    with pytest.raises(bb.ModelError, match=rf"^{kind} 'g': the .* backend has no {kind} yet"):
        net.run(1.0)


@pytest.mark.nest
@pytest.mark.parametrize("kind, params", [
    ("gamma_sup_generator", {"rate": 20.0, "gamma_shape": 4, "n_proc": 3}),
    ("ppd_sup_generator", {"rate": 150.0, "dead_time": 5.0})])
def test_interval_statistics_equal_nests(kind, params):
    """NEST 3.10's generator into 20 parrots for 10 s: the same shortest interval, and mean
    and CV of the intervals within their sampling errors."""
    nest = pytest.importorskip("nest_reference")._import_nest()
    nest.ResetKernel()
    nest.resolution, nest.rng_seed = DT, 5
    gen = nest.Create(kind, params=params)
    parrots = nest.Create("parrot_neuron", 20)
    nest.Connect(gen, parrots, syn_spec={"delay": DT})
    recorder = nest.Create("spike_recorder")
    nest.Connect(parrots, recorder)
    nest.Simulate(10000.0)
    ev = recorder.get("events")
    theirs = isi_of([np.sort(ev["times"][ev["senders"] == s]) for s in parrots.tolist()])
    mine = isi_of(parrot_trains(kind, 20, 10000.0, **params))
    assert mine.min() == pytest.approx(theirs.min(), abs=1e-6)
    assert abs(mine.mean() - theirs.mean()) < 4 * mine.std() * math.sqrt(2.0 / mine.size)
    cvs = [isi.std() / isi.mean() for isi in (mine, theirs)]
    assert abs(cvs[0] - cvs[1]) < cv_error(mine), cvs
