"""hh_cond_exp_traub (bigbrain.neurons.hh_cond, kernels/hh.py): NEST's defaults and
initial gating variables, spike detection at a local maximum above V_T + 30 mV,
refractoriness, conductance input, state access, parameter checks, and agreement with NEST
under identical input. Ranks, model files and checkpoints: tests/test_cond_runs.py."""
import numpy as np
import pytest

import bigbrain as bb
import cond_reference as cr
from bigbrain.kernels import hh
from bigbrain.kernels.fixed_point import to_fixed
from bigbrain.kernels.typed_list import typed_list
from bigbrain.neurons import MODELS

DT = 0.1
MODEL = "hh_cond_exp_traub"


def block_of(n=1, **params):
    """A block of ``n`` neurons recording all of them, and ``step(ex, inh, n_steps)``:
    spike input (nS) into step 0, then advance; returns (spike offsets, rec_v)."""
    p = MODELS[MODEL].complete("test", params)
    block = MODELS[MODEL].block(p, np.arange(n), 0, DT, np.full(n, p["V_m"]))
    block.rec_idx = np.arange(n)
    state = {"t0": 0}

    def step(ex=0.0, inh=0.0, n_steps=1):
        block.prepare(n_steps)
        ring_ex, ring_in = np.zeros((2, n), np.int64), np.zeros((2, n), np.int64)
        t0 = state["t0"]
        ring_ex[t0 % 2], ring_in[t0 % 2] = to_fixed(ex), to_fixed(inh)
        out_idx, out_off = np.zeros(n * n_steps, np.int64), np.zeros(n * n_steps, np.int64)
        k = hh.hh_cond_exp_traub_blocks(typed_list([block.kernel_args()]), ring_ex, ring_in,
                                        np.zeros((2, n)), t0, n_steps, out_idx, out_off)
        state["t0"] += n_steps
        return out_off[:k], block.rec_v.copy()

    return block, step


def test_recordables_are_nest_s_and_start_from_the_initial_state():
    block, step = block_of(V_m=-65.0, Act_m=0.1, Inact_h=0.5, Act_n=0.2)
    assert block.RECORDABLES == ("V_m", "g_ex", "g_in", "Act_m", "Inact_h", "Act_n")
    assert (block.V[0], block.Act_m[0], block.Inact_h[0], block.Act_n[0]) == (-65.0, 0.1, 0.5, 0.2)
    _, rec = step(n_steps=1)
    assert rec[0, 0, 1] == rec[0, 0, 2] == 0.0
    np.testing.assert_allclose(rec[0, 0, 4:], [0.5, 0.2], atol=0.02)  # h and n are slow


def test_a_spike_is_a_local_maximum_above_V_T_plus_30_and_V_is_not_reset():
    """A strong current: each spike is reported in the first step in which V fell while
    above V_T + 30 mV (V one step before it is higher, and two steps before it V was still
    rising or below the threshold); V is not reset (it falls on its own); spikes at least
    t_ref apart."""
    _, step = block_of(I_e=1000.0, t_ref=2.0)
    spikes, rec = step(n_steps=1000)
    V = rec[:, 0, 0]
    assert len(spikes) > 5
    for s in spikes:
        assert V[s] >= -63.0 + 30.0 and V[s - 1] > V[s]
        assert V[s - 2] <= V[s - 1] or V[s - 1] < -33.0
    assert np.diff(spikes).min() >= 20
    assert V.max() > 20.0 and V.min() < -60.0


def test_refractoriness_suppresses_detection_only():
    """t_ref longer than the interspike interval: every other spike goes unreported, but
    the trajectory (V) is the same as with a short t_ref."""
    _, short = block_of(I_e=1000.0, t_ref=2.0)
    a, rec_a = short(n_steps=600)
    gap = int(np.diff(a).min())
    _, long = block_of(I_e=1000.0, t_ref=(gap + 5) * DT)
    b, rec_b = long(n_steps=600)
    np.testing.assert_array_equal(rec_a[:, 0, 0], rec_b[:, 0, 0])
    assert len(b) < len(a) and set(b) <= set(a)


def test_conductances_jump_by_the_weight_then_decay_exactly():
    """A spike of w nS raises g_ex by w at the end of the step (−w: g_in by w), both then
    decay with exp(−dt/tau_syn)."""
    _, step = block_of(tau_syn_ex=2.0, tau_syn_in=5.0)
    _, rec = step(ex=3.0, inh=-7.0, n_steps=20)
    k = np.arange(20)
    np.testing.assert_allclose(rec[:, 0, 1], 3.0 * np.exp(-k * DT / 2.0), rtol=1e-14)
    np.testing.assert_allclose(rec[:, 0, 2], 7.0 * np.exp(-k * DT / 5.0), rtol=1e-14)


def test_gating_variables_are_state_that_get_and_set_reach():
    """Act_m, Inact_h, Act_n start at their parameter, are read and changed by get/set
    between runs (NEST's convention), and a changed one changes the dynamics."""
    def run(**changes):
        net = bb.Network(dt=DT)
        pop = net.population("H", 2, MODEL, Act_n=0.3)
        net.record(pop, ["V_m", "Act_n"])
        net.run(1.0)
        before = net.get(pop, "Act_n")
        if changes:
            net.set(pop, **changes)
        return before, net.get(pop, "Act_n"), net.run(5.0).samples("H", "V_m")[2]
    before, _, plain = run()
    assert 0.0 < before[0] < 0.3  # relaxing from 0.3 towards its steady state
    _, after, changed = run(Act_n=0.0)
    np.testing.assert_array_equal(after, 0.0)
    assert not np.array_equal(plain, changed)


@pytest.mark.parametrize("key,value", [
    ("g_L", 0.0), ("C_m", -1.0), ("tau_syn_ex", 0.0), ("tau_syn_in", -2.0), ("t_ref", -0.1),
    ("g_Na", -1.0), ("g_K", float("nan")), ("E_Na", float("inf")), ("Act_m", float("nan")),
])
def test_bad_parameter_names_the_field(key, value):
    with pytest.raises(bb.ModelError, match=rf"^population 'A'\.{key}: must be"):
        bb.Network().population("A", 2, MODEL, **{key: value})


def test_an_unknown_recordable_names_the_field():
    net = bb.Network()
    pop = net.population("A", 2, MODEL)
    with pytest.raises(bb.ModelError, match=r"^record\.what: 'A' \(hh_cond_exp_traub\) has no w "):
        net.record(pop, ["V_m", "w"])


# ----------------------------------------------------------------------- NEST
@pytest.mark.nest
def test_defaults_and_initial_gating_variables_are_nest_s():
    nest = pytest.importorskip("nest")
    want = nest.GetDefaults(MODEL)
    for key, (default, *_) in MODELS[MODEL].params.items():
        assert want[key] == default, key  # Act_m, Inact_h, Act_n bit for bit
    assert set(MODELS[MODEL].recordables) == set(want["recordables"])


@pytest.mark.nest
def test_without_input_nest_s_defaults_fire_at_nest_s_steps():
    """At NEST's defaults (V_T = −63 mV) a lone neuron fires on its own: NEST 3.10 at
    11.2 and 83.4 ms; the same steps here."""
    nest = cr._nest(100.0)
    node = nest.Create(MODEL)
    want, _ = cr._simulate(nest, node, 100.0, V_m=False)
    assert list(want[0]) == [112, 834]
    spikes, _ = block_of()[1](n_steps=1000)
    np.testing.assert_array_equal(spikes + 1, want[0])


@pytest.mark.nest
@pytest.mark.parametrize("seed", [1, 2])
def test_single_neurons_under_identical_input_agree_with_nest(seed):
    """8 neurons at rest, each with its own excitatory (800 Hz, 6 nS) and inhibitory
    (400 Hz, −20 nS) train and I_e in 0 … 300 pA, 300 ms: the same number of spikes, at
    the same steps or one step apart, and V_m within 0.02 mV of NEST's more than 3 ms from
    any spike (measured: ≤ 1 step, 0.0075 mV; README)."""
    case = cr.single_case(MODEL, {}, seed=seed, I_e=(0.0, 300.0), t_sim=300.0,
                          weight=(6.0, -20.0))
    case["V_m"][:] = -60.0
    got = cr.compare(cr.run_nest_single(case), cr.run_bigbrain_single(case), window=30)
    assert got["spikes"][0] >= 100, f"NEST gives too few spikes to compare: {got}"
    assert got["spikes"][0] == got["spikes"][1] and got["max_shift"] <= 1, got
    assert got["max_dV"] < 0.02, got


@pytest.mark.nest
def test_pynn_HH_cond_exp_with_pynn_s_initial_gating_equals_nest():
    """PyNN's HH_cond_exp scenario (its defaults m = 0, h = 1, n = 0, v = −64 mV, 1 nA, dt
    0.001 ms) through bigbrain.pynn: V first exceeds 0 mV at NEST's time (2.518 ms) to
    the step, and V_m stays within 1e-3 mV of NEST's before it."""
    pytest.importorskip("pyNN")
    import bigbrain.pynn as sim
    cell = dict(gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, cm=0.2, v_offset=-63.0, e_rev_Na=50.0,
                e_rev_K=-90.0, e_rev_leak=-65.0, e_rev_E=0.0, e_rev_I=-80.0, tau_syn_E=0.2,
                tau_syn_I=2.0, i_offset=1.0)
    sim.setup(timestep=0.001, min_delay=0.1)
    pop = sim.Population(1, sim.HH_cond_exp(**cell))
    pop.initialize(v=-64.0)
    pop.record("v")
    sim.run(5.0)
    v = np.asarray(pop.get_data().segments[0].filter(name="v")[0]).ravel()[1:]
    sim.end()
    nest = cr._import_nest()
    nest.ResetKernel()
    nest.resolution = 0.001
    node = nest.Create(MODEL, params=dict(
        g_Na=20000.0, g_K=6000.0, g_L=10.0, C_m=200.0, V_T=-63.0, E_L=-65.0, tau_syn_ex=0.2,
        tau_syn_in=2.0, I_e=1000.0, V_m=-64.0, Act_m=0.0, Inact_h=1.0, Act_n=0.0))
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.001})
    nest.Connect(meter, node)
    nest.Simulate(5.0)
    want = np.asarray(meter.get("events")["V_m"])
    first = int(np.argmax(want > 0.0))
    assert first == 2517 and int(np.argmax(v > 0.0)) == first
    assert np.abs(v[:first - 100] - want[:first - 100]).max() < 1e-3
