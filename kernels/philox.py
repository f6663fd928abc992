"""Philox4x32-10, the counter-based random number generator of Salmon et al. (2011).

Every random number in bigbrain is a pure function of (seed, purpose, id, index): the
128-bit counter holds the index (step or draw number), the neuron or synapse id and the
purpose; the 64-bit key holds the seed. Nothing is carried from one draw to the next, so
the numbers do not depend on how the work is split across ranks or threads.

:func:`philox4x32` is written once with plain integer operators on ``uint64`` values that
hold 32-bit words. The same function body therefore runs on NumPy arrays, on CuPy arrays,
and (compiled by Numba, see :data:`philox4x32_jit`) on scalars inside kernels, with the
same bits everywhere.

Counter layout (see :func:`counter_words`)::

    c0 = index      (step, block of steps, or draw number; < 2**32)
    c1 = id         (neuron id, < 2**32)
    c2 = (purpose << 16) | aux   (what the numbers are for; projection or population)
    c3 = sub        (a second index: redraw round, synapse ordinal; < 2**32)
"""
import numba
import numpy as np

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
ROUNDS = 10


def philox4x32(c0, c1, c2, c3, k0, k1):
    """Return the four 32-bit output words for counter (c0..c3) and key (k0, k1).

    All arguments are ``uint64`` (scalars or arrays) holding values below 2**32.
    """
    for _ in range(ROUNDS):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = ((p1 >> _S32) ^ c1 ^ k0, p1 & _MASK,
                          (p0 >> _S32) ^ c3 ^ k1, p0 & _MASK)
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


philox4x32_jit = numba.njit(cache=True, inline="always")(philox4x32)


def key_words(seed):
    """The two 32-bit key words of a non-negative 64-bit seed."""
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)


def purpose_word(purpose, aux):
    """Counter word c2: ``purpose`` (< 2**16) names what the numbers are for, ``aux``
    (< 2**16) tells apart e.g. the projections that draw for the same purpose."""
    if not (0 <= purpose < 2**16 and 0 <= aux < 2**16):
        raise ValueError(f"purpose {purpose} / aux {aux} out of range")
    return np.uint64((int(purpose) << 16) | int(aux))


def uniform53(w0, w1):
    """A double in [0, 1) built from two 32-bit words (53 random bits, exact)."""
    bits = ((w0 >> np.uint64(5)) << np.uint64(26)) | (w1 >> np.uint64(6))
    return bits.astype(np.float64) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def _uniform_kernel(c0, c1, c2, c3, k0, k1, out):
    """out[i] = 53-bit double from the first two words of Philox at counter i (c0, c1, c3:
    int64 arrays whose bits are the uint64 counter words)."""
    for i in range(out.shape[0]):
        w0, w1, _, _ = philox4x32_jit(np.uint64(c0[i]), np.uint64(c1[i]), c2, np.uint64(c3[i]), k0, k1)
        bits = ((w0 >> np.uint64(5)) << np.uint64(26)) | (w1 >> np.uint64(6))
        out[i] = bits * (1.0 / 9007199254740992.0)


def uniform(seed, purpose, aux, ids, index, sub=0):
    """Doubles in [0, 1), one per element of the broadcast of ``ids``, ``index``, ``sub``.

    Equal, bit for bit, to :func:`uniform53` of :func:`philox4x32` (compiled loop on the CPU).
    64-bit integer arrays of the result's shape are read in place (no uint64 copies); a
    broadcast counter word (a scalar ``sub``, say) is made contiguous for the call, 8 bytes
    per value: over a stride-0 array the compiled loop ran 2–3× slower.
    """
    k0, k1 = key_words(seed)
    words = [_words(x) for x in (index, ids, sub)]
    shape = np.broadcast_shapes(*(w.shape for w in words))
    c0, c1, c3 = (np.ascontiguousarray(np.broadcast_to(w, shape)).reshape(-1) for w in words)
    out = np.empty(shape, np.float64)
    _uniform_kernel(c0, c1, purpose_word(purpose, aux), c3, k0, k1, out.reshape(-1))
    return out


def _words(values):
    """``values`` as counter words, int64 holding the bits of ``np.uint64(values)``: a view
    of 64-bit integers, a converted copy of anything else."""
    values = np.asarray(values)
    if values.dtype.kind not in "iu" or values.dtype.itemsize != 8:
        values = values.astype(np.uint64)
    return values.view(np.int64)
