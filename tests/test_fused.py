"""Intervals advanced many at a time in compiled code (bigbrain/fused.py) give the bits of
the interval loop: spikes, samples, states, weights, archives and checkpoints; on two ranks
(interval loop) the spikes of one."""
import json
import shutil

import numpy as np
import pytest
import zarr

import bigbrain as bb
from bigbrain import fused, simulation
from bigbrain.checkpoint import checkpoint_steps
from bigbrain.kernels import stdp
from bigbrain.plasticity import INITIAL_CAPACITY
from mpi_helpers import run_mpi

T_MS = 60.0
#: Each model with its weights (pA, mV or nS) and recordables to sample.
MODELS = {
    "iaf_psc_exp": (dict(E_L=-49.0, tau_m=20.0, tau_syn_ex=5.0, tau_syn_in=10.0), 16.2, -90.0,
                    ["V_m", "I_syn_ex"]),
    "iaf_psc_delta": (dict(E_L=-49.0, tau_m=20.0), 0.4, -2.0, ["V_m"]),
    "iaf_psc_alpha": (dict(E_L=-49.0, tau_m=20.0), 16.2, -90.0, ["V_m", "I_syn_in"]),
    "iaf_cond_exp": (dict(E_L=-60.0, g_L=10.0, E_ex=0.0, E_in=-80.0), 6.0, -67.0,
                     ["V_m", "g_ex"]),
}
COMMON = dict(C_m=200.0, V_th=-50.0, V_reset=-60.0, t_ref=5.0, V_m=bb.uniform(-60.0, -50.0))


def network(models=("iaf_psc_exp",), n=400, delay=0.1, archive=None, comm=None, seed=7):
    """A CUBA/COBA-like network per model (80 % excitatory, 20 / 5 inputs per neuron, all
    one-step delays unless ``delay`` says otherwise), started by a spike source, spikes
    and some state variables recorded."""
    net = bb.Network(dt=0.1, seed=seed, archive=archive, comm=comm)
    rng = np.random.default_rng(1)
    trains = [np.unique(rng.integers(10, 300, 12)) * 0.1 for _ in range(20)]
    stim = net.spike_source("stim", [t.round(1).tolist() for t in trains])
    for m, model in enumerate(models):
        params, w_ex, w_in, recordables = MODELS[model]
        exc = net.population(f"E{m}", n * 4 // 5, model, **COMMON, **params)
        inh = net.population(f"I{m}", n // 5, model, **COMMON, **params)
        net.connect(exc, exc | inh, rule="fixed_indegree", indegree=20, weight=w_ex, delay=delay)
        net.connect(inh, exc | inh, rule="fixed_indegree", indegree=5, weight=w_in, delay=delay)
        net.connect(stim, exc[:20], rule="one_to_one", weight=3 * w_ex, delay=0.1)
        net.record(exc, "spikes")
        net.record(inh[::3], "spikes")
        net.record(exc[:4], recordables, interval=0.3)
    return net


def records(net, pieces=(T_MS,)):
    """Spikes and samples of every recorded population after runs of ``pieces`` ms."""
    for piece in pieces:
        res = net.run(piece)
    out = {f"spikes {sel.population.name}": res.spikes(sel.population.name)
           for sel in net.spike_recordings}
    for sel in net.vm_recordings:
        for v in sel.variables:
            out[f"{v} {sel.population.name}"] = res.samples(sel.population.name, v)
    return out


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        for x, y in zip(a[key], b[key]):
            assert np.array_equal(x, y), key


def final_V(net):
    return np.concatenate([net.get(sel.population, "V_m") for sel in net.spike_recordings])


@pytest.fixture
def interval_loop(monkeypatch):
    """Run with the interval loop only (the reference)."""
    def use(on):
        monkeypatch.setattr(simulation, "FUSED", on)
    return use


@pytest.mark.parametrize("models, delay", [
    (("iaf_psc_exp",), 0.1),
    (("iaf_psc_delta", "iaf_cond_exp", "iaf_psc_alpha"), 0.1),
    (("iaf_psc_exp", "iaf_cond_exp"), bb.uniform(0.1, 2.0)),      # ring buffers of 20 slots
])
def test_fused_steps_equal_the_interval_loop(interval_loop, monkeypatch, models, delay):
    """Spikes, samples and final V_m equal the interval loop's bit for bit, runs cut at
    odd lengths and compiled calls of 7 steps or of the default length."""
    pieces = (13.3, 0.1, T_MS - 13.4)
    interval_loop(False)
    ref_net = network(models, delay=delay)
    want, want_V = records(ref_net, pieces), final_V(ref_net)
    assert sum(len(v[0]) for k, v in want.items() if k.startswith("spikes")) > 100
    interval_loop(True)
    for max_steps in (7, fused.MAX_STEPS):
        monkeypatch.setattr(fused, "MAX_STEPS", max_steps)
        net = network(models, delay=delay)
        got = records(net, pieces)
        assert fused.reason(net.build()) is None
        assert_same(got, want)
        assert np.array_equal(final_V(net), want_V)


def test_poisson_input_drawn_in_fused_steps_equals_the_interval_loop(interval_loop):
    """Poisson input (one-step and longer delays) drawn step by step in the compiled loop,
    with rate changes between runs (the interval loop runs until every delay has passed
    the change), gives the interval loop's spikes and samples."""
    def run():
        net = network(n=200)
        noise = net.poisson("noise", rate=2000.0)
        net.connect(noise, net.populations["E0"], weight=8.0, delay=0.1)
        net.connect(noise, net.populations["I0"], weight=8.0, delay=bb.uniform(0.1, 1.0))
        first = records(net, (11.1,))
        net.set(noise, rate=500.0)
        second = records(net, (0.4, 20.0))
        net.set(noise, rate=0.0)
        return first, second, records(net, (10.0,)), net

    interval_loop(False)
    want = run()[:3]
    interval_loop(True)
    *got, net = run()
    sim = net.build()
    assert fused.reason(sim) is None and fused.FusedSteps(sim).ready(sim.step)
    for a, b in zip(got, want):
        assert_same(a, b)


def assert_compiled_equals_loop(interval_loop, run):
    """``run()`` (a tuple of :func:`records`) gives the same with the compiled loop as with
    the interval loop."""
    interval_loop(False)
    want = run()
    interval_loop(True)
    for a, b in zip(run(), want):
        assert_same(a, b)


def test_parameters_and_weights_set_between_runs_reach_the_compiled_loop(interval_loop):
    """A ``set`` of neuron parameters or static weights between runs (new kernel tables)
    takes effect in the compiled loop as in the interval loop."""
    def run():
        net = network(("iaf_psc_exp", "iaf_cond_exp"), n=200)
        first = records(net, (10.0,))
        net.set(net.populations["E0"], I_e=150.0)
        net.connections[4].set(weight=-30.0)          # I1 -> E1 | I1 (network's order)
        return first, records(net, (10.0,)), records(net, (10.0,))

    assert_compiled_equals_loop(interval_loop, run)


def test_spike_times_set_between_runs_reach_the_compiled_loop(interval_loop):
    """New spike times of a spike source (nothing else changed) take effect in the compiled
    loop as in the interval loop (PyNN's ticket 166)."""
    def run():
        net = network(n=200)
        first = records(net, (10.0,))
        net.set(net.populations["stim"][:5], spike_times=[[12.0, 13.5, 15.0]] * 5)
        return first, records(net, (10.0,))

    assert_compiled_equals_loop(interval_loop, run)


def test_fused_steps_are_used_and_counted_as_intervals(tmp_path):
    """A compiled call stands for its intervals in the archive's telemetry: 20 ms blocks of
    200 one-step intervals, or of 66 three-step intervals and one of two steps."""
    net = network(archive=bb.Archive(tmp_path / "a.zarr", flush_every=20.0))
    net.run(T_MS)
    long = bb.Network(dt=0.1, archive=bb.Archive(tmp_path / "b.zarr", flush_every=20.0))
    pop = long.population("A", 10, "iaf_psc_exp", I_e=400.0)
    long.connect(pop, pop, weight=1.0, delay=0.3)
    long.run(T_MS)
    for path, sim, intervals in (("a.zarr", net.build(), 200), ("b.zarr", long.build(), 67)):
        group = zarr.open_group(str(tmp_path / path), mode="r")
        assert fused.reason(sim) is None
        assert list(group["telemetry/n_intervals"][:]) == [intervals] * 3


def test_checkpoint_inside_fused_steps_resumes_exactly(tmp_path, interval_loop):
    """Checkpoints every 13.3 ms cut the compiled calls; a resume from the one at 26.6 ms
    writes the spikes and samples of an uninterrupted run of the interval loop."""
    interval_loop(False)
    want = records(network())
    interval_loop(True)
    path = tmp_path / "run.zarr"
    network(archive=bb.Archive(path, checkpoint_every=13.3)).run(T_MS)
    for step in checkpoint_steps(zarr.open_group(str(path), mode="r")):
        if step > 266:
            shutil.rmtree(path / "checkpoints" / str(step))
    net = bb.resume(path)
    assert net.time == pytest.approx(26.6)
    got = records(net, (T_MS - net.time,))
    assert_same(got, want)


def plastic_network(synapse, delay=0.3, n=20):
    """Parrots relaying a few early spikes and Poisson noise onto conductance neurons
    (driven to fire every few ms) through STDP ``synapse``, those onto a second
    conductance group: the sources fall silent while their targets fire, so the history
    rows must grow inside the compiled loop."""
    net = bb.Network(dt=0.1, seed=5)
    stim = net.spike_source("stim", [[0.5 + 0.3 * k, 2.0 + 0.2 * k] for k in range(6)])
    noise = net.poisson("noise", rate=0.0)
    X = net.population("X", 6, "parrot_neuron")
    net.connect(stim, X, rule="one_to_one", weight=1.0, delay=delay)
    net.connect(noise, X, weight=1.0, delay=0.1)
    E = net.population("E", n, "iaf_cond_exp_adaptive", I_e=900.0, V_m=bb.uniform(-70.0, -55.0),
                       theta_plus=0.02)
    inh = net.population("I", n // 4, "iaf_cond_exp")
    net.connect(X, E, weight=bb.uniform(0.5, 5.0), delay=delay, synapse=synapse)
    net.connect(E, inh, rule="fixed_indegree", indegree=4, weight=80.0, delay=delay)
    net.connect(inh, E, rule="fixed_indegree", indegree=2, weight=-20.0, delay=delay)
    net.record(E, "spikes")
    net.record(inh, "spikes")
    return net


def plastic_records(net, pieces):
    """Spikes of E and I, E's theta and V_m, the plastic weights and the whole plastic
    state (traces, history) after runs of ``pieces`` ms, with a noise rate per piece."""
    for rate, piece in pieces:
        net.set(net.populations["noise"], rate=rate)
        res = net.run(piece)
    out = {f"spikes {p}": res.spikes(p) for p in ("E", "I")}
    out["state"] = [net.get(net.populations["E"], v) for v in ("theta", "V_m")]
    out["weights"] = [net.connections[2].get("weight")]
    plastic = net.build().plasticity.state_arrays()
    out["plastic"] = [plastic[k] for k in sorted(plastic)]
    return out


@pytest.mark.parametrize("synapse", [
    bb.TripletSTDP(Aplus=0.0, Aminus=1e-2, Aplus_triplet=0.05, Wmax=6.0),
    bb.STDP(lambda_=0.05, Wmax=6.0),
])
def test_plastic_parrot_intervals_equal_the_interval_loop(interval_loop, monkeypatch, synapse):
    """STDP from parrots onto two conductance groups in intervals of 3 steps, rates changed
    between runs, compiled calls of 6 steps (with a spike buffer that the parrots' spikes
    outgrow) or of the default length: spikes, states, weights and the plastic state
    (traces, history with rows grown while the sources were silent) equal the interval
    loop's bit for bit."""
    pieces = ((0.0, 60.0), (400.0, 50.3), (0.0, 20.0))
    interval_loop(False)
    ref = plastic_network(synapse)
    want = plastic_records(ref, pieces)
    assert len(want["spikes E"][0]) > 150 and len(want["spikes I"][0]) > 5
    interval_loop(True)
    for max_steps, room in ((7, 1), (fused.MAX_STEPS, fused.SPIKE_ROOM)):
        monkeypatch.setattr(fused, "MAX_STEPS", max_steps)
        monkeypatch.setattr(fused, "SPIKE_ROOM", room)   # 1: parrot spikes outgrow the buffer
        net = plastic_network(synapse)
        got = plastic_records(net, pieces)
        sim = net.build()
        assert fused.reason(sim) is None and sim.interval == 3
        assert stdp.capacity(sim.plasticity.history.h) > INITIAL_CAPACITY, "no row grew"
        assert_same(got, want)


def test_digits_network_learns_the_same_in_the_compiled_loop(interval_loop):
    """Diehl & Cook's network (Poisson → parrots → triplet STDP → adaptive conductance
    neurons ⇄ inhibition, 1 ms intervals of 2 steps), three samples with normalisation
    and rate changes: the compiled loop gives the interval loop's weights, thresholds and
    responses."""
    from bigbrain.models import diehl_cook as dc
    pytest.importorskip("sklearn")
    x, y, *_ = dc.load_digits()
    x, y = dc.check_data(x[:3], y[:3])

    def run():
        net = bb.Network(dt=0.5, seed=2)
        model = dc.DiehlCook(net, dc.Config(n_neurons=12, present_ms=60.0, rest_ms=20.0), 64)
        net.build()
        state = dc.train(model, x, y, 1, dc.TrainingState(len(x), 12), out=None)
        return {"learned": [model.conn.get("weight"), net.get(model.E, "theta"),
                            state.responses]}, net

    interval_loop(False)
    want, _ = run()
    interval_loop(True)
    got, net = run()
    assert fused.reason(net.build()) is None
    assert want["learned"][2].sum() > 10
    assert_same(got, want)


@pytest.mark.parametrize("change, why", [
    (lambda net, E: net.connect(net.dc_generator("dc", amplitude=10.0), E, weight=1.0,
                                delay=0.1), "current generators"),
    (lambda net, E: [net.connect(E, E, rule="fixed_indegree", indegree=2, weight=1.0,
                                 delay=0.1, synapse=bb.STDP()) for _ in range(2)],
     "more than one plastic projection"),
    (lambda net, E: net.record_weights(net.connect(E, E, rule="fixed_indegree", indegree=2,
                                                   weight=1.0, delay=0.1, synapse=bb.STDP())),
     "a weight recorder"),
    (lambda net, E: net.connect(E, net.population("P", 5, "parrot_neuron"), weight=1.0,
                                delay=0.1), None),
    (lambda net, E: net.connect(E, E, rule="fixed_indegree", indegree=2, weight=1.0,
                                delay=0.3), None),
])
def test_where_fused_steps_do_not_apply_the_interval_loop_runs(change, why):
    """Parts the compiled loop lacks leave the interval loop in charge (its results are
    those of every other test); parrots and a second delay of several steps do not."""
    net = network(n=50)
    change(net, net.populations["E0"])
    net.run(1.0)
    assert fused.reason(net.build()) == why


def test_sampled_longer_intervals_and_two_ranks_run_the_interval_loop(tmp_path):
    """Samples with intervals of several steps use the interval loop; so does a 2-rank
    run, which records the spikes of the 1-rank compiled run."""
    net = bb.Network(dt=0.1)
    pop = net.population("A", 10, "iaf_psc_exp", I_e=400.0)
    net.connect(pop, pop, weight=1.0, delay=0.5)
    net.record(pop, ["V_m"], interval=0.1)
    net.run(1.0)
    assert fused.reason(net.build()) == "samples with intervals of several steps"
    script = tmp_path / "run.py"
    script.write_text(RANKS_SCRIPT)
    out = tmp_path / "two.json"
    run_mpi(script, 2, out, timeout=120)
    two = json.loads(out.read_text())
    assert two["why"] == "more than one rank"
    one = records(network(("iaf_psc_exp", "iaf_cond_exp")))
    for key, (times, ids) in ((k, v) for k, v in one.items() if k.startswith("spikes")):
        assert two[key] == [times.tolist(), ids.tolist()]


RANKS_SCRIPT = f"""
import json, sys
sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
from test_fused import network, records
from bigbrain import fused
net = network(("iaf_psc_exp", "iaf_cond_exp"))
got = records(net)
if net.rank == 0:
    out = {{k: [v[0].tolist(), v[1].tolist()] for k, v in got.items() if k.startswith("spikes")}}
    out["why"] = fused.reason(net.build())
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)
"""


def kernels_digest(kernels):
    """The digest that kernels/steps.py must name: of the kernel modules it imports,
    directly or through each other (read from their sources)."""
    import ast
    import hashlib
    seen, todo = set(), ["steps"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [node.module for node in ast.parse((kernels / f"{name}.py").read_text()).body
                     if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module]
    digest = hashlib.sha256()
    for name in sorted(seen - {"steps"}):
        digest.update((kernels / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


def test_steps_names_the_digest_of_the_kernels_compiled_into_it(tmp_path):
    """Numba's cache of the fused loop is keyed on steps.py alone: a changed kernel it calls
    must change steps.py (its KERNELS_DIGEST), else a warm cache runs the old kernel."""
    from pathlib import Path
    from bigbrain.kernels import steps
    kernels = Path(steps.__file__).parent
    assert steps.KERNELS_DIGEST == kernels_digest(kernels), (
        "a kernel compiled into kernels/steps.py changed: set its KERNELS_DIGEST to "
        f"{kernels_digest(kernels)!r}")
    changed = tmp_path / "kernels"
    changed.mkdir()
    for source in kernels.glob("*.py"):
        (changed / source.name).write_text(source.read_text())
    (changed / "cond.py").write_text((kernels / "cond.py").read_text() + "\n# changed\n")
    assert kernels_digest(changed) != steps.KERNELS_DIGEST
