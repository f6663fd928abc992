"""Backend selection, the GPU chosen per rank, the memory estimate, and the GPU code path
run on the CPU (the CUDA kernels compiled for the host) against the NumPy path."""
import numpy as np
import pytest
from mpi4py import MPI

import bigbrain as bb
import bigbrain.simulation
import cuda_host
import networks
from bigbrain import backends, devices
from bigbrain.backends import NUMPY, Backend, memory
from bigbrain.kernels.gpu import CudaKernels
from bigbrain.models import brunel
from mpi_helpers import run_mpi

WORLD = MPI.COMM_WORLD


@pytest.fixture
def no_device(monkeypatch):
    monkeypatch.setattr(devices, "cuda_devices", lambda: (0, "the CUDA runtime reports no device"))


def test_auto_is_numpy_without_a_device(no_device):
    assert backends.select("auto", WORLD) is NUMPY
    assert backends.select("numpy", WORLD) is NUMPY


def test_explicit_cupy_without_a_device_names_what_is_missing(no_device):
    with pytest.raises(bb.ModelError, match=r"^backend: backend 'cupy' needs a CUDA device: "
                       r"the CUDA runtime reports no device"):
        backends.select("cupy", WORLD)


@pytest.mark.skipif(devices.cuda_devices()[0] > 0, reason="a CUDA device is present")
def test_this_machine_without_gpu_runs_auto_on_numpy_and_refuses_cupy():
    net = bb.Network(backend="auto")
    net.population("A", 3, "iaf_psc_delta")
    net.run(1.0)
    assert net.build().backend is NUMPY
    net = bb.Network(backend="cupy")
    net.population("A", 3, "iaf_psc_delta")
    with pytest.raises(bb.ModelError, match="needs a CUDA device"):
        net.run(1.0)


def test_unknown_backend_is_refused_with_a_suggestion():
    with pytest.raises(bb.ModelError, match=r"^backend: unknown backend 'cuppy'.*'cupy'\?"):
        bb.Network(backend="cuppy")


def test_device_is_the_node_local_rank_wrapped_over_the_devices(monkeypatch):
    monkeypatch.delenv(devices.ENV_DEVICE, raising=False)
    assert [devices.choose_device(r, 4) for r in range(6)] == [0, 1, 2, 3, 0, 1]


def test_device_override_by_argument_then_environment(monkeypatch):
    monkeypatch.setenv(devices.ENV_DEVICE, "2")
    assert devices.choose_device(0, 4) == 2
    assert devices.choose_device(0, 4, override=3) == 3
    with pytest.raises(ValueError, match="GPU 5 requested, this node has 4"):
        devices.choose_device(0, 4, override=5)


def test_device_out_of_range_is_a_model_error(monkeypatch):
    monkeypatch.setattr(devices, "cuda_devices", lambda: (2, None))
    with pytest.raises(bb.ModelError, match=r"^device: GPU 7 requested, this node has 2"):
        backends.select("cupy", WORLD, device=7)


LOCAL_RANK_SCRIPT = """
from mpi4py import MPI
from bigbrain import devices
ranks = MPI.COMM_WORLD.gather(devices.local_rank(MPI.COMM_WORLD))
if MPI.COMM_WORLD.rank == 0:
    print("LOCAL", *ranks, "CUDA_AWARE", devices.cuda_aware_mpi())
"""


@pytest.mark.mpi
def test_node_local_ranks_under_mpiexec(tmp_path):
    script = tmp_path / "local_rank.py"
    script.write_text(LOCAL_RANK_SCRIPT)
    out = run_mpi(script, 2).stdout.split()
    assert out[:3] == ["LOCAL", "0", "1"]
    assert out[4] in ("True", "False")


# ---------------------------------------------------------------------------- memory
def _brunel(N, **kwargs):
    net = bb.Network(dt=0.1, seed=1)
    brunel(net, N=N, **kwargs)
    return net


def test_estimate_of_brunel_follows_the_storage_layout():
    est = memory.estimate(_brunel(12_500), 1)
    assert est.n_synapses == 12_500 * (1000 + 250 + 1)
    assert est.parts["neurons"] == 24 * 12_500
    assert est.parts["synapses"] == 2 * 12_500 * 1250          # uint16 column, nothing else
    assert est.parts["rows"] == 8 * (10_000 + 2_500)           # one row pointer per source
    assert est.parts["poisson synapses"] == 40 * 12_500
    assert est.parts["ring buffers"] == 16 * 15 * 12_500 + 15 * 12_500


def test_estimate_per_rank_shrinks_with_ranks_and_index_width():
    one, four = (memory.estimate(_brunel(125_000), n) for n in (1, 4))
    # 125,000 columns need 4-byte targets, 31,250 per rank only 2 bytes
    assert four.parts["synapses"] == pytest.approx(one.parts["synapses"] / 8, rel=1e-3)
    assert four.total < one.total / 4


def test_estimate_counts_plastic_weights_and_exp_tables():
    stdp = bb.STDP(lambda_=0.01, mu_plus=0.0, mu_minus=0.0, Wmax=0.2)
    est = memory.estimate(_brunel(5_000, synapse=stdp), 1)
    assert est.parts["exp tables"] > 8 * 100_000
    static = memory.estimate(_brunel(5_000), 1)
    assert est.parts["synapses"] - static.parts["synapses"] == 8 * 4_000 * 400


def test_estimate_matches_what_the_build_holds():
    net = _brunel(3_000)
    est = memory.estimate(net, 1)
    sim = net.build()
    held = sum(p.nbytes() for p in sim.static)
    assert est.parts["synapses"] + est.parts["rows"] == pytest.approx(held, rel=0.02)


def test_too_large_for_the_device_fails_before_the_build_with_the_estimate(monkeypatch):
    monkeypatch.setattr(devices, "free_memory", lambda device: (2**30, 80 * 2**30))
    gpu = Backend("cupy", np, None, device=0, label="GPU 0 (test)")
    est = memory.estimate(_brunel(125_000), 1)
    with pytest.raises(bb.ModelError, match=r"^backend: the network needs about "
                       rf"{est.total / 2**30:.2f} GiB per rank \(.*synapses.*\) on GPU 0 \(test\), "
                       r"which has 1.00 GiB free of 80.00 GiB"):
        gpu.check_memory(est)
    gpu.check_memory(memory.estimate(_brunel(1_000), 1))


# ---------------------------------------------------------------------------- GPU path on the CPU
@pytest.fixture(scope="module")
def host_gpu(tmp_path_factory):
    """A backend that runs kernels/gpu.py and the CUDA sources, compiled for the CPU."""
    if cuda_host.nvcc() is None:
        pytest.skip("nvcc is not on PATH")
    lib = cuda_host.build(tmp_path_factory.mktemp("cuda"))
    return Backend("cuda-on-host", np, CudaKernels(np, cuda_host.HostLauncher(lib)))


def _on(backend, monkeypatch):
    monkeypatch.setattr(bigbrain.simulation, "select_backend", lambda *args: backend)


@pytest.mark.parametrize("J_rel_std", [0.0, 0.1])
def test_gpu_path_brunel_equals_numpy(host_gpu, monkeypatch, J_rel_std):
    reference = networks.brunel_results(J_rel_std=J_rel_std)
    _on(host_gpu, monkeypatch)
    networks.assert_identical(reference, networks.brunel_results(J_rel_std=J_rel_std))


@pytest.mark.parametrize("triplet", [False, True], ids=["stdp", "triplet"])
def test_gpu_path_stdp_network_equals_numpy(host_gpu, monkeypatch, triplet):
    reference = networks.stdp_results(triplet=triplet)
    _on(host_gpu, monkeypatch)
    networks.assert_identical(reference, networks.stdp_results(triplet=triplet))
