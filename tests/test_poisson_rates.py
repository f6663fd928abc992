"""Poisson generator groups with one rate per generator (``net.poisson(name, rates, size)``,
``net.set(gen, rate=array)``): the same trains as one rate where the rates agree, counts
per generator, changes between runs, checkpoints, and errors for bad arrays. Rank
invariance is in test_stimulation_mpi.py."""
import math

import numpy as np
import pytest

import bigbrain as bb
from test_checkpoint import cut_back

DT = 0.1


def parrot_spikes(rate, n=40, changes=(), t_ms=30.0, seed=3, archive=None):
    """(spike times, ids) of ``n`` parrots fed one-to-one by a group of ``n`` generators of
    ``rate``; ``changes``: [(run ms, rate)] before the final run of ``t_ms`` ms."""
    net = bb.Network(dt=DT, seed=seed, archive=archive)
    parrots = net.population("P", n, "parrot_neuron")
    gen = net.poisson("p", rate, n)
    net.connect(gen, parrots, rule="one_to_one", delay=0.3)
    net.record(parrots, "spikes")
    for t, change in changes:
        net.run(t)
        net.set(gen, rate=change)
    return net.run(t_ms).spikes("P"), net, gen


def test_equal_rates_give_the_trains_of_one_rate():
    scalar, _, _ = parrot_spikes(800.0, changes=[(10.0, 300.0)])
    array, _, gen = parrot_spikes(np.full(40, 800.0), changes=[(10.0, np.full(40, 300.0))])
    mixed, _, _ = parrot_spikes(800.0, changes=[(10.0, np.full(40, 300.0))])
    assert len(scalar[0]) > 300
    for got in (array, mixed):
        np.testing.assert_array_equal(got[0], scalar[0])
        np.testing.assert_array_equal(got[1], scalar[1])
    np.testing.assert_array_equal(bb.Network.get(None, gen, "rate"), np.full(40, 300.0))


def test_each_generator_fires_at_its_rate():
    rates = np.tile([0.0, 100.0, 400.0, 0.0], 50)
    (times, ids), net, gen = parrot_spikes(rates, n=200, t_ms=100.0)
    counts = np.bincount(ids, minlength=200)
    assert counts[rates == 0].sum() == 0
    for rate in (100.0, 400.0):
        expected = (rates == rate).sum() * rate * 0.1
        assert abs(counts[rates == rate].sum() - expected) < 4 * math.sqrt(expected)
    net.set(gen, rate=rates[::-1].copy())             # the silent ones fire now
    times, ids = net.run(100.0).spikes("P")
    counts = np.bincount(ids[times > 100.0 + 0.4], minlength=200)   # generated after the change
    assert counts[rates[::-1] == 0].sum() == 0
    assert counts[rates[::-1] == 400.0].sum() > 0.5 * 50 * 400 * 0.1


def test_resume_after_a_change_of_rates_equals_the_uninterrupted_run(tmp_path):
    full = tmp_path / "full.zarr"
    rates = np.linspace(0.0, 900.0, 40)
    (times, ids), _, _ = parrot_spikes(rates, changes=[(10.0, rates[::-1].copy())], t_ms=20.0,
                                       archive=bb.Archive(full, checkpoint_every=5.0))
    cut = cut_back(full, tmp_path / "cut.zarr", 200)   # resume from 20 ms, after the change
    resumed = bb.resume(cut)
    assert resumed.time == pytest.approx(20.0)
    np.testing.assert_array_equal(resumed.get(resumed.populations["p"], "rate"), rates[::-1])
    r_times, r_ids = resumed.run(10.0).spikes("P")
    np.testing.assert_array_equal(r_times, times)
    np.testing.assert_array_equal(r_ids, ids)


@pytest.mark.parametrize("rate, message", [
    (np.ones(3), "p.rate: has 3 rates for 4 generators"),
    (np.array([1.0, 2.0, -1.0, 0.0]), "p.rate[2]: must be >= 0 Hz, got -1.0"),
    (np.array([1.0, np.nan, 0.0, 0.0]), "p.rate[1]: must be finite"),
    (np.array([0.0, 0.0, 0.0, 1e10]), "p.rate[3]: rate·dt above 700"),
    (["a", 1, 2, 3], "p.rate: must be a number or one number per generator")])
def test_bad_rate_arrays_name_the_field(rate, message):
    net = bb.Network(dt=DT)
    with pytest.raises(bb.ModelError, match="^" + message.replace("[", r"\[").replace("]", r"\]")
                       .replace(".", r"\.")):
        net.poisson("p", rate, 4)
    gen = net.poisson("p", 5.0, 4)
    net.connect(gen, net.population("P", 4, "parrot_neuron"), rule="one_to_one")
    net.run(1.0)
    with pytest.raises(bb.ModelError, match="^p.rate"):
        net.set(gen, rate=rate)
    assert net.get(gen, "rate") == 5.0
