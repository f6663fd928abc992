"""Superpositions of renewal processes, one per synapse: NEST's ``gamma_sup_generator`` and
``ppd_sup_generator`` (:mod:`bigbrain.superposition`), advanced step by step in place.

A synapse's processes live in per-synapse occupation counts; each step that the device is
active they move by binomial draws, and the spikes of the step (a count) are added to the
ring buffer slot of the step they are read in (generation step + delay). The uniform
words of step n of synapse i are Philox at counter (n, post gid, c2, ordinal · blocks +
block), so the trains depend on (seed, connection, target gid, ordinal, step) only: the
same on any number of ranks, and after a checkpoint (the counts are saved).
"""
import math

import numba
import numpy as np

from .philox import philox4x32_jit

_TWO_TO_MINUS_32 = 1.0 / 4294967296.0


@numba.njit(cache=True, inline="always")
def binomial(word, n, p):
    """Binomial(n, p) by inversion of u = word / 2**32 (word: a 32-bit word): the smallest
    k with u < P(K <= k), summed from P(K = 0) = (1 − p)**n (callers keep that above the
    smallest double, :func:`smallest_first_term`)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    u = np.float64(word) * _TWO_TO_MINUS_32
    ratio = p / (1.0 - p)
    pk = math.exp(n * math.log1p(-p))
    cdf = pk
    k = 0
    while u >= cdf and k < n:
        k += 1
        pk *= ratio * (n - k + 1) / k
        cdf += pk
    return k


def smallest_first_term(n, p):
    """−log P(K = 0) of Binomial(n, p) (≤ 700 keeps the inversion's start a normal double)."""
    return 0.0 if p <= 0.0 or p >= 1.0 else -n * math.log1p(-p)


@numba.njit(cache=True, inline="always")
def _add(s, column, count, weight, ring_ex, ring_in):
    """Add ``count`` spikes of ``weight`` (fixed point) read in step ``s``."""
    L = ring_ex.shape[0]
    if weight >= 0:
        ring_ex[s % L, column] += count * weight
    else:
        ring_in[s % L, column] += count * weight


@numba.njit(cache=True)
def gamma_input(t0, n_steps, lo, post, post_gid, ordinal, delay, weight, prob, k0, k1, c2,
                occ, ring_ex, ring_in):
    """``gamma_sup_generator``: synapse i's processes occupy the phases ``occ[i]`` (counts);
    in each active generation step n (``prob[n − lo]`` ≥ 0: the transition probability)
    Binomial(occ[i, j], prob) of phase j move to phase j + 1, and those leaving the last
    phase are the step's spikes, read in step n + delay[i], for steps t0 … t0+n_steps−1."""
    k = occ.shape[1]
    blocks = (k + 3) // 4
    k0, k1 = np.uint64(k0), np.uint64(k1)
    moved = np.empty(k + 3, np.int64)
    for i in range(post.shape[0]):
        d = delay[i]
        for s in range(max(t0, d), t0 + n_steps):
            n = s - d
            p = prob[n - lo]
            if p < 0.0:
                continue
            for b in range(blocks):
                words = philox4x32_jit(np.uint64(n), np.uint64(post_gid[i]), c2,
                                       np.uint64(ordinal[i] * blocks + b), k0, k1)
                for r in range(4):
                    j = 4 * b + r
                    if j < k:
                        moved[j] = binomial(words[r], occ[i, j], p)
            for j in range(k):
                occ[i, j] -= moved[j]
                occ[i, (j + 1) % k] += moved[j]
            if moved[k - 1] > 0:
                _add(s, post[i], moved[k - 1], weight[i], ring_ex, ring_in)


@numba.njit(cache=True)
def ppd_input(t0, n_steps, lo, post, post_gid, ordinal, delay, weight, hazard, k0, k1, c2,
              ready, dead, head, ring_ex, ring_in):
    """``ppd_sup_generator``: synapse i has ``ready[i]`` processes past their dead time and
    ``dead[i, b]`` that fired b' steps ago (a ring of dead-time bins, ``head[i]`` the oldest).
    In each active generation step n (``hazard[n − lo]`` ≥ 0: the firing probability of a
    ready process) Binomial(ready, hazard) fire: the step's spikes, read in step
    n + delay[i]; the oldest bin becomes ready again and the new spikes take its place."""
    bins = dead.shape[1]
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for i in range(post.shape[0]):
        d = delay[i]
        for s in range(max(t0, d), t0 + n_steps):
            n = s - d
            h = hazard[n - lo]
            if h < 0.0:
                continue
            words = philox4x32_jit(np.uint64(n), np.uint64(post_gid[i]), c2,
                                   np.uint64(ordinal[i]), k0, k1)
            spikes = binomial(words[0], ready[i], h)
            if bins > 0:
                ready[i] += dead[i, head[i]] - spikes
                dead[i, head[i]] = spikes
                head[i] = (head[i] + 1) % bins
            if spikes > 0:
                _add(s, post[i], spikes, weight[i], ring_ex, ring_in)
