"""NEST's ``hh_cond_exp_traub``: the Hodgkin–Huxley neuron of Traub & Miles (1991) as the
Brette et al. (2007) review uses it, with exponential conductances, advanced by
:func:`hh_cond_exp_traub`.

State per neuron (mV, 1, nS, pA): ``V``, the gating variables ``Act_m``, ``Inact_h``,
``Act_n``, the conductances ``g_ex``, ``g_in``, the current input of the last step
``I_stim`` and the refractory steps left ``r``. NEST's right-hand side, with v = V − V_T::

    C_m dV/dt = −g_Na m³h (V − E_Na) − g_K n⁴ (V − E_K) − g_L (V − E_L)
                − g_ex (V − E_ex) − g_in (V − E_in) + I_e + I_stim
    dm/dt = α_m (1 − m) − β_m m     (h, n alike)
    α_m = 0.32 (13 − v) / (e^((13 − v)/4) − 1),   β_m = 0.28 (v − 40) / (e^((v − 40)/5) − 1)
    α_h = 0.128 e^((17 − v)/18),                   β_h = 4 / (1 + e^((40 − v)/5))
    α_n = 0.032 (15 − v) / (e^((15 − v)/5) − 1),  β_n = 0.5 e^((10 − v)/40)

Integration as in :mod:`.cond`: each step of dt is ``n_sub`` substeps of h = dt / n_sub;
over a substep the conductances follow their exact exponential decay (taken at its start,
middle and end) and (V, m, h, n) take one classical Runge–Kutta step (RK4). RK4 is stable
only for h·λ ≲ 2.79, λ = (g_Na m³h + g_K n⁴ + g_L + g_ex + g_in)/C_m the rate at which V
relaxes (1/ms): a substep whose h·λ at its start (:func:`_stiffness`; the synaptic
conductances only decay within it; the gating ones may grow, which the margin from STIFF to
2.79 covers) is above :data:`.stiff.STIFF` is taken as 2^k RK4 steps of h/2^k, k the
smallest with h/2^k·λ ≤ STIFF (:func:`.stiff.halvings`), the conductances exact over each
from decay factors by square roots (:func:`_refined_rk4`); the conductances at the end of
the substep as with k = 0, the common case, whose arithmetic this leaves as it is. At NEST's
defaults (h = 0.01 ms) a spike's peak, g_Na m³h up to some 10,700 nS (h·λ 0.53), takes a few
substeps at k = 1 (at I_e 300 pA about 6 per spike); large synaptic conductances (volleys of
10^4 nS) more. λ leaves out the gating variables' rates α + β: at h = 0.01 ms h·(α + β) of
m, h and n stays within STIFF for V − V_T from −90 to +169 mV (at NEST's defaults 0.32 at
most, m's, between E_K and E_Na; tests/test_cond_stiff.py). The only data-dependent
iteration count is k, which depends on the neuron's own state, so a neuron's trajectory
depends on its state and input alone.

Spikes (NEST's order within a step): integrate; a refractory neuron counts down; a free one
spikes when V ≥ V_T + 30 mV and V fell during the step (a local maximum above the
threshold; V is not reset), and is then refractory for round(t_ref / dt) steps, during
which no spike is detected; then the step's spike input is added (g += w; negative
weights to g_in as −w) and its current input read for the next step.

Bits: the rate functions call exp() of the state, from the C library here and from
libdevice on the device (kernels/cuda/hh.cu), which may differ in the last bit; the rest,
the refinement's square roots included, rounds alike (compiled for the host, hh.cu gives
these bits).
"""
import math

import numba

from .fixed_point import INVERSE_SCALE
from .lif import _to_columns
from .params import at
from .stiff import STIFF, halved, halvings, peak

#: The parameter tuple of :func:`hh_cond_exp_traub`: conductances (nS), C_m (pF),
#: potentials (mV), I_e (pA), the conductance decay factors over h/2 and h, the
#: refractory steps, the substeps and their length h (ms).
PARAMS = ("g_Na", "g_K", "g_L", "C_m", "E_Na", "E_K", "E_L", "V_T", "E_ex", "E_in", "I_e",
          "P_ex_half", "P_ex", "P_in_half", "P_in", "refr_counts", "n_sub", "h")
(_G_NA, _G_K, _G_L, _C_M, _E_NA, _E_K, _E_L, _V_T, _E_EX, _E_IN, _I_E, _P_EX_HALF, _P_EX,
 _P_IN_HALF, _P_IN, _REFR_COUNTS, _N_SUB, _H) = range(len(PARAMS))
#: How far above V_T (mV) a local maximum of V counts as a spike (NEST: 30 mV).
SPIKE_ABOVE_V_T = 30.0


@numba.njit(cache=True, inline="always")
def rates(v):
    """(α_m, β_m, α_h, β_h, α_n, β_n) (1/ms) at v = V − V_T (mV), NEST's expressions."""
    return (0.32 * (13.0 - v) / (math.exp((13.0 - v) / 4.0) - 1.0),
            0.28 * (v - 40.0) / (math.exp((v - 40.0) / 5.0) - 1.0),
            0.128 * math.exp((17.0 - v) / 18.0),
            4.0 / (1.0 + math.exp((40.0 - v) / 5.0)),
            0.032 * (15.0 - v) / (math.exp((15.0 - v) / 5.0) - 1.0),
            0.5 * math.exp((10.0 - v) / 40.0))


@numba.njit(cache=True, inline="always")
def _slopes(V, m, hh, n, g_ex, g_in, I, i, p):
    """(dV/dt, dm/dt, dh/dt, dn/dt) of neuron i (module docstring)."""
    a_m, b_m, a_h, b_h, a_n, b_n = rates(V - at(p[_V_T], i))
    I_Na = at(p[_G_NA], i) * m * m * m * hh * (V - at(p[_E_NA], i))
    I_K = at(p[_G_K], i) * n * n * n * n * (V - at(p[_E_K], i))
    I_L = at(p[_G_L], i) * (V - at(p[_E_L], i))
    I_syn = g_ex * (V - at(p[_E_EX], i)) + g_in * (V - at(p[_E_IN], i))
    return ((-I_Na - I_K - I_L - I_syn + I) / at(p[_C_M], i),
            a_m * (1.0 - m) - b_m * m, a_h * (1.0 - hh) - b_h * hh, a_n * (1.0 - n) - b_n * n)


@numba.njit(cache=True, inline="always")
def _rk4(V, m, hh, n, ge0, ge1, ge2, gi0, gi1, gi2, I, i, p, h):
    """One RK4 substep of (V, m, h, n) with the conductances at its start, middle and end."""
    half = 0.5 * h
    V1, m1, h1, n1 = _slopes(V, m, hh, n, ge0, gi0, I, i, p)
    V2, m2, h2, n2 = _slopes(V + half * V1, m + half * m1, hh + half * h1, n + half * n1,
                             ge1, gi1, I, i, p)
    V3, m3, h3, n3 = _slopes(V + half * V2, m + half * m2, hh + half * h2, n + half * n2,
                             ge1, gi1, I, i, p)
    V4, m4, h4, n4 = _slopes(V + h * V3, m + h * m3, hh + h * h3, n + h * n3, ge2, gi2, I, i, p)
    sixth = h / 6.0
    return (V + sixth * (V1 + 2.0 * V2 + 2.0 * V3 + V4),
            m + sixth * (m1 + 2.0 * m2 + 2.0 * m3 + m4),
            hh + sixth * (h1 + 2.0 * h2 + 2.0 * h3 + h4),
            n + sixth * (n1 + 2.0 * n2 + 2.0 * n3 + n4))


@numba.njit(cache=True)
def _stiffness(m, hh, n, g_ex, g_in, i, p, h):
    """h·λ·C_m (pF) of neuron i's substep of h ms from its start: h·(g_Na m³h + g_K n⁴ +
    g_L + g_ex + g_in), the synaptic conductances bounded by :func:`.stiff.peak`."""
    g_Na = at(p[_G_NA], i) * m * m * m * hh
    g_K = at(p[_G_K], i) * n * n * n * n
    return h * (g_Na + g_K + at(p[_G_L], i) + peak(g_ex, None, h) + peak(g_in, None, h))


@numba.njit(cache=True)
def _refined_rk4(V, m, hh, n, ge, gi, I, i, p, h, k):
    """(V, m, h, n) after a stiff substep of h ms (k ≥ 1 halvings): 2^k RK4 steps
    (:func:`_rk4`) of h/2^k, the conductances (from ge, gi) exact over each with the
    factors of :func:`.stiff.halved`."""
    steps = 1 << k
    hk = h / steps
    Pe_half, Pe = halved(at(p[_P_EX_HALF], i), k)
    Pi_half, Pi = halved(at(p[_P_IN_HALF], i), k)
    for _ in range(steps):
        V, m, hh, n = _rk4(V, m, hh, n, ge, ge * Pe_half, ge * Pe, gi, gi * Pi_half, gi * Pi,
                           I, i, p, hk)
        ge, gi = ge * Pe, gi * Pi
    return V, m, hh, n


@numba.njit(cache=True)
def hh_cond_exp_traub(V, Act_m, Inact_h, Act_n, g_ex, g_in, I_stim, r, ring_ex, ring_in,
                      ring_cur, col0, t0, n_steps, p, rec_idx, rec_v, out_idx, out_off):
    """Advance one population through steps t0 … t0+n_steps−1 (module docstring); records
    V_m, g_ex, g_in, Act_m, Inact_h, Act_n."""
    L, L_cur = ring_ex.shape[0], ring_cur.shape[0]
    n_sub, h = p[_N_SUB], p[_H]
    k = 0
    for s in range(n_steps):
        slot = (t0 + s) % L
        ex, inh = ring_ex[slot, col0:col0 + V.shape[0]], ring_in[slot, col0:col0 + V.shape[0]]
        cur = ring_cur[(t0 + s) % L_cur, col0:col0 + V.shape[0]]
        for i in range(V.shape[0]):
            v, m, hh, n, ge, gi = V[i], Act_m[i], Inact_h[i], Act_n[i], g_ex[i], g_in[i]
            I = at(p[_I_E], i) + I_stim[i]
            P_ex_half, P_ex = at(p[_P_EX_HALF], i), at(p[_P_EX], i)
            P_in_half, P_in = at(p[_P_IN_HALF], i), at(p[_P_IN], i)
            limit = STIFF * at(p[_C_M], i)
            for _ in range(n_sub):
                k_sub = halvings(_stiffness(m, hh, n, ge, gi, i, p, h), limit)
                if k_sub == 0:
                    v, m, hh, n = _rk4(v, m, hh, n, ge, ge * P_ex_half, ge * P_ex, gi,
                                       gi * P_in_half, gi * P_in, I, i, p, h)
                else:
                    v, m, hh, n = _refined_rk4(v, m, hh, n, ge, gi, I, i, p, h, k_sub)
                ge, gi = ge * P_ex, gi * P_in
            if r[i] > 0:
                r[i] -= 1
            elif v >= at(p[_V_T], i) + SPIKE_ABOVE_V_T and V[i] > v:
                r[i] = at(p[_REFR_COUNTS], i)
                out_idx[k] = i
                out_off[k] = s
                k += 1
            V[i], Act_m[i], Inact_h[i], Act_n[i] = v, m, hh, n
            g_ex[i] = ge + ex[i] * INVERSE_SCALE
            g_in[i] = gi + -(inh[i] * INVERSE_SCALE)
            ex[i] = 0
            inh[i] = 0
            I_stim[i] = cur[i]
            cur[i] = 0.0
        for j in range(rec_idx.shape[0]):
            i = rec_idx[j]
            rec_v[s, j, 0] = V[i]
            rec_v[s, j, 1] = g_ex[i]
            rec_v[s, j, 2] = g_in[i]
            rec_v[s, j, 3] = Act_m[i]
            rec_v[s, j, 4] = Inact_h[i]
            rec_v[s, j, 5] = Act_n[i]
    return k


@numba.njit(cache=True)
def hh_cond_exp_traub_blocks(blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col,
                             out_off):
    """:func:`hh_cond_exp_traub` for each population of a ``block_table``, with the spike
    output of :func:`bigbrain.kernels.lif.iaf_psc_delta_blocks`."""
    k = 0
    for b in range(len(blocks)):
        V, m, hh, n, g_ex, g_in, I_stim, r, col0, p, rec_idx, rec_v = blocks[b]
        c = hh_cond_exp_traub(V, m, hh, n, g_ex, g_in, I_stim, r, ring_ex, ring_in, ring_cur,
                              col0, t0, n_steps, p, rec_idx, rec_v, out_col[k:], out_off[k:])
        _to_columns(out_col, k, c, col0)
        k += c
    return k
