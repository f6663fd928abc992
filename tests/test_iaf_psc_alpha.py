"""iaf_psc_alpha beyond the NEST comparison (test_nest_equivalence.py): current input,
the GPU code path, model files, ``bigbrain run``, checkpoints and resume, 1 against 2
ranks."""
import numpy as np
import pytest

import bigbrain as bb
from bigbrain import modelfile
from bigbrain.archive import ArchiveResult
from bigbrain.cli import main as cli
from bigbrain.description import describe, fingerprint
from bigbrain.kernels import lif
from bigbrain.kernels.fixed_point import to_fixed
from bigbrain.neurons import MODELS
from test_backend import _on, host_gpu  # noqa: F401
from test_checkpoint import cut_back
from test_cli import bigbrain

T_MS = 100.0


def network(N=500):
    """A recurrent iaf_psc_alpha network (80 % E, 20 % I) driven by Poisson input, ~20 Hz."""
    net = bb.Network(dt=0.1, seed=7)
    p = dict(tau_m=10.0, C_m=250.0, tau_syn_ex=0.5, tau_syn_in=2.0, E_L=-65.0, V_th=-50.0,
             V_reset=-65.0, t_ref=2.0, V_m=bb.uniform(-65.0, -50.0))
    exc = net.population("E", N * 4 // 5, "iaf_psc_alpha", **p)
    inh = net.population("I", N // 5, "iaf_psc_alpha", **p)
    net.connect(exc, exc | inh, rule="fixed_indegree", indegree=N * 4 // 50, weight=30.0,
                delay=1.5)
    net.connect(inh, exc | inh, rule="fixed_indegree", indegree=N // 50, weight=-100.0,
                delay=0.8)
    net.connect(net.poisson("noise", rate=8000.0), exc | inh, weight=40.0, delay=1.0)
    net.record(exc, "spikes")
    net.record(inh, "spikes")
    net.record(exc[:3], "V_m")
    return net


def block(n, I_e=0.0, **params):
    """An iaf_psc_alpha block of ``n`` neurons at rest (V_m = E_L = -70 mV), default parameters."""
    p = MODELS["iaf_psc_alpha"].complete("N", {"I_e": I_e, **params})
    return MODELS["iaf_psc_alpha"].block(p, np.arange(n), 0, 0.1, np.full(n, -70.0))


def advance(b, ring_cur, n_steps, params=None, rings=None):
    """Run ``b`` alone through ``n_steps`` steps with current input ``ring_cur`` (and spike
    input ``rings``; ``params``: the kernel's parameters instead of ``b``'s); its recordables
    after each step (step, neuron, V_m / I_syn_ex / I_syn_in)."""
    n = len(b.gids)
    b.rec_idx = np.arange(n)
    b.prepare(n_steps)
    if rings is None:
        rings = np.zeros((4, n), np.int64), np.zeros((4, n), np.int64)
    out = np.zeros(n * n_steps, np.int64), np.zeros(n * n_steps, np.int64)
    state, (col0, *own) = b.kernel_args()[:len(b.STATE)], b.kernel_args()[len(b.STATE):-2]
    lif.iaf_psc_alpha(*state, *rings, ring_cur, col0, 0, n_steps, *(params or own), b.rec_idx,
                      b.rec_v, *out)
    return b.rec_v


def test_per_neuron_parameters_equal_each_neuron_alone():
    """Parameters given as one array per parameter (read through kernels/params.at) give
    each neuron the trajectory it has in a population of its own, bit for bit."""
    variants = [dict(I_e=400.0), dict(I_e=300.0, tau_m=15.0, C_m=200.0, tau_syn_ex=0.5,
                                      tau_syn_in=5.0, V_th=-58.0, t_ref=1.0, V_min=-71.0)]
    blocks = [block(1, **v) for v in variants]
    per_neuron = [np.array(values) for values in zip(*(b.args for b in blocks))]
    per_neuron[-2] = per_neuron[-2].astype(np.int64)  # refractory steps
    def spikes(n):  # 300 pA excitatory and -50 pA inhibitory in the first 4 steps
        return to_fixed(np.full((4, n), 300.0)), to_fixed(np.full((4, n), -50.0))
    both = advance(block(2), np.zeros((4, 2)), 600, per_neuron, spikes(2))
    for j, b in enumerate(blocks):
        alone = advance(b, np.zeros((4, 1)), 600, rings=spikes(1))
        np.testing.assert_array_equal(both[:, j], alone[:, 0])
    assert np.count_nonzero(np.diff(both[:, 1, 0]) < -5.0) >= 2, "neuron 1 must spike"


def test_current_input_acts_from_the_next_step_as_I_e_would():
    """A current read from ring_cur in step n acts from step n + 1 on (NEST's y0): 500 pA
    given in every step from step 0 gives I_e = 500 pA's trajectory one step later, bit for
    bit, and the slots read are cleared."""
    ring_cur = np.full((300, 2), 500.0)
    driven = advance(block(2), ring_cur, 300)[:, :, 0]
    constant = advance(block(2, I_e=500.0), np.zeros((3, 2)), 299)[:, :, 0]
    assert np.all(driven[0] == -70.0)
    assert np.array_equal(driven[1:], constant)
    assert np.count_nonzero(np.diff(constant[:, 0]) < -10.0) >= 2, "the neurons must spike"
    assert not ring_cur.any()


def test_gpu_path_equals_numpy(host_gpu, monkeypatch):
    """The CUDA kernel (compiled for the CPU) through kernels/gpu.py: the same spikes and V_m."""
    def records(backend):
        net = network()
        assert net.build().backend.name == backend
        result = net.run(50.0)
        return [result.spikes("E"), result.spikes("I"), result.V_m("E")]
    reference = records("numpy")
    _on(host_gpu, monkeypatch)
    got = records("cuda-on-host")
    assert len(reference[0][0]) > 100
    for a, b in zip(got, reference):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_model_file_round_trip(tmp_path):
    net = network()
    modelfile.write(net, tmp_path / "alpha.toml", t=T_MS)
    assert 'model = "iaf_psc_alpha"' in (tmp_path / "alpha.toml").read_text()
    back = modelfile.read(tmp_path / "alpha.toml").network()
    arrays = [{}, {}]
    assert (fingerprint(describe(back, arrays[0]), arrays[0])
            == fingerprint(describe(net, arrays[1]), arrays[1]))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The model file and the archive of its uninterrupted run by ``bigbrain run`` (1 rank)."""
    d = tmp_path_factory.mktemp("alpha")
    modelfile.write(network(), d / "alpha.toml", t=T_MS)
    assert cli(["run", str(d / "alpha.toml"), "--out", str(d / "full.zarr"),
                "--progress-every", "0"]) == 0
    return d / "alpha.toml", d / "full.zarr"


def assert_same_records(path, ref):
    got, want = ArchiveResult(path), ArchiveResult(ref)
    for name in ("E", "I"):
        (t, i), (t_ref, i_ref) = got.spikes(name), want.spikes(name)
        assert len(t_ref) > 150, "the network must be active for the test to mean anything"
        np.testing.assert_array_equal(t, t_ref, err_msg=f"{name} times")
        np.testing.assert_array_equal(i, i_ref, err_msg=f"{name} ids")
    for a, b in zip(got.V_m("E"), want.V_m("E")):
        np.testing.assert_array_equal(a, b)


def test_resume_from_a_checkpoint_equals_the_uninterrupted_run(tmp_path, uninterrupted):
    """Checkpointed at 50 ms, where the alpha currents and their derivatives are far from
    zero, cut back there and resumed: the records equal the uninterrupted run's."""
    model, full = uninterrupted
    assert cli(["run", str(model), "--out", str(tmp_path / "cp.zarr"), "--checkpoint-every",
                "50", "--progress-every", "0"]) == 0
    cut = cut_back(tmp_path / "cp.zarr", tmp_path / "cut.zarr", 500)
    assert cli(["resume", str(cut), "--t", str(T_MS)]) == 0
    assert_same_records(cut, full)


@pytest.mark.mpi
def test_two_ranks_equal_one(tmp_path, uninterrupted):
    model, full = uninterrupted
    bigbrain("run", model, "--out", tmp_path / "two.zarr", "--progress-every", "0", ranks=2)
    assert_same_records(tmp_path / "two.zarr", full)
