"""Current input of stimulation devices (:mod:`bigbrain.stimulation`) into the ring buffer,
and the normal values of noise generators."""
import math

import numba
import numpy as np

from .philox import philox4x32_jit

_TWO_PI = 2.0 * math.pi
_TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0


@numba.njit(cache=True)
def add_currents(t0, n_steps, post, delay, weight, lo, base, scale, z, m_of, ring_cur):
    """Add to ``ring_cur`` (float64, pA, slot = step % L) the current that synapse i
    (column ``post[i]``, ``delay[i]`` steps, ``weight[i]``) carries into each step s of
    t0 … t0+n_steps−1: ``weight[i] · (base[j] + scale[j] · z[i, m_of[j]])`` with
    j = s − delay[i] − lo, the device step's offset. Step by step, then synapse by
    synapse: the contributions to a slot are summed in the order of the synapses."""
    L = ring_cur.shape[0]
    for s in range(t0, t0 + n_steps):
        row = ring_cur[s % L]
        for i in range(post.shape[0]):
            j = s - delay[i] - lo
            row[post[i]] += weight[i] * (base[j] + scale[j] * z[i, m_of[j]])


@numba.njit(cache=True)
def normal_values(post_gid, ordinal, m0, c2, k0, k1, out):
    """``out[i, j]``: the standard normal value of synapse i in interval m0 + j, by
    Box–Muller (sqrt(−2·log1p(−u1))·cos(2π·u2)) on the two 53-bit uniforms made of the
    four words of Philox at counter (m0 + j, post_gid[i], c2, ordinal[i]). The words of
    an interval are generated first, in a loop of 32-bit operations that the compiler
    vectorizes (as in :func:`.poisson.philox_words`), then transformed."""
    k0, k1 = np.uint64(np.uint32(k0)), np.uint64(np.uint32(k1))
    n = out.shape[0]
    words = np.empty((4, n), np.uint32)
    for j in range(out.shape[1]):
        m = np.uint64(np.uint32(m0 + j))
        for i in range(n):
            w0, w1, w2, w3 = philox4x32_jit(m, np.uint64(np.uint32(post_gid[i])), c2,
                                            np.uint64(np.uint32(ordinal[i])), k0, k1)
            words[0, i] = np.uint32(w0)
            words[1, i] = np.uint32(w1)
            words[2, i] = np.uint32(w2)
            words[3, i] = np.uint32(w3)
        for i in range(n):
            u1 = _uniform53(words[0, i], words[1, i])
            u2 = _uniform53(words[2, i], words[3, i])
            out[i, j] = math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(_TWO_PI * u2)


@numba.njit(cache=True, inline="always")
def _uniform53(a, b):
    """A double in [0, 1) from two 32-bit words (53 bits, as :func:`.philox.uniform53`)."""
    return ((np.uint64(a >> 5) << np.uint64(26)) | np.uint64(b >> 6)) * _TWO_TO_MINUS_53
