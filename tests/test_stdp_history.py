"""The post-synaptic spike history of STDP (bigbrain.plasticity.PostHistory): rows keep
every entry a synapse can still need, drop the others, grow when full, and restore."""
import numpy as np

from bigbrain.kernels import stdp
from bigbrain.plasticity import INITIAL_CAPACITY, PostHistory, _larger

N_COLS = 50


def _history():
    tau_minus = np.where(np.arange(N_COLS) % 2 == 0, 20.0, 30.0)
    return PostHistory(tau_minus, np.ones(N_COLS, bool), 0.1)


def _spikes(rng, t0, t1, n):
    stamps = np.sort(rng.integers(t0, t1, n))
    cols = rng.integers(0, N_COLS, n)
    keep = np.unique(np.column_stack([cols, stamps]), axis=0, return_index=True)[1]
    order = np.argsort(stamps[keep], kind="stable")
    return cols[keep][order], stamps[keep][order]


def _expected(log, bound):
    """Per column: the entries stamped after ``bound`` and the newest at or before it."""
    out = {}
    for c in range(N_COLS):
        mine = sorted((s for col, s in log if col == c), reverse=True)
        after = [s for s in mine if s > bound]
        before = [s for s in mine if s <= bound]
        out[c] = after + before[:1]
    return out


def _held(h):
    cols, stamps, _ = h.entries()
    return {c: list(stamps[cols == c]) for c in range(N_COLS)}


def test_history_keeps_what_synapses_need_and_drops_the_rest():
    rng = np.random.default_rng(3)
    h, log, bound = _history(), [], np.iinfo(np.int64).min
    for block in range(30):
        cols, stamps = _spikes(rng, 100 * block + 1, 100 * block + 101, 120)
        log += list(zip(cols.tolist(), stamps.tolist()))
        new_bound = 100 * block - 150
        h.record(cols, stamps, lambda: new_bound)
        bound = max(bound, h.bound)
        held = _held(h)
        # everything needed is there (stamps after the bound, and the newest before it) …
        for c, needed in _expected(log, bound).items():
            assert held[c][:len(needed)] == needed
    assert h.bound > 0, "the bound was never asked for: rows never filled"
    assert stdp.capacity(h.h) <= _larger(INITIAL_CAPACITY), "entries no longer needed were kept"


def test_rows_grow_while_a_silent_source_needs_everything():
    h = _history()
    stamps = np.arange(1, 200)
    h.record(np.zeros(len(stamps), np.int64), stamps, lambda: np.iinfo(np.int64).min)
    assert stdp.capacity(h.h) >= 199 > INITIAL_CAPACITY
    assert _held(h)[0] == list(stamps[::-1])
    decay = np.exp(-0.1 / 20.0)
    k = 0.0
    for _ in stamps:
        k = k * decay + 1.0
    assert np.isclose(h.entries()[2][0], k) and h.kminus[0] == h.entries()[2][0]


def test_restore_gives_back_the_same_entries():
    rng = np.random.default_rng(4)
    h = _history()
    cols, stamps = _spikes(rng, 1, 400, 300)
    h.record(cols, stamps, lambda: 200)
    saved = h.entries()
    other = _history()
    other.restore(*(a[::-1].copy() for a in saved))
    for a, b in zip(saved, other.entries()):
        assert np.array_equal(a, b)


def test_rows_start_on_a_cache_line_and_span_an_odd_number_of_lines():
    """Every synaptic event reads its target's first line: rows must not straddle lines,
    nor crowd their first lines into a fraction of the cache sets (2^k lines per row)."""
    h = _history()
    widths = []
    for n in (1, 15, 30, 60):  # a silent source: the rows grow
        h.record(np.zeros(n, np.int64), np.arange(1, n + 1) + 1000 * n,
                 lambda: np.iinfo(np.int64).min)
        row_bytes = h.h.strides[0]
        assert h.h.ctypes.data % 64 == 0 and row_bytes % 64 == 0
        assert (row_bytes // 64) % 2 == 1, f"rows of {row_bytes // 64} lines"
        widths.append(row_bytes)
    assert len(set(widths)) > 2, "the rows never grew"
