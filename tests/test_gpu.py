"""On a CUDA device: the CuPy backend gives the NumPy backend's results bit for bit.

Skipped, naming what is missing, where no device is usable (checked by device count, not
by import: CuPy imports without a device). benchmarks/gpu_check.sh runs this lane on a GPU
machine; with ``$BIGBRAIN_GPU_STANDIN=host`` the CUDA sources compiled for the CPU stand in
for the device (tests/cuda_host.py), and ``$BIGBRAIN_GPU_CHECK_TINY=1`` shrinks the networks,
so that the script itself is tested without a GPU.
"""
import os

import numpy as np
import pytest

import bigbrain.simulation
import cuda_host
import networks
from bigbrain import devices
from bigbrain.kernels import philox

STANDIN = os.environ.get("BIGBRAIN_GPU_STANDIN") == "host"
TINY = os.environ.get("BIGBRAIN_GPU_CHECK_TINY") == "1"
N_DEVICES, MISSING = (1, None) if STANDIN else devices.cuda_devices()
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(N_DEVICES == 0, reason=f"needs a CUDA device: {MISSING}")]
BRUNEL = {"N": 500, "t": 60.0} if TINY else {}
STDP = {"t": 60.0} if TINY else {}
WIDE = {"t": 20.0} if TINY else {}
COND = {"t": 40.0} if TINY else {}


@pytest.fixture(scope="module", autouse=True)
def device(tmp_path_factory):
    """backend 'cupy': the device, or the host build standing in for it."""
    if not STANDIN:
        yield
        return
    patch = pytest.MonkeyPatch()
    host = cuda_host.host_backend(tmp_path_factory.mktemp("cuda"))
    patch.setattr(bigbrain.simulation, "select_backend", cuda_host.select_standing_in(host))
    yield
    patch.undo()


def test_philox_bits_on_the_device_equal_numpy():
    if STANDIN:
        pytest.skip("tests/test_cuda_sources.py checks the host build")
    import cupy

    from bigbrain.kernels.gpu import launch
    rng = np.random.default_rng(1)
    counters = rng.integers(0, 2**32, (4096, 4), dtype=np.uint64).astype(np.uint32)
    out = cupy.zeros(counters.shape, np.uint32)
    launch("philox", "philox_words", (16,), (256,),
           (cupy.asarray(counters), np.int64(4096), np.uint32(99), np.uint32(7), out))
    ref = philox.philox4x32(*counters.T.astype(np.uint64), np.uint64(99), np.uint64(7))
    assert np.array_equal(out.get(), np.stack(ref, 1).astype(np.uint32))


@pytest.mark.parametrize("J_rel_std", [0.0, 0.1])
def test_brunel_spikes_and_V_m_equal_numpy(J_rel_std):
    networks.assert_identical(
        networks.brunel_results(J_rel_std=J_rel_std, backend="numpy", **BRUNEL),
        networks.brunel_results(J_rel_std=J_rel_std, backend="cupy", **BRUNEL))


@pytest.mark.parametrize("triplet", [False, True], ids=["stdp", "triplet"])
def test_stdp_network_spikes_and_weights_equal_numpy(triplet):
    networks.assert_identical(networks.stdp_results(backend="numpy", triplet=triplet, **STDP),
                              networks.stdp_results(backend="cupy", triplet=triplet, **STDP))


def test_stdp_kept_on_the_device_equals_numpy_and_uploads_nothing_per_interval():
    """One rank, every population on a device kernel: the STDP history is recorded and the
    spikes grouped on the device (CuPy's sorts on a GPU), and after the first spikes no
    interval copies anything to the device."""
    held = {}

    def first_spikes(net):
        net.run(5.0)
        held.update(net=net, counts=dict(getattr(net.build().backend.kernels, "counts", {})))

    reference = networks.stdp_results(backend="numpy", parrots=False, before_run=first_spikes,
                                      **STDP)
    got = networks.stdp_results(backend="cupy", parrots=False, before_run=first_spikes, **STDP)
    networks.assert_identical(reference, got)
    assert held["net"].build().backend.kernels.counts["to_device"] == held["counts"]["to_device"]


def test_wide_network_with_32_bit_targets_equals_numpy():
    """> 65,536 columns: uint32 targets, per-synapse weights and delays, multiplicative STDP."""
    reference = networks.wide_results(backend="numpy", **WIDE)
    assert list(reference["post_dtypes"]) == ["uint32"]
    networks.assert_identical(reference, networks.wide_results(backend="cupy", **WIDE))


def test_auto_takes_the_gpu_and_stores_synapses_as_compactly_as_the_cpu():
    """The same bytes per synapse (targets, weights, delays); the row pointers are int64 on
    a device (the CUDA kernels' index type), in blocks on the CPU."""
    import bigbrain as bb
    from bigbrain.models import brunel
    held = {}
    for backend in ("numpy", "auto"):
        net = bb.Network(seed=1, backend=backend)
        brunel(net, N=1000 if TINY else 5000)
        sim = net.build()
        held["gpu" if backend == "auto" else "cpu"] = (
            sim.backend.name, sum(p.nbytes() - p.row_starts.nbytes for p in sim.static),
            [len(p.row_starts) if p.device_ptr is None else
             (p.device_ptr.dtype.itemsize, p.device_ptr.size) for p in sim.static])
    assert held["gpu"][0] != "numpy" and held["gpu"][1] == held["cpu"][1]
    assert [(8, n) for n in held["cpu"][2]] == held["gpu"][2]


def _per_neuron_records(backend):
    """iaf_psc_exp with per-neuron I_e and V_m, then per-neuron sets (V_m, I_e, tau_m of
    a part) between runs: spikes, V_m and I_syn_ex."""
    import bigbrain as bb
    net = bb.Network(backend=backend)
    pop = net.population("N", 4, "iaf_psc_exp", I_e=np.linspace(300.0, 400.0, 4),
                         V_m=np.linspace(-70.0, -60.0, 4))
    net.record(pop)
    net.record(pop, ["V_m", "I_syn_ex"])
    first = net.run(5.0)
    net.set(pop, I_e=np.array([380.0, 420.0, 400.0, 450.0]), V_m=-58.0)
    net.set(pop[:2], tau_m=12.0)
    second = net.run(20.0)
    return {"E_t": np.concatenate([first.spikes("N")[0], second.spikes("N")[0]]),
            **{f"{var}_{k}": res.samples("N", var)[2] for k, res in enumerate((first, second))
               for var in ("V_m", "I_syn_ex")}, "I_e": net.get(pop, "I_e")}


def test_per_neuron_parameters_and_sets_equal_numpy():
    cpu, gpu = _per_neuron_records("numpy"), _per_neuron_records("cupy")
    assert set(np.unique(gpu["I_e"])) == {380.0, 420.0, 400.0, 450.0}
    assert len(cpu["E_t"]) > 0
    for key in cpu:
        assert np.array_equal(cpu[key], gpu[key]), key


def test_conductance_models_with_per_neuron_parameters_equal_numpy():
    """iaf_cond_exp, iaf_cond_alpha, iaf_cond_exp_adaptive (+ − × ÷ only) and iaf_psc_exp,
    parameters per neuron, recurrent: every spike and recordable bit for bit."""
    networks.assert_identical(networks.cond_results(backend="numpy", names="EATP", **COND),
                              networks.cond_results(backend="cupy", names="EATP", **COND))


@pytest.mark.parametrize("name", ["W", "V", "H"],
                         ids=["aeif_cond_exp", "aeif_cond_alpha", "hh_cond_exp_traub"])
def test_models_with_exp_of_the_state_follow_numpy(name):
    """aeif_cond_exp, aeif_cond_alpha, hh_cond_exp_traub alone (Poisson input, per-neuron
    parameters): the host stand-in is glibc's exp and pow, so bit for bit; on a device
    they are libdevice's (a few ulps), so the same spikes and recordables within 1e-9
    relative (a bound, not measured yet)."""
    cpu, gpu = (networks.cond_results(backend=b, names=name, **COND) for b in ("numpy", "cupy"))
    assert cpu.keys() == gpu.keys() and len(cpu[f"{name}_t_b"]) > 10
    for key in cpu:
        if STANDIN or "_t_" in key or "_id_" in key or key == "E_t":
            assert np.array_equal(cpu[key], gpu[key]), key
        else:
            np.testing.assert_allclose(gpu[key], cpu[key], rtol=1e-9, atol=1e-9, err_msg=key)


def test_tsodyks_synapse_refused_at_build():
    """The GPU backend has no tsodyks_synapse kernel yet: the build names it (before any
    synapse is placed) instead of running something else."""
    import bigbrain as bb
    net = bb.Network(dt=0.1, backend="cupy")
    cells = net.population("E", 4, "iaf_psc_exp")
    net.connect(cells, cells, weight=10.0, delay=1.0, synapse=bb.TsodyksSynapse())
    with pytest.raises(bb.ModelError, match="no kernel for tsodyks_synapse") as err:
        net.run(1.0)
    assert err.value.field == "connect[0] E->E.synapse"
