"""bernoulli_synapse (bb.Bernoulli): the fraction of spikes transmitted against
p_transmit, independent draws per synapse and per copy of a spike, description and model
file round trips, resume, bad values. Rank invariance is in
test_bernoulli_mpi.py."""
import math

import numpy as np
import pytest

import bigbrain as bb
from bigbrain import modelfile
from bigbrain.description import describe
from bigbrain.rebuild import build_network
from bigbrain.devices import cuda_devices
from test_checkpoint import cut_back

DT = 0.1
N_SPIKES = 2000


def transmitted(p, n_targets=4, sources=1, seed=3):
    """Spikes that ``n_targets`` parrots receive through Bernoulli synapses from
    ``sources`` spike sources each spiking every ms (N_SPIKES times): (times, ids)."""
    net = bb.Network(dt=DT, seed=seed)
    src = net.spike_source("s", [np.arange(1, N_SPIKES + 1) * 1.0] * sources)
    parrots = net.population("p", n_targets, "parrot_neuron")
    net.connect(src, parrots, delay=0.5, synapse=bb.Bernoulli(p_transmit=p))
    net.record(parrots)
    return net.run(N_SPIKES + 2.0).spikes("p")


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_fraction_transmitted_matches_p_transmit(p):
    _, ids = transmitted(p)
    counts = np.bincount(ids, minlength=4)
    sigma = math.sqrt(N_SPIKES * p * (1 - p))
    assert np.all(np.abs(counts - N_SPIKES * p) <= 4 * sigma + 1e-9), counts


def test_synapses_draw_independently():
    t, i = transmitted(0.5, n_targets=2)
    a, b = t[i == 0], t[i == 1]
    both = len(np.intersect1d(a, b))
    assert abs(both - N_SPIKES / 4) < 4 * math.sqrt(N_SPIKES * 3 / 16), both


def test_each_copy_of_a_spike_is_drawn_for():
    """Two sources into one parrot: it repeats two spikes per ms; each copy passes with
    p on its own, so a step carries 0, 1 or 2 spikes (Binomial(2, p))."""
    net = bb.Network(dt=DT, seed=4)
    src = net.spike_source("s", [np.arange(1, N_SPIKES + 1) * 1.0] * 2)
    relay = net.population("r", 1, "parrot_neuron")
    out = net.population("o", 1, "parrot_neuron")
    net.connect(src, relay, delay=0.5)
    net.connect(relay, out, delay=0.5, synapse=bb.Bernoulli(p_transmit=0.5))
    net.record(out)
    t, _ = net.run(N_SPIKES + 2.0).spikes("o")
    per_step = np.bincount(np.unique(np.rint(t / DT).astype(int), return_counts=True)[1], minlength=3)
    ones, twos = per_step[1], per_step[2]
    assert abs(ones - N_SPIKES / 2) < 4 * math.sqrt(N_SPIKES / 4), per_step
    assert abs(twos - N_SPIKES / 4) < 4 * math.sqrt(N_SPIKES * 3 / 16), per_step


def test_description_model_file_round_trip_and_weights(tmp_path):
    net = bb.Network(dt=DT)
    src = net.spike_source("s", [[1.0, 2.0]])
    pop = net.population("n", 3, "iaf_psc_exp")
    conn = net.connect(src, pop, weight=bb.uniform(10.0, 20.0), delay=1.0,
                       synapse=bb.Bernoulli(p_transmit=0.25))
    desc = describe(net)
    assert desc["projections"][0]["synapse"] == {"model": "bernoulli_synapse", "p_transmit": 0.25}
    assert describe(build_network(desc)) == desc
    modelfile.write(net, tmp_path / "m.toml", t=5.0)
    assert describe(modelfile.read(tmp_path / "m.toml").network()) == desc
    net.run(1.0)
    weights = net.get(conn, "weight")
    assert weights.shape == (3,) and np.all((weights >= 10.0) & (weights <= 20.0))
    net.set(conn, weight=[1.0, 2.0, 3.0])
    np.testing.assert_array_equal(net.get(conn, "weight"), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("p, message", [
    (1.5, "bernoulli_synapse.p_transmit: must be in [0, 1], got 1.5"),
    (-0.1, "bernoulli_synapse.p_transmit: must be >= 0"),
    ("a", "bernoulli_synapse.p_transmit: must be a number")])
def test_bad_p_transmit_names_the_field(p, message):
    with pytest.raises(bb.ModelError) as err:
        bb.Bernoulli(p_transmit=p)
    assert str(err.value).startswith(message)


def test_a_generator_source_is_refused():
    net = bb.Network(dt=DT)
    pop = net.population("n", 2, "iaf_psc_exp")
    with pytest.raises(bb.ModelError, match=r"connect\[0\] .*\.synapse: poisson_generator cannot "
                                            r"have bernoulli_synapse synapses"):
        net.connect(net.poisson("p", 10.0), pop, synapse=bb.Bernoulli(0.5))


def test_resume_equals_the_uninterrupted_run(tmp_path):
    
    from bigbrain.archive import ArchiveResult

    def network(archive):
        net = bb.Network(dt=DT, seed=7, archive=archive)
        src = net.spike_source("s", [np.arange(1, 50) * 1.0] * 3)
        pop = net.population("n", 4, "iaf_psc_delta", I_e=300.0)
        net.connect(src, pop, weight=5.0, delay=2.0, synapse=bb.Bernoulli(0.5))
        net.connect(pop, pop, weight=2.0, delay=1.5, synapse=bb.Bernoulli(0.5))
        net.record(pop)
        return net

    full = tmp_path / "full.zarr"
    network(bb.Archive(full, checkpoint_every=10.0)).run(50.0)
    cut = cut_back(full, tmp_path / "cut.zarr", 200)
    resumed = bb.resume(cut)
    assert resumed.time == pytest.approx(20.0)
    resumed.run(30.0)
    a, b = ArchiveResult(full).spikes("n"), ArchiveResult(cut).spikes("n")
    assert len(a[0]) > 20
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_p_transmit_per_synapse_with_an_explicit_rule():
    net = bb.Network(dt=DT, seed=5)
    src = net.spike_source("s", [np.arange(1, N_SPIKES + 1) * 1.0])
    parrots = net.population("p", 3, "parrot_neuron")
    net.connect(src, parrots, rule="explicit", sources=[0, 0, 0], targets=[2, 0, 1], delay=0.5,
                synapse=bb.Bernoulli(p_transmit=[1.0, 0.0, 0.2]))
    net.record(parrots)
    counts = np.bincount(net.run(N_SPIKES + 2.0).spikes("p")[1], minlength=3)
    assert counts[0] == 0 and counts[2] == N_SPIKES
    assert abs(counts[1] - 0.2 * N_SPIKES) < 4 * math.sqrt(N_SPIKES * 0.16)
    with pytest.raises(bb.ModelError, match=r"\.synapse\.p_transmit: arrays of values need "
                                            r"rule='explicit'"):
        net2 = bb.Network(dt=DT)
        net2.connect(net2.spike_source("s", [[1.0]]), net2.population("p", 2, "parrot_neuron"),
                     synapse=bb.Bernoulli([0.5, 0.5]))
    with pytest.raises(bb.ModelError, match=r"^bernoulli_synapse\.p_transmit\[1\]: must be in \[0, 1\]"):
        bb.Bernoulli([0.5, 1.5])


@pytest.mark.gpu
@pytest.mark.skipif(cuda_devices()[0] == 0, reason="needs a CUDA device")
def test_the_gpu_backend_refuses_it_naming_the_model():
    net = bb.Network(dt=DT, backend="cupy")
    src = net.spike_source("s", [[1.0]])
    net.connect(src, net.population("p", 2, "parrot_neuron"), synapse=bb.Bernoulli(0.5))
    with pytest.raises(bb.ModelError, match=r"\.synapse: the .* backend has no kernel for bernoulli_synapse yet"):
        net.run(1.0)
