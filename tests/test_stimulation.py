"""Stimulation devices without NEST: noise statistics, inhomogeneous Poisson counts,
parameter changes between runs (also across a checkpoint), model description and model
file round trips, and the errors for bad values. The NEST comparisons of the
deterministic current generators are in test_stimulation_nest.py, rank invariance in
test_stimulation_mpi.py."""
import math

import numpy as np
import pytest
import zarr

import bigbrain as bb
from bigbrain.devices import cuda_devices
from bigbrain.archive import ArchiveResult
from bigbrain.checkpoint import checkpoint_steps
from bigbrain.description import describe
from bigbrain.rebuild import build_network
from bigbrain import modelfile
from test_checkpoint import cut_back

DT = 0.1


# ------------------------------------------------------------------ noise_generator
def recovered_currents(n, mean, std, noise_dt, weight, delay, t_ms, start=0.0, **modulation):
    """Currents (pA) felt by ``n`` iaf_psc_delta neurons (E_L = 0, no threshold in reach)
    driven by one noise_generator, recovered from V_m with the exact propagators:
    I = (V[t+1] − P33·V[t]) / P30; column j is neuron j, row t the current of step t."""
    net = bb.Network(dt=DT, seed=11)
    pop = net.population("N", n, "iaf_psc_delta", E_L=0.0, V_m=0.0, V_reset=0.0, V_th=1e12)
    noise = net.noise_generator("noise", mean=mean, std=std, dt=noise_dt, start=start, **modulation)
    net.connect(noise, pop, weight=weight, delay=delay)
    net.record(pop, "V_m")
    _, _, v = net.run(t_ms).V_m("N")
    tau, c = 10.0, 250.0
    p33 = math.exp(-DT / tau)
    p30 = tau / c * (1.0 - p33)
    return (v[1:] - p33 * v[:-1]) / p30 / weight


def test_noise_generator_moments_and_per_interval_constancy():
    k, delay = 5, 1.0                                 # values held for 5 steps (0.5 ms)
    cur = recovered_currents(40, mean=30.0, std=200.0, noise_dt=k * DT, weight=0.5,
                             delay=delay, t_ms=400.0)
    # row t: the current read in step t (acting in step t + 1), sent in device step t − D
    # (D = 10 delay steps); values change in device steps 0, k, 2k, …
    cur = cur[int(round(delay / DT)):]
    cur = cur[:(len(cur) // k) * k].reshape(-1, k, cur.shape[1])    # (interval, step, neuron)
    np.testing.assert_allclose(cur, cur[:, :1, :].repeat(k, axis=1), rtol=0, atol=1e-6)
    values = cur[:, 0, :]                                            # (interval, neuron)
    n = values.size
    assert abs(values.mean() - 30.0) < 4 * 200.0 / math.sqrt(n)
    assert abs(values.std() / 200.0 - 1.0) < 4 / math.sqrt(2 * n)
    bound = 4 / math.sqrt(values.shape[0])
    corr = np.corrcoef(values.T)[np.triu_indices(values.shape[1], 1)]
    assert np.abs(corr).max() < 1.5 * bound and abs(corr.mean()) < bound / 4
    successive = [np.corrcoef(values[1:, j], values[:-1, j])[0, 1] for j in range(values.shape[1])]
    assert abs(np.mean(successive)) < bound / 4


def test_noise_generator_starts_in_nests_first_active_step():
    cur = recovered_currents(3, mean=100.0, std=0.0, noise_dt=1.0, weight=1.0, delay=0.1,
                             t_ms=10.0, start=2.0)
    # active from device step start/dt − 1 = 19 on, read 1 delay step later
    felt = np.flatnonzero(np.abs(cur[:, 0]) > 1e-6)
    assert felt[0] == 19 + 1 and np.allclose(cur[felt[0]:], 100.0)


def test_noise_generator_variance_follows_nests_sinusoidal_modulation():
    """std_mod = std: the variance std²·(1 + sin(2π·f·t + φ)) swings between 0 and 2·std²
    (NEST's formula, t the end of the device step the value is drawn in)."""
    n, std, f, phase = 600, 50.0, 100.0, 90.0      # troughs at t = 5 ms, 15 ms (on the grid)
    cur = recovered_currents(n, mean=5.0, std=std, noise_dt=DT, weight=1.0, delay=DT, t_ms=20.0,
                             std_mod=std, frequency=f, phase=phase)
    t = np.arange(1, cur.shape[0]) * DT          # row t: drawn in device step t − 1, ending at t·dt
    expected = std ** 2 * (1.0 + np.sin(2 * np.pi * f * t / 1000.0 + np.radians(phase)))
    observed = cur[1:].var(axis=1)
    bound = 5 * np.sqrt(2.0 / (n - 1)) * expected + 1e-6   # 5 sd of a sample variance
    assert np.all(np.abs(observed - expected) <= bound)
    assert np.corrcoef(observed, expected)[0, 1] > 0.99
    troughs = expected < 1e-9 * std ** 2
    assert troughs.sum() == 2 and np.allclose(cur[1:][troughs], 5.0, atol=1e-4)


# ------------------------------------------------------------------ Poisson generators
def parrot_counts(make_generator, edges_ms, n=200, delay=1.0, changes=(), t_ms=None):
    """Spikes of ``n`` parrot neurons fed by the generator, counted in the windows
    between ``edges_ms`` (shifted by the delay: a spike generated in step s arrives at
    s + 1 + delay/dt). ``changes``: [(run ms, set_params kwargs)] before the final run."""
    net = bb.Network(dt=DT, seed=5)
    parrots = net.population("P", n, "parrot_neuron")
    gen = make_generator(net)
    net.connect(gen, parrots, delay=delay)
    net.record(parrots, "spikes")
    for t, change in changes:
        net.run(t)
        gen.set_params(net, **change)
    times, _ = net.run((t_ms or edges_ms[-1]) - net.time).spikes("P")
    generated = np.rint(times / DT).astype(int) - 1 - int(round(delay / DT))
    return np.histogram(generated, np.rint(np.asarray(edges_ms) / DT).astype(int))[0], net, gen


def test_inhomogeneous_poisson_rates_per_segment():
    rates = [50.0, 0.0, 200.0]
    counts, _, _ = parrot_counts(lambda net: net.inhomogeneous_poisson_generator(
        "ip", rate_times=[DT, 100.0, 200.0], rate_values=rates), [0.0, 99.9, 199.9, 300.0])
    for count, rate in zip(counts, rates):
        expected = 200 * rate * 0.1            # 200 trains, 100 ms each
        assert abs(count - expected) <= 4 * math.sqrt(expected) + (0 if rate == 0 else 1)


def test_inhomogeneous_poisson_of_one_rate_is_bigbrains_poisson():
    """Same streams: with one rate from the first step on, the trains equal poisson's."""
    one, _, _ = parrot_counts(lambda net: net.inhomogeneous_poisson_generator(
        "ip", rate_times=[DT], rate_values=[300.0]), np.arange(0.0, 50.1, 0.1))
    two, _, _ = parrot_counts(lambda net: net.poisson("p", 300.0), np.arange(0.0, 50.1, 0.1))
    assert one.sum() > 1000
    np.testing.assert_array_equal(one, two)


def test_poisson_rate_changes_between_runs():
    counts, net, gen = parrot_counts(lambda net: net.poisson("p", 100.0), [0.0, 50.0, 100.0, 150.0],
                                     changes=[(50.0, {"rate": 0.0}), (50.0, {"rate": 400.0})],
                                     t_ms=152.0)
    assert counts[1] == 0                     # generated after the change to 0 Hz: none
    for count, rate in ((counts[0], 100.0), (counts[2], 400.0)):
        expected = 200 * rate * 0.05
        assert abs(count - expected) < 4 * math.sqrt(expected)
    assert gen.get_params() == {"rate": 400.0}


# ------------------------------------------------------------------ changes survive a checkpoint
def stimulated_network(archive=None, backend="numpy"):
    """Every device kind onto neurons / parrots, recorded."""
    net = bb.Network(dt=DT, seed=9, archive=archive, backend=backend)
    exp = net.population("E", 4, "iaf_psc_exp", I_e=300.0)
    parrots = net.population("P", 20, "parrot_neuron")
    devices = {"dc": net.dc_generator("dc", amplitude=50.0),
               "step": net.step_current_generator("step", amplitude_times=[5.0],
                                                  amplitude_values=[100.0]),
               "noise": net.noise_generator("noise", mean=10.0, std=100.0, dt=0.3),
               "ip": net.inhomogeneous_poisson_generator("ip", rate_times=[1.0], rate_values=[500.0]),
               "p": net.poisson("p", 300.0)}
    for name in ("dc", "step", "noise"):
        net.connect(devices[name], exp, weight=1.0, delay=1.2)
    for name in ("ip", "p"):
        net.connect(devices[name], parrots, delay=0.7)
    net.record(exp, "V_m")
    net.record(exp, "spikes")
    net.record(parrots, "spikes")
    return net, devices


CHANGES = {"dc": {"amplitude": 150.0}, "step": {"amplitude_times": [32.0], "amplitude_values": [-50.0]},
           "noise": {"mean": -20.0, "std": 30.0}, "ip": {"rate_times": [25.0], "rate_values": [50.0]},
           "p": {"rate": 20.0}}


def changed_run(net, devices):
    """20 ms, every device changed, 30 ms more."""
    net.run(20.0)
    for name, change in CHANGES.items():
        devices[name].set_params(net, **change)
    net.run(30.0)


def test_resume_after_parameter_changes_equals_the_uninterrupted_run(tmp_path):
    full = tmp_path / "full.zarr"
    net, devices = stimulated_network(bb.Archive(full, checkpoint_every=10.0))
    changed_run(net, devices)
    assert checkpoint_steps(zarr.open_group(str(full), mode="r"))[-1] == 500
    cut = cut_back(full, tmp_path / "cut.zarr", 300)
    resumed = bb.resume(cut)
    assert resumed.time == pytest.approx(30.0)
    for name, change in CHANGES.items():            # the parameters came back with the state
        assert {k: resumed.populations[name].get_params()[k] for k in change} == change
    resumed.run(50.0 - resumed.time)
    a, b = ArchiveResult(full), ArchiveResult(cut)
    for pop in ("E", "P"):
        np.testing.assert_array_equal(a.spikes(pop)[0], b.spikes(pop)[0])
        np.testing.assert_array_equal(a.spikes(pop)[1], b.spikes(pop)[1])
    np.testing.assert_array_equal(a.V_m("E")[2], b.V_m("E")[2])
    assert len(a.spikes("P")[0]) > 100

    plain, _ = stimulated_network()                     # no change: another V_m
    unchanged = plain.run(50.0)
    assert not np.array_equal(unchanged.V_m("E")[2], a.V_m("E")[2]), "the changes did nothing"


@pytest.mark.gpu
@pytest.mark.skipif(cuda_devices()[0] == 0, reason="needs a CUDA device")
def test_devices_on_the_gpu_equal_the_cpu():
    """Current input is computed on the host and copied to the device's ring buffer;
    Poisson input across a rate change runs the device kernel per piece."""
    results = []
    for backend in ("numpy", "cupy"):
        net, devs = stimulated_network(backend=backend)
        changed_run(net, devs)
        results.append(net.run(0.0))
    cpu, gpu = results
    np.testing.assert_array_equal(cpu.V_m("E")[2], gpu.V_m("E")[2])
    for pop in ("E", "P"):
        np.testing.assert_array_equal(cpu.spikes(pop)[0], gpu.spikes(pop)[0])


# ------------------------------------------------------------------ description and model files
def test_description_and_model_file_round_trip(tmp_path):
    net, _ = stimulated_network()
    desc = describe(net)
    assert [d["kind"] for d in desc["inputs"]] == ["dc_generator", "step_current_generator",
                                                   "noise_generator",
                                                   "inhomogeneous_poisson_generator", "poisson"]
    assert describe(build_network(desc)) == desc
    modelfile.write(net, tmp_path / "m.toml", t=5.0)
    assert describe(modelfile.read(tmp_path / "m.toml").network()) == desc


def test_bigbrain_run_accepts_a_model_file_with_devices(tmp_path):
    from bigbrain.cli import main as cli

    path = tmp_path / "m.toml"
    path.write_text("""
[network]
dt = 0.1
[run]
t = 30.0
[[populations]]
name = "N"
size = 2
model = "iaf_psc_exp"
[[inputs]]
name = "pulse"
kind = "step_current_generator"
amplitude_times = [5.0, 20.0]
amplitude_values = [800.0, 0.0]
[[inputs]]
name = "ip"
kind = "inhomogeneous_poisson_generator"
rate_times = [1.0]
rate_values = [2000.0]
[[projections]]
pre = "pulse"
post = "N"
[[projections]]
pre = "ip"
post = "N"
weight = 5.0
[[recordings]]
population = "N"
""")
    assert cli(["run", str(path), "--out", str(tmp_path / "out.zarr")]) == 0
    times, _ = ArchiveResult(tmp_path / "out.zarr").spikes("N")
    assert len(times) > 0 and times.min() > 5.0


def test_model_file_names_an_unknown_device_parameter(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[[populations]]\nname = "N"\nsize = 1\nmodel = "iaf_psc_exp"\n'
                    '[[inputs]]\nname = "d"\nkind = "dc_generator"\namplitud = 3.0\n')
    with pytest.raises(modelfile.ModelFileError, match=r"inputs\[0\]\.amplitud: unknown key.*amplitude"):
        modelfile.read(path)


# ------------------------------------------------------------------ errors
NAN, INF = float("nan"), float("inf")
BAD = [
    ("noise_generator", {"std": -1.0}, "noise_generator 'g'.std"),
    ("noise_generator", {"mean": NAN}, "noise_generator 'g'.mean"),
    ("noise_generator", {"std": 1.0, "std_mod": 2.0}, "noise_generator 'g'.std_mod: must be <= std"),
    ("noise_generator", {"frequency": -1.0}, "noise_generator 'g'.frequency"),
    ("noise_generator", {"dt": 0.25}, "noise_generator 'g'.dt: must be a multiple of the resolution"),
    ("step_current_generator", {"amplitude_times": ["x"], "amplitude_values": [1.0]},
     "step_current_generator 'g'.amplitude_times: must be a list of numbers"),
    ("dc_generator", {"amplitude": INF}, "dc_generator 'g'.amplitude"),
    ("dc_generator", {"start": 5.0, "stop": 2.0}, "dc_generator 'g'.stop"),
    ("dc_generator", {"start": 0.05}, "dc_generator 'g'.start"),
    ("dc_generator", {"amplitud": 1.0}, "dc_generator 'g'.amplitud"),
    ("step_current_generator", {"amplitude_times": [2.0, 1.0], "amplitude_values": [1.0, 2.0]},
     "step_current_generator 'g'.amplitude_times"),
    ("step_current_generator", {"amplitude_times": [1.05], "amplitude_values": [1.0]},
     "step_current_generator 'g'.amplitude_times"),
    ("step_current_generator", {"amplitude_times": [1.0], "amplitude_values": [NAN]},
     "step_current_generator 'g'.amplitude_values[0]"),
    ("step_current_generator", {"amplitude_times": [1.0, 2.0], "amplitude_values": [1.0]},
     "step_current_generator 'g'.amplitude_values"),
    ("inhomogeneous_poisson_generator", {"rate_times": [1.0], "rate_values": [-3.0]},
     "inhomogeneous_poisson_generator 'g'.rate_values[0]"),
    ("inhomogeneous_poisson_generator", {"rate_times": [1.0], "rate_values": [1e10]},
     "inhomogeneous_poisson_generator 'g'.rate_values[0]: rate·dt above 700 events per step"),
    ("inhomogeneous_poisson_generator", {"rate_times": [INF], "rate_values": [3.0]},
     "inhomogeneous_poisson_generator 'g'.rate_times"),
]


@pytest.mark.parametrize("kind,params,field", BAD)
def test_bad_device_values_name_the_field(kind, params, field):
    net = bb.Network(dt=DT)
    with pytest.raises(bb.ModelError) as err:
        getattr(net, kind)("g", **params)
    assert str(err.value).startswith(field if ": " in field else field + ":")


def test_set_params_checks_values_and_keeps_the_old_ones_on_error():
    net = bb.Network(dt=DT)
    pop = net.population("N", 1, "iaf_psc_exp")
    poisson = net.poisson("p", 10.0)
    step = net.step_current_generator("s", amplitude_times=[1.0], amplitude_values=[5.0])
    noise = net.noise_generator("n", std=1.0)
    for gen in (poisson, step, noise):
        net.connect(gen, pop, weight=1.0)
    for gen, params, field in [(poisson, {"rate": -1.0}, "p.rate"), (poisson, {"rate": NAN}, "p.rate"),
                               (noise, {"std": -2.0}, "noise_generator 'n'.std")]:
        with pytest.raises(bb.ModelError, match="^" + field):
            gen.set_params(net, **params)
    net.run(10.0)
    with pytest.raises(bb.ModelError, match=r"^step_current_generator 's'.amplitude_times: times "
                                            r"must be later than 10.0 ms"):
        step.set_params(net, amplitude_times=[5.0], amplitude_values=[1.0])
    with pytest.raises(bb.ModelError, match=r"^noise_generator 'n'.dt: is fixed"):
        noise.set_params(net, dt=2.0)
    assert step.get_params()["amplitude_times"] == [1.0] and noise.get_params()["std"] == 1.0
    assert poisson.get_params() == {"rate": 10.0}


def test_devices_cannot_receive_input_or_drive_parrots_with_current():
    net = bb.Network(dt=DT)
    pop = net.population("N", 1, "iaf_psc_exp")
    parrots = net.population("P", 1, "parrot_neuron")
    dc = net.dc_generator("dc", amplitude=1.0)
    with pytest.raises(bb.ModelError, match=r"^connect\[0\].post: dc_generator 'dc' cannot receive"):
        net.connect(pop, dc)
    with pytest.raises(bb.ModelError, match=r"^connect\[0\] dc->P.post: parrot neurons take spikes"):
        net.connect(dc, parrots)
    with pytest.raises(bb.ModelError, match=r"^connect\[0\] dc->N.synapse: dc_generator cannot have"):
        net.connect(dc, pop, synapse=bb.STDP())


@pytest.mark.parametrize("partition", ["graph", "blocks"])
def test_partitions_accept_current_generators(partition):
    """The graph partition weighs connections between neurons: a current generator's
    connection has no source neurons (it failed with a TypeError before)."""
    net = bb.Network(dt=DT, partition=partition)
    pop = net.population("A", 20, "iaf_psc_exp")
    net.connect(pop, pop, rule="fixed_indegree", indegree=3)
    net.connect(net.dc_generator("dc", amplitude=500.0), pop)
    net.record(pop, "spikes")
    assert len(net.run(20.0).spikes("A")[0]) == 20
