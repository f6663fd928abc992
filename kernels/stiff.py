"""Stiffness-limited substeps, shared by the conductance kernels (:mod:`.cond`, :mod:`.hh`,
:mod:`.multisynapse`).

Those kernels take each substep of h ms with one classical Runge–Kutta step (RK4), which is
stable only for h·λ ≲ 2.79, λ (1/ms) the fastest rate at which V relaxes: the total
conductance over C_m. A neuron whose substep is stiff (h·λ > :data:`STIFF`, λ from bounds
of its conductances over the substep: :func:`peak`) takes it as 2^k RK4 steps of h/2^k, k
the smallest with h/2^k·λ ≤ STIFF (:func:`halvings`), its conductances exact over each from
decay factors by square roots (:func:`halved`). k depends on the neuron's own state alone
(rank invariance), and the arithmetic of the common case, k = 0, is that of one RK4 step.

Bits: :func:`halvings` halves exactly and :func:`halved` takes correctly rounded square roots,
so the CUDA forms (kernels/cuda/stiff.cuh) give the same k and factors.
"""
import math

import numba

#: The largest h·λ of one RK4 step (λ, 1/ms: the fastest rate at which V relaxes): a
#: substep with a larger h·λ is taken as 2^k RK4 steps of h/2^k (:func:`halvings`).
#: Classical RK4 is stable up to h·λ ≈ 2.79; at 0.5 its decay factor (0.60677) is within
#: 4e-4 of e^(−0.5). Chosen by tests/test_cond_stiff.py against an implicit solver: after
#: one large alpha conductance event V is within 4e-4 mV of it (STIFF 1: 7.7e-3 mV; 0.25:
#: 2.3e-5 mV; exponential conductances 1e-6 mV).
STIFF = 0.5

#: The most halvings of a substep (2^20 RK4 steps, a million per substep): beyond
#: h·λ = STIFF·2^20 the steps are longer than STIFF allows, less accurate, and unstable
#: beyond 2.79·2^20 (at C_m = 100 pF and h = 0.25 ms a conductance of 1.2e9 nS).
MAX_LEVEL = 20


@numba.njit(cache=True)
def halvings(x, limit):
    """The smallest k ≥ 0 with x/2^k ≤ ``limit``, at most :data:`MAX_LEVEL` (x: a substep's
    h·λ·C_m, halved exactly; limit: STIFF·C_m; 0 for NaN)."""
    k = 0
    while x > limit and k < MAX_LEVEL:
        x *= 0.5
        k += 1
    return k


@numba.njit(cache=True, inline="always")
def halved(P_half, k):
    """The decay factors of a conductance over h/2^(k+1) and h/2^k (k ≥ 1) from
    ``P_half``, the one over h/2, by square roots (P(t/2) = √P(t), correctly rounded by
    IEEE on host and device alike)."""
    P = P_half
    for _ in range(k - 1):
        P = math.sqrt(P)
    return math.sqrt(P), P


@numba.njit(cache=True)
def peak(g, dg, h):
    """A bound (nS) of a conductance over a substep of h ms from g (nS): g itself for an
    exponential one (dg None: it decays), g + max(dg, 0)·h for an alpha one (dg, nS/ms: it
    rises at most by dg·h); 0 for a negative one."""
    rise = 0.0
    if dg is not None:
        rise = dg * h if dg > 0.0 else 0.0
    g = g + rise
    return g if g > 0.0 else 0.0
