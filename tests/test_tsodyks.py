"""tsodyks_synapse (NEST's Tsodyks–Markram short-term plasticity): V_m against NEST 3.10, the
state against the closed form, get/set, checks, model files, rank invariance and resume."""
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from mpi_helpers import run_mpi

DT = 0.1
SCRIPT = Path(__file__).parent / "scripts" / "tsodyks_network.py"
sys.path.insert(0, str(SCRIPT.parent))
from tsodyks_network import DEPRESSING, FACILITATING  # noqa: E402


def irregular_train(seed, n):
    """``n`` spike times (ms, on the grid) at irregular intervals from 0.2 ms to 80 ms."""
    rng = np.random.default_rng(seed)
    return np.round(1.0 + np.cumsum(rng.choice([0.2, 0.7, 2.5, 9.1, 23.4, 80.0], n)), 1)


def bigbrain_vm(trains, sources, targets, weights, delays, params, tau_syn, t_sim):
    """V_m (every step, targets in columns) of iaf_psc_exp cells fed by parrots of
    ``trains`` through tsodyks synapses (explicit; ``params``: TsodyksSynapse arguments,
    numbers or per-synapse arrays)."""
    net = bb.Network(dt=DT, seed=1)
    src = net.spike_source("S", trains)
    parrots = net.population("P", len(trains), "parrot_neuron")
    cells = net.population("N", max(targets) + 1, "iaf_psc_exp", tau_syn_ex=tau_syn, tau_syn_in=tau_syn)
    net.connect(src, parrots, "one_to_one", weight=1.0, delay=DT)
    net.connect(parrots, cells, "explicit", sources=sources, targets=targets, weight=weights,
                delay=delays, synapse=bb.TsodyksSynapse(**params))
    net.record(cells, "V_m", interval=DT)
    _, _, v = net.run(t_sim).V_m("N")
    return v


def nest_vm(trains, sources, targets, weights, delays, params, tau_syn, t_sim):
    """The same network in NEST (parrots, so that the synapses see NEST's spike stamps)."""
    nest = pytest.importorskip("nest")
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.resolution = DT
    gens = nest.Create("spike_generator", len(trains))
    for g, train in zip(gens, trains):
        g.spike_times = list(train)
    parrots = nest.Create("parrot_neuron", len(trains))
    cells = nest.Create("iaf_psc_exp", max(targets) + 1, {"tau_syn_ex": tau_syn, "tau_syn_in": tau_syn})
    meter = nest.Create("multimeter", {"record_from": ["V_m"], "interval": DT})
    nest.Connect(gens, parrots, "one_to_one", {"delay": DT})
    nest.Connect(meter, cells)
    for k, (s, t) in enumerate(zip(sources, targets)):
        spec = {key: float(np.broadcast_to(v, len(sources))[k]) for key, v in params.items()}
        nest.Connect(parrots[s], cells[t], syn_spec={"synapse_model": "tsodyks_synapse",
                                                     "weight": weights[k], "delay": delays[k], **spec})
    nest.Simulate(t_sim + DT)
    ev = meter.events
    order = np.lexsort((ev["senders"], ev["times"]))
    return ev["V_m"][order].reshape(-1, len(cells))[:int(round(t_sim / DT))]


@pytest.mark.nest
@pytest.mark.parametrize("params", [FACILITATING, DEPRESSING, dict(FACILITATING, x=0.7, y=0.2, u=0.3)],
                         ids=["facilitating", "depressing", "initial_state"])
def test_one_synapse_matches_nest(params):
    train = irregular_train(1, 60)
    args = ([train], [0], [0], [600.0], [1.0], params, params["tau_psc"], float(train[-1] + 20.0))
    v, want = bigbrain_vm(*args), nest_vm(*args)
    assert np.ptp(want) > 1.0, "the synapse must move V_m"
    np.testing.assert_allclose(v, want, rtol=1e-12, atol=0)


@pytest.mark.nest
def test_several_synapses_match_nest():
    """Four sources onto two cells: per-synapse parameters (facilitating and depressing),
    inhibitory weights, several delays and a multapse."""
    trains = [irregular_train(seed, 40) for seed in range(4)]
    sources = np.array([0, 1, 2, 3, 0, 1, 3, 3])
    targets = np.array([0, 0, 0, 1, 1, 1, 0, 0])
    weights = np.array([500.0, -300.0, 250.0, 700.0, 400.0, -200.0, 150.0, 350.0])
    delays = np.array([1.0, 0.3, 2.2, 1.0, 0.7, 1.5, 1.0, 4.0])
    params = {"U": np.array([0.1, 0.6, 0.3, 0.05, 0.8, 0.2, 0.5, 0.5]),
              "tau_fac": np.array([500.0, 0.0, 50.0, 1000.0, 0.0, 20.0, 0.0, 300.0]),
              "tau_rec": np.array([100.0, 600.0, 300.0, 50.0, 800.0, 150.0, 900.0, 30.0]),
              "tau_psc": 3.0}
    t_sim = float(max(t[-1] for t in trains) + 20.0)
    args = (trains, sources, targets, weights, delays, params, 3.0, t_sim)
    v, want = bigbrain_vm(*args), nest_vm(*args)
    assert np.ptp(want[:, 0]) > 2.0 and np.ptp(want[:, 1]) > 2.0
    np.testing.assert_allclose(v, want, rtol=1e-12, atol=0)


def test_state_matches_the_closed_form():
    """Spikes at 10 and 25 ms from (x, y, u) = (1, 0, 0): the first releases U, the second
    finds the state propagated over 15 ms (NEST's equations in the module docstring)."""
    U, tau_psc, tau_fac, tau_rec = 0.2, 3.0, 40.0, 70.0
    net = bb.Network(dt=DT)
    src = net.spike_source("S", [[9.9, 24.9]])
    pre = net.population("pre", 1, "parrot_neuron")
    post = net.population("post", 1, "iaf_psc_exp", tau_syn_ex=tau_psc)
    net.connect(src, pre, delay=DT)
    conn = net.connect(pre, post, weight=100.0, delay=1.0,
                       synapse=bb.TsodyksSynapse(U=U, tau_psc=tau_psc, tau_fac=tau_fac, tau_rec=tau_rec))
    net.run(30.0)
    u, x, y = U, 1.0 - U, U                                  # after the spike at 10 ms
    h = 15.0
    p_rec, p_psc = math.exp(-h / tau_rec), math.exp(-h / tau_psc)
    x += ((p_rec - 1) * tau_rec - (p_psc - 1) * tau_psc) / (tau_psc - tau_rec) * y + (1 - p_rec) * (1 - x - y)
    y *= p_psc
    u = u * math.exp(-h / tau_fac)
    u += U * (1 - u)
    x, y = x - u * x, y + u * x
    for name, want in (("x", x), ("y", y), ("u", u)):
        np.testing.assert_allclose(conn.get(name), [want], rtol=1e-14, err_msg=name)
    np.testing.assert_array_equal(conn.get("U"), [U])


def test_get_set_between_runs():
    """Variables and weights read and written per synapse, in ``Result.weights`` order; a
    new U acts on the next spike."""
    net = bb.Network(dt=DT, seed=3)
    src = net.spike_source("S", [[5.0, 15.0], [8.0]])
    pre = net.population("pre", 2, "parrot_neuron")
    post = net.population("post", 3, "iaf_psc_exp")
    net.connect(src, pre, "one_to_one", delay=DT)
    conn = net.connect(pre, post, weight=10.0, delay=1.0, synapse=bb.TsodyksSynapse(U=0.4))
    net.run(10.0)
    np.testing.assert_allclose(conn.get("u"), [0.4] * 6)
    conn.set(U=np.linspace(0.1, 0.6, 6), x=0.5)
    np.testing.assert_array_equal(conn.get("U"), np.linspace(0.1, 0.6, 6))
    np.testing.assert_array_equal(conn.get("x"), [0.5] * 6)
    conn.set(U=bb.uniform(0.2, 0.3))
    assert np.all((conn.get("U") >= 0.2) & (conn.get("U") < 0.3)) and len(set(conn.get("U"))) == 6
    with pytest.raises(bb.ModelError, match="x \\+ y must be <= 1") as err:
        conn.set(y=0.6)
    assert err.value.field == "connect[1] pre->post.y"
    np.testing.assert_array_equal(conn.get("y") <= 0.5, True)   # unchanged
    with pytest.raises(bb.ModelError) as err:
        conn.set(U=[0.5] * 5)
    assert err.value.field == "connect[1] pre->post.U" and "5 values for 6" in str(err.value)
    with pytest.raises(bb.ModelError, match="unknown synapse parameter") as err:
        conn.get("tau_plus")
    assert err.value.field == "connect[1] pre->post.tau_plus"


@pytest.mark.parametrize("bad, field, text", [
    (dict(U=1.5), "U", "in \\[0, 1\\]"), (dict(U=-0.1), "U", ">= 0"),
    (dict(U=float("nan")), "U", "finite"), (dict(tau_psc=0.0), "tau_psc", "> 0"),
    (dict(tau_rec=-5.0), "tau_rec", "> 0"), (dict(tau_fac=-1.0), "tau_fac", ">= 0"),
    (dict(tau_psc=800.0), "tau_rec", "differ from tau_psc"), (dict(x=0.8, y=0.3), "x", "x \\+ y"),
    (dict(U=[0.5, 2.0]), "U", "in \\[0, 1\\]"), (dict(tau_rec="fast"), "tau_rec", "a number"),
    (dict(tau_psc=[3.0, float("nan")]), "tau_psc", "finite, got nan"),
    (dict(tau_fac=[1.0, -2.0]), "tau_fac", ">= 0 ms, got -2.0")])
def test_bad_parameters_name_the_field(bad, field, text):
    with pytest.raises(bb.ModelError, match=text) as err:
        bb.TsodyksSynapse(**bad)
    assert err.value.field == f"TsodyksSynapse.{field}"


def test_per_synapse_arrays_need_explicit_and_one_value_per_synapse():
    net = bb.Network(dt=DT)
    a = net.population("A", 3, "iaf_psc_exp")
    with pytest.raises(bb.ModelError, match="need rule='explicit'") as err:
        net.connect(a, a, weight=1.0, synapse=bb.TsodyksSynapse(U=[0.1, 0.2]))
    assert err.value.field == "connect[0] A->A.synapse.U"
    with pytest.raises(bb.ModelError, match="has 2 entries, expected 3") as err:
        net.connect(a, a, "explicit", sources=[0, 1, 2], targets=[1, 2, 0], weight=1.0,
                    synapse=bb.TsodyksSynapse(tau_rec=[100.0, 200.0]))
    assert err.value.field.endswith(".synapse.tau_rec")


def test_defaults_and_model_file_round_trip(tmp_path):
    from bigbrain import modelfile
    assert bb.TsodyksSynapse().describe() == {"model": "tsodyks_synapse", "U": 0.5, "tau_psc": 3.0,
                                              "tau_fac": 0.0, "tau_rec": 800.0, "x": 1.0, "y": 0.0,
                                              "u": 0.0}
    rule = bb.TsodyksSynapse(**FACILITATING)
    net = bb.Network(dt=DT)
    e = net.population("E", 20, "iaf_psc_exp")
    net.connect(e, e, "fixed_indegree", indegree=5, weight=-20.0, delay=1.5, synapse=rule)
    modelfile.write(net, tmp_path / "m.toml", t=10.0)
    assert "tsodyks_synapse" in (tmp_path / "m.toml").read_text()
    back = modelfile.read(str(tmp_path / "m.toml")).network()
    (conn,) = back.connections
    assert isinstance(conn.synapse, bb.TsodyksSynapse) and conn.synapse.describe() == rule.describe()
    from bigbrain.rebuild import synapse_model
    with pytest.raises(bb.ModelError, match="not a parameter of tsodyks_synapse") as err:
        synapse_model({"model": "tsodyks_synapse", "tau_facil": 10.0})
    assert err.value.field == "synapse.tau_facil"


@pytest.mark.mpi
def test_identical_on_1_to_3_ranks_and_resumed(tmp_path):
    """The network of scripts/tsodyks_network.py (U redrawn between runs) gives the same
    spikes and synapse state on 1, 2 and 3 ranks, and resumed on 1 rank from the 2-rank
    run's checkpoint at 50 ms."""
    results = []
    for n in (1, 2, 3):
        run_mpi(SCRIPT, n, tmp_path / f"{n}.npz", tmp_path / f"{n}.zarr", timeout=300)
        with np.load(tmp_path / f"{n}.npz") as f:
            results.append({k: f[k] for k in f.files})
    ref = results[0]
    assert len(ref["E_t"]) > 150 and np.ptp(ref["0_U"]) > 0.1 and ref["0_x"].min() < 0.5
    for n, got in zip((2, 3), results[1:]):
        for key in ref:
            assert np.array_equal(got[key], ref[key]), f"{key} differs on {n} ranks"
    cut = tmp_path / "cut.zarr"
    shutil.copytree(tmp_path / "2.zarr", cut)
    shutil.rmtree(cut / "checkpoints" / "700")
    net = bb.resume(cut)
    assert net.time == 50.0
    result = net.run(20.0)
    ee, ie = [c for c in net.connections if c.synapse is not None]
    for pop in ("E", "I"):
        t, i = result.spikes(pop)
        np.testing.assert_array_equal(t[t > 50.0], ref[f"{pop}_t"][ref[f"{pop}_t"] > 50.0])
        np.testing.assert_array_equal(i[t > 50.0], ref[f"{pop}_i"][ref[f"{pop}_t"] > 50.0])
    for k, conn in enumerate((ee, ie)):
        for name in ("weight", "U", "x", "y", "u"):
            np.testing.assert_array_equal(net.get(conn, name), ref[f"{k}_{name}"], err_msg=name)
