// The kernels of the leaky integrate-and-fire models (kernels/cuda/lif.cuh): each thread
// reads its neuron's parameters from a parameter table (kernels/cuda/params.cuh: numbers
// or per-neuron values) and runs lif.cuh's update with them, so the arithmetic is the
// Numba kernels' (with kernels/params.py::at). Per model: <model>, one population, and
// <model>_segments, all populations in one launch, their spikes to the spike log
// (kernels/cuda/segments.cuh). Arguments: lif.cuh's, the parameters, in order:
//   iaf_psc_delta  P30, P33, I_e, theta, V_reset, V_min, refr_counts, E_L, decay_start
//                  (refr_decay + decay_start: exp(-m h / tau_m) of the neuron's tau_m)
//   iaf_psc_exp    P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta, V_reset, refr_counts, E_L
//   iaf_psc_alpha  P30, expm1_tau_m, P11ex, P21ex, P31ex, P32ex, EPSC, P11in, P21in, P31in,
//                  P32in, IPSC, I_e, theta, V_reset, V_min, refr_counts, E_L
#include "lif.cuh"
#include "params.cuh"
#include "segments.cuh"

#define BB_DELTA_EACH_PARAMS                                                                   \
    i64 n, double *y3, double *y0, i64 *r, double *refr_acc, i64 *ring_ex, i64 *ring_in,     \
    double *ring_cur, i64 L, i64 n_columns, i64 L_cur, i64 col0, i64 t0, i64 n_steps,         \
    const u64 *param_ptr, const double *param_value, int refractory_input,                    \
    const double *refr_decay, const i64 *rec_idx, i64 n_rec, double *rec_v,                   \
    unsigned char *flags
#define BB_DELTA_EACH_ARGS                                                                     \
    n, y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur, L, n_columns, L_cur, col0, t0,        \
    n_steps, param_ptr, param_value, refractory_input, refr_decay, rec_idx, n_rec, rec_v, flags

BB_HD void iaf_psc_delta_each(i64 i, BB_DELTA_EACH_PARAMS) {
    double q[9];
    load_params(param_ptr, param_value, 9, i, q);
    iaf_psc_delta_neuron(i, n, y3, y0, r, refr_acc, ring_ex, ring_in, ring_cur, L, n_columns,
                         L_cur, col0, t0, n_steps, q[0], q[1], q[2], q[3], q[4], q[5], (i64)q[6],
                         refractory_input, refr_decay + (i64)q[8], q[7], rec_idx, n_rec, rec_v,
                         flags);
}

extern "C" __global__ void iaf_psc_delta(BB_DELTA_EACH_PARAMS) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    iaf_psc_delta_each(i, BB_DELTA_EACH_ARGS);
}

#define BB_EXP_EACH_PARAMS                                                                     \
    i64 n, double *V, double *i_ex, double *i_in, double *i_0, i64 *r, i64 *ring_ex,          \
    i64 *ring_in, double *ring_cur, i64 L, i64 n_columns, i64 L_cur, i64 col0, i64 t0,        \
    i64 n_steps, const u64 *param_ptr, const double *param_value, const i64 *rec_idx,         \
    i64 n_rec, double *rec_v, unsigned char *flags
#define BB_EXP_EACH_ARGS                                                                       \
    n, V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur, L, n_columns, L_cur, col0, t0,      \
    n_steps, param_ptr, param_value, rec_idx, n_rec, rec_v, flags

BB_HD void iaf_psc_exp_each(i64 i, BB_EXP_EACH_PARAMS) {
    double q[11];
    load_params(param_ptr, param_value, 11, i, q);
    iaf_psc_exp_neuron(i, n, V, i_ex, i_in, i_0, r, ring_ex, ring_in, ring_cur, L, n_columns,
                       L_cur, col0, t0, n_steps, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7],
                       q[8], (i64)q[9], q[10], rec_idx, n_rec, rec_v, flags);
}

extern "C" __global__ void iaf_psc_exp(BB_EXP_EACH_PARAMS) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    iaf_psc_exp_each(i, BB_EXP_EACH_ARGS);
}

#define BB_ALPHA_EACH_PARAMS                                                                   \
    i64 n, double *y3, double *dI_ex, double *I_ex, double *dI_in, double *I_in, double *y0,  \
    i64 *r, i64 *ring_ex, i64 *ring_in, double *ring_cur, i64 L, i64 n_columns, i64 L_cur,    \
    i64 col0, i64 t0, i64 n_steps, const u64 *param_ptr, const double *param_value,           \
    const i64 *rec_idx, i64 n_rec, double *rec_v, unsigned char *flags
#define BB_ALPHA_EACH_ARGS                                                                     \
    n, y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur, L, n_columns, L_cur,  \
    col0, t0, n_steps, param_ptr, param_value, rec_idx, n_rec, rec_v, flags

BB_HD void iaf_psc_alpha_each(i64 i, BB_ALPHA_EACH_PARAMS) {
    double q[18];
    load_params(param_ptr, param_value, 18, i, q);
    iaf_psc_alpha_neuron(i, n, y3, dI_ex, I_ex, dI_in, I_in, y0, r, ring_ex, ring_in, ring_cur,
                         L, n_columns, L_cur, col0, t0, n_steps, q[0], q[1], q[2], q[3], q[4],
                         q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15],
                         (i64)q[16], q[17], rec_idx, n_rec, rec_v, flags);
}

extern "C" __global__ void iaf_psc_alpha(BB_ALPHA_EACH_PARAMS) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    iaf_psc_alpha_each(i, BB_ALPHA_EACH_ARGS);
}

extern "C" __global__ void iaf_psc_delta_segments(BB_SEGMENT_PARAMS) {
    BB_RUN_SEGMENT(iaf_psc_delta_each);
}

extern "C" __global__ void iaf_psc_exp_segments(BB_SEGMENT_PARAMS) {
    BB_RUN_SEGMENT(iaf_psc_exp_each);
}

extern "C" __global__ void iaf_psc_alpha_segments(BB_SEGMENT_PARAMS) {
    BB_RUN_SEGMENT(iaf_psc_alpha_each);
}
