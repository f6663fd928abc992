"""Leaky integrate-and-fire updates with NEST's exact integration (Rotter & Diesmann 1999).

Each kernel advances the neurons of one population on one rank through the steps of one
interval. Per step and neuron it reads (and clears) the neuron's ring-buffer slots and
updates the state with the precomputed propagators; a second pass records a spike where
V_m ≥ V_th (the first pass, writing no output, is vectorized by the compiler). The
arithmetic follows NEST's ``iaf_psc_delta``, ``iaf_psc_exp`` and ``iaf_psc_alpha``
operation by operation, so that the same inputs give the same spikes. Membrane potentials
are relative to E_L, as in NEST. Every parameter is a number or one value per neuron of the population, read as
``at(p, i)`` (:mod:`bigbrain.kernels.params`): a homogeneous population runs the code it
would with plain numbers; a block passes numbers only or arrays only
(:meth:`bigbrain.neurons.base.Block.kernel_arguments`), so two specializations serve a
model.

Shared arguments (the contract of :mod:`bigbrain.neurons.base`):
  ring_ex, ring_in  int64 (L, n_columns) fixed-point spike input, slot = step % L
  ring_cur          float64 (L_cur, n_columns) current input (pA), slot = step % L_cur;
                    the current read in a step acts from the next step on (NEST's y0 / i_0)
  col0              the population's first column in the ring buffers
  t0, n_steps       first step of the interval and its length
  rec_idx, rec_v    population-local indices whose recordables are written to
                    rec_v[step offset, k, variable] after each step (V_m in mV, absolute)
  out_idx, out_off  spikes: population-local index and step offset; returns their number

``*_blocks`` advance the populations of one model on a rank in one call (each Python call
of a kernel costs a few µs: the microcircuit's 8 populations pay it every 0.1 ms step).

Spike counts start as ``np.int64(0)``: Numba compiles a callee for each argument type, and
the literal 0 is one more (the callee would be compiled twice).
"""
import math

import numba
import numpy as np

from .fixed_point import INVERSE_SCALE
from .params import at
from .typed_list import typed_list


@numba.njit(cache=True)
def iaf_psc_delta(y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                  P30, P33, I_e, theta, V_reset, V_min, refr_counts, refractory_input, h, tau_m,
                  E_L, rec_idx, rec_v, out_idx, out_off):
    """NEST ``iaf_psc_delta``: delta synapses (weights in mV), optional refractory input;
    records V_m."""
    L, L_cur = ring_ex.shape[0], ring_cur.shape[0]
    n = y3.shape[0]
    k = np.int64(0)
    for s in range(n_steps):
        slot = (t0 + s) % L
        ex, inh = ring_ex[slot, col0:col0 + n], ring_in[slot, col0:col0 + n]
        cur = ring_cur[(t0 + s) % L_cur, col0:col0 + n]
        if refractory_input:
            _delta_step_refractory_input(y3, y0, r, refr_acc, ex, inh, cur, P30, P33, I_e,
                                         V_min, h, tau_m)
        else:
            _delta_step(y3, y0, r, ex, inh, cur, P30, P33, I_e, V_min)
        k = _threshold(y3, r, theta, V_reset, refr_counts, s, out_idx, out_off, k)
        for j in range(rec_idx.shape[0]):
            rec_v[s, j, 0] = y3[rec_idx[j]] + at(E_L, rec_idx[j])
    return k


@numba.njit(cache=True, inline="always")
def _delta_step(y3, y0, r, ex, inh, cur, P30, P33, I_e, V_min):
    """One step of :func:`iaf_psc_delta` without refractory input: input arriving during
    the refractory period is dropped. Written without branches (the compiler vectorizes
    it; twice as fast as NEST's if/else at N = 12,500)."""
    for i in range(y3.shape[0]):
        x = (ex[i] + inh[i]) * INVERSE_SCALE
        ex[i] = 0
        inh[i] = 0
        free = r[i] == 0
        y = at(P30, i) * (y0[i] + at(I_e, i)) + at(P33, i) * y3[i] + x
        y0[i] = cur[i]
        cur[i] = 0.0
        y = at(V_min, i) if y < at(V_min, i) else y
        y3[i] = y if free else y3[i]
        r[i] = r[i] if free else r[i] - 1


@numba.njit(cache=True, inline="always")
def _delta_step_refractory_input(y3, y0, r, refr_acc, ex, inh, cur, P30, P33, I_e, V_min, h,
                                 tau_m):
    """One step of :func:`iaf_psc_delta` with refractory input (NEST's
    ``refractory_input``): input arriving during the refractory period, decayed to its end,
    is added when the neuron becomes free."""
    for i in range(y3.shape[0]):
        x = (ex[i] + inh[i]) * INVERSE_SCALE
        ex[i] = 0
        inh[i] = 0
        current = y0[i]
        y0[i] = cur[i]
        cur[i] = 0.0
        if r[i] == 0:
            y3[i] = at(P30, i) * (current + at(I_e, i)) + at(P33, i) * y3[i] + x
            if refr_acc[i] != 0.0:
                y3[i] += refr_acc[i]
                refr_acc[i] = 0.0
            if y3[i] < at(V_min, i):
                y3[i] = at(V_min, i)
        else:
            refr_acc[i] += x * math.exp(-r[i] * h / at(tau_m, i))
            r[i] -= 1


@numba.njit(cache=True)
def iaf_psc_exp(V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta, V_reset, refr_counts,
                E_L, rec_idx, rec_v, out_idx, out_off):
    """NEST ``iaf_psc_exp``: exponential currents (weights in pA), ex/in by weight sign;
    records V_m, I_syn_ex, I_syn_in."""
    L, L_cur = ring_ex.shape[0], ring_cur.shape[0]
    n = V.shape[0]
    k = np.int64(0)
    for s in range(n_steps):
        slot = (t0 + s) % L
        ex, inh = ring_ex[slot, col0:col0 + n], ring_in[slot, col0:col0 + n]
        cur = ring_cur[(t0 + s) % L_cur, col0:col0 + n]
        for i in range(n):  # without branches: the compiler vectorizes it
            free = r[i] == 0
            v = (V[i] * at(P22, i) + i_ex[i] * at(P21ex, i) + i_in[i] * at(P21in, i)
                 + (at(I_e, i) + i_0[i]) * at(P20, i))
            i_0[i] = cur[i]
            cur[i] = 0.0
            V[i] = v if free else V[i]
            r[i] = r[i] if free else r[i] - 1
            i_ex[i] = i_ex[i] * at(P11ex, i) + ex[i] * INVERSE_SCALE
            i_in[i] = i_in[i] * at(P11in, i) + inh[i] * INVERSE_SCALE
            ex[i] = 0
            inh[i] = 0
        k = _threshold(V, r, theta, V_reset, refr_counts, s, out_idx, out_off, k)
        for j in range(rec_idx.shape[0]):
            rec_v[s, j, 0] = V[rec_idx[j]] + at(E_L, rec_idx[j])
            rec_v[s, j, 1] = i_ex[rec_idx[j]]
            rec_v[s, j, 2] = i_in[rec_idx[j]]
    return k


@numba.njit(cache=True)
def iaf_psc_alpha(y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur, col0, t0,
                  n_steps, P30, expm1_tau_m, P11ex, P21ex, P31ex, P32ex, EPSC, P11in, P21in,
                  P31in, P32in, IPSC, I_e, theta, V_reset, V_min, refr_counts, E_L, rec_idx,
                  rec_v, out_idx, out_off):
    """NEST ``iaf_psc_alpha``: alpha-shaped currents (weights in pA, the current's peak),
    ex/in by weight sign; records V_m, I_syn_ex, I_syn_in."""
    L, L_cur = ring_ex.shape[0], ring_cur.shape[0]
    n = y3.shape[0]
    k = np.int64(0)
    for s in range(n_steps):
        slot = (t0 + s) % L
        ex, inh = ring_ex[slot, col0:col0 + n], ring_in[slot, col0:col0 + n]
        cur = ring_cur[(t0 + s) % L_cur, col0:col0 + n]
        for i in range(n):  # without branches: the compiler vectorizes it
            free = r[i] == 0
            v = (at(P30, i) * (y0[i] + at(I_e, i)) + at(P31ex, i) * dI_ex[i]
                 + at(P32ex, i) * I_ex[i] + at(P31in, i) * dI_in[i] + at(P32in, i) * I_in[i]
                 + at(expm1_tau_m, i) * y3[i] + y3[i])
            v = at(V_min, i) if v < at(V_min, i) else v
            y3[i] = v if free else y3[i]
            r[i] = r[i] if free else r[i] - 1
            I_ex[i] = at(P21ex, i) * dI_ex[i] + at(P11ex, i) * I_ex[i]
            dI_ex[i] = dI_ex[i] * at(P11ex, i) + at(EPSC, i) * (ex[i] * INVERSE_SCALE)
            I_in[i] = at(P21in, i) * dI_in[i] + at(P11in, i) * I_in[i]
            dI_in[i] = dI_in[i] * at(P11in, i) + at(IPSC, i) * (inh[i] * INVERSE_SCALE)
            ex[i] = 0
            inh[i] = 0
            y0[i] = cur[i]
            cur[i] = 0.0
        k = _threshold(y3, r, theta, V_reset, refr_counts, s, out_idx, out_off, k)
        _record(rec_v, s, rec_idx, 0, y3, E_L)
        _record(rec_v, s, rec_idx, 1, I_ex, 0.0)
        _record(rec_v, s, rec_idx, 2, I_in, 0.0)
    return k


@numba.njit(cache=True, inline="always")
def _record(rec_v, s, rec_idx, var, x, offset):
    """Recordable ``var`` of the recorded neurons after step offset s: ``x`` plus
    ``offset`` (E_L for V_m, which the kernels keep relative to E_L)."""
    for j in range(rec_idx.shape[0]):
        rec_v[s, j, var] = x[rec_idx[j]] + at(offset, rec_idx[j])


@numba.njit(cache=True)
def _threshold(V, r, theta, V_reset, refr_counts, s, out_idx, out_off, k):
    """Spikes of step offset s: neurons with V ≥ θ are reset, made refractory and written
    to out_idx/out_off from position k; returns the new count."""
    for i in range(V.shape[0]):
        if V[i] >= at(theta, i):
            r[i] = at(refr_counts, i)
            V[i] = at(V_reset, i)
            out_idx[k] = i
            out_off[k] = s
            k += 1
    return k


def block_table(blocks):
    """The arguments of several populations' kernel calls besides the ring buffers, the
    steps and the spike output ((state arrays…, col0, parameters…, rec_idx, rec_v), all of
    the same types), as ``*_blocks`` take them: a typed list."""
    return typed_list(blocks)


@numba.njit(cache=True, inline="always")
def _to_columns(out_col, k, n, col0):
    """Population-local indices out_col[k:k + n] to rank columns."""
    for i in range(k, k + n):
        out_col[i] += col0


@numba.njit(cache=True)
def iaf_psc_delta_blocks(blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col, out_off):
    """:func:`iaf_psc_delta` for each population of a :func:`block_table`; their spikes,
    population after population, as rank columns and step offsets into ``out_col`` /
    ``out_off``; returns their number."""
    k = 0
    for b in range(len(blocks)):
        (y3, y0, r, refr_acc, col0, P30, P33, I_e, theta, V_reset, V_min, refr_counts,
         refractory_input, h, tau_m, E_L, rec_idx, rec_v) = blocks[b]
        n = iaf_psc_delta(y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                          P30, P33, I_e, theta, V_reset, V_min, refr_counts, refractory_input,
                          h, tau_m, E_L, rec_idx, rec_v, out_col[k:], out_off[k:])
        _to_columns(out_col, k, n, col0)
        k += n
    return k


@numba.njit(cache=True)
def iaf_psc_exp_blocks(blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col, out_off):
    """:func:`iaf_psc_exp` for each population of a :func:`block_table`, with the spike
    output of :func:`iaf_psc_delta_blocks`."""
    k = 0
    for b in range(len(blocks)):
        (V, i_ex, i_in, i_0, r, col0, P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta,
         V_reset, refr_counts, E_L, rec_idx, rec_v) = blocks[b]
        n = iaf_psc_exp(V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur, col0, t0, n_steps,
                        P22, P21ex,
                        P21in, P20, P11ex, P11in, I_e, theta, V_reset, refr_counts, E_L, rec_idx,
                        rec_v, out_col[k:], out_off[k:])
        _to_columns(out_col, k, n, col0)
        k += n
    return k


@numba.njit(cache=True)
def iaf_psc_alpha_blocks(blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col, out_off):
    """:func:`iaf_psc_alpha` for each population of a :func:`block_table`, with the spike
    output of :func:`iaf_psc_delta_blocks`."""
    k = 0
    for b in range(len(blocks)):
        (y3, dI_ex, I_ex, dI_in, I_in, y0, r, col0, P30, expm1_tau_m, P11ex, P21ex, P31ex,
         P32ex, EPSC, P11in, P21in, P31in, P32in, IPSC, I_e, theta, V_reset, V_min, refr_counts,
         E_L, rec_idx, rec_v) = blocks[b]
        n = iaf_psc_alpha(y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur, col0,
                          t0, n_steps, P30, expm1_tau_m, P11ex, P21ex, P31ex, P32ex, EPSC, P11in,
                          P21in, P31in, P32in, IPSC, I_e, theta, V_reset, V_min, refr_counts,
                          E_L, rec_idx, rec_v, out_col[k:], out_off[k:])
        _to_columns(out_col, k, n, col0)
        k += n
    return k
