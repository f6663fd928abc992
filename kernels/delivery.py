"""Spike delivery: scatter the synaptic events of received spikes into the ring buffers.

A spike emitted in step n reaches a synapse of delay d (steps) in step n + d, when the
neuron reads ring-buffer slot (n + d) % L. Non-negative weights go to the excitatory
buffer, negative ones to the inhibitory buffer (NEST's rule for ``iaf_psc_exp``). Weights
are fixed-point integers (:mod:`.fixed_point`; static per-synapse weights int32 with a
shift per projection), so the sums do not depend on order.
"""
import numba
import numpy as np

from .csr import BLOCK_BITS
from .prefetch import prefetch_write
from .typed_list import typed_list

#: Synapses whose ring-buffer indices are computed before their weights are added.
INDEX_CHUNK = 1024


@numba.njit(cache=True)
def deliver(src_gid, src_step, gid_lo, base, offset, post, weight, shift, weight_all, delay,
            delay_all, ring_ex, ring_in):
    """Deliver spikes (source gid, emission step) through one projection's synapses.

    The synapses of source ``g`` are ``ptr[g - gid_lo] : ptr[g - gid_lo + 1]``, the row
    pointers given in blocks (:class:`~.csr.BlockPointers`: ``ptr[r]`` is
    ``base[r >> BLOCK_BITS] + offset[r]``); ``post``
    holds their ring-buffer columns. ``weight`` (int32) holds per-synapse weights, the
    fixed-point weight of synapse k being ``weight[k] << shift``; ``delay`` holds per-synapse
    delays (steps). Either is empty when every synapse has ``weight_all`` (fixed point) /
    ``delay_all``: then the slot (and the buffer) is chosen once per spike. With per-synapse
    delays, the flat ring-buffer index where each delay's slot starts is tabled once per
    step; the indices of up to :data:`INDEX_CHUNK` synapses are computed first, then their
    ring-buffer entries prefetched for writing, then the weights added: into a ring buffer
    larger than L2 (the microcircuit's) the fetches overlap far better than
    read-modify-writes do (about 2–3× faster than one loop in all, and ~10 % faster with
    prefetches than with plain loads ahead). The updates are written out in the loops: as
    an inlined function they ran 4× slower.
    """
    L, n = ring_ex.shape
    span = offset.shape[0] - 1
    flat_ex, flat_in = ring_ex.reshape(L * n), ring_in.reshape(L * n)
    has_weight = weight.shape[0] > 0
    slot_start, index = np.empty(L + 1, np.int64), np.empty(INDEX_CHUNK, np.int64)
    tabled = -1  # the step slot_start is for
    for s in range(src_gid.shape[0]):
        row = src_gid[s] - gid_lo
        if row < 0 or row >= span:
            continue
        t = src_step[s]
        start = np.int64(base[row >> BLOCK_BITS]) + np.int64(offset[row])
        stop = np.int64(base[(row + 1) >> BLOCK_BITS]) + np.int64(offset[row + 1])
        if delay.shape[0] == 0:
            slot = (t + delay_all) % L
            ex, inh = ring_ex[slot], ring_in[slot]
            if not has_weight:
                target = ex if weight_all >= 0 else inh
                for k in range(start, stop):
                    target[post[k]] += weight_all
                continue
            for k in range(start, stop):
                w = np.int64(weight[k]) << shift
                if w >= 0:
                    ex[post[k]] += w
                else:
                    inh[post[k]] += w
            continue
        if t != tabled:
            for d in range(L + 1):
                slot_start[d] = (t + d) % L * n
            tabled = t
        for lo in range(start, stop, INDEX_CHUNK):
            hi = min(lo + INDEX_CHUNK, stop)
            for k in range(lo, hi):
                index[k - lo] = slot_start[delay[k]] + post[k]
            for k in range(lo, hi):
                negative = weight[k] < 0 if has_weight else weight_all < 0
                prefetch_write(flat_in if negative else flat_ex, index[k - lo])
            for k in range(lo, hi):
                w = (np.int64(weight[k]) << shift) if has_weight else weight_all
                if w >= 0:
                    flat_ex[index[k - lo]] += w
                else:
                    flat_in[index[k - lo]] += w


@numba.njit(cache=True)
def deliver_each(src_gid, src_step, projections, ring_ex, ring_in):
    """:func:`deliver` through each projection of a typed list (one :func:`table` group)."""
    for p in range(len(projections)):
        gid_lo, base, offset, post, weight, shift, weight_all, delay, delay_all = projections[p]
        deliver(src_gid, src_step, gid_lo, base, offset, post, weight, shift, weight_all, delay,
                delay_all, ring_ex, ring_in)


def table(projections):
    """Several projections' :func:`deliver` arguments (gid_lo, base, offset, post, weight,
    shift, weight_all, delay, delay_all), as :func:`deliver_table` takes them: typed lists of those
    with the same array types."""
    groups = {}
    for args in projections:
        groups.setdefault(tuple(np.asarray(a).dtype for a in args), []).append(args)
    return [typed_list(group) for group in groups.values()]


def deliver_table(src_gid, src_step, projections, ring_ex, ring_in):
    """Deliver spikes through every projection of a :func:`table`, in one compiled call per
    group (one call per projection from Python cost ~6 µs: the microcircuit's 64
    projections, every 0.1 ms step, would pay it 640,000 times per biological second)."""
    for group in projections:
        deliver_each(src_gid, src_step, group, ring_ex, ring_in)
