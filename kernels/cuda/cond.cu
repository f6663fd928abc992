// Conductance-based integrate-and-fire neurons (NEST iaf_cond_exp, iaf_cond_alpha,
// aeif_cond_exp, aeif_cond_alpha; iaf_cond_exp_adaptive): the CUDA form of
// kernels/cond.py::cond. One thread per neuron advances it through all steps of the
// interval, n_sub RK4 substeps per step, with every double operation of the Numba kernel
// in the same order (compiled without multiply-add contraction).
//
// Kernels: cond (one population) and cond_segments (all populations of a model in one
// launch, their spikes to the spike log: kernels/cuda/segments.cuh). Arguments as in
// kernels/cuda/lif.cuh, and:
//   g_ex, g_in, dg_ex, dg_in, w, theta   state (dg_*: alpha synapses; w: aeif; theta, lock:
//   lock                                 adaptive threshold, its lockout steps left); 0
//                                        where the model lacks it
//   param_ptr, param_value               the parameters of kernels/cond.py::PARAMS up to
//                                        lock_counts (kernels/cuda/params.cuh), in the order
//                                        of the CondParam enum below
//   n_sub, h, detect_each                substeps per step, their length (ms), spikes
//                                        detected after every substep (aeif)
//   dominance                            kernels/cond.py::DOMINANCE
//   stiff, max_level                     kernels/stiff.py::STIFF, MAX_LEVEL
//   n_var                                recordables per recorded neuron: V_m, g_ex, g_in,
//                                        then w (index 3) and theta (the last) where present
//
// Bits: iaf_cond_* use + - * / only, so the device gives the CPU's bits. The aeif models'
// exponential term and crossing time call exp and pow, which on the device are libdevice's
// and may differ from glibc's in the last bit (kernels/gpu.py::inexact_models); compiled for
// the host (tests/cuda/host_harness.cu) they are glibc's.
#include "common.cuh"
#include "params.cuh"
#include "segments.cuh"
#include "stiff.cuh"

// The threshold increase that bounds nothing (kernels/cond.py::UNBOUNDED): the right-hand
// side of a neuron whose threshold is locked out.
#define BB_UNBOUNDED 1.7976931348623157e308

// Parameter positions: kernels/cond.py::PARAMS (tests/test_cuda_sources.py checks the names).
enum CondParam {
    K_E_L, K_g_L, K_C_m, K_E_ex, K_E_in, K_I_e, K_V_reset, K_V_th, K_V_clamp, K_V_spike,
    K_Delta_T, K_a, K_b, K_tau_w, K_theta_plus, K_P_theta, K_P_ex_half, K_P_ex, K_P_in_half,
    K_P_in, K_scale_ex, K_scale_in, K_refr_counts, K_lock_counts, K_COUNT
};

// dV/dt (mV/ms) at the bounded potential v; I: I_e plus current input (pA).
BB_HD double cond_dV(double v, double g_ex, double g_in, double w, double I, const double *q) {
    double I_spike = 0.0;
    if (q[K_Delta_T] > 0.0)
        I_spike = q[K_g_L] * q[K_Delta_T] * exp((v - q[K_V_th]) / q[K_Delta_T]);
    return (-q[K_g_L] * (v - q[K_E_L]) + I_spike - g_ex * (v - q[K_E_ex])
            - g_in * (v - q[K_E_in]) - w + I) / q[K_C_m];
}

// (dV/dt, dw/dt): V held at V_reset while refractory, else bounded by V_clamp + th (th: the
// threshold increase theta, else 0).
BB_HD void cond_slopes(double V, double w, double g_ex, double g_in, double I, bool refractory,
                       const double *q, double th, double &dV, double &dw) {
    double clamp = q[K_V_clamp] + th;
    double v = refractory ? q[K_V_reset] : (clamp < V ? clamp : V);
    dV = refractory ? 0.0 : cond_dV(v, g_ex, g_in, w, I, q);
    dw = (q[K_a] * (v - q[K_E_L]) - w) / q[K_tau_w];
}

// One RK4 substep of h ms of (V, w) to (V1, w1), the conductances at its start, middle, end.
BB_HD void cond_rk4(double V, double w, double ge0, double ge1, double ge2, double gi0,
                    double gi1, double gi2, double I, bool refractory, const double *q, double h,
                    double th, double &V1, double &w1) {
    double half = 0.5 * h;
    double kV1, kw1, kV2, kw2, kV3, kw3, kV4, kw4;
    cond_slopes(V, w, ge0, gi0, I, refractory, q, th, kV1, kw1);
    cond_slopes(V + half * kV1, w + half * kw1, ge1, gi1, I, refractory, q, th, kV2, kw2);
    cond_slopes(V + half * kV2, w + half * kw2, ge1, gi1, I, refractory, q, th, kV3, kw3);
    cond_slopes(V + h * kV3, w + h * kw3, ge2, gi2, I, refractory, q, th, kV4, kw4);
    double sixth = h / 6.0;
    V1 = V + sixth * (kV1 + 2.0 * kV2 + 2.0 * kV3 + kV4);
    w1 = w + sixth * (kw1 + 2.0 * kw2 + 2.0 * kw3 + kw4);
}

// A conductance after half and h (g1, g2) and its derivative after h (dg2); exponential
// conductances (alpha false) keep dg.
BB_HD void cond_conductance(double g, double dg, bool alpha, double P_half, double P,
                            double half, double h, double &g1, double &g2, double &dg2) {
    if (!alpha) {
        g1 = g * P_half; g2 = g * P; dg2 = dg;
        return;
    }
    g1 = (g + dg * half) * P_half;
    g2 = (g + dg * h) * P;
    dg2 = dg * P;
}

// Whether g is subnormal: 0 < |g| < 2^-1022 (kernels/cond.py::_is_tiny).
BB_HD bool cond_is_tiny(double g) { return fabs(g) < 2.2250738585072014e-308 && g != 0.0; }

// h·λ·C_m (pF) of a substep of h ms, λ = (g_L + g_ex + g_in)/C_m
// (kernels/cond.py::_stiffness).
BB_HD double cond_stiffness(double ge, double dge, double gi, double dgi, bool alpha,
                            const double *q, double h) {
    return h * (q[K_g_L] + bb_peak(ge, dge, alpha, h) + bb_peak(gi, dgi, alpha, h));
}

// The smallest k >= 0 with h/2^k·λ <= stiff, at most max_level (kernels/cond.py::_level).
BB_HD i64 cond_level(double x, const double *q, double stiff, i64 max_level) {
    return bb_halvings(x, stiff * q[K_C_m], max_level);
}

// (V, w) after a stiff substep of h ms: 2^level RK4 steps of h/2^level
// (kernels/cond.py::_refined_rk4).
BB_HD void cond_refined_rk4(double V, double w, double ge, double dge, double gi, double dgi,
                            bool alpha, double I, bool refractory, const double *q, double h,
                            double th, i64 level, double &V1, double &w1) {
    i64 n = (i64)1 << level;
    double hk = h / (double)n;
    double Pe_half, Pe, Pi_half, Pi;
    bb_halved(q[K_P_ex_half], level, Pe_half, Pe);
    bb_halved(q[K_P_in_half], level, Pi_half, Pi);
    for (i64 m = 0; m < n; ++m) {
        double ge1, ge2, dge2, gi1, gi2, dgi2;
        cond_conductance(ge, dge, alpha, Pe_half, Pe, 0.5 * hk, hk, ge1, ge2, dge2);
        cond_conductance(gi, dgi, alpha, Pi_half, Pi, 0.5 * hk, hk, gi1, gi2, dgi2);
        cond_rk4(V, w, ge, ge1, ge2, gi, gi1, gi2, I, refractory, q, hk, th, V, w);
        ge = ge2; dge = dge2; gi = gi2; dgi = dgi2;
    }
    V1 = V;
    w1 = w;
}

// When, within a substep of h ms from v that ends above V_peak, V reached V_peak
// (kernels/cond.py::_crossing_time).
BB_HD double cond_crossing_time(double v, double w, double g_ex, double g_in, double I,
                                const double *q, double h, double dominance) {
    double Delta_T = q[K_Delta_T];
    if (Delta_T <= 0.0) return h;
    double x = (v - q[K_V_th]) / Delta_T;
    double J = -q[K_g_L] * (v - q[K_E_L]) - g_ex * (v - q[K_E_ex]) - g_in * (v - q[K_E_in])
               - w + I;
    if (q[K_g_L] * Delta_T * exp(x) < dominance * fabs(J)) return h;
    double t = q[K_C_m] / q[K_g_L] * (exp(-x) - exp(-(q[K_V_spike] - q[K_V_th]) / Delta_T));
    t = 0.0 > t ? 0.0 : t;
    return h < t ? h : t;
}

// (V, w) at the end of a substep in which V crossed V_peak: reset at the crossing, the
// rest of the substep integrated from V_reset (kernels/cond.py::_after_crossing).
BB_HD void cond_after_crossing(double v, double w, double w1, double g_ex, double dg_ex,
                               double g_in, double dg_in, bool alpha, double I, bool refractory,
                               const double *q, double h, double dominance, double &V2,
                               double &w2) {
    double t = cond_crossing_time(v, w, g_ex, g_in, I, q, h, dominance);
    double rest = h - t;
    double w_c = w + (w1 - w) * (t / h) + q[K_b];
    double P_ex = q[K_P_ex], P_in = q[K_P_in], unused, ge, dge, gi, dgi;
    cond_conductance(g_ex, dg_ex, alpha, 1.0, pow(P_ex, t / h), t, t, unused, ge, dge);
    cond_conductance(g_in, dg_in, alpha, 1.0, pow(P_in, t / h), t, t, unused, gi, dgi);
    double half = 0.5 * rest / h, whole = rest / h;
    double ge1, ge2, gi1, gi2;
    cond_conductance(ge, dge, alpha, pow(P_ex, half), pow(P_ex, whole), 0.5 * rest, rest, ge1,
                     ge2, unused);
    cond_conductance(gi, dgi, alpha, pow(P_in, half), pow(P_in, whole), 0.5 * rest, rest, gi1,
                     gi2, unused);
    double v2;
    cond_rk4(q[K_V_reset], w_c, ge, ge1, ge2, gi, gi1, gi2, I, refractory, q, rest, 0.0, v2, w2);
    V2 = refractory ? q[K_V_reset] : v2;
}

#define BB_COND_PARAMS                                                                         \
    i64 n, double *V, double *g_ex, double *dg_ex, double *g_in, double *dg_in, double *w,   \
    double *theta, double *I_stim, i64 *r, i64 *lock, i64 *ring_ex, i64 *ring_in,            \
    double *ring_cur, i64 L, i64 n_columns, i64 L_cur, i64 col0, i64 t0, i64 n_steps,        \
    const u64 *param_ptr, const double *param_value, i64 n_sub, double h, int detect_each,   \
    double dominance, double stiff, i64 max_level, const i64 *rec_idx, i64 n_rec, i64 n_var, \
    double *rec_v, unsigned char *flags
#define BB_COND_ARGS                                                                           \
    n, V, g_ex, dg_ex, g_in, dg_in, w, theta, I_stim, r, lock, ring_ex, ring_in, ring_cur,   \
    L, n_columns, L_cur, col0, t0, n_steps, param_ptr, param_value, n_sub, h, detect_each,   \
    dominance, stiff, max_level, rec_idx, n_rec, n_var, rec_v, flags

// Neuron i through the interval (kernels/cond.py::cond, operation by operation).
BB_HD void cond_neuron(i64 i, BB_COND_PARAMS) {
    double q[K_COUNT];
    load_params(param_ptr, param_value, K_COUNT, i, q);
    i64 refr = (i64)q[K_refr_counts], lock_steps = (i64)q[K_lock_counts];
    bool alpha = dg_ex != 0, aside = !alpha && !w;
    double v = V[i], ge = g_ex[i], gi = g_in[i];
    double dge = alpha ? dg_ex[i] : 0.0, dgi = alpha ? dg_in[i] : 0.0;
    double wi = w ? w[i] : 0.0, theta_i = theta ? theta[i] : 0.0, stim = I_stim[i];
    i64 ri = r[i], locked = lock ? lock[i] : 0;  // locked: the lockout steps left
    double half = 0.5 * h;
    i64 j = recorded_at(rec_idx, n_rec, i);
    for (i64 s = 0; s < n_steps; ++s) {
        i64 e = ((t0 + s) % L) * n_columns + col0 + i;
        i64 c = ((t0 + s) % L_cur) * n_columns + col0 + i;
        double th = theta ? theta_i * q[K_P_theta] : 0.0;
        double I = q[K_I_e] + stim;
        bool spiked = false;
        for (i64 sub = 0; sub < n_sub; ++sub) {
            double ge1, ge2, dge2, gi1, gi2, dgi2, v1, w1;
            cond_conductance(ge, dge, alpha, q[K_P_ex_half], q[K_P_ex], half, h, ge1, ge2, dge2);
            cond_conductance(gi, dgi, alpha, q[K_P_in_half], q[K_P_in], half, h, gi1, gi2, dgi2);
            double bound = locked > 0 ? BB_UNBOUNDED : th;
            i64 level = cond_level(cond_stiffness(ge, dge, gi, dgi, alpha, q, h), q, stiff,
                                   max_level);
            if (level == 0) {
                // a subnormal exponential conductance of a model without adaptation current
                // acts on V as 0 (kernels/cond.py::_set_aside_tiny)
                bool te = aside && cond_is_tiny(ge), ti = aside && cond_is_tiny(gi);
                cond_rk4(v, wi, te ? 0.0 : ge, te ? 0.0 : ge1, te ? 0.0 : ge2, ti ? 0.0 : gi,
                         ti ? 0.0 : gi1, ti ? 0.0 : gi2, I, ri > 0, q, h, bound, v1, w1);
            } else
                cond_refined_rk4(v, wi, ge, dge, gi, dgi, alpha, I, ri > 0, q, h, bound, level,
                                 v1, w1);
            if (ri > 0) {
                v1 = q[K_V_reset];
            } else if ((detect_each || sub == n_sub - 1) && locked == 0
                       && v1 >= q[K_V_spike] + th) {
                ri = refr > 0 ? refr + 1 : 0;
                locked = lock_steps > 0 ? lock_steps + 1 : 0;
                if (detect_each) {
                    cond_after_crossing(v, wi, w1, ge, dge, gi, dgi, alpha, I, ri > 0, q, h,
                                        dominance, v1, w1);
                } else {
                    v1 = q[K_V_reset];
                    w1 = w1 + q[K_b];
                }
                th += q[K_theta_plus];
                if (!spiked) {
                    flags[s * n + i] = 1;
                    spiked = true;
                }
            }
            v = v1; wi = w1; ge = ge2; dge = dge2; gi = gi2; dgi = dgi2;
        }
        if (ri > 0) ri -= 1;
        if (locked > 0) locked -= 1;
        double x_ex = (double)ring_ex[e] * BB_INVERSE_SCALE;
        double x_in = -((double)ring_in[e] * BB_INVERSE_SCALE);
        ring_ex[e] = 0;
        ring_in[e] = 0;
        if (alpha) {
            dge = dge + x_ex * q[K_scale_ex];
            dgi = dgi + x_in * q[K_scale_in];
        } else {
            ge = ge + x_ex;
            gi = gi + x_in;
        }
        theta_i = th;
        stim = ring_cur[c];
        ring_cur[c] = 0.0;
        record_v(v, i, rec_idx, n_rec, j, s, 0, n_var, rec_v);
        record_v(ge, i, rec_idx, n_rec, j, s, 1, n_var, rec_v);
        record_v(gi, i, rec_idx, n_rec, j, s, 2, n_var, rec_v);
        if (w) record_v(wi, i, rec_idx, n_rec, j, s, 3, n_var, rec_v);
        if (theta) record_v(theta_i, i, rec_idx, n_rec, j, s, n_var - 1, n_var, rec_v);
    }
    V[i] = v; g_ex[i] = ge; g_in[i] = gi; I_stim[i] = stim; r[i] = ri;
    if (alpha) { dg_ex[i] = dge; dg_in[i] = dgi; }
    if (w) w[i] = wi;
    if (theta) theta[i] = theta_i;
    if (lock) lock[i] = locked;
}

extern "C" __global__ void cond(BB_COND_PARAMS) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    cond_neuron(i, BB_COND_ARGS);
}

extern "C" __global__ void cond_segments(BB_SEGMENT_PARAMS) {
    BB_RUN_SEGMENT(cond_neuron);
}
