"""Backend selection, the GPU chosen per rank, the memory estimate, and the GPU code path
run on the CPU (the CUDA kernels compiled for the host) against the NumPy path."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

import bigbrain as bb
import bigbrain.simulation
import cuda_host
import networks
from bigbrain import backends, devices
from bigbrain.backends import NUMPY, Backend, memory
from bigbrain.models import brunel
from mpi_helpers import run_mpi

WORLD = MPI.COMM_WORLD
SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture
def no_device(monkeypatch):
    monkeypatch.setattr(devices, "cuda_devices", lambda: (0, "the CUDA runtime reports no device"))


def test_auto_is_numpy_without_a_device_and_says_so(no_device):
    with pytest.warns(UserWarning, match=r"backend 'auto' runs on the CPU \(NumPy\): backend "
                      r"'cupy' needs a CUDA device: the CUDA runtime reports no device"):
        auto = backends.select("auto", WORLD)
    assert auto.name == "numpy" and auto.kernels is NUMPY.kernels
    assert "fell back to the CPU" in auto.describe()["note"]
    assert backends.select("numpy", WORLD) is NUMPY


def test_archive_metadata_names_the_backend_that_ran(no_device, tmp_path):
    net = bb.Network(backend="auto", archive=bb.Archive(tmp_path / "run.zarr"))
    net.population("A", 3, "iaf_psc_delta")
    with pytest.warns(UserWarning, match="runs on the CPU"):
        net.run(1.0)
    import zarr
    backend = zarr.open_group(str(tmp_path / "run.zarr"), mode="r").attrs["bigbrain"][
        "segments"][0]["backend"]
    assert backend["requested"] == "auto" and backend["name"] == "numpy"
    assert backend["device"] == "CPU" and "needs a CUDA device" in backend["note"]


class _NoNvrtc:
    """CuPy on a machine with a driver but without NVRTC: compiling fails as CuPy's does
    when libnvrtc is missing."""

    class cuda:
        class Device:
            def __init__(self, device):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

    class RawModule:
        def __init__(self, code, **kwargs):
            pass

        def get_function(self, name):
            raise RuntimeError("CuPy failed to load libnvrtc.so.12: OSError: libnvrtc.so.12: "
                               "cannot open shared object file: No such file or directory")


def test_gpu_without_nvrtc_is_refused_naming_nvrtc(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "cupy", _NoNvrtc)
    monkeypatch.setattr(devices, "cuda_devices", lambda: (1, None))
    with pytest.raises(bb.ModelError, match=r"^backend: CuPy cannot compile the CUDA kernels on "
                       r"GPU 0: NVRTC, the CUDA runtime compiler, failed \(RuntimeError: CuPy "
                       r"failed to load libnvrtc.so.12.*'bigbrain\[gpu\]' \(CUDA 12\)"):
        backends.select("cupy", WORLD, device=0)
    with pytest.warns(UserWarning, match="runs on the CPU.*NVRTC"):
        assert backends.select("auto", WORLD, device=0).name == "numpy"


def test_gpu_extras_install_cupy_with_nvrtc():
    """cupy-cudaNNx installs no NVRTC; its ctk extra does (cuda-toolkit[...,nvrtc])."""
    import tomllib
    from pathlib import Path
    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]
    assert extras["gpu"] == ["cupy-cuda12x[ctk]>=14"]
    assert extras["gpu-cuda13"] == ["cupy-cuda13x[ctk]>=14"]


def test_explicit_cupy_without_a_device_names_what_is_missing(no_device):
    with pytest.raises(bb.ModelError, match=r"^backend: backend 'cupy' needs a CUDA device: "
                       r"the CUDA runtime reports no device"):
        backends.select("cupy", WORLD)


@pytest.mark.skipif(devices.cuda_devices()[0] > 0, reason="a CUDA device is present")
def test_this_machine_without_gpu_runs_auto_on_numpy_and_refuses_cupy():
    net = bb.Network(backend="auto")
    net.population("A", 3, "iaf_psc_delta")
    with pytest.warns(UserWarning, match="backend 'auto' runs on the CPU"):
        net.run(1.0)
    assert net.build().backend.name == "numpy"
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
comm = MPI.COMM_WORLD
ranks = comm.gather(devices.local_rank(comm))
sharing = comm.gather((devices.ranks_sharing(comm, 0), devices.ranks_sharing(comm, comm.rank),
                       devices.ranks_sharing(comm, None)))
if comm.rank == 0:
    print("LOCAL", *ranks, "CUDA_AWARE", devices.cuda_aware_mpi())
    print("SHARING", *(n for s in sharing for n in s))
"""


@pytest.mark.mpi
def test_node_local_ranks_under_mpiexec(tmp_path):
    script = tmp_path / "local_rank.py"
    script.write_text(LOCAL_RANK_SCRIPT)
    out = run_mpi(script, 2).stdout.split()
    assert out[:3] == ["LOCAL", "0", "1"]
    assert out[4] in ("True", "False")
    # both ranks on GPU 0: 2 share it; on GPUs 0 and 1: one each; the CPU: both
    assert out[5:] == ["SHARING", "2", "1", "2", "2", "1", "2"]


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
                       r"which has 1.00 GiB free per rank \(1.00 GiB free of 80.00 GiB"):
        gpu.check_memory(est)
    gpu.check_memory(memory.estimate(_brunel(1_000), 1))


def test_ranks_sharing_a_gpu_share_its_free_memory(monkeypatch):
    monkeypatch.setattr(devices, "free_memory", lambda device: (2**30 / 8, 80 * 2**30))
    gpu = Backend("cupy", np, None, device=0, label="GPU 0 (test)")
    est = memory.estimate(_brunel(20_000), 1)
    assert 2**30 / 32 < est.total < 2**30 / 8
    gpu.check_memory(est, sharing=1)
    with pytest.raises(bb.ModelError, match=r"on GPU 0 \(test\), which has 0.03 GiB free per "
                       r"rank \(0.12 GiB free of 80.00 GiB, 4 rank\(s\) on this GPU\)"):
        gpu.check_memory(est, sharing=4)


# ---------------------------------------------------------------------------- GPU path on the CPU
@pytest.fixture(scope="module")
def host_gpu(tmp_path_factory):
    """A backend that runs kernels/gpu.py and the CUDA sources, compiled for the CPU, on
    arrays that refuse host arrays as CuPy does (cuda_host.DeviceModule)."""
    if cuda_host.nvcc() is None:
        pytest.skip("nvcc is not on PATH")
    return cuda_host.host_backend(tmp_path_factory.mktemp("cuda"))


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



def test_gpu_path_resumes_a_checkpoint_as_the_cpu_runs_on(host_gpu, monkeypatch, tmp_path):
    """Checkpoint at 30 ms on the GPU path, resume there (host arrays restored into device
    arrays) and run on: the spikes equal an uninterrupted CPU run, STDP included."""
    from test_archive import archive, brunel, spikes_of
    brunel(archive(tmp_path / "cpu.zarr"), N=400, stdp=True).run(60.0)
    _on(host_gpu, monkeypatch)
    brunel(archive(tmp_path / "gpu.zarr", checkpoint_every=30.0), N=400, stdp=True).run(30.0)
    net = bb.resume(tmp_path / "gpu.zarr")
    assert net.time == 30.0
    net.run(30.0)
    got, want = spikes_of(tmp_path / "gpu.zarr"), spikes_of(tmp_path / "cpu.zarr")
    assert len(want["E"][0]) > 100
    for pop in want:
        for a, b in zip(got[pop], want[pop]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rises", [False, True], ids=["rows grow", "bound rises"])
def test_device_history_follows_the_host_history_where_rows_fill(host_gpu, rises):
    """The device's copy of the post-synaptic history (plasticity.DeviceHistory) stays equal
    to the host's bit for bit, interval after interval, when a row fills and the host drops
    entries by a new bound or grows the rows: then, and only then, it is uploaded again."""
    from bigbrain.plasticity import DeviceHistory, PostHistory
    host = PostHistory(np.array([20.0, 25.0, 30.0]), np.array([True, False, True]), 0.1)
    device = DeviceHistory(host, host_gpu, host_gpu.asarray(host.inv_tau_minus))
    kernels, pushes = host_gpu.kernels, 0
    for t in range(3, 120, 3):  # column 0 spikes every 3 steps, column 2 every 6
        cols, stamps = (np.array([0, 2]), np.array([t, t])) if t % 6 == 0 else \
            (np.array([0]), np.array([t]))
        bound, shape = host.bound, host.h.shape
        host.record(cols, stamps, (lambda: t - 15) if rises else (lambda: -1))
        on_device = kernels.put(cols), kernels.put(stamps)
        uploads = kernels.counts["to_device"]
        device.record(*on_device, bound)
        changed = host.bound != bound or host.h.shape != shape
        pushes += changed
        if t > 3:  # the first recording uploads the exp tables
            assert (kernels.counts["to_device"] > uploads) == changed
        for name in ("h", "kminus", "last_stamp"):
            assert np.array_equal(getattr(host, name), getattr(device, name)), (t, name)
    assert pushes >= 2 and (host.h.shape[1] > 30) != rises


STDP_RESIDENT = {"t": 25.0, "parrots": False}  # counted after 5 ms (5 intervals)


@pytest.mark.parametrize("triplet", [False, True], ids=["stdp", "triplet"])
def test_gpu_path_keeps_stdp_on_the_device_on_one_rank(host_gpu, monkeypatch, triplet):
    """One rank, every population on a device kernel: the post-synaptic history, the
    traces and the spikes that STDP reads stay on the device (the device records the
    history from its spike log and groups the spikes itself), so an interval uploads
    nothing once the first spikes have uploaded the kernels' tables; spikes, weights and
    weight recorder events equal NumPy's bit for bit."""
    counted = {}

    def first_spikes(net):
        net.run(5.0)
        counted.update(host_gpu.kernels.counts)

    reference = networks.stdp_results(triplet=triplet, before_run=first_spikes,
                                      **STDP_RESIDENT)
    _on(host_gpu, monkeypatch)
    got = networks.stdp_results(triplet=triplet, before_run=first_spikes, **STDP_RESIDENT)
    networks.assert_identical(reference, got)
    assert len(got["ev_t"]) > 0
    used = {k: v - counted[k] for k, v in host_gpu.kernels.counts.items()}
    assert used["to_device"] == 0 and used["launches"] > 0


@pytest.mark.parametrize("rule, warned", [
    ({}, None), ({"mu_plus": 0.0, "mu_minus": 0.0}, None),
    ({"mu_plus": 0.5}, r"mu_plus = 0.5: w\*\*mu comes from the device's pow"),
    ({"tau_plus": 1e6}, r"tau_plus = 1000000.0 ms: exponentials of gaps over 4194304 steps")])
def test_gpu_path_warns_where_stdp_leaves_the_cpus_libm(host_gpu, monkeypatch, rule, warned):
    """Powers w**mu (mu not 0 or 1) and exponentials past the tables use the device's
    libdevice functions, whose last bit may differ from glibc's: the build says so."""
    import warnings
    _on(host_gpu, monkeypatch)
    net = bb.Network(dt=0.1)
    a = net.population("A", 3, "iaf_psc_delta", tau_minus=20.0)
    net.connect(a, a, weight=1.0, synapse=bb.STDP(**rule))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.build()
    messages = [str(w.message) for w in caught]
    if warned is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert re.match(r"connect\[0\]\.synapse: on CUDA on the host STDP may differ from backend "
                        rf"'numpy' in the last bit \(.*{warned}", messages[0])


def test_gpu_path_with_32_bit_targets_equals_numpy(host_gpu, monkeypatch):
    """More than 65,536 columns on the rank: the uint32 instances of delivery and STDP."""
    reference = networks.wide_results()
    _on(host_gpu, monkeypatch)
    got = networks.wide_results()
    assert list(reference["post_dtypes"]) == ["uint32"]
    networks.assert_identical(reference, got)


MICROCIRCUIT = {"scale": 0.05, "t": 50.0}  # 5 ms warm-up, 45 ms counted


def test_gpu_path_step_stays_on_the_device_on_one_rank(host_gpu, monkeypatch):
    """On one rank a step of the microcircuit (one step per interval: min delay = dt) is one
    neuron launch for its 8 iaf_psc_exp populations, which compacts the spikes into the
    device's spike log, one delivery launch for its 64 projections reading them there, and
    one for the Poisson input of its 8 projections every 16 steps (its argument table
    uploaded once): at most 6 launches, no wait and no copy until the records are read
    (then the log comes back in at most two copies). The spikes equal NumPy's."""
    from bigbrain.models.microcircuit import POPULATIONS, microcircuit
    reference = networks.microcircuit_results(**MICROCIRCUIT)
    _on(host_gpu, monkeypatch)
    net = bb.Network(dt=0.1, seed=1, backend="cupy")
    microcircuit(net, scale=MICROCIRCUIT["scale"])
    net.run(5.0)
    sim = net.build()
    counts, steps = dict(host_gpu.kernels.counts), sim.step
    sim.run(net.steps("t", MICROCIRCUIT["t"] - 5.0))
    assert sim.interval == 1
    n = sim.step - steps
    used = {k: v - counts[k] for k, v in host_gpu.kernels.counts.items()}
    assert used["launches"] <= 6 * n and used["syncs"] == 0
    assert used["launches"] == 2 * n + math.ceil(n / 16)  # Poisson: windows of 16 steps
    assert used["to_host"] == used["to_device"] == 0
    copies = host_gpu.kernels.counts["to_host"]
    result = net.run(0.0)
    assert host_gpu.kernels.counts["to_host"] - copies <= 2
    networks.assert_identical(reference, networks.spikes_of(result, POPULATIONS), first="L4E")


@pytest.mark.mpi
def test_gpu_path_copies_the_spikes_back_once_per_interval_on_two_ranks(host_gpu, tmp_path):
    """On two real ranks each interval's spikes come to the host for the exchange in one
    device-to-host copy (the count and the spikes together); the spikes equal NumPy's on
    one rank."""
    reference = networks.microcircuit_results(**MICROCIRCUIT)
    run_mpi(SCRIPTS / "gpu_step_costs.py", 2, host_gpu.kernels._launch.lib._name, tmp_path,
            MICROCIRCUIT["scale"], 5.0, MICROCIRCUIT["t"] - 5.0)
    for rank in range(2):
        costs = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert costs["intervals"] == 450 and costs["to_host"] == costs["intervals"]
    networks.assert_identical(reference, dict(np.load(tmp_path / "spikes.npz")), first="L4E")


def test_archive_telemetry_counts_the_gpu_paths_launches_syncs_and_copies(host_gpu, monkeypatch,
                                                                          tmp_path):
    import zarr
    _on(host_gpu, monkeypatch)
    net = bb.Network(dt=0.1, seed=1, archive=bb.Archive(tmp_path / "run.zarr"))
    brunel(net, N=300)
    net.run(20.0)
    steps = net.build().step
    ranks = zarr.open_group(str(tmp_path / "run.zarr"), mode="r")["telemetry/ranks"]
    launches, syncs, copies = (ranks[n][...] for n in ("launches", "syncs", "copies_to_host"))
    intervals = steps // net.build().interval
    assert syncs.sum() >= copies.sum() >= intervals       # the spikes come back each interval
    assert launches.sum() >= 2 * intervals                # neurons and delivery at least


def test_resume_of_an_archive_without_device_counters(tmp_path):
    """Archives written before the device counters existed resume without them."""
    import shutil
    path = tmp_path / "run.zarr"
    net = bb.Network(dt=0.1, seed=1, archive=bb.Archive(path, checkpoint_every=10.0))
    brunel(net, N=300)
    net.run(10.0)
    for name in ("launches", "syncs", "copies_to_host"):
        shutil.rmtree(path / "telemetry" / "ranks" / name)
    resumed = bb.resume(path)
    resumed.run(10.0)
    assert resumed.time == 20.0
