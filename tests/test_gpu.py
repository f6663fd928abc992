"""On a CUDA device: the CuPy backend gives the NumPy backend's results bit for bit.

Skipped, naming what is missing, where no device is usable (checked by device count, not
by import: CuPy imports without a device).
"""
import numpy as np
import pytest

import networks
from bigbrain import devices
from bigbrain.kernels import philox

N_DEVICES, MISSING = devices.cuda_devices()
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(N_DEVICES == 0, reason=f"needs a CUDA device: {MISSING}")]


def test_philox_bits_on_the_device_equal_numpy():
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
    networks.assert_identical(networks.brunel_results(J_rel_std=J_rel_std, backend="numpy"),
                              networks.brunel_results(J_rel_std=J_rel_std, backend="cupy"))


@pytest.mark.parametrize("triplet", [False, True], ids=["stdp", "triplet"])
def test_stdp_network_spikes_and_weights_equal_numpy(triplet):
    networks.assert_identical(networks.stdp_results(backend="numpy", triplet=triplet),
                              networks.stdp_results(backend="cupy", triplet=triplet))


def test_auto_takes_the_gpu_and_stores_synapses_as_compactly_as_the_cpu():
    import bigbrain as bb
    from bigbrain.models import brunel
    held = {}
    for backend in ("numpy", "auto"):
        net = bb.Network(seed=1, backend=backend)
        brunel(net, N=5000)
        sim = net.build()
        held[sim.backend.name] = sum(p.nbytes() for p in sim.static)
    assert held["cupy"] == held["numpy"]
