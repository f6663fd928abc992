"""Conductance-based models (iaf_cond_exp, iaf_cond_alpha, aeif_cond_exp, aeif_cond_alpha,
iaf_cond_exp_adaptive): analytic cases, the kernel contract (recordables, current input,
refractoriness), parameter checks, the CUDA code path, and agreement with NEST under identical
input (tolerances measured by benchmarks/cond_accuracy.py, README)."""
import functools
import math
import operator

import numpy as np
import pytest

import bigbrain as bb
import bigbrain.simulation
import cond_reference as cr
from bigbrain.kernels import cond
from bigbrain.kernels.fixed_point import to_fixed
from bigbrain.kernels.typed_list import typed_list
from bigbrain.neurons import MODELS
from bigbrain.neurons.iaf_cond import CondBlock
from test_backend import host_gpu  # noqa: F401 - the CUDA kernels compiled for the CPU

DT = 0.1
COND_MODELS = ("iaf_cond_exp", "iaf_cond_alpha", "iaf_cond_exp_adaptive", "aeif_cond_exp",
               "aeif_cond_alpha")


def block_of(model, n=1, **params):
    """A block of ``n`` neurons of ``model`` recording all of them, and a runner:
    ``step(ex, inh, cur, n_steps)`` puts spike input (nS) and current (pA) into step 0 and
    advances; returns (spike offsets, rec_v)."""
    p = MODELS[model].complete("test", params)
    block = MODELS[model].block(p, np.arange(n), 0, DT, np.full(n, p["V_m"]))
    block.rec_idx = np.arange(n)
    state = {"t0": 0}

    def step(ex=0.0, inh=0.0, cur=0.0, n_steps=1):
        block.prepare(n_steps)
        ring_ex, ring_in = np.zeros((2, n), np.int64), np.zeros((2, n), np.int64)
        ring_cur = np.zeros((2, n))
        t0 = state["t0"]
        ring_ex[t0 % 2], ring_in[t0 % 2], ring_cur[t0 % 2] = to_fixed(ex), to_fixed(inh), cur
        out_idx, out_off = np.zeros(n * n_steps, np.int64), np.zeros(n * n_steps, np.int64)
        k = cond.cond_blocks(typed_list([block.kernel_args()]), ring_ex, ring_in,
                             ring_cur, t0, n_steps, out_idx, out_off)
        state["t0"] += n_steps
        return out_off[:k], block.rec_v.copy()

    return block, step


# ----------------------------------------------------------------------- analytic and contract
@pytest.mark.parametrize("model", ["iaf_cond_exp", "iaf_cond_alpha", "iaf_cond_exp_adaptive"])
def test_vectorized_step_equals_the_per_neuron_loop(model):
    """Models without adaptation current (w None) take the vectorized substep loop; given
    w = 0 as an array, the kernel takes the per-neuron loop of aeif_cond_exp, where w stays
    0. Under random spike and current input, with spikes and refractory periods, both give
    the same bits step after step (V, conductances, theta, r, lock, samples, spikes; the
    adaptive neurons locked out for 12 steps after a spike, 5 of them refractory)."""
    rng = np.random.default_rng(5)
    n, L = 200, 3
    block, _ = block_of(model, n, I_e=800.0, t_ref=0.5, theta_plus=0.5, t_lockout=1.2) \
        if "adaptive" in model else block_of(model, n, I_e=800.0, t_ref=0.5)
    block.V[:] = rng.uniform(-75.0, -50.0, n)
    block.prepare(1)
    fast = [a.copy() if isinstance(a, np.ndarray) else a for a in block.kernel_args()]
    loop = [a.copy() if isinstance(a, np.ndarray) else a for a in block.kernel_args()]
    assert fast[5] is None
    loop[5] = np.zeros(n)
    out = [np.zeros((2, n), np.int64) for _ in range(2)]
    ring_ex, ring_in = np.zeros((L, n), np.int64), np.zeros((L, n), np.int64)
    ring_cur = np.zeros((L, n))
    n_spikes = 0
    for t in range(400):
        ex = to_fixed(rng.uniform(0.0, 20.0, n) * (rng.random(n) < 0.2))
        inh = to_fixed(-rng.uniform(0.0, 40.0, n) * (rng.random(n) < 0.1))
        cur = rng.normal(0.0, 200.0, n)
        got = []
        for args, (out_idx, out_off) in zip((fast, loop), out):
            rings = [ring_ex.copy(), ring_in.copy(), ring_cur.copy()]
            rings[0][t % L], rings[1][t % L], rings[2][t % L] = ex, inh, cur
            m = len(CondBlock.LAYOUT)
            k = cond.cond(*args[:m], *rings, args[m], t, 1, *args[m + 1:], out_idx, out_off)
            got.append((out_idx[:k].copy(), *rings))
        n_spikes += len(got[0][0])
        for a, b in zip(got[0], got[1]):
            assert np.array_equal(a, b)
        for name, a, b in zip(CondBlock.LAYOUT, fast, loop):
            if name != "w" and isinstance(a, np.ndarray):
                assert np.array_equal(a, b, equal_nan=True), (t, name)
    assert n_spikes > 200


@pytest.mark.parametrize("model", COND_MODELS)
def test_free_membrane_relaxes_exponentially_to_the_analytic_solution(model):
    """Without input, V relaxes to E_L + I_e/g_L with tau = C_m/g_L (RK4: 1e-9 mV);
    aeif without its exponential term and adaptation (Delta_T = 0, a = 0)."""
    extra = {"Delta_T": 0.0, "a": 0.0, "V_peak": 0.0} if model.startswith("aeif") else {}
    block, step = block_of(model, V_m=-75.0, E_L=-70.0, g_L=20.0, C_m=300.0, I_e=80.0,
                           V_th=-50.0, **extra)
    _, rec = step(n_steps=500)
    t = DT * np.arange(1, 501)
    exact = -70.0 + 4.0 + (-75.0 + 70.0 - 4.0) * np.exp(-t * 20.0 / 300.0)
    np.testing.assert_allclose(rec[:, 0, 0], exact, rtol=0, atol=1e-9)


@pytest.mark.parametrize("model", ["iaf_cond_exp", "iaf_cond_exp_adaptive", "aeif_cond_exp"])
def test_exponential_conductances_jump_by_the_weight_then_decay_exactly(model):
    """A spike of weight w (nS) into step 0 raises g_ex by w at the end of step 0 (NEST's
    order: integrate, then add the step's input); a negative weight raises g_in by −w;
    both then decay with exp(−dt/tau_syn). Recorded as g_ex, g_in."""
    block, step = block_of(model, tau_syn_ex=2.0, tau_syn_in=5.0)
    _, rec = step(ex=3.0, inh=-7.0, n_steps=20)
    k = np.arange(20)
    np.testing.assert_allclose(rec[:, 0, 1], 3.0 * np.exp(-k * DT / 2.0), rtol=1e-14)
    np.testing.assert_allclose(rec[:, 0, 2], 7.0 * np.exp(-k * DT / 5.0), rtol=1e-14)
    assert block.RECORDABLES[:3] == ("V_m", "g_ex", "g_in")


@pytest.mark.parametrize("model", ["iaf_cond_alpha", "aeif_cond_alpha"])
def test_alpha_conductance_peaks_at_the_weight_tau_syn_after_the_spike(model):
    """g(t) = w·(t/tau)·e^(1 − t/tau), peak w nS at t = tau_syn."""
    _, step = block_of(model, tau_syn_ex=1.0, tau_syn_in=2.0)
    _, rec = step(ex=3.0, inh=-5.0, n_steps=60)
    t = DT * np.arange(60)
    for k, (w, tau) in enumerate([(3.0, 1.0), (5.0, 2.0)]):
        np.testing.assert_allclose(rec[:, 0, 1 + k], w * t / tau * np.exp(1 - t / tau),
                                   rtol=1e-13, atol=1e-15)
    assert rec[:, 0, 1].argmax() == 10 and rec[:, 0, 2].argmax() == 20


@pytest.mark.parametrize("model", COND_MODELS)
def test_current_read_in_a_step_acts_from_the_next_step(model):
    """ring_cur of step 0 leaves step 0 as without it and changes V from step 1 on."""
    _, step = block_of(model)
    _, plain = step(n_steps=3)
    _, step = block_of(model)
    _, driven = step(cur=500.0, n_steps=3)
    assert driven[0, 0, 0] == plain[0, 0, 0]
    assert driven[1, 0, 0] > plain[1, 0, 0] + 0.1


@pytest.mark.parametrize("model", ["iaf_cond_exp", "iaf_cond_alpha", "iaf_cond_exp_adaptive"])
def test_spike_resets_and_holds_V_for_t_ref(model):
    """Above threshold: a spike in step 0, V = V_reset through round(t_ref/dt) more steps,
    then free again (NEST's counting)."""
    block, step = block_of(model, V_m=-50.0, V_th=-55.0, V_reset=-60.0, t_ref=0.5, I_e=1000.0)
    spikes, rec = step(n_steps=8)
    assert spikes[0] == 0
    np.testing.assert_array_equal(rec[:6, 0, 0], -60.0)
    assert rec[6, 0, 0] > -60.0


def test_adaptive_threshold_rises_by_theta_plus_and_decays_with_tau_theta():
    """iaf_cond_exp_adaptive: theta += theta_plus at a spike, decays by exp(-dt/tau_theta)
    per step; the threshold is V_th + theta (no spike while V_th <= V < V_th + theta)."""
    block, step = block_of("iaf_cond_exp_adaptive", V_m=-54.0, theta=2.0, theta_plus=3.0,
                           tau_theta=50.0, V_th=-55.0)
    spikes, rec = step(n_steps=1)
    assert len(spikes) == 0 and rec[0, 0, 0] > -55.0  # above V_th, below V_th + theta
    block.V[:] = -52.0
    spikes, rec = step(n_steps=3)
    assert list(spikes) == [0]
    P = math.exp(-DT / 50.0)
    np.testing.assert_allclose(rec[:, 0, 3], [(2.0 * P * P + 3.0) * P ** k for k in range(3)],
                               rtol=1e-14)
    assert MODELS["iaf_cond_exp_adaptive"].recordables == ("V_m", "g_ex", "g_in", "theta")


def test_adaptive_neuron_above_V_th_relaxes_at_its_own_V():
    """Between V_th and its threshold V_th + theta the adaptive neuron's V follows the exact
    leak E_L + (V0 - E_L)·e^(-t/tau_m) (no input, no spike): the right-hand side bounds V
    at V_th + theta. (It bounded V at V_th, which froze leak and driving forces there: V
    rose linearly, 1 mV/ms here, and every neuron with theta > 0 fired too early.)"""
    block, step = block_of("iaf_cond_exp_adaptive", V_m=-54.0, E_L=-40.0, V_th=-55.0,
                           theta=20.0, theta_plus=0.0, tau_theta=1e7)
    spikes, rec = step(n_steps=100)
    tau_m = 250.0 / 16.6667                                   # C_m / g_L (defaults), ms
    t = DT * np.arange(1, 101)
    assert len(spikes) == 0
    np.testing.assert_allclose(rec[:, 0, 0], -40.0 - 14.0 * np.exp(-t / tau_m), rtol=1e-9)


def test_adaptive_threshold_without_theta_plus_is_iaf_cond_exp():
    rng = np.random.default_rng(5)
    trains = [list(np.flatnonzero(rng.random(3000) < 0.08)[1:] * DT) for _ in range(4)]

    def run(model, **extra):
        net = bb.Network(dt=DT)
        net.spike_source("S", trains)
        net.population("N", 2, model, I_e=200.0, **extra)
        net.connect("S", "N", rule="explicit", sources=[0, 1, 2, 3], targets=[0, 0, 1, 1],
                    weight=np.array([20.0, -10.0, 25.0, -5.0]), delay=1.0)
        net.record("N", "spikes")
        net.record("N", "V_m")
        res = net.run(300.0)
        return res.spikes("N"), res.V_m("N")[2]

    (t0, i0), v0 = run("iaf_cond_exp")
    (t1, i1), v1 = run("iaf_cond_exp_adaptive", theta_plus=0.0)
    assert len(t0) > 5
    np.testing.assert_array_equal(t0, t1)
    np.testing.assert_array_equal(i0, i1)
    np.testing.assert_array_equal(v0, v1)


# ------------------------------------------------------------- threshold lockout (t_lockout)
#: A neuron above threshold at the start (a spike in step 0) under a drive that brings it
#: from V_reset = -60 mV to V_th = -55 mV in C_m/g_L·ln(50/45) = 15 ms·0.105 = 1.6 ms
#: (I_e/g_L = 60 mV above E_L = -70 mV): 16 free steps after the 5 refractory ones.
DRIVEN = dict(V_m=-50.0, V_th=-55.0, V_reset=-60.0, E_L=-70.0, t_ref=0.5, I_e=1000.0,
              theta_plus=0.0)


@pytest.mark.parametrize("t_lockout,steps", [(3.0, 30), (3.04, 30), (3.06, 31), (5.0, 50)])
def test_lockout_spaces_the_spikes_by_its_steps_plus_one(t_lockout, steps):
    """A spike in step n locks steps n+1 … n+L, L = round(t_lockout/dt); V, free after the
    5 refractory steps, is above threshold long before (16 steps), so the next spike is
    in step n+L+1: interspike intervals of exactly (L + 1)·dt. Without the lockout the
    neuron fires every 5 + 17 steps or so, far more often."""
    _, step = block_of("iaf_cond_exp_adaptive", t_lockout=t_lockout, **DRIVEN)
    spikes, _ = step(n_steps=200)
    assert list(spikes) == list(range(0, 200, steps + 1))
    _, step = block_of("iaf_cond_exp_adaptive", **DRIVEN)
    free, _ = step(n_steps=200)
    assert 15 < np.diff(free).max() < 30


def test_V_integrates_freely_beyond_the_threshold_during_the_lockout():
    """After a spike V is held at V_reset for the refractory steps (0 … 5), then relaxes
    freely towards E_L + I_e/g_L = -10 mV with tau_m = C_m/g_L (the exact solution, RK4 to
    1e-9 mV), unbounded: through V_th + theta (-55 + 2 mV, at 15 ms·ln(50/43) = 2.3 ms,
    step 28) and beyond, without a spike, until the first step after the lockout of 50
    steps (51) spikes and resets it."""
    block, step = block_of("iaf_cond_exp_adaptive", t_lockout=5.0, theta=2.0,
                           **{**DRIVEN, "V_m": -40.0})
    spikes, rec = step(n_steps=52)
    V = rec[:, 0, 0]
    assert list(spikes) == [0, 51]
    np.testing.assert_array_equal(V[:6], -60.0)
    g_L, C_m = 16.6667, 250.0                                       # defaults
    V_inf, t = -70.0 + 1000.0 / g_L, DT * np.arange(0, 46)          # steps 5 … 50
    np.testing.assert_allclose(V[5:51], V_inf + (-60.0 - V_inf) * np.exp(-t * g_L / C_m),
                               rtol=0, atol=1e-9)
    assert np.flatnonzero(V >= -53.0)[0] == 28 and V[50] > -50.0
    assert V[51] == -60.0
    assert list(block.lock) == [50] and list(block.r) == [5]


@pytest.mark.parametrize("t_lockout", [1.0, 2.0, 2.04])
def test_lockout_up_to_t_ref_changes_nothing(t_lockout):
    """With t_ref = 2 ms (20 steps) a lockout of up to 20 steps ends within the refractory
    period: spikes, V_m and theta as without it, under Poisson input (where a longer one
    changes the spikes)."""
    def run(**lockout):
        net = bb.Network(dt=DT, seed=3)
        pop = net.population("T", 4, "iaf_cond_exp_adaptive", I_e=300.0, theta_plus=0.5,
                             tau_theta=30.0, t_ref=2.0, **lockout)
        net.connect(net.poisson("p", 4000.0), pop, weight=4.0, delay=1.0)
        net.connect(net.poisson("q", 1000.0), pop, weight=-3.0, delay=1.0)
        net.record(pop, "spikes")
        net.record(pop, "V_m")
        net.record(pop, "theta")
        r = net.run(300.0)
        return r.spikes("T"), r.V_m("T")[2], r.samples("T", "theta")[2]

    (t0, i0), v0, th0 = run()
    (t1, i1), v1, th1 = run(t_lockout=t_lockout)
    (t2, _), _, _ = run(t_lockout=15.0)      # a lockout beyond the shortest intervals (13 ms)
    assert len(t0) > 40 and len(t2) < len(t0)
    for a, b in ((t0, t1), (i0, i1), (v0, v1), (th0, th1)):
        np.testing.assert_array_equal(a, b)


def test_lockout_through_a_checkpoint_resumes_exactly(tmp_path):
    """A run checkpointed while neurons are locked out (50 ms lockout, checkpoint at 20 ms)
    and resumed gives the uninterrupted run's spikes: the lockout steps left are state."""
    from bigbrain.archive import ArchiveResult
    from test_checkpoint import cut_back

    def network(archive):
        net = bb.Network(dt=DT, seed=5, archive=archive)
        pop = net.population("T", 6, "iaf_cond_exp_adaptive", I_e=[300.0, 500.0] * 3,
                             theta_plus=0.5, t_lockout=50.0, V_m=bb.uniform(-70.0, -50.0))
        net.connect(net.poisson("p", 3000.0), pop, weight=4.0, delay=1.0)
        net.record(pop, "spikes")
        return net

    full = tmp_path / "full.zarr"
    network(bb.Archive(full, checkpoint_every=10.0)).run(150.0)
    cut = cut_back(full, tmp_path / "cut.zarr", 200)
    resumed = bb.resume(cut)
    assert resumed.time == pytest.approx(20.0)
    (block,) = [b for b in resumed.build().blocks if hasattr(b, "lock")]
    assert np.any(block.lock > 0), "the checkpoint must fall inside lockouts"
    resumed.run(130.0)
    a, b = ArchiveResult(full).spikes("T"), ArchiveResult(cut).spikes("T")
    assert len(a[0]) >= 12 and np.diff(np.sort(a[0][a[1] == 1])).min() > 50.0
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_aeif_spike_adds_b_to_w_and_resets_to_V_reset():
    """aeif_cond_exp at V_peak: reset to V_reset in the same step, w += b, V held for
    t_ref; Delta_T = 0 detects at V_th instead."""
    block, step = block_of("aeif_cond_exp", V_m=-40.0, V_peak=-45.0, V_th=-50.0, Delta_T=2.0,
                           b=50.0, a=0.0, t_ref=0.3)
    block.V[:] = 10.0  # above V_peak
    spikes, rec = step(n_steps=4)
    assert list(spikes) == [0]
    np.testing.assert_array_equal(rec[:4, 0, 0], -60.0)  # reset, then held for 3 steps
    assert 49.0 < rec[0, 0, 3] <= 50.0
    block, step = block_of("aeif_cond_exp", V_m=-49.0, V_th=-50.0, V_peak=-20.0, Delta_T=0.0)
    spikes, rec = step(n_steps=1)
    assert list(spikes) == [0]
    assert -60.2 < rec[0, 0, 0] < -60.0  # t_ref = 0: V evolves from V_reset within the step


# ----------------------------------------------------------------------- checks and backends
@pytest.mark.parametrize("model,key,value", [
    ("iaf_cond_exp", "g_L", 0.0), ("iaf_cond_exp", "C_m", -1.0),
    ("iaf_cond_exp", "tau_syn_ex", 0.0), ("iaf_cond_alpha", "tau_syn_in", -2.0),
    ("iaf_cond_exp", "E_ex", float("nan")), ("iaf_cond_alpha", "V_th", float("inf")),
    ("iaf_cond_exp", "t_ref", -0.1), ("iaf_cond_exp_adaptive", "tau_theta", 0.0),
    ("iaf_cond_exp_adaptive", "theta_plus", -1.0), ("aeif_cond_exp", "tau_w", 0.0),
    ("iaf_cond_exp_adaptive", "t_lockout", -0.5), ("iaf_cond_exp_adaptive", "t_lockout", math.inf),
    ("iaf_cond_exp_adaptive", "t_lockout", float("nan")),
    ("aeif_cond_exp", "Delta_T", -1.0), ("aeif_cond_exp", "g_L", float("-inf")),
    ("aeif_cond_exp", "C_m", float("nan")), ("aeif_cond_alpha", "g_L", 0.0),
    ("aeif_cond_alpha", "tau_syn_ex", 0.0), ("aeif_cond_alpha", "tau_w", -1.0),
    ("aeif_cond_alpha", "Delta_T", -0.5),
])
def test_bad_parameter_names_the_field(model, key, value):
    net = bb.Network()
    with pytest.raises(bb.ModelError, match=rf"^population 'A'\.{key}: must be"):
        net.population("A", 2, model, **{key: value})


@pytest.mark.parametrize("params,field", [
    ({"V_peak": -55.0}, "V_peak"),  # below V_th = -50.4
    ({"V_reset": 0.0}, "V_reset"),  # not below V_peak = 0
    ({"Delta_T": 0.01, "V_peak": 20.0}, "V_peak"),  # exp overflows
])
@pytest.mark.parametrize("model", ["aeif_cond_exp", "aeif_cond_alpha"])
def test_aeif_relations_name_the_field(params, field, model):
    with pytest.raises(bb.ModelError, match=rf"^population 'A'\.{field}: "):
        bb.Network().population("A", 2, model, **params)


def test_aeif_reset_above_threshold_is_allowed_as_in_nest():
    bb.Network().population("A", 2, "aeif_cond_exp", V_reset=-45.0, V_th=-50.0, V_peak=0.0)


def test_iaf_cond_reset_must_lie_below_threshold():
    with pytest.raises(bb.ModelError, match=r"^population 'A'\.V_reset: must be below V_th"):
        bb.Network().population("A", 2, "iaf_cond_exp", V_reset=-50.0, V_th=-55.0)


@pytest.mark.slow
def test_cuda_path_runs_every_conductance_model_as_numpy(host_gpu, monkeypatch):  # noqa: F811
    """The CUDA kernels (compiled for the CPU) through the CuPy backend's code path: every
    conductance-based model, parameters drawn per neuron and set per neuron between runs,
    give numpy's spikes and recordables (V_m, g_ex, g_in, w, theta) bit for bit; the build
    warns that the aeif models' exp and pow are the device's."""
    import warnings

    import networks
    reference = networks.cond_results()
    monkeypatch.setattr(bigbrain.simulation, "select_backend", lambda *args: host_gpu)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = networks.cond_results()
    networks.assert_identical(reference, got)
    assert all(len(reference[f"{p}_t_b"]) > 20 for p in networks.COND_POPULATIONS)
    assert [str(w.message) for w in caught] == [
        "population 'W'.model: on CUDA on the host aeif_cond_exp may differ from backend "
        "'numpy' in the last bit (its exponential term and spike-time estimate use the "
        "device's exp and pow, not the CPU's libm)",
        "population 'V'.model: on CUDA on the host aeif_cond_alpha may differ from backend "
        "'numpy' in the last bit (its exponential term and spike-time estimate use the "
        "device's exp and pow, not the CPU's libm)",
        "population 'H'.model: on CUDA on the host hh_cond_exp_traub may differ from backend "
        "'numpy' in the last bit (its rate functions use the device's exp, not the CPU's "
        "libm)"]


def _checkpointed(path, **archive):
    """Alpha, adaptive-threshold, aeif and hh neurons with per-neuron I_e, Poisson input and
    inhibition, archived to ``path``."""
    net = bb.Network(dt=0.1, seed=9, archive=bb.Archive(path, **archive))
    pops = [net.population(name, 20, model, I_e=bb.uniform(lo, hi), V_m=bb.uniform(-70.0, -56.0))
            for name, model, lo, hi in (("A", "iaf_cond_alpha", 280.0, 450.0),
                                        ("T", "iaf_cond_exp_adaptive", 300.0, 450.0),
                                        ("W", "aeif_cond_exp", 600.0, 900.0),
                                        ("V", "aeif_cond_alpha", 900.0, 1200.0),
                                        ("H", "hh_cond_exp_traub", 100.0, 300.0))]
    net.connect(net.poisson("noise", rate=2000.0), functools.reduce(operator.or_, pops),
                weight=2.0, delay=1.0)
    net.connect(pops[0], functools.reduce(operator.or_, pops[1:]), "fixed_indegree", indegree=5,
                weight=-2.0, delay=1.0)
    for pop in pops:
        net.record(pop)
    return net


@pytest.mark.slow
def test_cuda_path_resumes_conductance_models_as_the_cpu_runs_on(
        host_gpu, monkeypatch, tmp_path):  # noqa: F811
    """Checkpoint at 30 ms on the CUDA path (g, dg, w, theta, refractory steps, current
    input), resume there and run on: the spikes equal an uninterrupted CPU run."""
    from bigbrain.archive import ArchiveResult
    _checkpointed(tmp_path / "cpu.zarr").run(60.0)
    monkeypatch.setattr(bigbrain.simulation, "select_backend", lambda *args: host_gpu)
    _checkpointed(tmp_path / "gpu.zarr", checkpoint_every=30.0).run(30.0)
    net = bb.resume(tmp_path / "gpu.zarr")
    assert net.time == 30.0 and net.build().backend is host_gpu
    net.run(30.0)
    got, want = ArchiveResult(str(tmp_path / "gpu.zarr")), ArchiveResult(str(tmp_path / "cpu.zarr"))
    for pop in ("A", "T", "W", "V", "H"):
        assert len(want.spikes(pop)[0]) > 20
        for a, b in zip(got.spikes(pop), want.spikes(pop)):
            np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------- NEST
NEST_CASES = {
    # model: (parameters, I_e range pA, V_m tolerance mV, largest spike shift in steps)
    "iaf_cond_exp": ({}, (300.0, 600.0), 1e-4, 0),
    "iaf_cond_alpha": ({}, (300.0, 600.0), 1e-4, 0),
    "aeif_cond_exp": ({}, (600.0, 1200.0), 0.1, 1),
    "aeif_cond_alpha": ({}, (800.0, 1400.0), 0.1, 1),
}


@pytest.mark.nest
@pytest.mark.parametrize("model", NEST_CASES)
def test_single_neurons_under_identical_input_agree_with_nest(model):
    """8 neurons, each with its own excitatory (800 Hz, 2 nS) and inhibitory (400 Hz,
    −4 nS) spike train and I_e, 300 ms: the same spike steps (aeif: within the shift
    NEST itself shows between gsl_error_tol 1e-6 and 1e-3) and V_m within the tolerance
    (README: NEST's own spread and ours, benchmarks/cond_accuracy.py)."""
    pytest.importorskip("nest")
    params, I_e, tol, shift = NEST_CASES[model]
    case = cr.single_case(model, params, I_e=I_e, t_sim=300.0)
    got = cr.compare(cr.run_nest_single(case), cr.run_bigbrain_single(case), window=5)
    assert got["spikes"][0] >= 8, f"NEST gives too few spikes to compare: {got}"
    assert got["spikes"][0] == got["spikes"][1] and got["max_shift"] <= shift, got
    assert got["max_dV"] < tol, got


@pytest.mark.slow
@pytest.mark.nest
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coba_network_rate_and_cv_agree_with_nest(seed):
    """The COBA network (4,000 iaf_cond_exp, tests/cond_reference.py), the same explicit
    connectivity and initial V_m in both, 500 ms: mean rate and CV of the ISIs after
    100 ms within 5 % of NEST's (measured: equal, README)."""
    pytest.importorskip("nest")
    case, t_sim = cr.coba_case(seed), 500.0
    nest_rate, nest_cv = cr.rate_and_cv(cr.run_nest_coba(case, t_sim), t_sim, skip=100.0)
    rate, cv = cr.rate_and_cv(cr.run_bigbrain_coba(case, t_sim), t_sim, skip=100.0)
    assert nest_rate > 5.0, "the network must be active for the comparison to mean anything"
    assert rate == pytest.approx(nest_rate, rel=0.05) and cv == pytest.approx(nest_cv, rel=0.05), (
        (rate, cv), (nest_rate, nest_cv))


def test_parameters_given_per_neuron_equal_one_population_per_neuron():
    """The kernel reads each parameter through kernels.params.at: arrays with one value per
    neuron give what separate populations with those values give, bit for bit."""
    model = MODELS["aeif_cond_exp"]
    values = {"g_L": [20.0, 35.0], "I_e": [700.0, 900.0], "tau_syn_ex": [0.5, 2.0],
              "Delta_T": [0.0, 2.0], "V_peak": [-40.0, 0.0], "b": [10.0, 60.0]}
    runs = []
    for p, n in [({k: np.array(v) for k, v in values.items()}, 2)] + [
            ({k: v[j] for k, v in values.items()}, 1) for j in range(2)]:
        block, step = block_of("aeif_cond_exp", n)
        block.args = block.kernel_params({**model.complete("test", {}), **p}, DT)
        runs.append(step(ex=np.full(n, 5.0), n_steps=400))
    (spikes, rec), *alone = runs
    assert len(spikes) > 4
    for j in range(2):
        np.testing.assert_array_equal(rec[:, j], alone[j][1][:, 0])


def test_model_file_round_trip_keeps_the_conductance_models(tmp_path):
    from bigbrain import modelfile
    from bigbrain.description import describe, fingerprint

    def sha(net):
        arrays = {}
        return fingerprint(describe(net, arrays), arrays)

    models = (*COND_MODELS, "hh_cond_exp_traub")
    net = bb.Network(seed=2)
    extra = {"iaf_cond_exp_adaptive": {"t_lockout": 12.5}}
    for model in models:
        net.population(model, 5, model, I_e=123.0, **extra.get(model, {}))
    net.set(net.populations["hh_cond_exp_traub"], Act_n=0.25)
    net.connect("aeif_cond_exp", "iaf_cond_exp_adaptive", rule="pairwise_bernoulli", p=0.3,
                weight=-5.0, delay=1.0)
    modelfile.write(net, tmp_path / "m.toml", t=10.0)
    back = modelfile.read(tmp_path / "m.toml").network()
    assert sha(back) == sha(net)
    assert [back.populations[m].model.name for m in models] == list(models)
    assert back.populations["hh_cond_exp_traub"].params["Act_n"] == 0.25
    assert back.populations["iaf_cond_exp_adaptive"].params["t_lockout"] == 12.5


def test_get_and_set_theta_reach_the_adaptive_threshold_state():
    """theta is a state variable (NEST's convention, as V_m): get returns the threshold
    increase now, not its initial value, and set changes the state of the built network."""
    net = bb.Network(dt=0.1, seed=1)
    pop = net.population("T", 3, "iaf_cond_exp_adaptive", I_e=[0.0, 400.0, 800.0],
                         theta=1.0, theta_plus=2.0, tau_theta=1e12)
    net.record(pop, "spikes")
    _, ids = net.run(50.0).spikes("T")
    fired = np.bincount(ids, minlength=3)
    assert fired[0] == 0 and fired[2] > fired[1] > 0
    np.testing.assert_allclose(net.get(pop, "theta"), 1.0 + 2.0 * fired, rtol=1e-6)
    net.set(pop, theta=[0.5, 0.0, 0.0])
    np.testing.assert_array_equal(net.get(pop, "theta"), [0.5, 0.0, 0.0])
    net.run(0.2)
    np.testing.assert_allclose(net.get(pop, "theta")[0], 0.5, rtol=1e-6)   # the state goes on


def test_h_max_sets_the_substeps_and_longer_ones_stay_close():
    """h_max (ms): the longest substep. The default (0.05 ms) is the integration without
    it; 0.25 ms takes 2 substeps of dt = 0.5 ms instead of 10 and stays within 2e-3 mV
    of it for an inhibitory Diehl & Cook neuron (fastest time constant about 0.8 ms)."""
    def run(**h):
        net = bb.Network(dt=0.5, seed=2)
        pop = net.population("N", 3, "iaf_cond_exp", C_m=10.0, g_L=1.0, E_L=-60.0, V_th=-40.0,
                             V_reset=-45.0, V_m=-60.0, tau_syn_ex=1.0, tau_syn_in=2.0, **h)
        net.connect(net.poisson("p", 300.0), pop, weight=3.0, delay=1.0)
        net.connect(net.poisson("q", 200.0), pop, weight=-4.0, delay=1.0)
        net.record(pop, "V_m")
        net.record(pop, "spikes")
        r = net.run(100.0)
        return net._simulation.blocks[0].args[cond.PARAMS.index("n_sub")], r.V_m("N")[2], r.spikes("N")
    (n0, v0, s0), (n1, v1, s1), (n2, v2, _) = run(), run(h_max=0.05), run(h_max=0.25)
    assert (n0, n1, n2) == (10, 10, 2)
    np.testing.assert_array_equal(v1, v0)
    assert len(s0[0]) > 10 and 1e-5 < np.abs(v2 - v0).max() < 2e-3
    with pytest.raises(bb.ModelError, match=r"^population 'N'\.h_max: must be finite and > 0"):
        bb.Network(dt=0.5).population("N", 1, "iaf_cond_exp", h_max=0.0)
