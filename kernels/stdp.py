"""STDP kernels: NEST's ``stdp_synapse`` update at each pre-synaptic spike delivery.

Times are integer time stamps in steps (a spike emitted in step n has the stamp n + 1);
exponentials take ms (stamp differences · dt). The arithmetic follows NEST's
``stdp_synapse::send``, ``facilitate_``, ``depress_`` and ``ArchivingNode`` operation by
operation. See :mod:`bigbrain.stdp` for the rule and :mod:`bigbrain.plasticity` for the
data layout.

Post-synaptic spike history (per rank): row c of ``h`` (int64, neurons × width) holds
everything a synaptic event onto column c reads, so that an event mostly touches the
row's first cache line (rows start on a line): ``h[c, SIZE]`` the number of entries,
``h[c, MEMO_STAMP]`` / ``hf[c, MEMO_KMINUS]`` the K− just before the stamp last asked for
(see :func:`deliver`), and entry j (newest first) at ``h[c, stamp_at(j)]`` (stamp) and
``hf[c, stamp_at(j) + 1]`` (K− just after the spike); ``hf`` is the float64 view of ``h``.
An entry is dropped once no synapse can need it: stamped at or below ``bound`` (no row's
last pre spike minus its delay is older) and not the newest such entry (it gives K−).

``stdp_triplet_synapse`` also needs the post-synaptic trace K−₃ (``tau_minus_triplet``)
just after each spike: a history with triplet projections has a second array ``ht``
(float64, neurons × capacity), entry j of column c at ``ht[c, j]``, and the kernels take
``triplet`` (a tuple) where ``stdp_synapse`` alone passes None; Numba compiles each form
apart and prunes the ``triplet is None`` branches, so the pair kernel is unchanged.
"""
import math

import numba
import numpy as np

from .fixed_point import SCALE
from .prefetch import prefetch_read

#: What a plastic synapse delivers: its weight (fixed point), one spike count (parrot
#: port 0), or nothing (parrot port 1).
DELIVER_WEIGHT, DELIVER_COUNT, DELIVER_NOTHING = 0, 1, 2
_ONE_SPIKE = np.int64(SCALE)

#: Words of a history row before its entries (``MEMO_STAMP + 2`` is padding, so that the
#: row width 4 + 2·capacity is a whole number of 64-byte lines for the capacities
#: ``bigbrain.plasticity`` uses: 10, 18, 34 …).
SIZE, MEMO_STAMP, MEMO_KMINUS, FIRST_ENTRY = 0, 1, 2, 4

#: How many synapses ahead :func:`deliver` prefetches the history row of the target.
PREFETCH_AHEAD = 16


@numba.njit(cache=True, inline="always")
def stamp_at(j):
    """Word of a history row holding the stamp of entry j (its K− is the next word)."""
    return FIRST_ENTRY + 2 * j


@numba.njit(cache=True)
def capacity(h):
    """Entries a history row can hold."""
    return (h.shape[1] - FIRST_ENTRY) // 2


@numba.njit(cache=True, inline="always")
def kept_entries(h, c, bound):
    """How many of column c's entries must stay: those stamped after ``bound`` and the
    newest one at or before it."""
    n = h[c, SIZE]
    j = 0
    while j < n and h[c, stamp_at(j)] > bound:
        j += 1
    return j + 1 if j < n else n


@numba.njit(cache=True)
def record_post_spikes(cols, stamps, start, tracked, kminus, last_stamp, inv_tau_minus, dt,
                       bound, h, hf, triplet=None):
    """Record post-synaptic spikes ``start:`` (columns, stamps; in time order per column) of
    tracked columns and step their traces, dropping entries older than ``bound`` (see the
    module docstring). ``triplet``: None, or (K−₃ per column, 1/tau_minus_triplet per
    column, ``ht``) to step and record K−₃ too. Returns the index of the first spike not
    recorded because its column's row is full (len(cols): all recorded)."""
    full = capacity(h)
    for i in range(start, cols.shape[0]):
        c = cols[i]
        if not tracked[c]:
            continue
        keep = kept_entries(h, c, bound)
        if keep == full:
            return i
        t = stamps[i]
        kminus[c] = kminus[c] * math.exp((last_stamp[c] - t) * dt * inv_tau_minus[c]) + 1.0
        if triplet is not None:
            k3, inv_tau3, ht = triplet
            k3[c] = k3[c] * math.exp((last_stamp[c] - t) * dt * inv_tau3[c]) + 1.0
            for j in range(keep, 0, -1):
                ht[c, j] = ht[c, j - 1]
            ht[c, 0] = k3[c]
        last_stamp[c] = t
        for word in range(stamp_at(keep) + 1, FIRST_ENTRY + 1, -1):
            h[c, word] = h[c, word - 2]
        h[c, stamp_at(0)] = t
        hf[c, stamp_at(0) + 1] = kminus[c]
        h[c, SIZE] = keep + 1
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
def facilitate_triplet(w, kplus, ky, a_plus, a_plus_triplet, w_max):
    """NEST stdp_triplet_synapse's facilitation: ``ky`` is K−₃ just before the post spike."""
    new_w = abs(w) + kplus * (a_plus + a_plus_triplet * ky)
    return math.copysign(new_w if new_w < abs(w_max) else w_max, w_max)


@numba.njit(cache=True, inline="always")
def depress_triplet(w, kminus, kx, a_minus, a_minus_triplet, w_max):
    """NEST stdp_triplet_synapse's depression: ``kx`` is K+₃ just before the pre spike."""
    new_w = abs(w) - kminus * (a_minus + a_minus_triplet * kx)
    return math.copysign(new_w if new_w > 0.0 else 0.0, w_max)


@numba.njit(cache=True, inline="always")
def exp_steps(tables, start, length, m, dt, tau, multiply):
    """exp(−m·dt/τ), or exp(−m·dt·τ) if ``multiply``, for a step count m ≥ 0: entry m of
    the table at ``tables[start:start + length]`` (:mod:`.exp_tables`, the same
    expression) or, past it, computed."""
    if m < length:
        return tables[start + m]
    x = -m * dt
    return math.exp(x * tau if multiply else x / tau)


@numba.njit(cache=True)
def deliver(src_gid, src_step, gid_lo, ptr, post, weight, delay, delay_all, kplus, t_last,
            h, hf, minus_tables, minus_start, minus_length, inv_tau_minus, dt, exp_plus, tau_plus,
            lam, alpha, mu_plus, mu_minus, w_max, mode, ring_ex, ring_in, rec_row, rec_syn, out_stamp, out_syn, out_w,
            triplet=None):
    """Deliver spikes (source gid, emission step; in time order) through one plastic
    projection: update each synapse's weight (facilitation by the post spikes in
    (t_last − d, t − d], oldest first, then depression by K− just before t − d), add its
    input to the ring buffers, step the row's pre trace. Synapses of source g:
    ``ptr[g − gid_lo] : ptr[g − gid_lo + 1]``.

    ``h``, ``hf``: the post-synaptic history (module docstring), where K− just before
    t − d is remembered per column for the latest t − d asked (the spikes of one step
    through one delay all ask for the same, and entries before it never change);
    ``minus_*``: :func:`.exp_tables.per_column` (dt, inv_tau_minus); ``exp_plus``:
    :func:`.exp_tables.exp_div` (dt, tau_plus). The synapse update is
    written out in the loop: as inlined functions it ran 2–3× slower under Numba. The
    history row of the synapse :data:`PREFETCH_AHEAD` places on is prefetched (the history
    of 12,500 neurons, 3 MiB, outgrows L2): ~10 % faster.

    Weight recording: synapses ``rec_syn`` (sorted) of rows with ``rec_row`` set write
    (stamp, synapse, new weight) to ``out_*``; returns the number written.

    ``triplet``: None (``stdp_synapse``), or for ``stdp_triplet_synapse`` (K+₃ per row,
    ``ht`` (module docstring), :func:`.exp_tables.exp_div` (dt, tau_plus_triplet),
    tau_plus_triplet, Aplus, Aminus, Aplus_triplet, Aminus_triplet); then ``lam``,
    ``alpha``, ``mu_plus`` and ``mu_minus`` are not used.
    """
    L = ring_ex.shape[0]
    span = ptr.shape[0] - 1
    per_delay = delay.shape[0] > 0
    recording = rec_row.shape[0] > 0
    n_out = 0
    for s in range(src_gid.shape[0]):
        row = src_gid[s] - gid_lo
        if row < 0 or row >= span:
            continue
        t = src_step[s] + 1
        emitted_slot = (t - 1) % L
        kp, tl = kplus[row], t_last[row]
        if triplet is not None:  # K+₃ just before t
            k3_rows, ht, exp_x, tau_x, a_plus, a_minus, a_plus3, a_minus3 = triplet
            kx = k3_rows[row] * exp_steps(exp_x, 0, exp_x.shape[0], t - tl, dt, tau_x, False)
        end = ptr[row + 1]
        for k in range(ptr[row], end):
            prefetch_read(h, np.int64(post[min(k + PREFETCH_AHEAD, end - 1)]))
            d = np.int64(delay[k]) if per_delay else delay_all
            c = np.int64(post[k])
            td = t - d
            n = h[c, SIZE]
            if h[c, MEMO_STAMP] != td:  # K− just before td: the newest entry before td, decayed
                e = 0
                while e < n and h[c, stamp_at(e)] >= td:
                    e += 1
                k_minus = 0.0
                if e < n:
                    k_minus = hf[c, stamp_at(e) + 1] * exp_steps(
                        minus_tables, minus_start[c], minus_length[c], td - h[c, stamp_at(e)], dt,
                        inv_tau_minus[c], True)
                h[c, MEMO_STAMP] = td
                hf[c, MEMO_KMINUS] = k_minus
            # facilitation by the post spikes in (tl − d, t − d], oldest first
            w = weight[k]
            newest = 0
            while newest < n and h[c, stamp_at(newest)] > td:
                newest += 1
            oldest = newest
            while oldest < n and h[c, stamp_at(oldest)] > tl - d:
                oldest += 1
            for j in range(oldest - 1, newest - 1, -1):
                decay = exp_steps(exp_plus, 0, exp_plus.shape[0], h[c, stamp_at(j)] + d - tl, dt,
                                  tau_plus, False)
                if triplet is None:
                    w = facilitate(w, kp * decay, lam, mu_plus, w_max)
                else:
                    w = facilitate_triplet(w, kp * decay, ht[c, j] - 1.0, a_plus, a_plus3, w_max)
            if triplet is None:
                w = depress(w, hf[c, MEMO_KMINUS], lam, alpha, mu_minus, w_max)
            else:
                w = depress_triplet(w, hf[c, MEMO_KMINUS], kx, a_minus, a_minus3, w_max)
            weight[k] = w
            slot = emitted_slot + d
            if slot >= L:
                slot %= L
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
        if triplet is not None:
            k3_rows[row] = kx + 1.0
        t_last[row] = t
    return n_out
