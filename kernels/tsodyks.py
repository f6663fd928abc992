"""Tsodyks–Markram kernel: NEST's ``tsodyks_synapse::send`` at each pre-synaptic spike.

Times are stamps in steps (a spike emitted in step n has the stamp n + 1); the time
since a row's previous spike is (stamp difference) · dt ms. The arithmetic follows NEST
3.10 operation by operation (see :mod:`bigbrain.tsodyks`); the released weight goes into
the ring buffers in fixed point as every plastic synapse's (:mod:`.stdp`).
"""
import math

import numba
import numpy as np

from .fixed_point import SCALE
from .stdp import DELIVER_COUNT, DELIVER_WEIGHT, _ONE_SPIKE


@numba.njit(cache=True)
def deliver(src_gid, src_step, gid_lo, ptr, post, weight, delay, delay_all, t_last, dt,
            U, tau_psc, tau_fac, tau_rec, x, y, u, mode, ring_ex, ring_in,
            rec_row, rec_syn, out_stamp, out_syn, out_w):
    """Deliver spikes (source gid, emission step; in time order) through one projection of
    tsodyks synapses: update each synapse's x, y, u (per-synapse float64 arrays, as are
    the parameters U, tau_psc, tau_fac, tau_rec in ms) and add Δ·weight to the ring
    buffers; ``t_last``: each row's previous spike stamp. Synapses of source g:
    ``ptr[g − gid_lo] : ptr[g − gid_lo + 1]``. Weight recording as :func:`.stdp.deliver`
    (the weight, which does not change); returns the number of events written.

    The synapses of a row share h, so the propagators are computed again only where a
    synapse's time constants differ from the previous synapse's (once per spike for a
    projection with one set)."""
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
        h = t * dt - t_last[row] * dt
        last_fac, last_psc, last_rec = -1.0, -1.0, -1.0  # time constants of the propagators
        p_uu = p_yy = p_xy = p_xz = 0.0
        for k in range(ptr[row], ptr[row + 1]):
            if tau_fac[k] != last_fac or tau_psc[k] != last_psc or tau_rec[k] != last_rec:
                last_fac, last_psc, last_rec = tau_fac[k], tau_psc[k], tau_rec[k]
                p_uu = 0.0 if last_fac == 0.0 else math.exp(-h / last_fac)
                p_yy = math.exp(-h / last_psc)
                p_zz = math.exp(-h / last_rec)
                p_xy = ((p_zz - 1.0) * last_rec - (p_yy - 1.0) * last_psc) / (last_psc - last_rec)
                p_xz = 1.0 - p_zz
            z = 1.0 - x[k] - y[k]
            uk = u[k] * p_uu
            xk = x[k] + (p_xy * y[k] + p_xz * z)
            yk = y[k] * p_yy
            uk += U[k] * (1.0 - uk)
            released = uk * xk
            x[k] = xk - released
            y[k] = yk + released
            u[k] = uk
            d = np.int64(delay[k]) if per_delay else delay_all
            c = np.int64(post[k])
            slot = emitted_slot + d
            if slot >= L:
                slot %= L
            if mode == DELIVER_WEIGHT:
                fixed = np.int64(np.rint(released * weight[k] * SCALE))
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
                    out_w[n_out] = weight[k]
                    n_out += 1
        t_last[row] = t
    return n_out
