"""Poisson input: independent Poisson spike trains delivered straight into the ring buffers.

Each Poisson synapse (generator → neuron) carries, into each step, a Poisson count of
spikes (or, for generators with ``per_step="bernoulli"``, a Bernoulli count: at most one
spike, with probability rate·dt; same kernels, another table: :func:`bernoulli_cdf`)
drawn by inverting one 32-bit uniform word of Philox (:mod:`.philox`); one Philox
call gives the words of four consecutive steps. The count only depends on (seed,
projection, target gid, synapse ordinal, step), so it is the same for any number of
ranks and on the GPU (kernels/cuda/delivery.cu: ``poisson_input``).

Philox is ~80 cycles of dependent multiplications per call: called inside the per-synapse
loop its latency is not hidden. So the words of a chunk of synapses are generated first,
in a loop that the compiler vectorizes, and the counts are drawn from them afterwards.
A count is found from the word itself, in integers: the guide table's bin is the word's top
bits and the cdf is compared as thresholds in words (:func:`word_thresholds`), with the
same result as from the uniform word / 2**32 and the cdf (on the GPU). Drawing counts and
Philox words take about 60 % and 40 % of the time (benchmarks/poisson_kernel.py).
"""
import math

import numba
import numpy as np

from .philox import philox4x32_jit

GUIDE_BITS = 12
GUIDE_BINS = 1 << GUIDE_BITS
_GUIDE_SHIFT = np.uint32(32 - GUIDE_BITS)  # a word's guide bin: its top GUIDE_BITS bits
#: Synapses whose Philox words are generated together (the words stay in the L2 cache).
CHUNK = 2048


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


def bernoulli_cdf(p):
    """Inversion table of a Bernoulli draw of probability ``p`` (at most one spike per
    step), in :func:`poisson_cdf`'s form: cdf = [1 − p, 1], so that the count drawn from
    a uniform u is 1 exactly when u >= 1 − p, with probability p."""
    cdf = np.array([1.0 - p, 1.0])
    guide = np.searchsorted(cdf, np.arange(GUIDE_BINS) / GUIDE_BINS, side="right")
    return cdf, np.minimum(guide, cdf.size).astype(np.int64)


@numba.njit(cache=True)
def word_thresholds(cdf):
    """Inversion table in 32-bit words: thresholds[k] = ceil(cdf[k] · 2**32), then 2**32.

    For a word w (an integer below 2**32) and u = w / 2**32 (exact in a double),
    u >= cdf[k] exactly when w >= thresholds[k], so counts drawn from the words equal those
    drawn from u; the final 2**32 exceeds every word and ends the search at len(cdf).
    """
    thresholds = np.empty(cdf.shape[0] + 1, np.int64)
    for k in range(cdf.shape[0]):
        thresholds[k] = math.ceil(cdf[k] * 4294967296.0)
    thresholds[cdf.shape[0]] = 2**32
    return thresholds


@numba.njit(cache=True, inline="always")
def poisson_count(word, thresholds, guide):
    """Poisson count by inversion of the uniform u = word / 2**32 (word: uint32): the
    smallest k with u < cdf[k] (or len(cdf)), searched from the guide entry of u's bin,
    word >> 20 = int(u · GUIDE_BINS). Indices are unsigned, which spares Numba's
    negative-index test."""
    k = np.uint64(guide[word >> _GUIDE_SHIFT])
    while word >= thresholds[k]:
        k += np.uint64(1)
    return np.int64(k)


@numba.njit(cache=True)
def philox_words(t0, n_blocks, delay, post_gid, ordinal, c2, k0, k1, words):
    """``words[r, j, i]`` = word r of Philox at counter (b_i + j, post_gid[i], c2,
    ordinal[i]) for the synapses i of the arrays given (a chunk), where
    b_i = max(t0 − delay[i], 0) // 4 is the first block of four steps synapse i reads from
    in an interval starting at t0. Counter and key words are below 2**32 (:mod:`.philox`);
    saying so (uint32) lets the loop be vectorized with 32-bit multiplications."""
    k0, k1 = np.uint64(np.uint32(k0)), np.uint64(np.uint32(k1))
    for j in range(n_blocks):
        for i in range(post_gid.shape[0]):
            block = np.uint32((max(t0 - delay[i], 0) >> 2) + j)
            w0, w1, w2, w3 = philox4x32_jit(np.uint64(block), np.uint64(np.uint32(post_gid[i])),
                                            c2, np.uint64(np.uint32(ordinal[i])), k0, k1)
            words[0, j, i] = np.uint32(w0)
            words[1, j, i] = np.uint32(w1)
            words[2, j, i] = np.uint32(w2)
            words[3, j, i] = np.uint32(w3)


@numba.njit(cache=True)
def add_counts(t0, n_steps, post, delay, weight, thresholds, guide, words, ring_ex, ring_in):
    """Add the Poisson counts of the synapses given (a chunk) read in steps
    t0 … t0+n_steps−1, drawn from ``words`` (:func:`philox_words`), to the ring buffers:
    step by step, so that the words are read and the ring-buffer slot written in order of
    the synapses. When the synapses share one delay and one weight (a generator's usual
    connection), a step's words are one row and its counts go to one buffer (twice as
    fast)."""
    if _uniform(delay) and _uniform(weight):
        _add_uniform_counts(t0, n_steps, post, delay[0], weight[0], thresholds, guide, words,
                            ring_ex, ring_in)
        return
    L = ring_ex.shape[0]
    for s in range(t0, t0 + n_steps):
        ex, inh = ring_ex[s % L], ring_in[s % L]
        for i in range(post.shape[0]):
            n = s - delay[i]
            if n < 0:
                continue
            j = (n >> 2) - (max(t0 - delay[i], 0) >> 2)
            k = poisson_count(words[n & 3, j, i], thresholds, guide)
            if weight[i] >= 0:
                ex[np.uint64(post[i])] += k * weight[i]
            else:
                inh[np.uint64(post[i])] += k * weight[i]


@numba.njit(cache=True)
def _uniform(values):
    for i in range(1, values.shape[0]):
        if values[i] != values[0]:
            return False
    return True


@numba.njit(cache=True)
def _add_uniform_counts(t0, n_steps, post, delay, weight, thresholds, guide, words, ring_ex,
                        ring_in):
    """:func:`add_counts` for synapses of one delay and one weight."""
    L = ring_ex.shape[0]
    for s in range(max(t0, delay), t0 + n_steps):
        n = s - delay
        row = words[n & 3, (n >> 2) - (max(t0 - delay, 0) >> 2)]
        target = ring_ex[s % L] if weight >= 0 else ring_in[s % L]
        for i in range(post.shape[0]):
            target[np.uint64(post[i])] += poisson_count(row[i], thresholds, guide) * weight


@numba.njit(cache=True)
def poisson_input(t0, n_steps, post, post_gid, ordinal, delay, weight, cdf, guide,
                  k0, k1, c2, ring_ex, ring_in):
    """Add the events of Poisson synapses read in steps t0 … t0+n_steps−1.

    The count that synapse i carries into step s was generated in step n = s − delay[i]
    (none before step 0); it is Poisson (tables ``cdf``, ``guide`` from
    :func:`poisson_cdf`) from word n % 4 of Philox at counter (n // 4, post_gid[i], c2,
    ordinal[i]).
    """
    thresholds = word_thresholds(cdf)
    n_blocks = (n_steps + 2) // 4 + 1  # the most blocks of 4 that n_steps steps can touch
    words = np.empty((4, n_blocks, CHUNK), np.uint32)
    for start in range(0, post.shape[0], CHUNK):
        chunk = slice(start, min(start + CHUNK, post.shape[0]))
        philox_words(t0, n_blocks, delay[chunk], post_gid[chunk], ordinal[chunk], c2, k0, k1,
                     words)
        add_counts(t0, n_steps, post[chunk], delay[chunk], weight[chunk], thresholds, guide,
                   words, ring_ex, ring_in)
