"""Spike delivery: scatter the synaptic events of received spikes into the ring buffers.

A spike emitted in step n reaches a synapse of delay d (steps) in step n + d, when the
neuron reads ring-buffer slot (n + d) % L. Non-negative weights go to the excitatory
buffer, negative ones to the inhibitory buffer (NEST's rule for ``iaf_psc_exp``). Weights
are fixed-point integers (:mod:`.fixed_point`), so the sums do not depend on order.
"""
import numba
import numpy as np

from .philox import philox4x32_jit


@numba.njit(cache=True)
def deliver(src_gid, src_step, gid_lo, ptr, post, weight, weight_all, delay, delay_all,
            ring_ex, ring_in):
    """Deliver spikes (source gid, emission step) through one projection's synapses.

    The synapses of source ``g`` are ``ptr[g - gid_lo] : ptr[g - gid_lo + 1]``; ``post``
    holds their ring-buffer columns. ``weight`` / ``delay`` are per-synapse arrays, or empty
    when every synapse has ``weight_all`` / ``delay_all``.
    """
    L = ring_ex.shape[0]
    span = ptr.shape[0] - 1
    per_weight = weight.shape[0] > 0
    per_delay = delay.shape[0] > 0
    for s in range(src_gid.shape[0]):
        row = src_gid[s] - gid_lo
        if row < 0 or row >= span:
            continue
        t = src_step[s]
        for k in range(ptr[row], ptr[row + 1]):
            w = weight[k] if per_weight else weight_all
            d = delay[k] if per_delay else delay_all
            slot = (t + d) % L
            if w >= 0:
                ring_ex[slot, post[k]] += w
            else:
                ring_in[slot, post[k]] += w


_TWO_M32 = 1.0 / 4294967296.0


@numba.njit(cache=True)
def poisson_count(u, lam, exp_neg_lam):
    """Poisson(lam) by inversion of one uniform u in [0, 1)."""
    k = 0
    p = exp_neg_lam
    cdf = p
    k_max = int(lam + 20.0 * np.sqrt(lam) + 30.0)
    while u >= cdf and k < k_max:
        k += 1
        p = p * lam / k
        cdf += p
    return k


@numba.njit(cache=True)
def poisson_input(t0, n_steps, post, post_gid, ordinal, delay, weight, lam, exp_neg_lam,
                  k0, k1, c2, ring_ex, ring_in):
    """Add the events of Poisson synapses read in steps t0 … t0+n_steps−1.

    The count that synapse i carries into step s was generated in step n = s − delay[i]
    (none before step 0); it is Poisson(lam) from word n % 4 of Philox at counter
    (n // 4, post_gid[i], c2, ordinal[i]).
    """
    L = ring_ex.shape[0]
    for i in range(post.shape[0]):
        last = np.uint64(0xFFFFFFFFFFFFFFFF)
        words = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
        for s in range(t0, t0 + n_steps):
            n = s - delay[i]
            if n < 0:
                continue
            block = np.uint64(n >> 2)
            if block != last:
                words = philox4x32_jit(block, np.uint64(post_gid[i]), c2, np.uint64(ordinal[i]), k0, k1)
                last = block
            u = words[n & 3] * _TWO_M32
            k = poisson_count(u, lam, exp_neg_lam)
            if k > 0:
                w = k * weight[i]
                if w >= 0:
                    ring_ex[s % L, post[i]] += w
                else:
                    ring_in[s % L, post[i]] += w
