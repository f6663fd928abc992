// Leaky integrate-and-fire updates (NEST iaf_psc_delta, iaf_psc_exp, iaf_psc_alpha): the CUDA
// form of kernels/lif.py. One thread per neuron advances it through all steps of the interval
// with its state in registers; every double operation is the CPU kernel's, in the same order.
//
// Shared arguments (as in kernels/lif.py):
//   ring_ex, ring_in  int64 (L, n_columns) fixed-point input, slot = step % L
//   ring_cur          double (L_cur, n_columns) current input (pA), slot = step % L_cur;
//                     the current read in a step acts from the next step on
//   col0              the population's first column;  t0, n_steps: the interval
//   rec_idx, n_rec    sorted block-local indices whose recordables (n_var of them, V_m
//                     first, absolute mV) go to rec_v[(s * n_rec + j) * n_var + k]
//   flags             uint8 (n_steps, n): 1 where neuron i spiked in step offset s
// Their kernels (one population; all populations of a model) are in lif.cu.
#pragma once
#include "common.cuh"

// iaf_psc_delta, neuron i. refr_decay[r] = exp(-r * h / tau_m) from the host's libm.
BB_HD void iaf_psc_delta_neuron(
        i64 i, i64 n, double *y3, double *y0, i64 *r, double *refr_acc, i64 *ring_ex,
        i64 *ring_in, double *ring_cur, i64 L, i64 n_columns, i64 L_cur, i64 col0, i64 t0,
        i64 n_steps, double P30, double P33, double I_e, double theta, double V_reset,
        double V_min, i64 refr_counts, int refractory_input, const double *refr_decay,
        double E_L, const i64 *rec_idx, i64 n_rec, double *rec_v, unsigned char *flags) {
    double y = y3[i], acc = refr_acc[i], current = y0[i];
    i64 ri = r[i];
    i64 j = recorded_at(rec_idx, n_rec, i);
    for (i64 s = 0; s < n_steps; ++s) {
        i64 e = ((t0 + s) % L) * n_columns + col0 + i;
        i64 c = ((t0 + s) % L_cur) * n_columns + col0 + i;
        double x = (double)(ring_ex[e] + ring_in[e]) * BB_INVERSE_SCALE;
        ring_ex[e] = 0;
        ring_in[e] = 0;
        double applied = current;
        current = ring_cur[c];
        ring_cur[c] = 0.0;
        if (ri == 0) {
            y = P30 * (applied + I_e) + P33 * y + x;
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
        record_v(y + E_L, i, rec_idx, n_rec, j, s, 0, 1, rec_v);
    }
    y3[i] = y; y0[i] = current; r[i] = ri; refr_acc[i] = acc;
}


// iaf_psc_exp, neuron i.
BB_HD void iaf_psc_exp_neuron(
        i64 i, i64 n, double *V, double *i_ex, double *i_in, double *i_0, i64 *r,
        i64 *ring_ex, i64 *ring_in, double *ring_cur, i64 L, i64 n_columns, i64 L_cur, i64 col0,
        i64 t0, i64 n_steps, double P22, double P21ex, double P21in, double P20, double P11ex,
        double P11in, double I_e, double theta, double V_reset, i64 refr_counts, double E_L,
        const i64 *rec_idx, i64 n_rec, double *rec_v, unsigned char *flags) {
    double v = V[i], ie = i_ex[i], ii = i_in[i], current = i_0[i];
    i64 ri = r[i];
    i64 j = recorded_at(rec_idx, n_rec, i);
    for (i64 s = 0; s < n_steps; ++s) {
        i64 e = ((t0 + s) % L) * n_columns + col0 + i;
        i64 c = ((t0 + s) % L_cur) * n_columns + col0 + i;
        if (ri == 0) {
            v = v * P22 + ie * P21ex + ii * P21in + (I_e + current) * P20;
        } else {
            ri -= 1;
        }
        ie *= P11ex;
        ii *= P11in;
        ie += (double)ring_ex[e] * BB_INVERSE_SCALE;
        ii += (double)ring_in[e] * BB_INVERSE_SCALE;
        ring_ex[e] = 0;
        ring_in[e] = 0;
        current = ring_cur[c];
        ring_cur[c] = 0.0;
        if (v >= theta) {
            ri = refr_counts;
            v = V_reset;
            flags[s * n + i] = 1;
        }
        record_v(v + E_L, i, rec_idx, n_rec, j, s, 0, 3, rec_v);
        record_v(ie, i, rec_idx, n_rec, j, s, 1, 3, rec_v);
        record_v(ii, i, rec_idx, n_rec, j, s, 2, 3, rec_v);
    }
    V[i] = v; i_ex[i] = ie; i_in[i] = ii; i_0[i] = current; r[i] = ri;
}


// One alpha current (kernels/lif.py::iaf_psc_alpha): I and dI after a step with input w (pA).
BB_HD void alpha_current(double &I, double &dI, double w, double P11, double P21, double PSC) {
    I = P21 * dI + P11 * I;
    dI = dI * P11 + PSC * w;
}

// iaf_psc_alpha, neuron i.
BB_HD void iaf_psc_alpha_neuron(
        i64 i, i64 n, double *y3, double *dI_ex, double *I_ex, double *dI_in, double *I_in,
        double *y0, i64 *r, i64 *ring_ex, i64 *ring_in, double *ring_cur, i64 L, i64 n_columns,
        i64 L_cur, i64 col0, i64 t0, i64 n_steps, double P30, double expm1_tau_m, double P11ex,
        double P21ex, double P31ex, double P32ex, double EPSC, double P11in, double P21in,
        double P31in, double P32in, double IPSC, double I_e, double theta, double V_reset,
        double V_min, i64 refr_counts, double E_L, const i64 *rec_idx, i64 n_rec,
        double *rec_v, unsigned char *flags) {
    double y = y3[i], dex = dI_ex[i], ex = I_ex[i], din = dI_in[i], in = I_in[i];
    double current = y0[i];
    i64 ri = r[i];
    i64 j = recorded_at(rec_idx, n_rec, i);
    for (i64 s = 0; s < n_steps; ++s) {
        i64 e = ((t0 + s) % L) * n_columns + col0 + i;
        i64 c = ((t0 + s) % L_cur) * n_columns + col0 + i;
        if (ri == 0) {
            y = P30 * (current + I_e) + P31ex * dex + P32ex * ex + P31in * din + P32in * in
                + expm1_tau_m * y + y;
            if (y < V_min) y = V_min;
        } else {
            ri -= 1;
        }
        alpha_current(ex, dex, (double)ring_ex[e] * BB_INVERSE_SCALE, P11ex, P21ex, EPSC);
        alpha_current(in, din, (double)ring_in[e] * BB_INVERSE_SCALE, P11in, P21in, IPSC);
        ring_ex[e] = 0;
        ring_in[e] = 0;
        current = ring_cur[c];
        ring_cur[c] = 0.0;
        if (y >= theta) {
            ri = refr_counts;
            y = V_reset;
            flags[s * n + i] = 1;
        }
        record_v(y + E_L, i, rec_idx, n_rec, j, s, 0, 3, rec_v);
        record_v(ex, i, rec_idx, n_rec, j, s, 1, 3, rec_v);
        record_v(in, i, rec_idx, n_rec, j, s, 2, 3, rec_v);
    }
    y3[i] = y; dI_ex[i] = dex; I_ex[i] = ex; dI_in[i] = din; I_in[i] = in; y0[i] = current;
    r[i] = ri;
}
