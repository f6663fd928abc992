"""Static per-synapse weights: int32 with one shift per projection (kernels/fixed_point.py).

The stored weight m of a synapse is its fixed-point weight f = round(w·2^36) rounded to the
nearest multiple of 2^shift (f ≈ m << shift), with the smallest shift that fits the
projection's largest |f| into int32, the same on every rank.
"""
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from bigbrain.backends import memory
from bigbrain.kernels import csr, delivery
from bigbrain.kernels.fixed_point import INT32_MAX, quantize, to_fixed
from mpi_helpers import run_mpi

SCRIPT = Path(__file__).parent / "scripts" / "static_weights.py"


def one_synapse_per_source(weights, delay=1.5):
    """A built projection A→B with synapse i from A[i] onto B[i] of ``weights[i]``: its
    synapses are stored in the order of ``weights``."""
    n = len(weights)
    net = bb.Network(seed=1)
    a, b = net.population("A", n, "iaf_psc_delta"), net.population("B", n, "iaf_psc_delta")
    net.connect(a, b, rule="explicit", sources=np.arange(n), targets=np.arange(n),
                weight=np.asarray(weights, np.float64), delay=delay)
    return net.build().static[0]


def test_stored_weight_is_the_nearest_at_the_smallest_shift_that_fits_int32():
    rng = np.random.default_rng(1)
    weights = np.r_[rng.normal(0.0, 1.0, 5000), 1000.0, -999.9, 1e-9, -1e-9, 0.0]
    proj = one_synapse_per_source(weights)
    # 1000·2^36 / 2^15 = 1000·2^21 < 2^31 - 1 < 1000·2^22: shift 15
    assert proj.shift == 15 and proj.weight.dtype == np.int32 and proj.weight.size == len(weights)
    fixed = to_fixed(weights)
    error = (proj.weight.astype(np.int64) << proj.shift) - fixed
    assert np.abs(error).max() <= 2 ** (proj.shift - 1)
    assert np.array_equal(proj.weight, quantize(fixed, proj.shift))
    assert quantize(np.abs(fixed).max(), proj.shift - 1) > INT32_MAX


def test_weights_that_fit_int32_keep_every_bit():
    weights = [0.01, -0.02, 0.005]  # below 2^-5 mV: round(w·2^36) fits int32
    proj = one_synapse_per_source(weights)
    assert proj.shift == 0 and np.array_equal(proj.weight, to_fixed(weights))


@pytest.mark.parametrize("weight", [0.1, [0.3, 0.3, 0.3]])
def test_homogeneous_weights_are_stored_once_and_exactly(weight):
    proj = one_synapse_per_source(np.broadcast_to(weight, 3))
    assert proj.weight.size == 0 and proj.shift == 0
    assert proj.weight_all == to_fixed(np.ravel(weight)[0])


def test_normal_weights_cost_six_bytes_per_synapse_with_uint16_columns():
    net = bb.Network(seed=2)
    a, b = net.population("A", 1000, "iaf_psc_delta"), net.population("B", 1000, "iaf_psc_delta")
    net.connect(a, b, rule="fixed_indegree", indegree=500, weight=bb.normal(0.1, 0.01), delay=1.5)
    proj = net.build().static[0]
    assert proj.post.dtype == np.uint16 and proj.weight.dtype == np.int32
    per_synapse = proj.nbytes() - proj.row_starts.nbytes  # the rows
    assert per_synapse == 6 * len(proj)
    assert proj.nbytes() / len(proj) <= 6.02
    assert memory.estimate(net, 1).parts["synapses"] == per_synapse


def test_a_weight_too_large_for_fixed_point_names_the_field():
    net = bb.Network(seed=3)
    a, b = net.population("A", 10, "iaf_psc_delta"), net.population("B", 10, "iaf_psc_delta")
    with pytest.raises(bb.ModelError, match=r"^connect\[0\] A->B\.weight: weights must be finite"):
        net.connect(a, b, rule="explicit", sources=[0, 1], targets=[0, 1], weight=[1.0, 1e8])
    net.connect(a, b, rule="all_to_all", weight=bb.normal(0.0, 1e9))
    with pytest.raises(bb.ModelError, match=r"^connect\[0\] A->B\.weight: weights must be finite"):
        net.build()


@pytest.mark.parametrize("offset_type", [None, np.uint32, np.int64])
@pytest.mark.parametrize("per_synapse_delay", [False, True])
def test_deliver_adds_each_weight_shifted(per_synapse_delay, offset_type):
    """The Numba kernel against np.add.at of weight << shift (int32 weights of either sign
    whose shifted value needs more than 32 bits), the rows (150, three blocks) given as
    block pointers with offsets of each type."""
    rng = np.random.default_rng(4)
    ptr = np.r_[0, np.cumsum(rng.integers(0, 20, 150))].astype(np.int32)
    n, shift, L = ptr[-1], 6, 12
    post = rng.integers(0, 40, n).astype(np.uint16)
    weight = rng.integers(-2**31, 2**31, n).astype(np.int32)
    delay = rng.integers(1, L, n).astype(np.uint8) if per_synapse_delay else np.zeros(0, np.uint8)
    src_gid, src_step = rng.integers(0, 160, 300), rng.integers(0, 30, 300)
    ring_ex, ring_in = np.zeros((L, 40), np.int64), np.zeros((L, 40), np.int64)
    rows = csr.BlockPointers(ptr, offset_type)
    delivery.deliver(src_gid, src_step, 5, rows.base, rows.offset, post, weight, np.int64(shift),
                     np.int64(0), delay, np.int64(3), ring_ex, ring_in)
    expected = np.zeros((2, L, 40), np.int64)
    for g, t in zip(src_gid, src_step):
        if 0 <= g - 5 < len(ptr) - 1:
            k = np.arange(ptr[g - 5], ptr[g - 5 + 1])
            w = weight[k].astype(np.int64) << shift
            slot = (t + (delay[k] if per_synapse_delay else 3)) % L
            np.add.at(expected, ((w < 0).astype(int), slot, post[k]), w)
    assert np.array_equal(ring_ex, expected[0]) and np.array_equal(ring_in, expected[1])
    assert ring_in.min() < -2**33 and ring_ex.max() > 2**33


def test_block_pointers_hold_short_rows_in_a_byte_each():
    """Rows of 0–3 items (a rank of a large network): 1 byte per row and 4 per block of
    64, the full pointers given back exactly; long rows take wider offsets."""
    rng = np.random.default_rng(6)
    ptr = np.r_[0, np.cumsum(rng.integers(0, 4, 1000))].astype(np.int32)
    rows = csr.BlockPointers(ptr)
    assert rows.offset.dtype == np.uint8 and rows.nbytes == 1001 + 4 * 16
    assert rows.pointers().dtype == np.int32 and np.array_equal(rows.pointers(), ptr)
    long = np.r_[0, np.cumsum(np.full(200, 2000))]  # 63 rows: 126,000
    assert csr.BlockPointers(long).offset.dtype == np.uint32
    assert np.array_equal(csr.BlockPointers(long).pointers(), long)


@pytest.mark.parametrize("longest, sort_bits, n_rows", [(3, 18, 500), (300, 18, 500), (3, 4, 500),
                                                     (300, 1, 500), (3, 18, 200_000)])
def test_row_fill_places_each_rows_items_in_arrival_order(longest, sort_bits, n_rows, monkeypatch):
    """The place pass's slots from blocked pointers and a count per row (1 byte where rows
    hold fewer than 256 items, 2 beyond), rows given as keys' positions in a table of
    gids: every row's items in its own slots, in the order the chunks bring them (a
    stable counting sort, as NumPy's stable argsort), however many items are sorted at a
    time, and where the keys are far sparser than the table (most rows empty: found by
    galloping)."""
    monkeypatch.setattr(csr, "SLOTS_BITS", sort_bits)
    rng = np.random.default_rng(longest)
    per_row = rng.integers(0, longest + 1, n_rows) * (rng.random(n_rows) < 500 / n_rows)
    rows = np.repeat(np.arange(n_rows), per_row)
    rng.shuffle(rows)
    table = np.sort(rng.choice(10**9, n_rows, replace=False)).astype(np.int32)
    keys = table[rows]
    ptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_rows))].astype(np.int32)
    fill = csr.RowFill(csr.BlockPointers(ptr))
    assert fill.placed.dtype == (np.uint8 if longest < 256 else np.uint16)
    at = np.concatenate([fill.slots(table, keys[lo:lo + 333]) for lo in range(0, len(keys), 333)])
    assert np.array_equal(np.sort(at), np.arange(len(keys)))
    assert np.array_equal(at, np.argsort(np.argsort(rows, kind="stable")))


def _mpi_run(tmp_path, n_ranks):
    out = tmp_path / f"weights_{n_ranks}.npz"
    run_mpi(SCRIPT, n_ranks, out, timeout=300)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.mpi
def test_shifts_weights_and_spikes_are_the_same_on_1_and_2_ranks(tmp_path):
    """Brunel with normal weights, and a projection whose synapses on one of two ranks all
    have one weight (stored once there, quantized at the projection's shift as elsewhere)."""
    one, two = _mpi_run(tmp_path, 1), _mpi_run(tmp_path, 2)
    assert one["shifts"].shape == (1, 3) and two["shifts"].shape == (2, 3)
    assert np.all(two["shifts"] == one["shifts"][0]) and np.all(one["shifts"] > 0)
    assert two["one_weight_on_a_rank"].any()
    for key in ("synapses", "E_t", "E_id", "T_t", "T_id"):
        assert np.array_equal(one[key], two[key]), key
    assert len(one["E_t"]) > 100
