// Stiffness-limited substeps (kernels/stiff.py), shared by cond.cu and hh.cu: a substep
// whose h·λ·C_m exceeds stiff·C_m is taken as 2^k RK4 steps of h/2^k, the conductances
// exact over each from decay factors by square roots (correctly rounded, as the host's).
#pragma once
#include "common.cuh"

// The smallest k >= 0 with x/2^k <= limit, at most max_level (kernels/stiff.py::halvings).
BB_HD i64 bb_halvings(double x, double limit, i64 max_level) {
    i64 k = 0;
    while (x > limit && k < max_level) {
        x *= 0.5;
        k += 1;
    }
    return k;
}

// The decay factors over h/2^(k+1) and h/2^k (k >= 1) from the one over h/2
// (kernels/stiff.py::halved).
BB_HD void bb_halved(double P_half, i64 k, double &half, double &whole) {
    double P = P_half;
    for (i64 j = 0; j < k - 1; ++j) P = sqrt(P);
    half = sqrt(P);
    whole = P;
}

// A bound (nS) of a conductance over a substep of h ms (kernels/stiff.py::peak; alpha:
// g rises at most by dg·h).
BB_HD double bb_peak(double g, double dg, bool alpha, double h) {
    double rise = 0.0;
    if (alpha) rise = dg > 0.0 ? dg * h : 0.0;
    g = g + rise;
    return g > 0.0 ? g : 0.0;
}
