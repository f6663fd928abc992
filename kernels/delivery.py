"""Spike delivery: scatter the synaptic events of received spikes into the ring buffers.

A spike emitted in step n reaches a synapse of delay d (steps) in step n + d, when the
neuron reads ring-buffer slot (n + d) % L. Non-negative weights go to the excitatory
buffer, negative ones to the inhibitory buffer (NEST's rule for ``iaf_psc_exp``). Weights
are fixed-point integers (:mod:`.fixed_point`; static per-synapse weights int32 with a
shift per projection), so the sums do not depend on order.
"""
import numba
import numpy as np


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
