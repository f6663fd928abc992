"""Neurons with receptor ports (NEST's ``*_multisynapse`` models): each port 1 … P its own
synaptic current or conductance, fed by its own ring buffers.

Port input: port 1 is read from the rank's ring buffers (``ring_ex`` + ``ring_in``, the
sum of both: a port takes weights of either sign, as NEST's ports do); port p ≥ 2 from
``ports[p − 2]`` (int64 (P_rank − 1, 2, L, columns): the ex and in buffers of that port,
:meth:`bigbrain.simulation.Simulation.ring_of`). A port beyond those the rank holds (no
connection uses it) reads nothing. Every slot a step reads is cleared.

Parameters arrive as one value per neuron (float64 (n,), per port (n, P)), so that each
kernel has one compiled specialization.

* :func:`iaf_psc_exp_multisynapse`: NEST's update operation by operation (exact
  integration): V ← V·P22 + (I_e + I_0)·P20, then + P21_k·i_k port after port (only when
  not refractory); each i_k ← i_k·P11_k + input; threshold, reset, refractory count as
  ``iaf_psc_exp``. Records V_m, I_syn (the sum of the port currents, port after port),
  I_syn_1 … I_syn_P.
* :func:`aeif_cond_alpha_multisynapse`: the integration of :mod:`.cond` (fixed substeps of
  h; alpha conductances exact over a substep, taken at its start, middle and end; one RK4
  step of (V, w); a stiff substep, h·λ above :data:`.stiff.STIFF` with λ = (g_L + Σ_k
  g_k)/C_m and each g_k bounded over the substep by :func:`.stiff.peak` (:func:`_stiffness`),
  as 2^k RK4 steps of h/2^k with the conductances exact over each
  (:func:`_refined_rk4`); reset at the crossing time within the substep) with the synaptic
  current Σ_k g_k (E_rev_k − V) (NEST's form). A spike of weight w raises dg_k by
  w·e/tau_syn_k. Records V_m, w, g_1 … g_P.
"""
import math

import numba
import numpy as np

from .cond import DOMINANCE
from .fixed_point import INVERSE_SCALE
from .lif import _to_columns
from .stiff import STIFF, halved, halvings, peak

#: The models of this module (each its own ``*_blocks`` entry of a backend).
MODELS = ("iaf_psc_exp_multisynapse", "aeif_cond_alpha_multisynapse")


@numba.njit(cache=True, inline="always")
def _port_input(ring_ex, ring_in, ports, slot, c, k):
    """The input (pA or nS) of port k + 1 of rank column c in ring slot ``slot``; clears it."""
    if k == 0:
        x = (ring_ex[slot, c] + ring_in[slot, c]) * INVERSE_SCALE
        ring_ex[slot, c] = 0
        ring_in[slot, c] = 0
        return x
    if k - 1 >= ports.shape[0]:
        return 0.0
    x = (ports[k - 1, 0, slot, c] + ports[k - 1, 1, slot, c]) * INVERSE_SCALE
    ports[k - 1, 0, slot, c] = 0
    ports[k - 1, 1, slot, c] = 0
    return x


@numba.njit(cache=True)
def iaf_psc_exp_multisynapse(V, i_syn, i_0, r, ports, ring_ex, ring_in, ring_cur,
                             col0, t0, n_steps, P22, P20, P21, P11, I_e, theta, V_reset,
                             refr_counts, E_L, rec_idx, rec_v, out_idx, out_off):
    """Advance one population (module docstring); V, theta, V_reset relative to E_L (mV),
    currents pA."""
    L, L_cur = ring_ex.shape[0], ring_cur.shape[0]
    n, P = i_syn.shape
    k = 0
    for s in range(n_steps):
        slot = (t0 + s) % L
        cur = ring_cur[(t0 + s) % L_cur, col0:col0 + n]
        for i in range(n):
            if r[i] == 0:
                v = V[i] * P22[i] + (I_e[i] + i_0[i]) * P20[i]
                for q in range(P):
                    v += P21[i, q] * i_syn[i, q]
                V[i] = v
            else:
                r[i] -= 1
            for q in range(P):
                i_syn[i, q] = i_syn[i, q] * P11[i, q] + _port_input(ring_ex, ring_in, ports,
                                                                    slot, col0 + i, q)
            if V[i] >= theta[i]:
                r[i] = refr_counts[i]
                V[i] = V_reset[i]
                out_idx[k] = i
                out_off[k] = s
                k += 1
            i_0[i] = cur[i]
            cur[i] = 0.0
        for j in range(rec_idx.shape[0]):
            i = rec_idx[j]
            rec_v[s, j, 0] = V[i] + E_L[i]
            total = 0.0
            for q in range(P):
                rec_v[s, j, 2 + q] = i_syn[i, q]
                total += i_syn[i, q]
            rec_v[s, j, 1] = total
    return k


@numba.njit(cache=True)
def iaf_psc_exp_multisynapse_blocks(blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col,
                                    out_off):
    """:func:`iaf_psc_exp_multisynapse` for each population of a block table, with the spike
    output of :func:`bigbrain.kernels.lif.iaf_psc_delta_blocks`."""
    k = 0
    for b in range(len(blocks)):
        (V, i_syn, i_0, r, ports, col0, P22, P20, P21, P11, I_e, theta, V_reset,
         refr_counts, E_L, rec_idx, rec_v) = blocks[b]
        n = iaf_psc_exp_multisynapse(V, i_syn, i_0, r, ports, ring_ex, ring_in,
                                     ring_cur, col0, t0, n_steps, P22, P20, P21, P11, I_e,
                                     theta, V_reset, refr_counts, E_L, rec_idx, rec_v,
                                     out_col[k:], out_off[k:])
        _to_columns(out_col, k, n, col0)
        k += n
    return k


#: The per-neuron parameters of :func:`aeif_cond_alpha_multisynapse`, in order (mV, nS,
#: pF, pA, ms; V_clamp bounds V in the right-hand side: V_peak; V_spike: V_peak, or V_th
#: where Delta_T = 0).
AEIF_PARAMS = ("E_L", "g_L", "C_m", "I_e", "V_reset", "V_th", "V_clamp", "V_spike", "Delta_T",
               "a", "b", "tau_w")


@numba.njit(cache=True, inline="always")
def _slopes(v, w, g, E_rev, I, refractory, i, p):
    """(dV/dt, dw/dt) of neuron i at (v, w) with the port conductances ``g`` (NEST's
    right-hand side: V held at V_reset while refractory, else bounded by V_clamp)."""
    E_L, g_L, C_m, _, V_reset, V_th, V_clamp, _, Delta_T, a, _, tau_w = p
    u = V_reset[i] if refractory else min(v, V_clamp[i])
    I_syn = 0.0
    for q in range(g.shape[0]):
        I_syn += g[q] * (E_rev[i, q] - u)
    I_spike = 0.0
    if Delta_T[i] > 0.0:
        I_spike = g_L[i] * Delta_T[i] * math.exp((u - V_th[i]) / Delta_T[i])
    dV = 0.0 if refractory else (-g_L[i] * (u - E_L[i]) + I_spike + I_syn - w + I) / C_m[i]
    return dV, (a[i] * (u - E_L[i]) - w) / tau_w[i]


@numba.njit(cache=True)
def _rk4(v, w, g0, g1, g2, E_rev, I, refractory, i, p, h):
    """One RK4 substep of (V, w) with the conductances at its start, middle and end."""
    half = 0.5 * h
    kV1, kw1 = _slopes(v, w, g0, E_rev, I, refractory, i, p)
    kV2, kw2 = _slopes(v + half * kV1, w + half * kw1, g1, E_rev, I, refractory, i, p)
    kV3, kw3 = _slopes(v + half * kV2, w + half * kw2, g1, E_rev, I, refractory, i, p)
    kV4, kw4 = _slopes(v + h * kV3, w + h * kw3, g2, E_rev, I, refractory, i, p)
    sixth = h / 6.0
    return (v + sixth * (kV1 + 2.0 * kV2 + 2.0 * kV3 + kV4),
            w + sixth * (kw1 + 2.0 * kw2 + 2.0 * kw3 + kw4))


@numba.njit(cache=True)
def _alpha(g, dg, P_half, P, t, g1, g2, dg2):
    """Alpha conductances (g, dg) of each port after t/2 and t: g1, g2, dg2 (in place);
    ``P_half``, ``P``: the decay factors over t/2 and t."""
    for q in range(g.shape[0]):
        g1[q] = (g[q] + dg[q] * (0.5 * t)) * P_half[q]
        g2[q] = (g[q] + dg[q] * t) * P[q]
        dg2[q] = dg[q] * P[q]


@numba.njit(cache=True)
def _stiffness(g, dg, i, p, h):
    """h·λ·C_m (pF) of neuron i's substep of h ms: h·(g_L + Σ_k g_k), each port's
    conductance bounded over the substep by :func:`.stiff.peak`."""
    total = p[1][i]
    for q in range(g.shape[0]):
        total += peak(g[q], dg[q], h)
    return h * total


@numba.njit(cache=True)
def _refined_rk4(v, w, g, dg, E_rev, P_half, I, refractory, i, p, h, k, work):
    """(V, w) after a stiff substep of h ms (k ≥ 1 halvings): 2^k RK4 steps (:func:`_rk4`)
    of h/2^k, the port conductances (from g, dg; ``P_half``: their decay factors over h/2)
    exact over each with the factors of :func:`.stiff.halved`; ``work``: 7 rows of scratch."""
    gk, dgk, g1, g2, dg2, Pk_half, Pk = work
    for q in range(g.shape[0]):
        Pk_half[q], Pk[q] = halved(P_half[q], k)
        gk[q], dgk[q] = g[q], dg[q]
    steps = 1 << k
    hk = h / steps
    for _ in range(steps):
        _alpha(gk, dgk, Pk_half, Pk, hk, g1, g2, dg2)
        v, w = _rk4(v, w, gk, g1, g2, E_rev, I, refractory, i, p, hk)
        for q in range(g.shape[0]):
            gk[q], dgk[q] = g2[q], dg2[q]
    return v, w


@numba.njit(cache=True)
def _crossing_time(v, w, g, E_rev, I, i, p, h):
    """When V reached V_peak within a substep of h ms from ``v`` (:func:`.cond._crossing_time`
    with the ports' synaptic current)."""
    E_L, g_L, C_m, _, _, V_th, _, V_spike, Delta_T, _, _, _ = p
    if Delta_T[i] <= 0.0:
        return h
    x = (v - V_th[i]) / Delta_T[i]
    J = -g_L[i] * (v - E_L[i]) - w + I
    for q in range(g.shape[0]):
        J += g[q] * (E_rev[i, q] - v)
    if g_L[i] * Delta_T[i] * math.exp(x) < DOMINANCE * abs(J):
        return h
    t = C_m[i] / g_L[i] * (math.exp(-x) - math.exp(-(V_spike[i] - V_th[i]) / Delta_T[i]))
    return min(max(t, 0.0), h)


@numba.njit(cache=True)
def _after_crossing(v, w, w1, g, dg, E_rev, P, I, refractory, i, p, h, scratch):
    """(V, w) at the end of a substep in which V crossed V_peak: reset at the crossing
    time (w linear in between, += b), then RK4 over the rest of the substep from V_reset
    (:func:`.cond._after_crossing`)."""
    t = _crossing_time(v, w, g, E_rev, I, i, p, h)
    rest = h - t
    w_c = w + (w1 - w) * (t / h) + p[10][i]
    g_t, dg_t, g1, g2 = scratch
    for q in range(g.shape[0]):
        decay = P[i, q] ** (t / h)
        g_t[q] = (g[q] + dg[q] * t) * decay
        dg_t[q] = dg[q] * decay
    for q in range(g.shape[0]):
        g1[q] = (g_t[q] + dg_t[q] * (0.5 * rest)) * P[i, q] ** (0.5 * rest / h)
        g2[q] = (g_t[q] + dg_t[q] * rest) * P[i, q] ** (rest / h)
    V_reset = p[4][i]
    v2, w2 = _rk4(V_reset, w_c, g_t, g1, g2, E_rev, I, refractory, i, p, rest)
    return (V_reset if refractory else v2), w2


@numba.njit(cache=True)
def aeif_cond_alpha_multisynapse(V, w, g, dg, I_stim, r, ports, ring_ex, ring_in, ring_cur,
                                 col0, t0, n_steps, p, E_rev, P_half, P, scale, refr_counts,
                                 n_sub, h, rec_idx, rec_v, out_idx, out_off):
    """Advance one population (module docstring); V mV, w pA, g nS, dg nS/ms."""
    L, L_cur = ring_ex.shape[0], ring_cur.shape[0]
    n, n_ports = g.shape
    g0, dg0, g1, g2, dg2 = (np.empty(n_ports), np.empty(n_ports), np.empty(n_ports),
                            np.empty(n_ports), np.empty(n_ports))
    scratch = (np.empty(n_ports), np.empty(n_ports), np.empty(n_ports), np.empty(n_ports))
    work = np.empty((7, n_ports))
    k = 0
    for s in range(n_steps):
        slot = (t0 + s) % L
        cur = ring_cur[(t0 + s) % L_cur, col0:col0 + n]
        for i in range(n):
            v, wi = V[i], w[i]
            for q in range(n_ports):
                g0[q], dg0[q] = g[i, q], dg[i, q]
            I = p[3][i] + I_stim[i]
            limit = STIFF * p[2][i]
            spiked = False
            for sub in range(n_sub):
                _alpha(g0, dg0, P_half[i], P[i], h, g1, g2, dg2)
                k_sub = halvings(_stiffness(g0, dg0, i, p, h), limit)
                if k_sub == 0:
                    v1, w1 = _rk4(v, wi, g0, g1, g2, E_rev, I, r[i] > 0, i, p, h)
                else:
                    v1, w1 = _refined_rk4(v, wi, g0, dg0, E_rev, P_half[i], I, r[i] > 0, i, p,
                                          h, k_sub, work)
                if r[i] > 0:
                    v1 = p[4][i]
                elif v1 >= p[7][i]:
                    refr = refr_counts[i]
                    r[i] = refr + 1 if refr > 0 else 0
                    v1, w1 = _after_crossing(v, wi, w1, g0, dg0, E_rev, P, I, r[i] > 0, i, p,
                                             h, scratch)
                    if not spiked:
                        out_idx[k] = i
                        out_off[k] = s
                        k += 1
                        spiked = True
                v, wi = v1, w1
                for q in range(n_ports):
                    g0[q], dg0[q] = g2[q], dg2[q]
            if r[i] > 0:
                r[i] -= 1
            V[i], w[i] = v, wi
            for q in range(n_ports):
                g[i, q] = g0[q]
                dg[i, q] = dg0[q] + _port_input(ring_ex, ring_in, ports, slot, col0 + i, q) \
                    * scale[i, q]
            I_stim[i] = cur[i]
            cur[i] = 0.0
        for j in range(rec_idx.shape[0]):
            i = rec_idx[j]
            rec_v[s, j, 0] = V[i]
            rec_v[s, j, 1] = w[i]
            for q in range(n_ports):
                rec_v[s, j, 2 + q] = g[i, q]
    return k


@numba.njit(cache=True)
def aeif_cond_alpha_multisynapse_blocks(blocks, ring_ex, ring_in, ring_cur, t0, n_steps,
                                        out_col, out_off):
    """:func:`aeif_cond_alpha_multisynapse` for each population of a block table."""
    k = 0
    for b in range(len(blocks)):
        (V, w, g, dg, I_stim, r, ports, col0, p, E_rev, P_half, P, scale, refr_counts, n_sub,
         h, rec_idx, rec_v) = blocks[b]
        n = aeif_cond_alpha_multisynapse(V, w, g, dg, I_stim, r, ports, ring_ex, ring_in,
                                         ring_cur, col0, t0, n_steps, p, E_rev, P_half, P,
                                         scale, refr_counts, n_sub, h, rec_idx, rec_v,
                                         out_col[k:], out_off[k:])
        _to_columns(out_col, k, n, col0)
        k += n
    return k
