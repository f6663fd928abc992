"""The CUDA sources compile with nvcc, and their arithmetic equals the Numba kernels'.

Without a GPU, the kernels are compiled for the CPU (tests/cuda/host_harness.cu, the same
__host__ __device__ functions the device runs) and driven through the launchers of
kernels/gpu.py with NumPy arrays; each kernel's results must equal the Numba kernel's bit
for bit. Skipped only where nvcc is not on PATH. With ``$BIGBRAIN_KERNEL_TARGET=device``
the same comparisons run on the CUDA device (benchmarks/gpu_check.sh).
"""
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cuda_host
from bigbrain.kernels import (cond, csr, delivery, exp_tables, hh, lif, philox, poisson, stdp,
                              stiff)
from bigbrain.kernels.fixed_point import to_fixed
from bigbrain.kernels.gpu import CudaKernels, kernel_names
from bigbrain.neurons import MODELS

SOURCES = sorted(cuda_host.SOURCES.glob("*.cu"))
ON_DEVICE = os.environ.get("BIGBRAIN_KERNEL_TARGET", "host") == "device"
needs_nvcc = pytest.mark.skipif(cuda_host.nvcc() is None, reason="nvcc is not on PATH")


@needs_nvcc
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_source_compiles_for_sm90(source, tmp_path):
    out = tmp_path / (source.stem + ".ptx")
    proc = subprocess.run([cuda_host.nvcc(), "--ptx", "-arch=sm_90", "-fmad=false",
                           "--std=c++17", "-o", str(out), str(source)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ".entry" in out.read_text()


def test_every_source_is_checked():
    assert {p.name for p in SOURCES} == {"philox.cu", "lif.cu", "cond.cu", "hh.cu",
                                         "delivery.cu", "stdp.cu"}



def test_every_model_has_its_kernels():
    """Each entry of CudaKernels.MODELS names a source that has its one-population kernel
    and its ``_segments`` kernel (what the device compiles), and every model with a
    kernel in bigbrain.neurons has an entry, hence a ``<model>_blocks`` method, or is
    one the GPU refuses (``CPU_ONLY``, which has none)."""
    names = kernel_names()
    for model, (source, kernel, _, _) in CudaKernels.MODELS.items():
        assert {kernel, kernel + "_segments"} <= set(names[source]), model
        assert hasattr(CudaKernels, model + "_blocks")
    assert {m.block.KERNEL for m in MODELS.values() if m.block.KERNEL} == \
        set(CudaKernels.MODELS) | set(CudaKernels.CPU_ONLY)
    assert not any(hasattr(CudaKernels, model + "_blocks") for model in CudaKernels.CPU_ONLY)

@pytest.mark.parametrize("source,module,prefix,last", [("cond.cu", cond, "K", "lock_counts"),
                                                       ("hh.cu", hh, "H", "refr_counts")])
def test_cond_parameter_positions_are_the_numba_kernels(source, module, prefix, last):
    """kernels/cuda/cond.cu (hh.cu) reads parameter k as the k-th of kernels/cond.py::PARAMS
    (kernels/hh.py::PARAMS; those that may differ between neurons: up to lock_counts,
    refr_counts)."""
    import re
    text = (cuda_host.SOURCES / source).read_text()
    names = re.findall(rf"\b{prefix}_(\w+)", text[text.index("enum"):].split("};")[0])
    assert names == [*module.PARAMS[:module.PARAMS.index(last) + 1], "COUNT"]


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    if not ON_DEVICE and cuda_host.nvcc() is None:
        pytest.skip("nvcc is not on PATH")
    return CudaKernels(np, cuda_host.kernel_launcher(tmp_path_factory.mktemp("cuda")))


def test_philox_words_equal_numpy(kernels):
    rng = np.random.default_rng(1)
    counters = rng.integers(0, 2**32, (1000, 4), dtype=np.uint64).astype(np.uint32)
    out = np.zeros_like(counters)
    kernels.launch("philox", "philox_words", (4,), (256,),
                   (counters, np.int64(1000), np.uint32(0xDEADBEEF), np.uint32(12345), out))
    ref = philox.philox4x32(*counters.T.astype(np.uint64), np.uint64(0xDEADBEEF), np.uint64(12345))
    assert np.array_equal(out, np.stack(ref, 1).astype(np.uint32))


def _ring(rng, L=20, n_columns=300):
    shape = (L, n_columns)
    return to_fixed(rng.normal(0.5, 2.0, shape)), to_fixed(-rng.exponential(1.0, shape))


def _current(rng, L=20, n_columns=300):
    """Current input (pA) of the ring length of :func:`_ring`."""
    return rng.normal(0.0, 100.0, (L, n_columns))


def _run_both(cpu, gpu, make_args, n_intervals=6):
    """Run both kernels on copies of the same arguments over several intervals; compare
    every output and every array argument."""
    args_cpu, args_gpu = make_args(), make_args()
    for t0 in range(0, n_intervals * 7, 7):
        k_cpu, k_gpu = cpu(*args_cpu(t0)), gpu(*args_gpu(t0))
        assert k_cpu == k_gpu
        for a, b in zip(args_cpu(t0), args_gpu(t0)):
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b)
    return k_cpu


@pytest.mark.parametrize("refractory_input", [False, True])
def test_iaf_psc_delta_equals_numba(kernels, refractory_input):
    def make():
        rng = np.random.default_rng(2)
        y3, ring = rng.uniform(0.0, 20.0, 250), _ring(rng)
        y0, r, acc = rng.normal(0.0, 50.0, 250), np.zeros(250, np.int64), np.zeros(250)
        current = _current(rng)
        rec_idx, rec_v = np.array([0, 3, 3, 249]), np.zeros((7, 4, 1))
        out = np.zeros(250 * 7, np.int64), np.zeros(250 * 7, np.int64)
        return lambda t0: (y3, y0, r, acc, *ring, current, 40, t0, 7, 0.25,
                           math.exp(-0.1 / 20.0), 3.0, 20.0, 10.0, 2.0, 20, refractory_input, 0.1,
                           20.0, -70.0, rec_idx, rec_v, *out)
    _run_both(lif.iaf_psc_delta, kernels.iaf_psc_delta, make)


def test_iaf_psc_exp_equals_numba(kernels):
    def make():
        rng = np.random.default_rng(3)
        V, ring = rng.uniform(0.0, 15.0, 250), _ring(rng)
        i_ex, i_in, r = rng.uniform(0, 300, 250), rng.uniform(-300, 0, 250), np.zeros(250, np.int64)
        i_0, current = rng.normal(0.0, 50.0, 250), _current(rng)
        rec_idx, rec_v = np.array([1, 7]), np.zeros((7, 2, 3))
        out = np.zeros(250 * 7, np.int64), np.zeros(250 * 7, np.int64)
        return lambda t0: (V, i_ex, i_in, i_0, r, *ring, current, 10, t0, 7, 0.995, 0.0009,
                           0.0007, 0.0399, 0.95, 0.9, 400.0, 15.0, 0.0, 20, -65.0, rec_idx, rec_v,
                           *out)
    _run_both(lif.iaf_psc_exp, kernels.iaf_psc_exp, make)


@pytest.mark.parametrize("V_min", [-math.inf, -3.0])
def test_iaf_psc_alpha_equals_numba(kernels, V_min):
    """Propagators of NEST's iaf_psc_alpha (tau_m 10 ms, tau_syn 0.5 / 3 ms), refractoriness
    and current input; with V_min, the lower bound acts."""
    from bigbrain.neurons.iaf_psc import iaf_propagator

    P_ex, P_in = iaf_propagator(0.5, 10.0, 250.0, 0.1), iaf_propagator(3.0, 10.0, 250.0, 0.1)

    def make():
        rng = np.random.default_rng(10)
        y3, ring = rng.uniform(-5.0, 15.0, 250), _ring(rng)
        dI_ex, I_ex = rng.uniform(0, 3000, 250), rng.uniform(0, 300, 250)
        dI_in, I_in = rng.uniform(-1000, 0, 250), rng.uniform(-300, 0, 250)
        y0, r, current = rng.normal(0.0, 50.0, 250), rng.integers(0, 3, 250), _current(rng)
        rec_idx, rec_v = np.array([0, 5, 5, 249]), np.zeros((7, 4, 3))
        out = np.zeros(250 * 7, np.int64), np.zeros(250 * 7, np.int64)
        return lambda t0: (y3, dI_ex, I_ex, dI_in, I_in, y0, r, *ring, current, 20, t0, 7,
                           0.000398, math.expm1(-0.01), 0.82, 0.082, *P_ex, 5.4, 0.97, 0.097,
                           *P_in, 0.9, 4000.0, 15.0, 0.0, V_min, 2, -65.0, rec_idx, rec_v, *out)
    assert _run_both(lif.iaf_psc_alpha, kernels.iaf_psc_alpha, make) > 0


@pytest.mark.parametrize("post_type", [np.uint16, np.uint32])
@pytest.mark.parametrize("per_synapse", [False, True])
def test_deliver_equals_numba(kernels, post_type, per_synapse):
    rng = np.random.default_rng(4)
    ptr = np.r_[0, np.cumsum(rng.integers(0, 30, 100))]
    n = ptr[-1]
    post = rng.integers(0, 300, n).astype(post_type)
    weight = (rng.integers(-2**31, 2**31, n).astype(np.int32) if per_synapse
              else np.zeros(0, np.int32))  # the full int32 range, shifted past 32 bits
    delay = rng.integers(1, 20, n).astype(np.uint8) if per_synapse else np.zeros(0, np.int64)
    src_gid, src_step = rng.integers(40, 160, 500), rng.integers(0, 50, 500)
    rings = [_ring(np.random.default_rng(5)) for _ in range(2)]
    args = (np.int64(50), ptr, post, weight, np.int64(5), np.int64(to_fixed(-0.3)), delay,
            np.int64(7))
    delivery.deliver(src_gid, src_step, *_on_cpu(args), *rings[0])
    kernels.deliver(src_gid, src_step, *args, *rings[1])
    assert np.array_equal(rings[0][0], rings[1][0]) and np.array_equal(rings[0][1], rings[1][1])


def _on_cpu(args):
    """A projection's CUDA ``deliver`` arguments (gid_lo, ptr, …) as the Numba kernel takes
    them (gid_lo, base, offset, …: the row pointers in blocks)."""
    gid_lo, ptr, *rest = args
    rows = csr.BlockPointers(ptr)
    return (gid_lo, rows.base, rows.offset, *rest)


def _projections(rng, post_type):
    """Four projections' deliver arguments: per-synapse or common weights, 1-, 2-byte or
    common delays, overlapping source ranges (positions 0 … 199), 300 columns."""
    projections = []
    for j, (delay_type, per_weight) in enumerate([(np.uint8, True), (np.uint16, False),
                                                  (None, True), (None, False)]):
        ptr = np.r_[0, np.cumsum(rng.integers(0, 20, 80))]
        n = int(ptr[-1])
        weight = (rng.integers(-2**31, 2**31, n).astype(np.int32) if per_weight
                  else np.zeros(0, np.int32))
        delay = (rng.integers(1, 20, n).astype(delay_type) if delay_type
                 else np.zeros(0, np.int64))
        projections.append((np.int64(30 * j), ptr, rng.integers(0, 300, n).astype(post_type),
                            weight, np.int64(3 + j), np.int64(to_fixed(0.2 - 0.15 * j)), delay,
                            np.int64(2 + j)))
    return projections


@pytest.mark.parametrize("post_type", [np.uint16, np.uint32])
def test_deliver_table_equals_numba_in_one_launch(kernels, post_type):
    """Every projection of :func:`_projections`, delivered by one launch."""
    if ON_DEVICE:  # the table holds host addresses, which a copy to the device cannot move
        pytest.skip("on the device through the CuPy backend: tests/test_gpu.py")
    rng = np.random.default_rng(10)
    projections = _projections(rng, post_type)
    src_gid, src_step = rng.integers(0, 200, 400), rng.integers(0, 50, 400)
    rings = [_ring(np.random.default_rng(11)) for _ in range(2)]
    launches = kernels.counts["launches"]
    delivery.deliver_table(src_gid, src_step, delivery.table(list(map(_on_cpu, projections))),
                           *rings[0])
    kernels.deliver_table(src_gid, src_step, kernels.table(projections), *rings[1])
    assert kernels.counts["launches"] == launches + 1
    assert np.array_equal(rings[0][0], rings[1][0]) and np.array_equal(rings[0][1], rings[1][1])
    assert not np.array_equal(rings[0][0], _ring(np.random.default_rng(11))[0])


def test_deliver_log_equals_numba_interval_by_interval(kernels):
    """Spikes appended to the spike log in three intervals (rank columns; a column without
    static targets among them) and delivered after each by one launch that reads the
    interval's range in the log: the ring buffers equal deliver_table's of each
    interval's spikes (as source positions)."""
    if ON_DEVICE:
        pytest.skip("on the device through the CuPy backend: tests/test_gpu.py")
    rng = np.random.default_rng(12)
    projections = _projections(rng, np.uint16)
    source_of = np.where(np.arange(300) % 7 == 0, -1, rng.integers(0, 200, 300))
    rings = [_ring(np.random.default_rng(13)) for _ in range(2)]
    log, table = kernels.spike_log(1000, 400), kernels.table(projections)
    launches = kernels.counts["launches"]
    for t0 in (0, 7, 14):
        cols, steps = rng.integers(0, 300, 150), t0 + rng.integers(0, 7, 150)
        at = log.buffer[0]
        log.buffer[log.HEADER + 2 * at:log.HEADER + 2 * (at + 150)] = \
            np.stack([cols, steps], 1).ravel()
        log.buffer[0] += 150
        kernels.deliver_log(log, source_of, table, *rings[1])
        src = source_of[cols]
        delivery.deliver_table(src[src >= 0], steps[src >= 0],
                               delivery.table(list(map(_on_cpu, projections))), *rings[0])
        assert np.array_equal(rings[0][0], rings[1][0]) and np.array_equal(rings[0][1], rings[1][1])
    assert kernels.counts["launches"] == launches + 3
    got_cols, got_steps = log.read()
    assert len(got_cols) == 450 and log.buffer[0] == 0


def _populations(model, rng):
    """The block_table arguments of three populations of ``model`` in columns 0 … 299
    (the second empty), with different currents, and the number of recordables."""
    blocks = []
    for col0, n, I_e in ((0, 120, 1.0), (120, 0, 0.0), (130, 170, 0.95)):
        if model == "iaf_psc_exp":
            state = (rng.uniform(0.0, 15.0, n), rng.uniform(0, 300, n), rng.uniform(-300, 0, n),
                     rng.normal(0.0, 50.0, n), np.zeros(n, np.int64))
            params, n_var = (0.995, 0.0009, 0.0007, 0.0399, 0.95, 0.9, 400.0 * I_e, 15.0, 0.0,
                             20, -65.0), 3
        else:
            state = (rng.uniform(0.0, 20.0, n), rng.normal(0.0, 50.0, n), np.zeros(n, np.int64),
                     np.zeros(n))
            params, n_var = (0.25, math.exp(-0.1 / 20.0), 3.0 * I_e, 20.0, 10.0, 2.0, 20, True,
                             0.1, 20.0, -70.0), 1
        rec_idx = np.array([0, 5]) if n else np.zeros(0, np.int64)
        blocks.append((*state, col0, *params, rec_idx, np.zeros((7, len(rec_idx), n_var))))
    return blocks


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta"])
def test_segments_equal_numba_blocks_in_one_launch(kernels, model):
    """Three populations of one model in one launch, over several intervals: states, ring
    buffers and samples equal kernels/lif.py's ``<model>_blocks``, and so do the spikes
    that the launch appended to the spike log (put in the CPU's order: population, step,
    neuron)."""
    if ON_DEVICE:  # the segment table holds host addresses
        pytest.skip("on the device through the CuPy backend: tests/test_gpu.py")
    cpu, gpu = (_populations(model, np.random.default_rng(4)) for _ in range(2))
    rings = [(*_ring(np.random.default_rng(5)), _current(np.random.default_rng(6)))
             for _ in range(2)]
    table, log = kernels.block_table(gpu), kernels.spike_log(2 * 300 * 7, 300 * 7)
    out = np.zeros(300 * 7, np.int64), np.zeros(300 * 7, np.int64)
    launches, n_spikes = kernels.counts["launches"], 0
    for t0 in range(0, 42, 7):
        k = getattr(lif, model + "_blocks")(lif.block_table(cpu), *rings[0], t0, 7, *out)
        getattr(kernels, model + "_blocks")(table, *rings[1], t0, 7, log)
        cols, steps = log.read()
        order = np.lexsort((cols, steps, cols >= 120))
        assert np.array_equal(cols[order], out[0][:k])
        assert np.array_equal(steps[order] - t0, out[1][:k])
        for a, b in zip([*rings[0], *(x for block in cpu for x in block)],
                        [*rings[1], *(x for block in gpu for x in block)]):
            assert np.array_equal(a, b)
        n_spikes += k
    assert kernels.counts["launches"] == launches + 6 + 6  # a segments launch, a log reset
    assert n_spikes > 20


@pytest.mark.parametrize("table, rate_per_step", [("poisson_cdf", 0.02), ("poisson_cdf", 2.0),
                                                  ("poisson_cdf", 150.0), ("bernoulli_cdf", 0.3),
                                                  ("bernoulli_cdf", 1.0)])
@pytest.mark.parametrize("one_weight", [None, 0.3, -0.3])  # else one delay and one weight
def test_poisson_input_equals_numba(kernels, table, rate_per_step, one_weight):
    rng = np.random.default_rng(6)
    n = 2 * poisson.CHUNK + 100  # several chunks of Philox words
    post, post_gid = rng.integers(0, 300, n), rng.integers(0, 2**31, n)
    ordinal, delay = rng.integers(0, 2**20, n), rng.integers(1, 20, n)
    weight = to_fixed(rng.normal(0, 0.2, n))
    if one_weight is not None:
        delay, weight = np.full(n, 7), np.full(n, to_fixed(one_weight))
    cdf, guide = getattr(poisson, table)(rate_per_step)
    key = philox.key_words(2**40 + 17)
    c2 = philox.purpose_word(5, 3)
    rings = [_ring(np.random.default_rng(7)) for _ in range(2)]
    for kernel, ring in zip((poisson.poisson_input, kernels.poisson_input), rings):
        for t0 in (0, 13, 26):
            kernel(t0, 13, post, post_gid, ordinal, delay, weight, cdf, guide, *key, c2, *ring)
    assert np.array_equal(rings[0][0], rings[1][0]) and np.array_equal(rings[0][1], rings[1][1])


def test_batched_poisson_input_equals_numba_in_one_launch(kernels):
    """Three Poisson projections (sizes, rates, weights, keys differ) in one launch per
    window of steps; calls of different steps fall back to one launch each. The ring
    buffers equal the Numba kernel's, call by call."""
    if ON_DEVICE:  # the call table holds host addresses
        pytest.skip("on the device through the CuPy backend: tests/test_gpu.py")
    rng = np.random.default_rng(8)
    calls = []
    for j, (n, rate) in enumerate(((300, 0.02), (0, 1.0), (1000, 2.0), (50, 150.0))):
        cdf, guide = poisson.poisson_cdf(rate)
        calls.append((rng.integers(0, 300, n), rng.integers(0, 2**31, n),
                      rng.integers(0, 2**20, n), rng.integers(1, 20, n),
                      to_fixed(rng.normal(0, 0.2, n)), cdf, guide,
                      *philox.key_words(2**40 + j), philox.purpose_word(5, j)))
    rings = [_ring(np.random.default_rng(9)) for _ in range(2)]
    launches = kernels.counts["launches"]
    for t0, steps in ((0, (13, 13, 13, 13)), (13, (13, 13, 13, 13)), (26, (5, 13, 13, 13))):
        for args, n_steps in zip(calls, steps):
            poisson.poisson_input(t0, n_steps, *args, *rings[0])
        with kernels.batched_poisson():
            for args, n_steps in zip(calls, steps):
                kernels.poisson_input(t0, n_steps, *args, *rings[1])
        assert np.array_equal(rings[0][0], rings[1][0]) and np.array_equal(rings[0][1], rings[1][1])
    assert kernels.counts["launches"] == launches + 1 + 1 + 3


def test_exp_tables_are_libm_and_end_at_zero():
    table = exp_tables.exp_div(0.1, 20.0)
    m = np.array([0, 1, 7, 1000, len(table) - 2])
    assert [table[k] for k in m] == [math.exp(-k * 0.1 / 20.0) for k in m]
    assert table[-1] == 0.0 and table[-2] > 0.0
    inv = exp_tables.exp_mul(0.1, 1.0 / 25.0)
    assert inv[123] == math.exp(-123 * 0.1 * (1.0 / 25.0))
    assert len(exp_tables.exp_div(0.1, 20.0, max_length=100)) == 100


@pytest.mark.parametrize("triplet", [False, True], ids=["stdp", "triplet"])
def test_stdp_deliver_equals_numba(kernels, triplet):
    """Random rows, delays, a post-synaptic history and several spikes per source in one
    interval; weights, traces, ring buffers and recorder events must be equal
    (stdp_synapse, and stdp_triplet_synapse with K+₃ and the K−₃ history)."""
    rng = np.random.default_rng(8)
    ptr = np.r_[0, np.cumsum(rng.integers(0, 12, 60))]
    n, n_cols = ptr[-1], 300
    post = rng.integers(0, n_cols, n).astype(np.uint16)
    delay = rng.integers(1, 30, n).astype(np.uint8)
    tau_minus = np.where(np.arange(n_cols) < 150, 25.0, 20.0)
    history_cols = rng.integers(0, n_cols, 3000)
    stamps = np.sort(rng.integers(1, 400, 3000))
    h = np.zeros((n_cols, stdp.stamp_at(62)), np.int64)
    h = (h, h.view(np.float64))
    kminus, last = np.zeros(n_cols), np.zeros(n_cols, np.int64)
    ht = np.zeros((n_cols, 62))
    post_triplet = ((np.zeros(n_cols), 1.0 / (tau_minus + 60.0), ht),) if triplet else ()
    assert stdp.record_post_spikes(history_cols, stamps, 0, np.ones(n_cols, bool), kminus, last,
                                   1.0 / tau_minus, 0.1, np.int64(-1), *h,
                                   *post_triplet) == len(stamps)
    exp_plus = exp_tables.exp_div(0.1, 20.0, max_length=40)  # shorter than most gaps: both paths
    minus = exp_tables.per_column(0.1, 1.0 / tau_minus, max_length=30)
    src_step = np.sort(rng.integers(380, 420, 200))
    src_gid = rng.integers(90, 160, 200)
    rec_row = np.zeros(60, bool)
    rec_row[::3] = True
    rec_syn = np.flatnonzero(np.repeat(rec_row, np.diff(ptr)))[::2].copy()
    w0 = rng.uniform(0.0, 0.3, n)
    states = [(w0.copy(), np.full(60, 0.5), np.zeros(60, np.int64), np.full(60, 2.0),
               *_ring(np.random.default_rng(9))) for _ in range(2)]
    exp_x = exp_tables.exp_div(0.1, 70.0, max_length=40)
    events = []
    gpu_kernel = kernels.deliver_triplet_stdp if triplet else kernels.deliver_stdp
    for kernel, (w, kplus, t_last, kx, ring_ex, ring_in) in zip((stdp.deliver, gpu_kernel), states):
        rule = ((kx, ht, exp_x, 70.0, 0.01, 0.02, 0.03, 0.01),) if triplet else ()
        for mode, mu, later in ((stdp.DELIVER_WEIGHT, 1.0, 0), (stdp.DELIVER_COUNT, 0.0, 50)):
            out = (np.zeros(2400, np.int64), np.zeros(2400, np.int64), np.zeros(2400))
            k = kernel(src_gid, src_step + later, 100, ptr, post, w, delay, np.int64(0), kplus,
                       t_last, *h, *minus, 1.0 / tau_minus, 0.1, exp_plus, 20.0,
                       0.05, 1.1, mu, mu, 0.3, mode, ring_ex, ring_in, rec_row, rec_syn, *out,
                       *rule)
            events.append([a[:k] for a in out])
    assert not np.array_equal(states[0][0], w0)
    for a, b in zip(*states):
        assert np.array_equal(a, b)
    for a, b in zip(events[:2], events[2:]):
        assert len(a[0]) > 0 and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("triplet", [False, True], ids=["stdp", "triplet"])
def test_record_post_spikes_equals_numba(kernels, triplet):
    """The post-synaptic history recorded on the device (stdp_record_post: spikes in any
    order, untracked columns, entries dropped by a bound that rises, gaps past the CPU's
    short tables) equals kernels/stdp.py::record_post_spikes on the host bit for bit:
    entries, K− (and K−₃) after each spike, traces and last stamps, interval by interval."""
    from bigbrain.plasticity import PostHistory
    rng, n_cols, dt = np.random.default_rng(21), 40, 0.1
    tau_minus = np.where(np.arange(n_cols) < 20, 25.0, 17.0)
    tracked = np.arange(n_cols) % 7 != 3
    cpu, gpu = (PostHistory(tau_minus, tracked, dt, tau_minus + 60.0 if triplet else None)
                for _ in range(2))
    inv_tau3 = 1.0 / (tau_minus + 60.0)
    for t0 in range(0, 3000, 100):  # intervals of 100 steps, rows of 10 entries
        cols = rng.integers(0, n_cols, 30)
        stamps = t0 + 1 + rng.integers(0, 100, 30)
        order = np.lexsort((stamps, cols))
        cols, stamps = cols[order], stamps[order]
        keep = np.r_[True, (cols[1:] != cols[:-1]) | (stamps[1:] != stamps[:-1])]
        cols, stamps = cols[keep], stamps[keep]
        bound = np.int64(t0 - 100)
        host = (cpu.kminus_triplet, cpu.inv_tau_minus_triplet, cpu.ht) if triplet else None
        args = (cpu.tracked, cpu.kminus, cpu.last_stamp, cpu.inv_tau_minus, dt, bound,
                cpu.h, cpu.hf)
        assert stdp.record_post_spikes(cols, stamps, 0, *args, host) == len(cols)
        shuffled = rng.permutation(len(cols))  # the device takes them in any order
        kernels.record_post_spikes(
            cols[shuffled].copy(), stamps[shuffled].copy(), gpu.tracked.astype(np.uint8),
            bound, gpu.h, gpu.hf, (gpu.kminus, gpu.last_stamp, 1.0 / tau_minus, dt),
            (gpu.kminus_triplet, inv_tau3, gpu.ht) if triplet else None)
        for name in ("h", "kminus", "last_stamp") + (("ht", "kminus_triplet") if triplet else ()):
            assert np.array_equal(getattr(cpu, name), getattr(gpu, name)), (t0, name)
    assert cpu.h[:, stdp.SIZE].max() >= 8 and cpu.h[tracked, stdp.SIZE].min() > 0
    assert not cpu.h[~tracked, stdp.SIZE].any()


# ------------------------------------------------------------ every model, per-neuron parameters
#: model -> (parameters of the homogeneous case, those that differ per neuron, the mean
#: excitatory and inhibitory weights of the spike input: mV, pA or nS)
MODEL_CASES = {
    "iaf_psc_delta": ({"I_e": 300.0, "refractory_input": True},
                      {"tau_m": (8.0, 20.0), "I_e": (250.0, 450.0), "t_ref": (0.5, 3.0),
                       "V_th": (-56.0, -52.0)}, (0.8, 0.8)),
    "iaf_psc_exp": ({"I_e": 300.0}, {"tau_m": (8.0, 20.0), "tau_syn_in": (1.0, 6.0),
                                     "C_m": (200.0, 300.0), "t_ref": (0.5, 3.0)}, (60.0, 60.0)),
    "iaf_psc_alpha": ({"I_e": 300.0, "V_min": -72.0},
                      {"tau_syn_ex": (0.3, 2.0), "E_L": (-72.0, -65.0), "t_ref": (0.5, 3.0),
                       "V_reset": (-75.0, -68.0)}, (60.0, 60.0)),
    "iaf_cond_exp": ({"I_e": 400.0}, {"I_e": (300.0, 600.0), "g_L": (12.0, 20.0),
                                      "tau_syn_ex": (0.2, 2.0), "t_ref": (0.5, 3.0)},
                     (3.0, 0.5)),
    "iaf_cond_alpha": ({"I_e": 400.0}, {"I_e": (300.0, 600.0), "C_m": (200.0, 300.0),
                                        "tau_syn_in": (1.0, 5.0), "E_in": (-90.0, -75.0)},
                       (3.0, 0.5)),
    "iaf_cond_exp_adaptive": ({"I_e": 450.0, "theta_plus": 2.0, "tau_theta": 50.0,
                               "t_lockout": 3.0},
                              {"theta_plus": (0.5, 3.0), "tau_theta": (20.0, 80.0),
                               "V_th": (-56.0, -52.0), "t_lockout": (0.0, 6.0)}, (3.0, 0.5)),
    "aeif_cond_exp": ({"I_e": 900.0, "t_ref": 0.3},
                      {"I_e": (700.0, 1200.0), "a": (0.0, 8.0), "b": (20.0, 100.0),
                       "Delta_T": (0.5, 3.0), "t_ref": (0.0, 1.0)}, (3.0, 0.5)),
    "aeif_cond_alpha": ({"I_e": 900.0, "t_ref": 0.3},
                        {"I_e": (700.0, 1200.0), "a": (0.0, 8.0), "tau_syn_ex": (0.2, 2.0),
                         "Delta_T": (0.5, 3.0), "t_ref": (0.0, 1.0)}, (3.0, 0.5)),
    "hh_cond_exp_traub": ({"I_e": 300.0}, {"I_e": (100.0, 500.0), "g_K": (5000.0, 7000.0),
                                           "tau_syn_ex": (2.0, 8.0), "t_ref": (1.0, 3.0),
                                           "V_T": (-65.0, -60.0)}, (6.0, 20.0)),
}
#: The Numba module of each model's kernel (the others: kernels/lif.py).
NUMBA = {**{model: cond for model in cond.MODELS}, "hh_cond_exp_traub": hh}


def _block(model, per_neuron, n, dt=0.1):
    """A block of ``model`` (bigbrain.neurons) with random initial state; with
    ``per_neuron``, the parameters of MODEL_CASES drawn per neuron (Delta_T: some 0)."""
    rng = np.random.default_rng(12)
    homogeneous, varied, _ = MODEL_CASES[model]
    given = dict(homogeneous)
    if per_neuron:
        given.update({k: rng.uniform(lo, hi, n) for k, (lo, hi) in varied.items()})
        if model.startswith("aeif"):
            given["Delta_T"][::4] = 0.0
    p = MODELS[model].complete("test", given)
    block = MODELS[model].block(p, np.arange(n), 0, dt, rng.uniform(-72.0, -50.0, n))
    for name in block.STATE:
        if name in ("g_ex", "g_in", "dg_ex", "dg_in", "w", "theta", "i_ex", "I_ex", "dI_ex"):
            getattr(block, name)[:] = rng.uniform(0.0, 20.0, n)
        if name in ("Act_m", "Inact_h", "Act_n"):
            getattr(block, name)[:] = rng.uniform(0.0, 1.0, n)
        if name == "lock":
            block.lock[:] = rng.integers(0, 40, n)
    block.rec_idx = np.array([0, 3, 3, n - 1])
    return block


def _drive(kernel, block, n_state, scale, n_intervals=40, steps=7, current=50.0):
    """Run ``kernel`` on ``block`` over n_intervals × steps steps with random excitatory,
    inhibitory and current input (standard deviation ``current``, pA) in every step (the
    same for every kernel); every output and state of every interval."""
    rng = np.random.default_rng(13)
    n = len(block.gids)
    L, n_columns, col0 = 20, n + 9, 4
    rings = np.zeros((2, L, n_columns), np.int64)
    ring_cur = np.zeros((L, n_columns))
    block.col0 = col0
    args = block.kernel_args()
    state, rest = args[:n_state], args[n_state + 1:-2]
    rec_v = np.zeros((steps, len(block.rec_idx), len(block.RECORDABLES)))
    out = np.zeros((2, n * steps), np.int64)
    history = []
    for t0 in range(0, n_intervals * steps, steps):
        for t in range(t0, t0 + steps):
            hit = rng.random((2, n_columns)) < 0.3
            rings[0, t % L] = to_fixed(scale[0] * rng.exponential(1.0, n_columns) * hit[0])
            rings[1, t % L] = to_fixed(-scale[1] * rng.exponential(1.0, n_columns) * hit[1])
            ring_cur[t % L] = rng.normal(0.0, current, n_columns)
        k = kernel(*state, *rings, ring_cur, col0, t0, steps, *rest, block.rec_idx, rec_v, *out)
        history.append([k, out[:, :k].copy(), rec_v.copy(), rings.copy(), ring_cur.copy(),
                        *(a.copy() for a in state if a is not None)])
    return history


@pytest.mark.parametrize("per_neuron", [False, True], ids=["homogeneous", "per-neuron"])
@pytest.mark.parametrize("model", list(MODEL_CASES))
def test_model_kernel_equals_numba(kernels, model, per_neuron):
    """Every model of bigbrain.neurons through its CUDA kernel (per-neuron parameters:
    lif.cu, cond.cu through kernels/cuda/params.cuh): spikes, every recordable
    (V_m, currents or g_ex, g_in, w, theta) and every state variable equal the Numba
    kernel's bit for bit over 280 steps of excitatory, inhibitory and current input."""
    if ON_DEVICE and per_neuron:  # parameter tables hold host addresses, which a copy cannot move
        pytest.skip("on the device through the CuPy backend: tests/test_gpu.py")
    conductance = model in cond.MODELS
    n, scale = 40, MODEL_CASES[model][2]
    n_state = len(MODELS[model].block.LAYOUT if conductance else MODELS[model].block.STATE)
    cpu_kernel = cond.cond if conductance else getattr(NUMBA.get(model, lif), model)
    gpu_kernel = kernels.cond if conductance else getattr(kernels, model)
    want = _drive(cpu_kernel, _block(model, per_neuron, n), n_state, scale)
    got = _drive(gpu_kernel, _block(model, per_neuron, n), n_state, scale)
    assert sum(h[0] for h in want) > 20, "the neurons must spike"
    for a, b in zip(want, got):
        assert a[0] == b[0]
        for x, y in zip(a[1:], b[1:]):
            assert np.array_equal(x, y)


@pytest.mark.parametrize("per_neuron", [False, True], ids=["homogeneous", "per-neuron"])
@pytest.mark.parametrize("model", [*cond.MODELS, "hh_cond_exp_traub"])
def test_stiff_substeps_equal_numba(kernels, model, per_neuron):
    """Large conductances, per neuron from 1 to 1e5 nS (excitatory) and 1e6 nS (inhibitory)
    per spike, so that substeps are refined up to 2^7 … 2^9 RK4 steps (kernels/stiff.py:
    STIFF, halvings): the CUDA kernel equals the Numba kernel bit for bit, spikes included."""
    if ON_DEVICE and per_neuron:  # parameter tables hold host addresses, which a copy cannot move
        pytest.skip("on the device through the CuPy backend: tests/test_gpu.py")
    n, n_columns = 40, 49  # _drive's columns
    scale = (np.geomspace(1.0, 1e5, n_columns)[::-1], np.geomspace(1.0, 1e6, n_columns))
    conductance = model in cond.MODELS
    block = MODELS[model].block
    n_state = len(block.LAYOUT if conductance else block.STATE)
    cpu_kernel = cond.cond if conductance else hh.hh_cond_exp_traub
    gpu_kernel = kernels.cond if conductance else kernels.hh_cond_exp_traub
    want = _drive(cpu_kernel, _block(model, per_neuron, n), n_state, scale, n_intervals=10)
    got = _drive(gpu_kernel, _block(model, per_neuron, n), n_state, scale, n_intervals=10)
    args = _block(model, False, n).args
    args = args if conductance else args[0]  # kernels/hh.py takes its parameters as a tuple
    params = NUMBA[model].PARAMS
    h, C_m = args[params.index("h")], args[params.index("C_m")]
    assert max(entry[2][..., 2].max() for entry in want) * h / C_m > 2 ** 6 * stiff.STIFF
    assert sum(h[0] for h in want) > 10, "the neurons must spike"
    for a, b in zip(want, got):
        assert a[0] == b[0]
        for x, y in zip(a[1:], b[1:]):
            assert np.array_equal(x, y)


@pytest.mark.parametrize("model", ["iaf_cond_exp", "iaf_cond_exp_adaptive"])
def test_subnormal_conductances_equal_numba(kernels, model):
    """Subnormal conductances (kernels/cond.py::_set_aside_tiny) at V = E_L = 0 mV without
    current, where they would move V if they acted on it: V stays +0.0 but where g_in is
    normal, and the CUDA kernel equals the Numba kernel bit for bit, with spike input."""
    sub = [5e-324, 3e-320, 2e-310, 0.0, 1e-3]
    n = len(sub) ** 2

    def block():
        p = MODELS[model].complete("test", {**MODEL_CASES[model][0], "I_e": 0.0,
                                            "E_L": 0.0, "V_reset": -10.0, "V_th": 15.0})
        b = MODELS[model].block(p, np.arange(n), 0, 0.1, np.zeros(n))
        b.g_ex[:], b.g_in[:] = np.repeat(sub, len(sub)), np.tile(sub, len(sub))
        b.rec_idx = np.array([0, n - 1])
        return b

    n_state = len(MODELS[model].block.LAYOUT)
    scale = (np.where(np.arange(n + 9) % 3 == 0, 1e-3, 0.0), np.zeros(n + 9))
    on_cpu, on_gpu = block(), block()
    want = _drive(cond.cond, on_cpu, n_state, scale, n_intervals=4, current=0.0)
    got = _drive(kernels.cond, on_gpu, n_state, scale, n_intervals=4, current=0.0)
    still = np.tile(sub, len(sub)) != 1e-3
    assert np.array_equal(on_cpu.V[still].view(np.int64), np.zeros(still.sum(), np.int64))
    assert (on_cpu.V[~still] < 0).all() and (on_cpu.g_ex > 1e-4).any()
    for a, b in zip(want, got):
        assert a[0] == b[0]
        for x, y in zip(a[1:], b[1:]):
            assert np.array_equal(x, y)


def _two_populations(model):
    """The kernel arguments of two populations of ``model`` (columns 0 … 29 with per-neuron
    parameters, 30 … 54 with numbers) for intervals of 7 steps."""
    blocks = [_block(model, True, 30), _block(model, False, 25)]
    for block, col0 in zip(blocks, (0, 30)):
        block.col0 = col0
        block.prepare(7)
    return [block.kernel_args() for block in blocks]


@pytest.mark.parametrize("model", list(MODEL_CASES))
def test_segments_of_every_model_equal_numba(kernels, model):
    """A population with per-neuron parameters and one with numbers in one
    ``<model>_segments`` launch over 40 intervals of spike and current input: the spikes
    of the spike log (in the CPU's order), samples, states and ring buffers equal the
    Numba ``<model>_blocks`` run on each population."""
    if ON_DEVICE:  # the segment table holds host addresses
        pytest.skip("on the device through the CuPy backend: tests/test_gpu.py")
    cpu, gpu = _two_populations(model), _two_populations(model)
    cpu_blocks = cond.cond_blocks if model in cond.MODELS else \
        getattr(NUMBA.get(model, lif), model + "_blocks")
    rng, scale, L = np.random.default_rng(15), MODEL_CASES[model][2], 20
    rings = [(np.zeros((L, 60), np.int64), np.zeros((L, 60), np.int64), np.zeros((L, 60)))
             for _ in range(2)]
    table, log = kernels.block_table(gpu), kernels.spike_log(2 * 55 * 7, 55 * 7)
    out, n_spikes = np.zeros((2, 55 * 7), np.int64), 0
    for t0 in range(0, 280, 7):
        for t in range(t0, t0 + 7):
            hit = rng.random((2, 60)) < 0.3
            step = (to_fixed(scale[0] * rng.exponential(1.0, 60) * hit[0]),
                    to_fixed(-scale[1] * rng.exponential(1.0, 60) * hit[1]),
                    rng.normal(0.0, 50.0, 60))
            for ring in rings:
                for r, x in zip(ring, step):
                    r[t % L] = x
        k = 0
        for args in cpu:
            k += cpu_blocks(lif.block_table([args]), *rings[0], t0, 7, out[0][k:], out[1][k:])
        getattr(kernels, model + "_blocks")(table, *rings[1], t0, 7, log)
        cols, steps = log.read()
        order = np.lexsort((cols, steps, cols >= 30))
        assert np.array_equal(cols[order], out[0][:k])
        assert np.array_equal(steps[order] - t0, out[1][:k])
        for a, b in zip([*rings[0], *(x for args in cpu for x in args)],
                        [*rings[1], *(x for args in gpu for x in args)]):
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b)
        n_spikes += k
    assert n_spikes > 20

def test_iaf_psc_delta_refractory_input_beyond_the_decay_underflow(kernels):
    """t_ref ≫ tau_m with refractory input: exp(−r·h/tau_m) underflows to 0 at r ≈ 7,450,
    before r reaches the 9,000 refractory steps, so libm's table ends there; the kernel
    must use 0 (as the CPU computes), never memory past the table (here NaN, as device
    memory may hold anything)."""
    table = exp_tables.exp_div(0.1, 1.0)
    assert len(table) < 9000
    kernels._tables[("div", 0.1, 1.0)] = np.r_[table, np.full(2000, np.nan)][:len(table)]

    def make():
        rng = np.random.default_rng(14)
        y3, ring = np.full(4, 30.0), _ring(rng, n_columns=10)
        y0, r, acc = np.zeros(4), np.zeros(4, np.int64), np.zeros(4)
        rec_idx, rec_v = np.zeros(0, np.int64), np.zeros((2000, 0, 1))
        out = np.zeros(4 * 2000, np.int64), np.zeros(4 * 2000, np.int64)
        return lambda t0: (y3, y0, r, acc, *ring, _current(rng, n_columns=10), 3, 2000 * t0 // 7,
                           2000, 0.1, math.exp(-0.1), 0.0, 20.0, 10.0, -math.inf, 9000, True,
                           0.1, 1.0, -70.0, rec_idx, rec_v, *out)
    _run_both(lif.iaf_psc_delta, kernels.iaf_psc_delta, make, n_intervals=5)
