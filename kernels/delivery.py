"""Spike delivery: scatter the synaptic events of received spikes into the ring buffers.

A spike emitted in step n reaches a synapse of delay d (steps) in step n + d, when the
neuron reads ring-buffer slot (n + d) % L. Non-negative weights go to the excitatory
buffer, negative ones to the inhibitory buffer (NEST's rule for ``iaf_psc_exp``). Weights
are fixed-point integers (:mod:`.fixed_point`; static per-synapse weights int32 with a
shift per projection), so the sums do not depend on order.
"""
import numba
import numpy as np

from .philox import philox4x32_jit


@numba.njit(cache=True, inline="always")
def _add(ring_ex_row, ring_in_row, column, w):
    if w >= 0:
        ring_ex_row[column] += w
    else:
        ring_in_row[column] += w


@numba.njit(cache=True)
def deliver(src_gid, src_step, gid_lo, ptr, post, weight, shift, weight_all, delay, delay_all,
            ring_ex, ring_in):
    """Deliver spikes (source gid, emission step) through one projection's synapses.

    The synapses of source ``g`` are ``ptr[g - gid_lo] : ptr[g - gid_lo + 1]``; ``post``
    holds their ring-buffer columns. ``weight`` (int32) holds per-synapse weights, the
    fixed-point weight of synapse k being ``weight[k] << shift``; ``delay`` holds per-synapse
    delays (steps). Either is empty when every synapse has ``weight_all`` (fixed point) /
    ``delay_all`` (then the slot and the buffer are chosen once per spike and the inner loop
    is a plain scatter-add).
    """
    L = ring_ex.shape[0]
    span = ptr.shape[0] - 1
    for s in range(src_gid.shape[0]):
        row = src_gid[s] - gid_lo
        if row < 0 or row >= span:
            continue
        t = src_step[s]
        if delay.shape[0] == 0:
            slot = (t + delay_all) % L
            ex, inh = ring_ex[slot], ring_in[slot]
            if weight.shape[0] == 0:
                target = ex if weight_all >= 0 else inh
                for k in range(ptr[row], ptr[row + 1]):
                    target[post[k]] += weight_all
            else:
                for k in range(ptr[row], ptr[row + 1]):
                    _add(ex, inh, post[k], np.int64(weight[k]) << shift)
        else:
            for k in range(ptr[row], ptr[row + 1]):
                slot = (t + delay[k]) % L
                w = (np.int64(weight[k]) << shift) if weight.shape[0] else weight_all
                _add(ring_ex[slot], ring_in[slot], post[k], w)


_TWO_M32 = 1.0 / 4294967296.0


GUIDE_BINS = 256


def poisson_cdf(lam):
    """Inversion table of Poisson(lam): (cdf, guide).

    cdf[k] = P(K <= k) for k < k_max, summed by the recurrence p_k = p_{k-1} · lam / k;
    guide[j] = the smallest k with cdf[k] > j / GUIDE_BINS, where the search for a uniform
    u in [j, j+1) / GUIDE_BINS can start (Chen & Asau's guide table; the count is the same
    as a search from 0, with about one comparison instead of lam + 1).
    """
    k_max = int(lam + 20.0 * np.sqrt(lam) + 30.0)
    cdf = np.empty(k_max)
    p = np.exp(-lam)
    cdf[0] = p
    for k in range(1, k_max):
        p = p * lam / k
        cdf[k] = cdf[k - 1] + p
    guide = np.searchsorted(cdf, np.arange(GUIDE_BINS) / GUIDE_BINS, side="right")
    return cdf, np.minimum(guide, k_max).astype(np.int64)


@numba.njit(cache=True, inline="always")
def poisson_count(u, cdf, guide):
    """Poisson count by inversion of one uniform u in [0, 1): the smallest k with u < cdf[k]
    (or len(cdf))."""
    k = guide[int(u * GUIDE_BINS)]
    while k < cdf.shape[0] and u >= cdf[k]:
        k += 1
    return k


@numba.njit(cache=True)
def poisson_input(t0, n_steps, post, post_gid, ordinal, delay, weight, cdf, guide,
                  k0, k1, c2, ring_ex, ring_in):
    """Add the events of Poisson synapses read in steps t0 … t0+n_steps−1.

    The count that synapse i carries into step s was generated in step n = s − delay[i]
    (none before step 0); it is Poisson (tables ``cdf``, ``guide`` from :func:`poisson_cdf`) from word
    n % 4 of Philox at counter (n // 4, post_gid[i], c2, ordinal[i]).
    """
    L = ring_ex.shape[0]
    for i in range(post.shape[0]):
        d = delay[i]
        n = max(t0 - d, 0)
        n_end = t0 + n_steps - d
        slot = (n + d) % L
        gid, syn = np.uint64(post_gid[i]), np.uint64(ordinal[i])
        while n < n_end:
            w0, w1, w2, w3 = philox4x32_jit(np.uint64(n >> 2), gid, c2, syn, k0, k1)
            block_end = min(((n >> 2) + 1) << 2, n_end)
            while n < block_end:
                r = n & 3
                word = w0 if r == 0 else (w1 if r == 1 else (w2 if r == 2 else w3))
                k = poisson_count(word * _TWO_M32, cdf, guide)
                if k > 0:
                    w = k * weight[i]
                    if w >= 0:
                        ring_ex[slot, post[i]] += w
                    else:
                        ring_in[slot, post[i]] += w
                n += 1
                slot = slot + 1 if slot + 1 < L else 0
