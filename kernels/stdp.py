"""STDP kernels: NEST's ``stdp_synapse`` update at each pre-synaptic spike delivery.

Times are integer time stamps in steps (a spike emitted in step n has the stamp n + 1);
exponentials take ms (stamp differences · dt). The arithmetic follows NEST's
``stdp_synapse::send``, ``facilitate_``, ``depress_`` and ``ArchivingNode`` operation by
operation. See :mod:`bigbrain.stdp` for the rule and :mod:`bigbrain.plasticity` for the
data layout.

Post-synaptic spike history (one log per rank): entry e holds the stamp ``h_stamp[e]``,
the post trace just after the spike ``h_kminus[e]`` and ``h_prev[e]``, the previous entry
of the same neuron (−1: none); ``head[c]`` is the latest entry of column c.
"""
import math

import numba
import numpy as np

from .fixed_point import SCALE

#: What a plastic synapse delivers: its weight (fixed point), one spike count (parrot
#: port 0), or nothing (parrot port 1).
DELIVER_WEIGHT, DELIVER_COUNT, DELIVER_NOTHING = 0, 1, 2
_ONE_SPIKE = np.int64(SCALE)


@numba.njit(cache=True)
def record_post_spikes(cols, stamps, tracked, kminus, last_stamp, inv_tau_minus, dt,
                       head, h_stamp, h_kminus, h_prev, n_hist):
    """Append post-synaptic spikes (columns, stamps; in time order per column) of tracked
    columns to the history and step their traces; returns the new history length."""
    for i in range(cols.shape[0]):
        c = cols[i]
        if not tracked[c]:
            continue
        t = stamps[i]
        kminus[c] = kminus[c] * math.exp((last_stamp[c] - t) * dt * inv_tau_minus[c]) + 1.0
        last_stamp[c] = t
        h_stamp[n_hist] = t
        h_kminus[n_hist] = kminus[c]
        h_prev[n_hist] = head[c]
        head[c] = n_hist
        n_hist += 1
    return n_hist


@numba.njit(cache=True)
def record_entries(cols, stamps, kminus, head, h_stamp, h_kminus, h_prev):
    """Rebuild a history from entries (columns, stamps, K−; in time order per column)."""
    for i in range(cols.shape[0]):
        h_stamp[i] = stamps[i]
        h_kminus[i] = kminus[i]
        h_prev[i] = head[cols[i]]
        head[cols[i]] = i
    return cols.shape[0]


@numba.njit(cache=True, inline="always")
def power(x, mu):
    """x ** mu; pow(x, 0) = 1 and pow(x, 1) = x exactly (C99), so the common additive and
    multiplicative cases skip the call."""
    if mu == 0.0:
        return 1.0
    if mu == 1.0:
        return x
    return x ** mu


@numba.njit(cache=True, inline="always")
def facilitate(w, kplus, lam, mu_plus, w_max):
    norm_w = (w / w_max) + (lam * power(1.0 - (w / w_max), mu_plus) * kplus)
    return norm_w * w_max if norm_w < 1.0 else w_max


@numba.njit(cache=True, inline="always")
def depress(w, kminus, lam, alpha, mu_minus, w_max):
    norm_w = (w / w_max) - (alpha * lam * power(w / w_max, mu_minus) * kminus)
    return norm_w * w_max if norm_w > 0.0 else 0.0


@numba.njit(cache=True, inline="always")
def update_weight(w, t, d, t_last, kplus, c, head, h_stamp, h_kminus, h_prev, scratch,
                  inv_tau_minus, dt, tau_plus, lam, alpha, mu_plus, mu_minus, w_max):
    """The weight after a pre spike stamped t reaches a synapse (delay d, post column c)."""
    e = head[c]
    while e >= 0 and h_stamp[e] > t - d:
        e = h_prev[e]
    n = 0
    f = e
    while f >= 0 and h_stamp[f] > t_last - d:
        scratch[n] = f
        n += 1
        f = h_prev[f]
    for j in range(n - 1, -1, -1):
        minus_dt = (t_last - (h_stamp[scratch[j]] + d)) * dt
        w = facilitate(w, kplus * math.exp(minus_dt / tau_plus), lam, mu_plus, w_max)
    while e >= 0 and h_stamp[e] >= t - d:
        e = h_prev[e]
    k_minus = 0.0
    if e >= 0:
        k_minus = h_kminus[e] * math.exp((h_stamp[e] - (t - d)) * dt * inv_tau_minus[c])
    return depress(w, k_minus, lam, alpha, mu_minus, w_max)


@numba.njit(cache=True)
def deliver(src_gid, src_step, gid_lo, ptr, post, weight, delay, delay_all, kplus, t_last,
            head, h_stamp, h_kminus, h_prev, n_hist, inv_tau_minus, dt,
            tau_plus, lam, alpha, mu_plus, mu_minus, w_max, mode, ring_ex, ring_in,
            rec_row, rec_syn, out_stamp, out_syn, out_w):
    """Deliver spikes (source gid, emission step; in time order) through one plastic
    projection: update each synapse's weight, add its input to the ring buffers, step
    the row's pre trace. Synapses of source g: ``ptr[g − gid_lo] : ptr[g − gid_lo + 1]``.

    Weight recording: synapses ``rec_syn`` (sorted) of rows with ``rec_row`` set write
    (stamp, synapse, new weight) to ``out_*``; returns the number written.
    """
    L = ring_ex.shape[0]
    span = ptr.shape[0] - 1
    per_delay = delay.shape[0] > 0
    recording = rec_row.shape[0] > 0
    scratch = np.empty(n_hist, np.int64)
    n_out = 0
    for s in range(src_gid.shape[0]):
        row = src_gid[s] - gid_lo
        if row < 0 or row >= span:
            continue
        t = src_step[s] + 1
        kp, tl = kplus[row], t_last[row]
        for k in range(ptr[row], ptr[row + 1]):
            d = np.int64(delay[k]) if per_delay else delay_all
            c = np.int64(post[k])
            w = update_weight(weight[k], t, d, tl, kp, c, head, h_stamp, h_kminus, h_prev,
                              scratch, inv_tau_minus, dt, tau_plus, lam, alpha, mu_plus,
                              mu_minus, w_max)
            weight[k] = w
            slot = (t - 1 + d) % L
            if mode == DELIVER_WEIGHT:
                fixed = np.int64(np.rint(w * SCALE))
                if fixed >= 0:
                    ring_ex[slot, c] += fixed
                else:
                    ring_in[slot, c] += fixed
            elif mode == DELIVER_COUNT:
                ring_ex[slot, c] += _ONE_SPIKE
            if recording and rec_row[row]:
                j = np.searchsorted(rec_syn, k)
                if j < rec_syn.shape[0] and rec_syn[j] == k:
                    out_stamp[n_out] = t
                    out_syn[n_out] = k
                    out_w[n_out] = w
                    n_out += 1
        kplus[row] = kp * math.exp((tl - t) * dt / tau_plus) + 1.0
        t_last[row] = t
    return n_out
