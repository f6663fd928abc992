"""Diehl & Cook digit learning (bigbrain.models.diehl_cook) and hardware-aware synapse
writes (bigbrain.models.synapses) on tiny configurations."""
import numpy as np
import pytest

import bigbrain as bb
from bigbrain.models import diehl_cook as dc
from bigbrain.models.synapses import Hardware, quantise

pytest.importorskip("sklearn")
FAST = dict(present_ms=60.0, rest_ms=20.0)


@pytest.fixture(scope="module")
def digits():
    return dc.load_digits()


def tiny_model(n=4, record_inputs=False, **config):
    net = bb.Network(dt=0.5, seed=3)
    model = dc.DiehlCook(net, dc.Config(n_neurons=n, **{**FAST, **config}), 64)
    if record_inputs:
        net.record(net.populations["X"], "spikes")
    net.build()
    return net, model


def test_pipeline_trains_assigns_and_evaluates(digits, tmp_path):
    x, y, xt, yt = digits
    r = dc.diehl_cook(x[:4], y[:4], xt[:3], yt[:3], n_neurons=4, archive=tmp_path / "a.zarr",
                      out=None, weight_sum=40.0, **FAST)
    import zarr
    stored = zarr.open_group(str(tmp_path / "a.zarr"), mode="r")["learned"]
    np.testing.assert_array_equal(stored["weights"][...], r["weights"])
    assert r["weights"].shape == (4, 64)
    assert r["state"].seen.all() and r["state"].responses.sum() >= 4 * dc.MIN_SPIKES
    assert r["assignments"].shape == (4,) and set(r["assignments"]) <= set(y[:4])
    assert r["confusion"].sum() == 3 and r["accuracy"] == np.mean(r["predictions"] == yt[:3])
    assert (r["theta"] > 0).any()                                  # thresholds adapted
    pytest.importorskip("matplotlib")
    from bigbrain.analysis.digits import write_report
    folder = write_report(r, tmp_path / "a.zarr")
    assert (folder / "receptive_fields.png").stat().st_size > 0
    assert (folder / "confusion.png").stat().st_size > 0


@pytest.mark.parametrize("tau_syn, dt", [(1.0, 0.5), (2.0, 0.5), (1.0, 0.1), (5.0, 1.0)])
def test_held_drive_is_the_integral_of_a_conductance_held_over_euler_steps(tau_syn, dt):
    """One spike's conductance w·e^(−t/τ), held over each Euler step of dt at its value at
    the step's start, integrates to dt·Σ_k w·e^(−k·dt/τ): relative to the exact w·τ."""
    held = dt * sum(np.exp(-k * dt / tau_syn) for k in range(int(200 * tau_syn / dt)))
    assert dc.held_drive(tau_syn, dt) == pytest.approx(held / tau_syn, rel=1e-12)
    assert dc.held_drive(tau_syn, 1e-6 * dt) == pytest.approx(1.0, rel=1e-6)  # exact limit


def test_digits_carry_the_paper_weights_as_its_euler_steps_delivered_them():
    ex, inh = dc.held_drive(1.0, 0.5), dc.held_drive(2.0, 0.5)
    d = dc.DIGITS
    assert (d["weight_sum"], d["wmax"], d["w_ei"], d["w_ie"]) == pytest.approx(
        (6.4 * ex, ex, 10.4 * ex, 17.0 * inh), rel=1e-15)
    assert (d["nu_pre"], d["nu_post"]) == pytest.approx((1e-4 * ex, 1e-2 * ex), rel=1e-15)


def test_normalisation_gives_every_neuron_the_target_sum():
    net, model = tiny_model(weight_sum=7.5)
    before = model.conn.get("weight").reshape(4, 64).sum(axis=1)
    assert np.ptp(before) > 0.1                                    # random initial weights
    model.normalise(0)
    np.testing.assert_allclose(model.conn.get("weight").reshape(4, 64).sum(axis=1), 7.5,
                               rtol=1e-12)


def test_rates_follow_each_sample_and_stop_in_the_rest():
    net, model = tiny_model(record_inputs=True)
    first, second = np.zeros(64), np.zeros(64)
    first[:8], second[-8:] = 1.0, 1.0
    model.present(first, 400.0)
    mid = net.time
    model.present(second, 400.0)
    t, ids = net.run(0.0).spikes("X")
    assert set(ids[t <= mid]) <= set(range(8)) and len(ids[t <= mid]) > 20
    assert set(ids[t > mid]) <= set(range(56, 64)) and len(ids[t > mid]) > 20
    rest = (t > mid - FAST["rest_ms"] + 1.5) & (t <= mid)          # rest: rates set to 0
    assert not rest.any()


@pytest.mark.parametrize("per_step", ["poisson", "bernoulli"])
def test_input_trains_carry_the_count_per_step_asked_for(per_step):
    """At 1,500 Hz (0.75 spikes per step of 0.5 ms) Poisson counts stack, Bernoulli ones
    never exceed one; both at the rate asked for."""
    net, model = tiny_model(record_inputs=True, per_step=per_step)
    model.present(np.ones(64), 1500.0)
    t, ids = net.run(0.0).spikes("X")
    _, per_step_counts = np.unique(np.stack([np.rint(t / 0.5), ids]), axis=1, return_counts=True)
    if per_step == "bernoulli":
        assert per_step_counts.max() == 1
    else:
        assert per_step_counts.max() >= 2
    expected = 64 * 1500.0 * 60e-3
    assert abs(len(t) - expected) < 5 * np.sqrt(expected)


def test_intensity_rises_while_the_layer_is_silent(digits, monkeypatch):
    x, y, *_ = digits
    net, model = tiny_model(weight_sum=0.0)                       # no input: always silent
    rates = []
    present = model.present
    monkeypatch.setattr(model, "present", lambda image, rate: rates.append(rate) or present(image, rate))
    dc.train(model, x[:1].reshape(1, -1) / 16.0, y[:1], 1, dc.TrainingState(1, 4), out=None)
    steps = np.diff(rates)
    assert rates[0] == dc.MAX_RATE and len(rates) == dc.MAX_TRIES
    np.testing.assert_allclose(steps, dc.RATE_STEP)


def test_quantisation_gives_k_levels():
    w = np.random.default_rng(0).uniform(0, 1, 5000)
    for bits in (1, 2, 3):
        q = Hardware(bits=bits).write(w, 1.0, 1, 0)
        np.testing.assert_allclose(np.unique(q), np.linspace(0, 1, 2 ** bits))
        assert np.abs(q - w).max() <= 0.5 / (2 ** bits - 1) + 1e-12
    q = Hardware(levels=5, stochastic=True).write(2 * w, 2.0, 1, 0)
    assert set(np.unique(q)) <= set(np.linspace(0, 2, 5)) and len(np.unique(q)) == 5


def test_stochastic_rounding_is_unbiased():
    w = np.full(20000, 0.3)                                        # 3 levels: 0, 0.5, 1
    q = Hardware(levels=3, stochastic=True).write(w, 1.0, 7, 5)
    assert set(np.unique(q)) == {0.0, 0.5}
    p = 0.6                                                        # P(up) = 0.3 / 0.5
    assert abs(np.mean(q == 0.5) - p) < 4 * np.sqrt(p * (1 - p) / w.size)
    again = Hardware(levels=3, stochastic=True).write(w, 1.0, 7, 5)
    np.testing.assert_array_equal(q, again)                         # a pure function of the counter
    assert not np.array_equal(q, Hardware(levels=3, stochastic=True).write(w, 1.0, 7, 6))


def test_write_noise_is_multiplicative_and_clipped():
    w = np.full(20000, 0.5)
    noisy = Hardware(noise=0.1).write(w, 1.0, 1, 0)
    assert abs(noisy.mean() - 0.5) < 0.002 and abs(noisy.std() - 0.05) < 0.002
    assert Hardware(noise=5.0).write(w, 1.0, 1, 0).min() == 0.0
    assert Hardware(noise=5.0).write(w, 1.0, 1, 0).max() == 1.0


def test_quantise_nearest_rounds_half_down_and_clips():
    np.testing.assert_array_equal(quantise(np.array([0.25, 0.26, 1.2]), 1.0, 3), [0.0, 0.5, 1.0])


def test_resume_mid_epoch_equals_uninterrupted(digits, tmp_path):
    x, y, *_ = digits
    args = dict(n_neurons=3, out=None, checkpoint_every=1, weight_sum=40.0,
                hardware=Hardware(bits=3, stochastic=True), **FAST)
    whole = dc.diehl_cook(x[:3], y[:3], x[:1], y[:1], archive=tmp_path / "w.zarr", stop_after=3,
                          **args)
    dc.diehl_cook(x[:3], y[:3], x[:1], y[:1], archive=tmp_path / "r.zarr", stop_after=2,
                  **args)                                           # stops mid-epoch
    resumed = dc.diehl_cook(x[:3], y[:3], x[:1], y[:1], archive=tmp_path / "r.zarr",
                            resume=True, stop_after=1, **args)
    assert resumed["state"].index == 3 and resumed["state"].writes == whole["state"].writes
    np.testing.assert_array_equal(resumed["weights"], whole["weights"])
    np.testing.assert_array_equal(resumed["theta"], whole["theta"])
    np.testing.assert_array_equal(resumed["state"].responses, whole["state"].responses)


@pytest.mark.parametrize("field, kwargs, message", [
    ("images", dict(images=np.zeros((3, 2, 2, 2))), "expected an array of images"),
    ("images", dict(images=np.full((3, 64), np.nan)), "NaN"),
    ("images", dict(images=-np.ones((3, 64))), ">= 0"),
    ("labels", dict(labels=None), "missing"),
    ("labels", dict(labels=np.zeros(2, int)), "has 2 labels for 3 images"),
    ("test_labels", dict(test_labels=np.zeros(5, int)), "has 5 labels for 2 images"),
    ("test_images", dict(test_images=np.ones((2, 16))), "16 pixels"),
    ("n_neurons", dict(n_neurons=0), ">= 1"),
    ("epochs", dict(epochs=0), ">= 1"),
])
def test_bad_input_names_the_argument(field, kwargs, message):
    args = dict(images=np.ones((3, 64)), labels=np.zeros(3, int), test_images=np.ones((2, 64)),
                test_labels=np.zeros(2, int), n_neurons=2)
    with pytest.raises(bb.ModelError, match=message) as err:
        dc.diehl_cook(**{**args, **kwargs})
    assert str(err.value).startswith(field)


def test_bad_hardware_settings():
    with pytest.raises(bb.ModelError, match="^bits"):
        Hardware(bits=0)
    with pytest.raises(bb.ModelError, match="^levels"):
        Hardware(levels=1)
    with pytest.raises(bb.ModelError, match="^noise"):
        Hardware(noise=-0.1)


def test_mnist_idx_reader(tmp_path):
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x.idx"
    path.write_bytes(bytes([0, 0, 8, 3]) + b"".join(int(n).to_bytes(4, "big") for n in data.shape)
                     + data.tobytes())
    np.testing.assert_array_equal(dc.read_idx(path), data)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01")
    with pytest.raises(bb.ModelError, match="^mnist"):
        dc.read_idx(tmp_path / "bad")


@pytest.mark.mpi
@pytest.mark.slow   # about 70 s on a loaded 2-core machine (five MPI jobs)
def test_ranks_give_identical_weights_and_accuracy(tmp_path):
    """1, 2 and 4 ranks (the excitatory layer split across them; stochastic rounding and
    write noise on) learn bit-identical weights and make identical predictions; a run
    stopped mid-epoch on 2 ranks and resumed on 3 equals them too."""
    from pathlib import Path
    from mpi_helpers import run_mpi
    script = Path(__file__).parent / "scripts" / "digits_ranks.py"
    results = []
    for n in (1, 2, 4):
        run_mpi(script, n, tmp_path / f"{n}.npz", "train", timeout=300)
        results.append(np.load(tmp_path / f"{n}.npz"))
    run_mpi(script, 2, tmp_path / "start.npz", "start", tmp_path / "r.zarr", timeout=300)
    run_mpi(script, 3, tmp_path / "resumed.npz", "resume", tmp_path / "r.zarr", timeout=300)
    results.append(np.load(tmp_path / "resumed.npz"))
    assert results[0]["responses"].sum() > 0 and len(results[0]["predictions"]) == 3
    for other in results[1:]:
        for key in ("weights", "theta", "responses", "predictions"):
            np.testing.assert_array_equal(other[key], results[0][key])


def _triplet_weight(**post_params):
    """Weight after a pre train (every 10 ms) onto an iaf_cond_exp neuron driven to fire."""
    net = bb.Network(dt=0.1, seed=1)
    pre = net.spike_source("pre", [[10.0 * k for k in range(1, 30)]])
    post = net.population("post", 1, "iaf_cond_exp", I_e=1000.0, **post_params)
    conn = net.connect(pre, post, weight=0.5, delay=1.0, synapse=bb.TripletSTDP(
        tau_plus=20.0, Aplus=0.0, Aminus=1e-4, Aplus_triplet=1e-3, Aminus_triplet=0.0, Wmax=10.0))
    net.run(300.0)
    return conn.get("weight")[0]


def test_conductance_neurons_take_tau_minus_triplet():
    """The post-synaptic triplet trace of conductance neurons decays with their
    tau_minus_triplet (default 110 ms, as NEST's); it was not a parameter of them before,
    and the trace did not decay."""
    default = _triplet_weight()
    assert _triplet_weight(tau_minus_triplet=110.0) == default
    assert _triplet_weight(tau_minus_triplet=40.0) < default


def test_learn_command(tmp_path, capsys):
    from bigbrain.cli import main
    assert main(["learn", "mnist", "--out", str(tmp_path / "m.zarr")]) == 1
    assert capsys.readouterr().err.startswith("bigbrain learn: mnist: give the four idx files")
    out = tmp_path / "d.zarr"
    assert main(["learn", "digits", "--neurons", "3", "--train", "2", "--test", "2",
                 "--checkpoint-every", "1", "--bits", "4", "--out", str(out)]) == 0
    assert "on 2 held-out samples" in capsys.readouterr().out
    assert (tmp_path / "d.zarr.report" / "confusion.png").exists()
    assert np.load(f"{out}.weights.npy").shape == (3, 64)
    assert main(["info", str(out)]) == 0                          # a bigbrain archive
    import zarr
    theta = zarr.open_group(str(out), mode="r")["learned/theta"][...]
    steps = theta / dc.DIGITS["theta_plus"]         # the digits' theta_plus, not the paper's
    assert theta.max() > 0 and np.allclose(steps, np.round(steps), atol=0.05)


def test_threshold_adaptation_reaches_the_neurons():
    """Config's theta_plus and tau_theta are the excitatory neurons' (tau_theta was fixed at
    the paper's 1e7 ms)."""
    net, model = tiny_model(theta_plus=0.5, tau_theta=1e6)
    assert (net.get(model.E, "theta_plus") == 0.5).all()
    assert (net.get(model.E, "tau_theta") == 1e6).all()


def _frozen_spikes(model, images, lockout_ms=0.0):
    """Spikes (times ms, ids) of the excitatory layer of a frozen copy of ``model`` (its
    weights and theta) answering ``images``."""
    frozen = (model.conn.get("weight"), model.net.get(model.E, "theta"))
    config = dc.Config(n_neurons=len(frozen[1]), lockout_ms=lockout_ms, **FAST)
    test = dc.DiehlCook(bb.Network(dt=0.5, seed=4), config, 64, frozen=frozen)
    for image in images:
        test.respond(image)
    return test, test.net.run(0.0).spikes("E")


def test_frozen_copy_answers_as_iaf_cond_exp_with_the_learned_threshold(digits, monkeypatch):
    """The test mode holds theta (iaf_cond_exp_adaptive, theta_plus 0, no decay): without
    lockout its spikes are those of iaf_cond_exp neurons whose V_th is V_th + theta (the
    test mode before the lockout), spike for spike."""
    x, *_ = digits
    net, model = tiny_model(n=6)
    net.set(model.E, theta=np.random.default_rng(2).uniform(0.0, 4.0, 6))
    images = x[:4].reshape(4, -1) / 16.0
    test, (t, ids) = _frozen_spikes(model, images)
    np.testing.assert_array_equal(test.net.get(test.E, "theta"), net.get(model.E, "theta"))
    population = bb.Network.population

    def iaf_cond_exp(self, name, size, kind, **params):
        if kind == "iaf_cond_exp_adaptive":
            kind, theta = "iaf_cond_exp", params.pop("theta")
            params = {k: v for k, v in params.items()
                      if k not in ("theta_plus", "tau_theta", "t_lockout")}
            params["V_th"] = params["V_th"] + theta
        return population(self, name, size, kind, **params)

    monkeypatch.setattr(bb.Network, "population", iaf_cond_exp)
    plain, (t0, ids0) = _frozen_spikes(model, images)
    assert plain.E.model.name == "iaf_cond_exp" and len(t0) > 20
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_array_equal(ids, ids0)


def test_lockout_reaches_training_and_test_mode(digits):
    """Config.lockout_ms is the excitatory neurons' t_lockout in training and in the frozen
    copy, whose neurons then never fire twice within 50 ms (they do without it)."""
    x, *_ = digits
    net, model = tiny_model(lockout_ms=50.0)
    assert (net.get(model.E, "t_lockout") == 50.0).all()
    net.set(model.E, theta=np.zeros(4))
    images = x[:3].reshape(3, -1) / 16.0
    _, (t0, ids0) = _frozen_spikes(model, images)
    test, (t, ids) = _frozen_spikes(model, images, lockout_ms=50.0)
    assert (test.net.get(test.E, "t_lockout") == 50.0).all()
    gaps = lambda t, ids: np.concatenate([np.diff(t[ids == i]) for i in range(4)])  # noqa: E731
    assert gaps(t0, ids0).min() < 50.0 and len(t) >= 3
    assert gaps(t, ids).min() > 50.0


def test_learn_command_passes_per_step_and_lockout(monkeypatch):
    from bigbrain.cli import main
    seen = []

    def stop(*args, **kwargs):
        seen.append(kwargs)
        raise bb.ModelError("stopped", "here")

    monkeypatch.setattr(dc, "diehl_cook", stop)
    assert main(["learn", "digits", "--per-step", "poisson", "--lockout", "50"]) == 1
    assert main(["learn", "digits"]) == 1
    assert (seen[0]["per_step"], seen[0]["lockout_ms"]) == ("poisson", 50.0)
    assert "per_step" not in seen[1] and "lockout_ms" not in seen[1]    # Config's defaults
