"""Delivery through ``bernoulli_synapse`` rows (:mod:`bigbrain.bernoulli`): each spike on
each synapse passes when its Philox word is below the synapse's threshold p_transmit · 2**32."""
import numba
import numpy as np

from .philox import philox4x32_jit


@numba.njit(cache=True)
def deliver(rows, steps, copies, ptr, post, post_gid, ordinal, weight, delay, threshold,
            k0, k1, c2, ring_ex, ring_in):
    """Spike j (row ``rows[j]``, emitted in step ``steps[j]``, copy ``copies[j]`` of that
    step) reaches synapse k of its row, read in step ``steps[j] + delay[k]``, when word
    copies[j] % 4 of Philox at (step, post gid, c2, ordinal | (copies[j] // 4) << 24)
    is below ``threshold[k]``."""
    L = ring_ex.shape[0]
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for j in range(rows.shape[0]):
        step, copy = steps[j], copies[j]
        block = np.uint64(copy >> 2) << np.uint64(24)
        for k in range(ptr[rows[j]], ptr[rows[j] + 1]):
            words = philox4x32_jit(np.uint64(step), np.uint64(post_gid[k]), c2,
                                   np.uint64(ordinal[k]) | block, k0, k1)
            if np.int64(words[copy & 3]) >= threshold[k]:
                continue
            slot = (step + delay[k]) % L
            if weight[k] >= 0:
                ring_ex[slot, post[k]] += weight[k]
            else:
                ring_in[slot, post[k]] += weight[k]
