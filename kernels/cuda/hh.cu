// NEST's hh_cond_exp_traub: the CUDA form of kernels/hh.py::hh_cond_exp_traub. One thread
// per neuron advances it through all steps of the interval, n_sub RK4 substeps per step
// (a stiff one as 2^k RK4 steps: stiff.cuh), with every double operation of the Numba
// kernel in the same order (compiled without multiply-add contraction).
//
// Kernels: hh_cond_exp_traub (one population) and hh_cond_exp_traub_segments (all
// populations in one launch, their spikes to the spike log: kernels/cuda/segments.cuh).
// Arguments as in kernels/cuda/lif.cuh, and:
//   Act_m, Inact_h, Act_n, g_ex, g_in     state after V (kernels/hh.py)
//   param_ptr, param_value                the parameters of kernels/hh.py::PARAMS up to
//                                         refr_counts (kernels/cuda/params.cuh), in the
//                                         order of the HhParam enum below
//   n_sub, h                              substeps per step and their length (ms)
//   stiff, max_level                      kernels/stiff.py::STIFF, MAX_LEVEL
//   n_var                                 recordables per recorded neuron (6)
//
// Bits: the rate functions call exp of the state, which on the device is libdevice's and
// may differ from glibc's in the last bit (kernels/gpu.py::inexact_model); compiled for the
// host (tests/cuda/host_harness.cu) it is glibc's.
#include "common.cuh"
#include "params.cuh"
#include "segments.cuh"
#include "stiff.cuh"

// Parameter positions: kernels/hh.py::PARAMS (tests/test_cuda_sources.py checks the names).
enum HhParam {
    H_g_Na, H_g_K, H_g_L, H_C_m, H_E_Na, H_E_K, H_E_L, H_V_T, H_E_ex, H_E_in, H_I_e,
    H_P_ex_half, H_P_ex, H_P_in_half, H_P_in, H_refr_counts, H_COUNT
};

// kernels/hh.py::SPIKE_ABOVE_V_T (mV).
#define BB_HH_SPIKE_ABOVE_V_T 30.0

// (dV/dt, dm/dt, dh/dt, dn/dt) (kernels/hh.py::_slopes and rates).
BB_HD void hh_slopes(double V, double m, double hh, double n, double g_ex, double g_in,
                     double I, const double *q, double &dV, double &dm, double &dh,
                     double &dn) {
    double v = V - q[H_V_T];
    double a_m = 0.32 * (13.0 - v) / (exp((13.0 - v) / 4.0) - 1.0);
    double b_m = 0.28 * (v - 40.0) / (exp((v - 40.0) / 5.0) - 1.0);
    double a_h = 0.128 * exp((17.0 - v) / 18.0);
    double b_h = 4.0 / (1.0 + exp((40.0 - v) / 5.0));
    double a_n = 0.032 * (15.0 - v) / (exp((15.0 - v) / 5.0) - 1.0);
    double b_n = 0.5 * exp((10.0 - v) / 40.0);
    double I_Na = q[H_g_Na] * m * m * m * hh * (V - q[H_E_Na]);
    double I_K = q[H_g_K] * n * n * n * n * (V - q[H_E_K]);
    double I_L = q[H_g_L] * (V - q[H_E_L]);
    double I_syn = g_ex * (V - q[H_E_ex]) + g_in * (V - q[H_E_in]);
    dV = (-I_Na - I_K - I_L - I_syn + I) / q[H_C_m];
    dm = a_m * (1.0 - m) - b_m * m;
    dh = a_h * (1.0 - hh) - b_h * hh;
    dn = a_n * (1.0 - n) - b_n * n;
}

// One RK4 substep of h ms of (V, m, h, n), the conductances at its start, middle and end.
BB_HD void hh_rk4(double &V, double &m, double &hh, double &n, double ge0, double ge1,
                  double ge2, double gi0, double gi1, double gi2, double I, const double *q,
                  double h) {
    double half = 0.5 * h;
    double V1, m1, h1, n1, V2, m2, h2, n2, V3, m3, h3, n3, V4, m4, h4, n4;
    hh_slopes(V, m, hh, n, ge0, gi0, I, q, V1, m1, h1, n1);
    hh_slopes(V + half * V1, m + half * m1, hh + half * h1, n + half * n1, ge1, gi1, I, q, V2,
              m2, h2, n2);
    hh_slopes(V + half * V2, m + half * m2, hh + half * h2, n + half * n2, ge1, gi1, I, q, V3,
              m3, h3, n3);
    hh_slopes(V + h * V3, m + h * m3, hh + h * h3, n + h * n3, ge2, gi2, I, q, V4, m4, h4, n4);
    double sixth = h / 6.0;
    V = V + sixth * (V1 + 2.0 * V2 + 2.0 * V3 + V4);
    m = m + sixth * (m1 + 2.0 * m2 + 2.0 * m3 + m4);
    hh = hh + sixth * (h1 + 2.0 * h2 + 2.0 * h3 + h4);
    n = n + sixth * (n1 + 2.0 * n2 + 2.0 * n3 + n4);
}

// h·λ·C_m (pF) of a substep of h ms from its start, λ = (g_Na m³h + g_K n⁴ + g_L + g_ex +
// g_in)/C_m (kernels/hh.py::_stiffness).
BB_HD double hh_stiffness(double m, double hh, double n, double ge, double gi, const double *q,
                          double h) {
    double g_Na = q[H_g_Na] * m * m * m * hh;
    double g_K = q[H_g_K] * n * n * n * n;
    return h * (g_Na + g_K + q[H_g_L] + bb_peak(ge, 0.0, false, h) + bb_peak(gi, 0.0, false, h));
}

// (V, m, h, n) after a stiff substep of h ms (k >= 1 halvings): 2^k RK4 steps of h/2^k
// (kernels/hh.py::_refined_rk4).
BB_HD void hh_refined_rk4(double &V, double &m, double &hh, double &n, double ge, double gi,
                          double I, const double *q, double h, i64 k) {
    i64 steps = (i64)1 << k;
    double hk = h / (double)steps;
    double Pe_half, Pe, Pi_half, Pi;
    bb_halved(q[H_P_ex_half], k, Pe_half, Pe);
    bb_halved(q[H_P_in_half], k, Pi_half, Pi);
    for (i64 j = 0; j < steps; ++j) {
        hh_rk4(V, m, hh, n, ge, ge * Pe_half, ge * Pe, gi, gi * Pi_half, gi * Pi, I, q, hk);
        ge = ge * Pe;
        gi = gi * Pi;
    }
}

#define BB_HH_PARAMS                                                                           \
    i64 n, double *V, double *Act_m, double *Inact_h, double *Act_n, double *g_ex,           \
    double *g_in, double *I_stim, i64 *r, i64 *ring_ex, i64 *ring_in, double *ring_cur,      \
    i64 L, i64 n_columns, i64 L_cur, i64 col0, i64 t0, i64 n_steps, const u64 *param_ptr,     \
    const double *param_value, i64 n_sub, double h, double stiff, i64 max_level,             \
    const i64 *rec_idx, i64 n_rec, i64 n_var, double *rec_v, unsigned char *flags
#define BB_HH_ARGS                                                                             \
    n, V, Act_m, Inact_h, Act_n, g_ex, g_in, I_stim, r, ring_ex, ring_in, ring_cur, L,        \
    n_columns, L_cur, col0, t0, n_steps, param_ptr, param_value, n_sub, h, stiff, max_level,  \
    rec_idx, n_rec, n_var, rec_v, flags

// Neuron i through the interval (kernels/hh.py::hh_cond_exp_traub, operation by operation).
BB_HD void hh_neuron(i64 i, BB_HH_PARAMS) {
    double q[H_COUNT];
    load_params(param_ptr, param_value, H_COUNT, i, q);
    i64 refr = (i64)q[H_refr_counts];
    double limit = stiff * q[H_C_m];
    double v = V[i], m = Act_m[i], hh = Inact_h[i], nn = Act_n[i], ge = g_ex[i], gi = g_in[i];
    double stim = I_stim[i];
    i64 ri = r[i];
    i64 j = recorded_at(rec_idx, n_rec, i);
    for (i64 s = 0; s < n_steps; ++s) {
        i64 e = ((t0 + s) % L) * n_columns + col0 + i;
        i64 c = ((t0 + s) % L_cur) * n_columns + col0 + i;
        double I = q[H_I_e] + stim;
        double v_old = v;
        for (i64 sub = 0; sub < n_sub; ++sub) {
            i64 k = bb_halvings(hh_stiffness(m, hh, nn, ge, gi, q, h), limit, max_level);
            if (k == 0)
                hh_rk4(v, m, hh, nn, ge, ge * q[H_P_ex_half], ge * q[H_P_ex], gi,
                       gi * q[H_P_in_half], gi * q[H_P_in], I, q, h);
            else
                hh_refined_rk4(v, m, hh, nn, ge, gi, I, q, h, k);
            ge = ge * q[H_P_ex];
            gi = gi * q[H_P_in];
        }
        if (ri > 0) {
            ri -= 1;
        } else if (v >= q[H_V_T] + BB_HH_SPIKE_ABOVE_V_T && v_old > v) {
            ri = refr;
            flags[s * n + i] = 1;
        }
        ge = ge + (double)ring_ex[e] * BB_INVERSE_SCALE;
        gi = gi + -((double)ring_in[e] * BB_INVERSE_SCALE);
        ring_ex[e] = 0;
        ring_in[e] = 0;
        stim = ring_cur[c];
        ring_cur[c] = 0.0;
        record_v(v, i, rec_idx, n_rec, j, s, 0, n_var, rec_v);
        record_v(ge, i, rec_idx, n_rec, j, s, 1, n_var, rec_v);
        record_v(gi, i, rec_idx, n_rec, j, s, 2, n_var, rec_v);
        record_v(m, i, rec_idx, n_rec, j, s, 3, n_var, rec_v);
        record_v(hh, i, rec_idx, n_rec, j, s, 4, n_var, rec_v);
        record_v(nn, i, rec_idx, n_rec, j, s, 5, n_var, rec_v);
    }
    V[i] = v; Act_m[i] = m; Inact_h[i] = hh; Act_n[i] = nn; g_ex[i] = ge; g_in[i] = gi;
    I_stim[i] = stim; r[i] = ri;
}

extern "C" __global__ void hh_cond_exp_traub(BB_HH_PARAMS) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    hh_neuron(i, BB_HH_ARGS);
}

extern "C" __global__ void hh_cond_exp_traub_segments(BB_SEGMENT_PARAMS) {
    BB_RUN_SEGMENT(hh_neuron);
}
