// Leaky integrate-and-fire updates (NEST iaf_psc_delta, iaf_psc_exp): the CUDA form of
// kernels/lif.py. One thread per neuron advances it through all steps of the interval with
// its state in registers; every double operation is the CPU kernel's, in the same order.
//
// Shared arguments (as in kernels/lif.py):
//   ring_ex, ring_in  int64 (L, n_columns) fixed-point input, slot = step % L
//   col0              the population's first column;  t0, n_steps: the interval
//   rec_idx, n_rec    sorted block-local indices whose V_m (mV, absolute) goes to
//                     rec_v[step offset * n_rec + j] after each step
//   flags             uint8 (n_steps, n): 1 where neuron i spiked in step offset s
#include "common.cuh"

// Position of neuron i in rec_idx, or -1.
BB_HD i64 recorded_at(const i64 *rec_idx, i64 n_rec, i64 i) {
    i64 j = lower_bound(rec_idx, n_rec, i);
    return (j < n_rec && rec_idx[j] == i) ? j : -1;
}

BB_HD void record_v(double v, i64 i, const i64 *rec_idx, i64 n_rec, i64 j, i64 s, double *rec_v) {
    for (; j >= 0 && j < n_rec && rec_idx[j] == i; ++j) rec_v[s * n_rec + j] = v;
}

// iaf_psc_delta, neuron i. refr_decay[r] = exp(-r * h / tau_m) from the host's libm.
BB_HD void iaf_psc_delta_neuron(
        i64 i, i64 n, double *y3, i64 *r, double *refr_acc, i64 *ring_ex, i64 *ring_in,
        i64 L, i64 n_columns, i64 col0, i64 t0, i64 n_steps,
        double P30, double P33, double I_e, double theta, double V_reset, double V_min,
        i64 refr_counts, int refractory_input, const double *refr_decay, double E_L,
        const i64 *rec_idx, i64 n_rec, double *rec_v, unsigned char *flags) {
    double y = y3[i], acc = refr_acc[i];
    i64 ri = r[i];
    i64 j = recorded_at(rec_idx, n_rec, i);
    for (i64 s = 0; s < n_steps; ++s) {
        i64 e = ((t0 + s) % L) * n_columns + col0 + i;
        double x = (double)(ring_ex[e] + ring_in[e]) * BB_INVERSE_SCALE;
        ring_ex[e] = 0;
        ring_in[e] = 0;
        if (ri == 0) {
            y = P30 * I_e + P33 * y + x;
            if (refractory_input && acc != 0.0) {
                y += acc;
                acc = 0.0;
            }
            if (y < V_min) y = V_min;
        } else {
            if (refractory_input) acc += x * refr_decay[ri];
            ri -= 1;
        }
        if (y >= theta) {
            ri = refr_counts;
            y = V_reset;
            flags[s * n + i] = 1;
        }
        record_v(y + E_L, i, rec_idx, n_rec, j, s, rec_v);
    }
    y3[i] = y; r[i] = ri; refr_acc[i] = acc;
}

extern "C" __global__ void iaf_psc_delta(
        i64 n, double *y3, i64 *r, double *refr_acc, i64 *ring_ex, i64 *ring_in,
        i64 L, i64 n_columns, i64 col0, i64 t0, i64 n_steps,
        double P30, double P33, double I_e, double theta, double V_reset, double V_min,
        i64 refr_counts, int refractory_input, const double *refr_decay, double E_L,
        const i64 *rec_idx, i64 n_rec, double *rec_v, unsigned char *flags) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    iaf_psc_delta_neuron(i, n, y3, r, refr_acc, ring_ex, ring_in, L, n_columns, col0, t0, n_steps,
                         P30, P33, I_e, theta, V_reset, V_min, refr_counts, refractory_input,
                         refr_decay, E_L, rec_idx, n_rec, rec_v, flags);
}

// iaf_psc_exp, neuron i.
BB_HD void iaf_psc_exp_neuron(
        i64 i, i64 n, double *V, double *i_ex, double *i_in, i64 *r, i64 *ring_ex, i64 *ring_in,
        i64 L, i64 n_columns, i64 col0, i64 t0, i64 n_steps,
        double P22, double P21ex, double P21in, double P20, double P11ex, double P11in,
        double I_e, double theta, double V_reset, i64 refr_counts, double E_L,
        const i64 *rec_idx, i64 n_rec, double *rec_v, unsigned char *flags) {
    double v = V[i], ie = i_ex[i], ii = i_in[i];
    i64 ri = r[i];
    i64 j = recorded_at(rec_idx, n_rec, i);
    for (i64 s = 0; s < n_steps; ++s) {
        i64 e = ((t0 + s) % L) * n_columns + col0 + i;
        if (ri == 0) {
            v = v * P22 + ie * P21ex + ii * P21in + I_e * P20;
        } else {
            ri -= 1;
        }
        ie *= P11ex;
        ii *= P11in;
        ie += (double)ring_ex[e] * BB_INVERSE_SCALE;
        ii += (double)ring_in[e] * BB_INVERSE_SCALE;
        ring_ex[e] = 0;
        ring_in[e] = 0;
        if (v >= theta) {
            ri = refr_counts;
            v = V_reset;
            flags[s * n + i] = 1;
        }
        record_v(v + E_L, i, rec_idx, n_rec, j, s, rec_v);
    }
    V[i] = v; i_ex[i] = ie; i_in[i] = ii; r[i] = ri;
}

extern "C" __global__ void iaf_psc_exp(
        i64 n, double *V, double *i_ex, double *i_in, i64 *r, i64 *ring_ex, i64 *ring_in,
        i64 L, i64 n_columns, i64 col0, i64 t0, i64 n_steps,
        double P22, double P21ex, double P21in, double P20, double P11ex, double P11in,
        double I_e, double theta, double V_reset, i64 refr_counts, double E_L,
        const i64 *rec_idx, i64 n_rec, double *rec_v, unsigned char *flags) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    iaf_psc_exp_neuron(i, n, V, i_ex, i_in, r, ring_ex, ring_in, L, n_columns, col0, t0, n_steps,
                       P22, P21ex, P21in, P20, P11ex, P11in, I_e, theta, V_reset, refr_counts,
                       E_L, rec_idx, n_rec, rec_v, flags);
}
