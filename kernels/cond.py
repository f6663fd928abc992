"""Conductance-based integrate-and-fire neurons: NEST's ``iaf_cond_exp``,
``iaf_cond_alpha``, ``aeif_cond_exp`` and ``aeif_cond_alpha``, and
``iaf_cond_exp_adaptive`` (an adaptive threshold), advanced by one kernel, :func:`cond`.

State per neuron (absolute units: mV, nS, nS/ms, pA): ``V``, the conductances ``g_ex``,
``g_in`` (for alpha synapses also their derivatives ``dg_ex``, ``dg_in``), the adaptation
current ``w`` (aeif), the threshold increase ``theta`` (adaptive), the current input of the
last step ``I_stim`` (NEST's ``B_.I_stim_``), the refractory steps left ``r`` and the
lockout steps left ``lock`` (adaptive: steps in which the threshold is not checked). A model
without a variable passes ``None`` for it; Numba compiles one specialization per model
(branches on ``is None`` are removed at compile time). The models without ``w`` (iaf)
detect spikes at the end of the step (``detect_each`` False) and take
:func:`_leaky_substep`, chosen by ``w is None`` alone, so that their specializations
leave out the general loop (half the compile time).

Integration (NEST uses GSL's adaptive RKF45, whose step sizes depend on the data): each step
of dt is ``n_sub`` substeps of h = dt / n_sub, a number fixed per population. Over a
substep the conductances follow their exact solution — exponential
g(t) = g0·e^(−t/τ); alpha dg(t) = dg0·e^(−t/τ), g(t) = (g0 + dg0·t)·e^(−t/τ) — taken at
t0, t0 + h/2 and t0 + h, and (V, w) take one classical Runge–Kutta step (RK4) with them.
RK4 is stable only for h·λ ≲ 2.79, λ = (g_L + g_ex + g_in)/C_m the rate at which V relaxes
(1/ms); beyond it V oscillates and grows (a neuron under pure inhibition would spike). So a
neuron whose substep is stiff — h·λ above :data:`STIFF`, λ from the conductances' bounds
over the substep (:func:`_stiffness`: exponential ones at its start, alpha ones g +
max(dg, 0)·h) — takes it as 2^k RK4 steps of h/2^k, k the smallest with h/2^k·λ ≤ STIFF
(:func:`_level`, at most :data:`.stiff.MAX_LEVEL`), the conductances exact over each from decay
factors by square roots (:func:`_refined_rk4`); the conductances at the end of the substep
and everything else (V's bound, refractoriness, spike detection) as with k = 0, the common
case, whose arithmetic this leaves as it is. The iaf models compute the refined V
ahead of their vectorized loop (:func:`_refine_stiff`). In their substeps that are not
stiff, an exponential conductance below 2^-1022 nS (subnormal: one decays into that range
and stays there, since its decay rounds back to it) acts on V as 0, while it decays as
before: a product with a subnormal operand costs the processor ~150 cycles, in every lane
of a vectorized loop, and its result, below 2^-1014 pA, is lost in rounding unless the
slope's other terms are 0 too (V = E_L, no current), and then moves V only if V is 0 mV
(:func:`_set_aside_tiny`; kernels/cuda/cond.cu the same; :func:`cond`'s per-neuron loop,
the aeif models', lets it act). λ leaves out the aeif exponential
term (its rise ends in a spike, whose time :func:`_crossing_time` takes), and the rest of
a substep after a reset is one RK4 step as before.
The right-hand side is NEST's: V bounded above by ``V_clamp`` (V_th; aeif: V_peak) inside
it — for the adaptive threshold by V_th + theta, the threshold the neuron has, so that a
neuron between V_th and V_th + theta feels its leak and driving forces at its own V, and
not bounded while the threshold is locked out (V integrates freely, as in Diehl & Cook's
Brian code: :data:`UNBOUNDED`) — V held at V_reset and dV/dt = 0 while refractory (w still evolves), the exponential
term only for Delta_T > 0. The only data-dependent iteration count is a neuron's refined
substeps, which depend on its own conductances alone, and there are no fused multiply-adds
(Numba does not contract; see Bits below), so a neuron's trajectory depends on its state
and input alone: identical on any number of ranks.

Spikes (NEST's order within a step): integrate; a refractory neuron is held at V_reset; a
neuron whose V reaches ``V_spike`` + theta is reset to V_reset, w += b, theta +=
theta_plus, and is refractory for round(t_ref / dt) steps and locked out for
round(t_lockout / dt) steps (adaptive; Diehl & Cook's timer: counted from the spike's step as
``r``, its threshold is not checked in those steps, and after the refractory ones V
integrates freely, unbounded, above V_th + theta too); then the step's spike input is
added (``g += w`` for exponential, ``dg += w·e/τ`` for alpha conductances; negative weights
to the inhibitory conductance as ``−w``); then the step's current input is read for the
next step. iaf: V_spike = V_th, checked at the end of the step. aeif: V_spike = V_peak (V_th
for Delta_T = 0), checked after each substep (NEST: after each GSL step); the reset happens
at the time V reached V_peak within the substep, taken from the exponential term where it
dominates (:func:`_crossing_time`), and the rest of the substep is integrated from V_reset
— without this the reset would fall on the substep grid, an error of order h in every
interspike interval. A neuron emits at most one spike per step: a second crossing within
one step (only possible with t_ref < dt and a rise from V_reset to V_peak in less than dt)
resets V and adds b again without a second spike.

Bits: the arithmetic is IEEE double without contraction, and exp() / pow() (the aeif
exponential term, the decay to a crossing time) come from the C library; the CUDA port
(kernels/cuda/cond.cu) gives the same bits where its exp and pow round as the host's do
(the conductance decay factors are computed once on the host; those of refined substeps
come from them by sqrt, correctly rounded on both): always for the iaf models, which call
neither; for aeif_cond_exp / aeif_cond_alpha the device's libdevice may differ
in the last bit and the GPU build warns.

Parameters (``p``, a tuple, in the order of :data:`PARAMS`) are read per neuron through
:func:`bigbrain.kernels.params.at`: one number per population or one value per neuron.
"""
import math

import numba
import numpy as np

from .bits import bits
from .fixed_point import INVERSE_SCALE
from .lif import _to_columns
from .params import at
from .stiff import STIFF, halved, halvings, peak

#: How much larger than the other currents the exponential term must be for the spike time
#: within a substep to be taken from it alone (:func:`_crossing_time`; relative error of
#: that time below 1/DOMINANCE).
DOMINANCE = 20.0

#: The threshold increase that bounds nothing (the right-hand side of a neuron whose threshold
#: is locked out): V_clamp + UNBOUNDED rounds to the largest double, above any V.
UNBOUNDED = 1.7976931348623157e308

#: The smallest normal double (2^-1022). A product with a smaller, subnormal, operand takes
#: the processor a microcode assist (~150 cycles; ~13 ns per element of a vectorized loop):
#: an exponential conductance decays into that range and stays there (m·2^-1074·P rounds
#: back to m·2^-1074 for m·(1 − P) < 0.5), so :func:`_leaky_substep` sets such a
#: conductance aside (:func:`_set_aside_tiny`).
TINY = 2.0 ** -1022
#: The bound of :func:`_stuck` (1 − 2^-50).
_SHORT = 1.0 - 2.0 ** -50

#: The models this kernel advances (each its own ``*_blocks`` entry of a backend).
MODELS = ("iaf_cond_exp", "iaf_cond_alpha", "iaf_cond_exp_adaptive", "aeif_cond_exp",
          "aeif_cond_alpha")

#: The parameter tuple of :func:`cond`: membrane (mV, nS, pF, pA), aeif (nS, pA, mV, ms),
#: threshold adaptation (mV; its decay factor per step), synapses (the conductance decay
#: factors over h/2 and h, the factor a spike weight is multiplied with), the refractory
#: steps, the lockout steps (adaptive), the substeps and their length h (ms), and whether
#: spikes are detected after every substep (aeif) or at the end of the step (iaf).
PARAMS = ("E_L", "g_L", "C_m", "E_ex", "E_in", "I_e", "V_reset", "V_th", "V_clamp", "V_spike",
          "Delta_T", "a", "b", "tau_w", "theta_plus", "P_theta",
          "P_ex_half", "P_ex", "P_in_half", "P_in", "scale_ex", "scale_in",
          "refr_counts", "lock_counts", "n_sub", "h", "detect_each")
#: Positions in the parameter tuple (constants to Numba: ``p[_G_L]`` is a static index).
(_E_L, _G_L, _C_M, _E_EX, _E_IN, _I_E, _V_RESET, _V_TH, _V_CLAMP, _V_SPIKE, _DELTA_T,
 _A, _B, _TAU_W, _THETA_PLUS, _P_THETA, _P_EX_HALF, _P_EX, _P_IN_HALF, _P_IN,
 _SCALE_EX, _SCALE_IN, _REFR_COUNTS, _LOCK_COUNTS, _N_SUB, _H, _DETECT_EACH) = range(len(PARAMS))


@numba.njit(cache=True, inline="always")
def _dV(v, g_ex, g_in, w, I, E_L, g_L, C_m, E_ex, E_in, Delta_T, V_th):
    """dV/dt (mV/ms) at the bounded potential ``v``; ``I``: I_e plus current input (pA)."""
    I_spike = 0.0
    if Delta_T > 0.0:
        I_spike = g_L * Delta_T * math.exp((v - V_th) / Delta_T)
    return (-g_L * (v - E_L) + I_spike - g_ex * (v - E_ex) - g_in * (v - E_in) - w + I) / C_m


@numba.njit(cache=True, inline="always")
def _slopes(V, w, g_ex, g_in, I, refractory, i, p, th):
    """(dV/dt, dw/dt) of neuron i: NEST's right-hand side (V held at V_reset while
    refractory, else bounded by V_clamp + th; th: the threshold increase theta, else 0;
    :data:`UNBOUNDED` while the threshold is locked out)."""
    E_L = at(p[_E_L], i)
    v = at(p[_V_RESET], i) if refractory else min(V, at(p[_V_CLAMP], i) + th)
    dV = 0.0 if refractory else _dV(v, g_ex, g_in, w, I, E_L, at(p[_G_L], i), at(p[_C_M], i),
                                    at(p[_E_EX], i), at(p[_E_IN], i), at(p[_DELTA_T], i),
                                    at(p[_V_TH], i))
    return dV, (at(p[_A], i) * (v - E_L) - w) / at(p[_TAU_W], i)


@numba.njit(cache=True, inline="always")
def _rk4(V, w, ge0, ge1, ge2, gi0, gi1, gi2, I, refractory, i, p, h, th):
    """One RK4 substep of (V, w) with the conductances at its start, middle and end
    (``th``: the threshold increase, :func:`_slopes`)."""
    half = 0.5 * h
    kV1, kw1 = _slopes(V, w, ge0, gi0, I, refractory, i, p, th)
    kV2, kw2 = _slopes(V + half * kV1, w + half * kw1, ge1, gi1, I, refractory, i, p, th)
    kV3, kw3 = _slopes(V + half * kV2, w + half * kw2, ge1, gi1, I, refractory, i, p, th)
    kV4, kw4 = _slopes(V + h * kV3, w + h * kw3, ge2, gi2, I, refractory, i, p, th)
    sixth = h / 6.0
    return (V + sixth * (kV1 + 2.0 * kV2 + 2.0 * kV3 + kV4),
            w + sixth * (kw1 + 2.0 * kw2 + 2.0 * kw3 + kw4))


@numba.njit(cache=True)
def _conductance(g, dg, P_half, P, half, h):
    """g at h/2 and h, dg at h (exponential when dg is None: dg stays None)."""
    if dg is None:
        return g * P_half, g * P, dg
    return (g + dg * half) * P_half, (g + dg * h) * P, dg * P


@numba.njit(cache=True)
def _stiffness(ge, dge, gi, dgi, i, p, h):
    """h·λ·C_m (pF) of neuron i's substep of h ms: h·(g_L + g_ex + g_in) with the
    conductances' bounds over the substep (:func:`.stiff.peak`); without a division, so
    that :func:`_n_stiff` is cheap."""
    return h * (at(p[_G_L], i) + peak(ge, dge, h) + peak(gi, dgi, h))


@numba.njit(cache=True, inline="always")
def _is_stiff(x, i, p):
    """Whether a substep of :func:`_stiffness` ``x`` (pF) is stiff: h·λ > :data:`STIFF`."""
    return x > STIFF * at(p[_C_M], i)


@numba.njit(cache=True)
def _level(x, i, p):
    """The smallest k ≥ 0 with h/2^k·λ ≤ :data:`STIFF`, at most :data:`.stiff.MAX_LEVEL`
    (x: :func:`_stiffness`; :func:`.stiff.halvings`)."""
    return halvings(x, STIFF * at(p[_C_M], i))


@numba.njit(cache=True)
def _refined_rk4(V, w, ge, dge, gi, dgi, I, refractory, i, p, h, th, level):
    """(V, w) after a stiff substep of h ms (:func:`_level` > 0): 2^level RK4 steps
    (:func:`_rk4`) of h/2^level, the conductances (from ge, gi; alpha: dge, dgi) exact over
    each with the factors of :func:`.stiff.halved`."""
    n = 1 << level
    hk = h / n
    Pe_half, Pe = halved(at(p[_P_EX_HALF], i), level)
    Pi_half, Pi = halved(at(p[_P_IN_HALF], i), level)
    for _ in range(n):
        ge1, ge2, dge = _conductance(ge, dge, Pe_half, Pe, 0.5 * hk, hk)
        gi1, gi2, dgi = _conductance(gi, dgi, Pi_half, Pi, 0.5 * hk, hk)
        V, w = _rk4(V, w, ge, ge1, ge2, gi, gi1, gi2, I, refractory, i, p, hk, th)
        ge, gi = ge2, gi2
    return V, w


@numba.njit(cache=True)
def _crossing_time(v, w, g_ex, g_in, I, i, p, h):
    """When, within a substep of h ms that starts at ``v`` and ends above V_peak, V reached
    V_peak: where the exponential term dominates the other currents J (by
    :data:`DOMINANCE`), dV/dt ≈ g_L·Delta_T·exp((V − V_th)/Delta_T)/C_m, which reaches
    V_peak after C_m/g_L·(exp(−(v − V_th)/Delta_T) − exp(−(V_peak − V_th)/Delta_T));
    otherwise (or for Delta_T = 0) at the end of the substep, h."""
    Delta_T = at(p[_DELTA_T], i)
    if Delta_T <= 0.0:
        return h
    E_L, g_L, C_m, V_th = at(p[_E_L], i), at(p[_G_L], i), at(p[_C_M], i), at(p[_V_TH], i)
    x = (v - V_th) / Delta_T
    E_ex, E_in = at(p[_E_EX], i), at(p[_E_IN], i)
    J = -g_L * (v - E_L) - g_ex * (v - E_ex) - g_in * (v - E_in) - w + I
    if g_L * Delta_T * math.exp(x) < DOMINANCE * abs(J):
        return h
    t = C_m / g_L * (math.exp(-x) - math.exp(-(at(p[_V_SPIKE], i) - V_th) / Delta_T))
    return min(max(t, 0.0), h)


@numba.njit(cache=True)
def _after_crossing(v, w, w1, g_ex, dg_ex, g_in, dg_in, I, refractory, i, p, h):
    """(V, w) at the end of a substep (h ms, starting at v, w, g_ex, g_in) in which V
    crossed V_peak (aeif): reset at the crossing (:func:`_crossing_time`), w (``w1`` at the
    end of the substep without reset, linear in between) += b, then one RK4 step over the
    rest of the substep from V_reset (refractory or not)."""
    t = _crossing_time(v, w, g_ex, g_in, I, i, p, h)
    rest = h - t
    w_c = w + (w1 - w) * (t / h) + at(p[_B], i)
    P_ex, P_in = at(p[_P_EX], i), at(p[_P_IN], i)
    _, ge, dge = _conductance(g_ex, dg_ex, 1.0, P_ex ** (t / h), t, t)
    _, gi, dgi = _conductance(g_in, dg_in, 1.0, P_in ** (t / h), t, t)
    half, whole = 0.5 * rest / h, rest / h  # of h
    ge1, ge2, _ = _conductance(ge, dge, P_ex ** half, P_ex ** whole, 0.5 * rest, rest)
    gi1, gi2, _ = _conductance(gi, dgi, P_in ** half, P_in ** whole, 0.5 * rest, rest)
    V_reset = at(p[_V_RESET], i)
    v2, w2 = _rk4(V_reset, w_c, ge, ge1, ge2, gi, gi1, gi2, I, refractory, i, p, rest, 0.0)
    return (V_reset if refractory else v2), w2


@numba.njit(cache=True)
def cond(V, g_ex, dg_ex, g_in, dg_in, w, theta, I_stim, r, lock, ring_ex, ring_in, ring_cur,
         col0, t0, n_steps, p, rec_idx, rec_v, out_idx, out_off):
    """Advance one population through steps t0 … t0+n_steps−1 (module docstring); records
    V_m, g_ex, g_in, then w and theta where the model has them."""
    L, L_cur = ring_ex.shape[0], ring_cur.shape[0]
    n = V.shape[0]
    refr_counts, n_sub, h, detect_each = p[_REFR_COUNTS], p[_N_SUB], p[_H], p[_DETECT_EACH]
    half = 0.5 * h
    k = np.int64(0)
    n_scratch = n if w is None else 0  # iaf: _refine_stiff's and _set_aside_tiny's scratch
    stiff, V_stiff = np.empty(n_scratch, np.int64), np.empty(n_scratch)  # written, then read
    tiny, g_after = np.empty((3, n_scratch), np.int64), np.empty((2, n_scratch))
    for s in range(n_steps):
        slot = (t0 + s) % L
        ex, inh = ring_ex[slot, col0:col0 + n], ring_in[slot, col0:col0 + n]
        cur = ring_cur[(t0 + s) % L_cur, col0:col0 + n]
        if w is None:  # iaf: a branch Numba removes, with the loop below, where w is None
            for sub in range(n_sub):
                _leaky_substep(V, g_ex, dg_ex, g_in, dg_in, theta, I_stim, r, lock, ex, inh, cur,
                               p, h, sub == n_sub - 1, stiff, V_stiff, tiny, g_after)
            k = _leaky_threshold(V, theta, r, lock, p, s, out_idx, out_off, k)
            for j in range(rec_idx.shape[0]):
                _record(rec_v, s, j, rec_idx[j], V, g_ex, g_in, w, theta)
            continue
        for i in range(n):
            v, ge, gi = V[i], g_ex[i], g_in[i]
            dge = None if dg_ex is None else dg_ex[i]
            dgi = None if dg_in is None else dg_in[i]
            wi = 0.0 if w is None else w[i]
            th = 0.0 if theta is None else theta[i] * at(p[_P_THETA], i)
            I = at(p[_I_E], i) + I_stim[i]
            V_reset = at(p[_V_RESET], i)
            spiked = False
            for sub in range(n_sub):
                ge1, ge2, dge2 = _conductance(ge, dge, at(p[_P_EX_HALF], i), at(p[_P_EX], i),
                                              half, h)
                gi1, gi2, dgi2 = _conductance(gi, dgi, at(p[_P_IN_HALF], i), at(p[_P_IN], i),
                                              half, h)
                bound = UNBOUNDED if _locked(lock, i) else th
                level = _level(_stiffness(ge, dge, gi, dgi, i, p, h), i, p)
                if level == 0:
                    v1, w1 = _rk4(v, wi, ge, ge1, ge2, gi, gi1, gi2, I, r[i] > 0, i, p, h, bound)
                else:
                    v1, w1 = _refined_rk4(v, wi, ge, dge, gi, dgi, I, r[i] > 0, i, p, h, bound,
                                          level)
                if r[i] > 0:
                    v1 = V_reset
                elif (detect_each or sub == n_sub - 1) and not _locked(lock, i) \
                        and v1 >= at(p[_V_SPIKE], i) + th:
                    r[i] = _counted(at(refr_counts, i))
                    if lock is not None:
                        lock[i] = _counted(at(p[_LOCK_COUNTS], i))
                    if detect_each:
                        v1, w1 = _after_crossing(v, wi, w1, ge, dge, gi, dgi, I, r[i] > 0, i, p, h)
                    else:
                        v1, w1 = V_reset, w1 + at(p[_B], i)
                    th += at(p[_THETA_PLUS], i)
                    if not spiked:
                        out_idx[k] = i
                        out_off[k] = s
                        k += 1
                        spiked = True
                v, wi, ge, dge, gi, dgi = v1, w1, ge2, dge2, gi2, dgi2
            if r[i] > 0:
                r[i] -= 1
            if _locked(lock, i):
                lock[i] -= 1
            V[i] = v
            x_ex = ex[i] * INVERSE_SCALE
            x_in = -(inh[i] * INVERSE_SCALE)
            ex[i] = 0
            inh[i] = 0
            if dg_ex is None:
                g_ex[i] = ge + x_ex
                g_in[i] = gi + x_in
            else:
                g_ex[i] = ge
                g_in[i] = gi
                dg_ex[i] = dge + x_ex * at(p[_SCALE_EX], i)
                dg_in[i] = dgi + x_in * at(p[_SCALE_IN], i)
            if w is not None:
                w[i] = wi
            if theta is not None:
                theta[i] = th
            I_stim[i] = cur[i]
            cur[i] = 0.0
        for j in range(rec_idx.shape[0]):
            _record(rec_v, s, j, rec_idx[j], V, g_ex, g_in, w, theta)
    return k


@numba.njit(cache=True, inline="always")
def _leaky_slope(V, g_ex, g_in, I, refractory, i, p, th):
    """dV/dt of :func:`_slopes` for w = 0 and Delta_T = 0 (no exponential term: the
    branch folds away)."""
    v = at(p[_V_RESET], i) if refractory else min(V, at(p[_V_CLAMP], i) + th)
    if refractory:
        return 0.0
    return _dV(v, g_ex, g_in, 0.0, I, at(p[_E_L], i), at(p[_G_L], i), at(p[_C_M], i),
               at(p[_E_EX], i), at(p[_E_IN], i), 0.0, at(p[_V_TH], i))


@numba.njit(cache=True, inline="always")
def _stuck(g, P):
    """Whether g·P and g·P' round to g for every decay factor P <= P' <= 1: g = m·2^-1074
    subnormal (bit pattern m) with m·(1 − P) < 0.5, so that m·P' lies in (m − 0.5, m].
    Tested as m < K·(1 − 2^-50), K = 0.5/(1 − P) as computed (within 2^-52 relative of
    the exact value): a bound below the exact one."""
    m = bits(g)
    return 0 < m < 1 << 52 and m < 0.5 / (1.0 - P) * _SHORT


@numba.njit(cache=True, inline="always")
def _leaky_rk4(V, ge0, ge1, ge2, gi0, gi1, gi2, I, refractory, i, p, h, th):
    """V after one RK4 substep of :func:`_rk4` for w = 0 and Delta_T = 0 (w's own slope,
    which stays 0, left out: ``- w`` in dV/dt subtracts +0.0, which changes no bit)."""
    half = 0.5 * h
    k1 = _leaky_slope(V, ge0, gi0, I, refractory, i, p, th)
    k2 = _leaky_slope(V + half * k1, ge1, gi1, I, refractory, i, p, th)
    k3 = _leaky_slope(V + half * k2, ge1, gi1, I, refractory, i, p, th)
    k4 = _leaky_slope(V + h * k3, ge2, gi2, I, refractory, i, p, th)
    return V + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


@numba.njit(cache=True)
def _leaky_substep(V, g_ex, dg_ex, g_in, dg_in, theta, I_stim, r, lock, ex, inh, cur, p, h,
                   last, stiff, V_stiff, tiny, g_after):
    """One substep of every neuron of a model without adaptation current whose spikes are
    detected at the end of the step (iaf_cond_*), neuron after neuron in the innermost
    loop so that the compiler vectorizes it; the arithmetic of :func:`cond`'s loop, in
    which such a model's w stays +0.0 throughout (a = 0, b = 0) and Delta_T is 0, but for
    subnormal conductances (module docstring). The ``last`` substep also adds the
    step's spike input and reads its current input for the next step. The neurons whose
    substep is stiff (:func:`_is_stiff`) take V from :func:`_refine_stiff`,
    which runs first (their indices to ``stiff``, their V to ``V_stiff``), so that this loop
    is as without them. A subnormal exponential conductance is set aside for the loop
    (:func:`_set_aside_tiny`: 0 in the loop, which then takes no microcode assist; the
    neurons' indices to ``tiny``, the conductances after the substep to ``g_after``, row 0
    g_ex, row 1 g_in; row 2 of ``tiny`` scratch) and put back after it."""
    m = _refine_stiff(V, g_ex, dg_ex, g_in, dg_in, theta, I_stim, r, lock, p, h, stiff,
                      V_stiff)
    q_ex = _set_aside_tiny(g_ex, dg_ex, p[_P_EX], ex, 1.0, last, tiny[0], g_after[0], tiny[2])
    q_in = _set_aside_tiny(g_in, dg_in, p[_P_IN], inh, -1.0, last, tiny[1], g_after[1], tiny[2])
    _leaky_loop(V, g_ex, dg_ex, g_in, dg_in, theta, I_stim, r, lock, ex, inh, cur, p, h, last)
    for j in range(q_ex):
        g_ex[tiny[0, j]] = g_after[0, j]
    for j in range(q_in):
        g_in[tiny[1, j]] = g_after[1, j]
    for j in range(m):
        i = stiff[j]
        V[i] = at(p[_V_RESET], i) if r[i] > 0 else V_stiff[j]


@numba.njit(cache=True)
def _leaky_loop(V, g_ex, dg_ex, g_in, dg_in, theta, I_stim, r, lock, ex, inh, cur, p, h, last):
    """:func:`_leaky_substep`'s loop over the neurons (a function of its own, so that the
    compiler inlines what it calls and vectorizes it, whatever surrounds it)."""
    half = 0.5 * h
    for i in range(V.shape[0]):
        refractory = r[i] > 0
        ge, gi = g_ex[i], g_in[i]
        dge = None if dg_ex is None else dg_ex[i]
        dgi = None if dg_in is None else dg_in[i]
        ge1, ge2, dge2 = _conductance(ge, dge, at(p[_P_EX_HALF], i), at(p[_P_EX], i), half, h)
        gi1, gi2, dgi2 = _conductance(gi, dgi, at(p[_P_IN_HALF], i), at(p[_P_IN], i), half, h)
        th = 0.0 if theta is None else theta[i] * at(p[_P_THETA], i)  # as _leaky_threshold's
        v1 = _leaky_rk4(V[i], ge, ge1, ge2, gi, gi1, gi2, at(p[_I_E], i) + I_stim[i],
                        refractory, i, p, h, UNBOUNDED if _locked(lock, i) else th)
        V[i] = at(p[_V_RESET], i) if refractory else v1
        x_ex = ex[i] * INVERSE_SCALE if last else 0.0
        x_in = -(inh[i] * INVERSE_SCALE) if last else 0.0
        if dg_ex is None:
            g_ex[i] = ge2 + x_ex if last else ge2
            g_in[i] = gi2 + x_in if last else gi2
        else:
            g_ex[i] = ge2
            g_in[i] = gi2
            dg_ex[i] = dge2 + x_ex * at(p[_SCALE_EX], i) if last else dge2
            dg_in[i] = dgi2 + x_in * at(p[_SCALE_IN], i) if last else dgi2
        if last:
            ex[i] = 0
            inh[i] = 0
            I_stim[i] = cur[i]
            cur[i] = 0.0


@numba.njit(cache=True)
def _set_aside_tiny(g, dg, P, ring, sign, last, tiny, g_after, decaying):
    """The neurons of :func:`_leaky_substep` whose exponential conductance g (nS) is
    subnormal (:func:`_is_tiny`; none for alpha conductances, dg not None): their indices to
    ``tiny``, g after the substep to ``g_after`` (decayed by P, :func:`_decay_tiny`; in the
    last substep plus its spike input, sign · ring · INVERSE_SCALE), and 0 to g, which the
    substep's loop takes: so the conductance acts on V as 0 (module docstring); returns
    their number."""
    q = 0
    if dg is not None or _n_tiny(g) == 0:
        return q
    for i in range(g.shape[0]):
        if _is_tiny(g[i]):
            tiny[q] = i
            g_after[q] = g[i]
            g[i] = 0.0
            q += 1
    _decay_tiny(g_after, P, tiny, q, decaying)
    for j in range(q if last else 0):
        g_after[j] = g_after[j] + sign * (ring[tiny[j]] * INVERSE_SCALE)
    return q


@numba.njit(cache=True)
def _decay_tiny(g, P, tiny, q, decaying):
    """g[:q] (subnormal, of neurons ``tiny``) times their P where that product does not
    round back to g (:func:`_stuck`): a product with a subnormal operand costs an assist,
    and the compiler computes a conditional product for every element, so those are first
    listed (positions to ``decaying``)."""
    d = 0
    for j in range(q):
        decaying[d] = j
        d += not _stuck(g[j], at(P, tiny[j]))
    for k in range(d):
        j = decaying[k]
        g[j] = g[j] * at(P, tiny[j])


@numba.njit(cache=True)
def _n_tiny(g):
    """How many conductances are subnormal (a count without stores, ahead of
    :func:`_set_aside_tiny`'s scan: most often none is)."""
    n = 0
    for i in range(g.shape[0]):
        n += _is_tiny(g[i])
    return n


@numba.njit(cache=True, inline="always")
def _is_tiny(g):
    """Whether g is subnormal: 0 < |g| < 2^-1022 (a test without arithmetic on g)."""
    return (abs(g) < TINY) & (g != 0.0)


@numba.njit(cache=True)
def _refine_stiff(V, g_ex, dg_ex, g_in, dg_in, theta, I_stim, r, lock, p, h, stiff, V_stiff):
    """The neurons of :func:`_leaky_substep` whose substep of h ms is stiff: their indices
    to ``stiff``, their V (mV) at its end (:func:`_refined_rk4`; w = 0 stays +0.0: the bits
    of :func:`_leaky_rk4`'s arithmetic) to ``V_stiff``; returns their number."""
    m = 0
    if _n_stiff(g_ex, dg_ex, g_in, dg_in, p, h) == 0:
        return m
    for i in range(V.shape[0]):
        dge = None if dg_ex is None else dg_ex[i]
        dgi = None if dg_in is None else dg_in[i]
        x = _stiffness(g_ex[i], dge, g_in[i], dgi, i, p, h)
        if _is_stiff(x, i, p):
            stiff[m] = i
            V_stiff[m], _ = _refined_rk4(V[i], 0.0, g_ex[i], dge, g_in[i], dgi,
                                         at(p[_I_E], i) + I_stim[i], r[i] > 0, i, p, h,
                                         _bound(theta, lock, i, p), _level(x, i, p))
            m += 1
    return m


@numba.njit(cache=True)
def _n_stiff(g_ex, dg_ex, g_in, dg_in, p, h):
    """How many neurons' substeps of h ms are stiff: a count without stores or calls to
    other kernels, ahead of :func:`_refine_stiff`'s scan (most often none is)."""
    n = 0
    for i in range(g_ex.shape[0]):
        dge = None if dg_ex is None else dg_ex[i]
        dgi = None if dg_in is None else dg_in[i]
        n += _is_stiff(_stiffness(g_ex[i], dge, g_in[i], dgi, i, p, h), i, p)
    return n


@numba.njit(cache=True, inline="always")
def _bound(theta, lock, i, p):
    """The threshold increase that bounds V in neuron i's right-hand side (:func:`_slopes`):
    theta decayed over the step (as :func:`_leaky_threshold`'s; 0 without theta),
    :data:`UNBOUNDED` while the threshold is locked out."""
    if _locked(lock, i):
        return UNBOUNDED
    return 0.0 if theta is None else theta[i] * at(p[_P_THETA], i)


@numba.njit(cache=True, inline="always")
def _locked(lock, i):
    """Whether neuron i's threshold is locked out (lockout steps left; never without lock)."""
    return lock is not None and lock[i] > 0


@numba.njit(cache=True, inline="always")
def _counted(steps):
    """A counter (r, lock) set at a spike inside the per-neuron loop, which counts it down at
    the end of the spike's step: ``steps`` + 1, so that ``steps`` are left after that step
    (0 stays 0: a later substep of the same step is free)."""
    return steps + 1 if steps > 0 else 0


@numba.njit(cache=True)
def _leaky_threshold(V, theta, r, lock, p, s, out_idx, out_off, k):
    """After :func:`_leaky_substep`: a refractory or locked-out neuron counts down (both
    counters); a free one whose V reached V_spike + theta spikes (reset, refractory,
    locked out, theta += theta_plus), written to out_idx/out_off from position k; theta
    decays. Returns the new spike count."""
    for i in range(V.shape[0]):
        th = 0.0 if theta is None else theta[i] * at(p[_P_THETA], i)
        locked = _locked(lock, i)
        if locked:
            lock[i] -= 1
        if r[i] > 0:
            r[i] -= 1
        elif not locked and V[i] >= at(p[_V_SPIKE], i) + th:
            r[i] = at(p[_REFR_COUNTS], i)
            if lock is not None:
                lock[i] = at(p[_LOCK_COUNTS], i)
            V[i] = at(p[_V_RESET], i)
            th += at(p[_THETA_PLUS], i)
            out_idx[k] = i
            out_off[k] = s
            k += 1
        if theta is not None:
            theta[i] = th
    return k


@numba.njit(cache=True)
def _record(rec_v, s, j, i, V, g_ex, g_in, w, theta):
    rec_v[s, j, 0] = V[i]
    rec_v[s, j, 1] = g_ex[i]
    rec_v[s, j, 2] = g_in[i]
    if w is not None:
        rec_v[s, j, 3] = w[i]
    if theta is not None:
        rec_v[s, j, rec_v.shape[2] - 1] = theta[i]


@numba.njit(cache=True)
def cond_blocks(blocks, ring_ex, ring_in, ring_cur, t0, n_steps, out_col, out_off):
    """:func:`cond` for each population of a ``block_table`` (of one model), with the spike
    output of :func:`bigbrain.kernels.lif.iaf_psc_delta_blocks`."""
    k = 0
    for b in range(len(blocks)):
        (V, g_ex, dg_ex, g_in, dg_in, w, theta, I_stim, r, lock, col0, p, rec_idx,
         rec_v) = blocks[b]
        n = cond(V, g_ex, dg_ex, g_in, dg_in, w, theta, I_stim, r, lock, ring_ex, ring_in,
                 ring_cur, col0, t0, n_steps, p, rec_idx, rec_v, out_col[k:], out_off[k:])
        _to_columns(out_col, k, n, col0)
        k += n
    return k
