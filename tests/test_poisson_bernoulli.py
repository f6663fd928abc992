"""Generators with at most one spike per step (``net.poisson(..., per_step="bernoulli")``,
Brian2's PoissonGroup): never two spikes of a train in one step, the mean rate within
binomial bounds, rate changes between runs, resume from a checkpoint, the model file, and
errors naming the field. Rank invariance: test_stimulation_mpi.py."""
import math

import numpy as np
import pytest

import bigbrain as bb
from bigbrain import modelfile
from test_checkpoint import cut_back

DT = 0.1


def trains(rate, per_step, n=100, t_ms=200.0, seed=5, archive=None, changes=()):
    """(spike steps, ids) of ``n`` parrots fed one-to-one by ``n`` generators."""
    net = bb.Network(dt=DT, seed=seed, archive=archive)
    parrots = net.population("P", n, "parrot_neuron")
    gen = net.poisson("p", rate, n, per_step=per_step)
    net.connect(gen, parrots, rule="one_to_one", delay=0.2)
    net.record(parrots, "spikes")
    for t, change in changes:
        net.run(t)
        net.set(gen, rate=change)
    times, ids = net.run(t_ms).spikes("P")
    return np.rint(np.asarray(times) / DT).astype(np.int64), np.asarray(ids), net


def most_per_step(steps, ids):
    """The largest number of spikes of one parrot in one step."""
    _, counts = np.unique(np.stack([steps, ids]), axis=1, return_counts=True)
    return counts.max()


@pytest.mark.parametrize("rate", [2000.0, 8000.0])
def test_at_most_one_spike_per_step_at_the_mean_rate(rate):
    steps, ids, _ = trains(rate, "bernoulli")
    assert most_per_step(steps, ids) == 1
    p, trials = rate * DT * 1e-3, 100 * 2000          # 100 trains of 2,000 steps, less the delay
    expected, sd = trials * p, math.sqrt(trials * p * (1 - p))
    assert abs(len(steps) - expected) < 5 * sd + p * 100 * 2   # the first 2 steps carry nothing yet


def test_poisson_counts_do_stack_where_bernoulli_ones_do_not():
    steps, ids, _ = trains(8000.0, "poisson")      # Poisson(0.8): P(≥ 2) = 0.19 per step
    assert most_per_step(steps, ids) >= 3


def test_a_bernoulli_train_is_less_variable_per_step_than_a_poisson_one():
    """Counts in windows of 10 steps: variance 10 p (1 − p) against Poisson's 10 p."""
    for per_step, factor in (("bernoulli", 0.5), ("poisson", 1.0)):
        steps, ids, _ = trains(5000.0, per_step, t_ms=500.0)
        windows = np.bincount(ids * 500 + (steps - 3) // 10, minlength=100 * 500)
        windows = windows.reshape(100, 500)[:, 1:-1]     # 500 windows a train, ends left out
        assert windows.var() == pytest.approx(10 * 0.5 * factor, rel=0.1)


def test_rates_change_between_runs():
    rates = np.tile([0.0, 3000.0], 50)
    steps, ids, net = trains(rates, "bernoulli", changes=[(100.0, rates[::-1].copy())], t_ms=100.0)
    early, late = steps < 1000, steps > 1010
    assert np.isin(ids[early], np.flatnonzero(rates > 0)).all()
    assert np.isin(ids[late], np.flatnonzero(rates[::-1] > 0)).all()
    assert late.sum() > 0.8 * 50 * 1000 * 0.3
    assert most_per_step(steps, ids) == 1


def test_resume_equals_the_uninterrupted_run(tmp_path):
    full = tmp_path / "full.zarr"
    rates = np.linspace(0.0, 9000.0, 40)
    steps, ids, _ = trains(rates, "bernoulli", n=40, t_ms=20.0, changes=[(10.0, rates[::-1].copy())],
                           archive=bb.Archive(full, checkpoint_every=5.0))
    cut = cut_back(full, tmp_path / "cut.zarr", 200)   # resume from 20 ms, after the change
    resumed = bb.resume(cut)
    assert resumed.populations["p"].per_step == "bernoulli"
    r_times, r_ids = resumed.run(10.0).spikes("P")
    np.testing.assert_array_equal(np.rint(np.asarray(r_times) / DT).astype(np.int64), steps)
    np.testing.assert_array_equal(r_ids, ids)


def test_the_model_file_gives_the_same_trains(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text('[network]\ndt = 0.1\nseed = 5\n'
                    '[[populations]]\nname = "P"\nsize = 100\nmodel = "parrot_neuron"\n'
                    '[[inputs]]\nname = "p"\nrate = 4000.0\nsize = 100\nper_step = "bernoulli"\n'
                    '[[projections]]\npre = "p"\npost = "P"\nrule = "one_to_one"\ndelay = 0.2\n'
                    '[[recordings]]\npopulation = "P"\n')
    net = modelfile.read(path).network()
    times, ids = net.run(200.0).spikes("P")
    steps, direct_ids, _ = trains(4000.0, "bernoulli")
    np.testing.assert_array_equal(np.rint(np.asarray(times) / DT).astype(np.int64), steps)
    np.testing.assert_array_equal(ids, direct_ids)


@pytest.mark.parametrize("rate, message", [
    (10001.0, r"p\.rate: rate·dt above 1: at most one spike per step of 0\.1 ms"),
    (np.array([0.0, 2e4, 0.0, 0.0]), r"p\.rate\[1\]: rate·dt above 1")])
def test_rates_above_one_spike_per_step_name_the_field(rate, message):
    net = bb.Network(dt=DT)
    with pytest.raises(bb.ModelError, match="^" + message):
        net.poisson("p", rate, 4, per_step="bernoulli")
    gen = net.poisson("p", 5.0, 4, per_step="bernoulli")
    net.connect(gen, net.population("P", 4, "parrot_neuron"), rule="one_to_one")
    net.run(1.0)
    with pytest.raises(bb.ModelError, match="^" + message):
        net.set(gen, rate=rate)
    assert net.get(gen, "rate") == 5.0


def test_an_unknown_per_step_names_the_field():
    with pytest.raises(bb.ModelError, match=r"^poisson 'p'\.per_step: must be 'poisson' or "
                                            r"'bernoulli', got 'binomial'"):
        bb.Network(dt=DT).poisson("p", 5.0, per_step="binomial")
