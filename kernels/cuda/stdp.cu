// STDP (NEST stdp_synapse) at pre-synaptic spike delivery: the CUDA form of
// kernels/stdp.py::deliver. Time stamps in steps, exponentials of ms from exp tables
// (common.cuh: exp_steps) filled by the host's libm, so the bits equal the CPU's.
//
// The spikes of one interval are grouped by source row (group g: row group_row[g], its
// spikes group_ptr[g] … group_ptr[g+1]−1 in time order, stamps spike_stamp, position in the
// CPU's time-ordered list spike_pos). One block per group, one thread per synapse of the
// row: the thread applies the row's spikes to its synapse in time order, carrying the
// pre-synaptic trace K+ exactly as the CPU does; stdp_rows then stores the row's trace.
//
// Post-synaptic history (kernels/stdp.py): row c of width `width` (int64 words) holds the
// number of entries at word 0 and entry j (newest first) at words 4 + 2j (stamp) and
// 5 + 2j (K− just after the spike, read through the double view hf of the same memory).
// The CPU's remembered K− (words 1, 2) is not used here: each thread computes its own.
//
// NEST stdp_triplet_synapse (triplet = 1, kernels/stdp.py's `triplet`): K+₃ per row in
// kplus_triplet, carried by each thread like K+, and K−₃ just after each history entry at
// ht[c * ht_width + j]; lam, alpha, mu_plus, mu_minus are then not used.
#include "common.cuh"

#define DELIVER_WEIGHT 0
#define DELIVER_COUNT 1

struct StdpRule {
    double dt, tau_plus, lam, alpha, mu_plus, mu_minus, w_max;
    const double *exp_plus;      // exp(-m * dt / tau_plus)
    i64 n_exp_plus;
    const double *exp_minus;     // table of column c: exp_minus + minus_start[c]:
    const i64 *minus_start;      //   exp(-m * dt * inv_tau_minus[c])
    const i64 *minus_length;
    const double *inv_tau_minus;
    int triplet;                 // stdp_triplet_synapse:
    double tau_x, a_plus, a_minus, a_plus3, a_minus3;  // tau_plus_triplet, Aplus, Aminus, A..._triplet
    const double *exp_x;         // exp(-m * dt / tau_plus_triplet)
    i64 n_exp_x;
    double *kplus_triplet;       // K+₃ per row
    const double *ht;            // K−₃ after history entry j of column c: ht[c * ht_width + j]
    i64 ht_width;
};

// The rule as kernel parameters (CuPy passes scalars and pointers, not structs).
#define BB_STDP_PARAMS                                                                         \
    double dt, double tau_plus, double lam, double alpha, double mu_plus, double mu_minus,     \
    double w_max, const double *exp_plus, i64 n_exp_plus, const double *exp_minus,             \
    const i64 *minus_start, const i64 *minus_length, const double *inv_tau_minus,              \
    int triplet, double tau_x, double a_plus, double a_minus, double a_plus3, double a_minus3, \
    const double *exp_x, i64 n_exp_x, double *kplus_triplet, const double *ht, i64 ht_width
#define BB_STDP_PARAM_TYPES                                                                    \
    double, double, double, double, double, double, double, const double *, i64,               \
    const double *, const i64 *, const i64 *, const double *, int, double, double, double,     \
    double, double, const double *, i64, double *, const double *, i64
#define BB_STDP_ARGS dt, tau_plus, lam, alpha, mu_plus, mu_minus, w_max, exp_plus, n_exp_plus,  \
                     exp_minus, minus_start, minus_length, inv_tau_minus, triplet, tau_x,     \
                     a_plus, a_minus, a_plus3, a_minus3, exp_x, n_exp_x, kplus_triplet, ht,   \
                     ht_width
#define BB_STDP_RULE {BB_STDP_ARGS}

// x ** mu as libm's pow gives it for mu 0 and 1 (exact); other exponents: the device pow.
BB_HD double power(double x, double mu) {
    if (mu == 0.0) return 1.0;
    if (mu == 1.0) return x;
    return pow(x, mu);
}

BB_HD double facilitate(double w, double kplus, const StdpRule &p) {
    double norm_w = (w / p.w_max) + (p.lam * power(1.0 - (w / p.w_max), p.mu_plus) * kplus);
    return norm_w < 1.0 ? norm_w * p.w_max : p.w_max;
}

BB_HD double depress(double w, double kminus, const StdpRule &p) {
    double norm_w = (w / p.w_max) - (p.alpha * p.lam * power(w / p.w_max, p.mu_minus) * kminus);
    return norm_w > 0.0 ? norm_w * p.w_max : 0.0;
}

// stdp_triplet_synapse: ky is K−₃ just before the post spike, kx K+₃ just before the pre spike.
BB_HD double facilitate_triplet(double w, double kplus, double ky, const StdpRule &p) {
    double new_w = fabs(w) + kplus * (p.a_plus + p.a_plus3 * ky);
    return copysign(new_w < fabs(p.w_max) ? new_w : p.w_max, p.w_max);
}

BB_HD double depress_triplet(double w, double kminus, double kx, const StdpRule &p) {
    double new_w = fabs(w) - kminus * (p.a_minus + p.a_minus3 * kx);
    return copysign(new_w > 0.0 ? new_w : 0.0, p.w_max);
}

// The weight after a pre spike stamped t reaches a synapse (delay d, post column c) whose
// row had its previous spike at t_last with trace kplus (kernels/stdp.py::deliver):
// facilitation by the post spikes in (t_last − d, t − d], oldest first, then depression by
// K− just before t − d (and, for the triplet rule, kx: K+₃ just before t).
BB_HD double update_weight(double w, i64 t, i64 d, i64 t_last, double kplus, double kx, i64 c,
                           const i64 *h_all, const double *hf_all, i64 width, const StdpRule &p) {
    const i64 *h = h_all + c * width;
    const double *hf = hf_all + c * width;
    i64 n = h[0], newest = 0;
    while (newest < n && h[4 + 2 * newest] > t - d) ++newest;
    i64 oldest = newest;
    while (oldest < n && h[4 + 2 * oldest] > t_last - d) ++oldest;
    for (i64 j = oldest - 1; j >= newest; --j) {
        i64 gap = h[4 + 2 * j] + d - t_last;
        double decayed = kplus * exp_steps(p.exp_plus, p.n_exp_plus, gap, p.dt, p.tau_plus, 0);
        w = p.triplet ? facilitate_triplet(w, decayed, p.ht[c * p.ht_width + j] - 1.0, p)
                      : facilitate(w, decayed, p);
    }
    i64 e = newest;
    while (e < n && h[4 + 2 * e] >= t - d) ++e;
    double k_minus = 0.0;
    if (e < n) {
        i64 gap = (t - d) - h[4 + 2 * e];
        k_minus = hf[5 + 2 * e] * exp_steps(p.exp_minus + p.minus_start[c], p.minus_length[c], gap,
                                            p.dt, p.inv_tau_minus[c], 1);
    }
    return p.triplet ? depress_triplet(w, k_minus, kx, p) : depress(w, k_minus, p);
}

// Synapse k of group g: apply the group's spikes in time order, deliver, record.
template <typename Post, typename Delay>
BB_HD void stdp_synapse(i64 k, i64 g, const i64 *group_row, const i64 *group_ptr,
                        const i64 *spike_stamp, const i64 *spike_pos, const Post *post,
                        double *weight, const Delay *delay, i64 delay_all, const double *kplus,
                        const i64 *t_last, const i64 *h, const double *hf, i64 width,
                        StdpRule p, int mode,
                        i64 *ring_ex, i64 *ring_in, i64 L, i64 n_columns,
                        const unsigned char *rec_row, const i64 *rec_syn, i64 n_rec_syn,
                        i64 *n_out, i64 *out_pos, i64 *out_stamp, i64 *out_syn, double *out_w) {
    i64 row = group_row[g];
    i64 d = delay ? (i64)delay[k] : delay_all;
    i64 c = (i64)post[k];
    double w = weight[k], kp = kplus[row], k3 = p.triplet ? p.kplus_triplet[row] : 0.0;
    i64 tl = t_last[row];
    int recorded = n_rec_syn > 0 && rec_row[row];
    if (recorded) {
        i64 j = lower_bound(rec_syn, n_rec_syn, k);
        recorded = j < n_rec_syn && rec_syn[j] == k;
    }
    for (i64 s = group_ptr[g]; s < group_ptr[g + 1]; ++s) {
        i64 t = spike_stamp[s];
        double kx = p.triplet ? k3 * exp_steps(p.exp_x, p.n_exp_x, t - tl, p.dt, p.tau_x, 0) : 0.0;
        w = update_weight(w, t, d, tl, kp, kx, c, h, hf, width, p);
        i64 e = ((t - 1 + d) % L) * n_columns + c;
        if (mode == DELIVER_WEIGHT) {
            i64 fixed = (i64)rint(w * BB_SCALE);
            ring_add(fixed >= 0 ? ring_ex + e : ring_in + e, fixed);
        } else if (mode == DELIVER_COUNT) {
            ring_add(ring_ex + e, (i64)BB_SCALE);
        }
        if (recorded) {
#ifdef __CUDA_ARCH__
            i64 o = (i64)atomicAdd((u64 *)n_out, 1ull);
#else
            i64 o = (*n_out)++;
#endif
            out_pos[o] = spike_pos[s]; out_stamp[o] = t; out_syn[o] = k; out_w[o] = w;
        }
        kp = kp * exp_steps(p.exp_plus, p.n_exp_plus, t - tl, p.dt, p.tau_plus, 0) + 1.0;
        k3 = kx + 1.0;
        tl = t;
    }
    weight[k] = w;
}

// The traces K+ (and K+₃) and last stamp of group g's row after its spikes
// (kernels/stdp.py::deliver).
BB_HD void stdp_row(i64 g, const i64 *group_row, const i64 *group_ptr, const i64 *spike_stamp,
                    double *kplus, i64 *t_last, StdpRule p) {
    i64 row = group_row[g];
    double kp = kplus[row], k3 = p.triplet ? p.kplus_triplet[row] : 0.0;
    i64 tl = t_last[row];
    for (i64 s = group_ptr[g]; s < group_ptr[g + 1]; ++s) {
        i64 t = spike_stamp[s];
        kp = kp * exp_steps(p.exp_plus, p.n_exp_plus, t - tl, p.dt, p.tau_plus, 0) + 1.0;
        if (p.triplet) k3 = k3 * exp_steps(p.exp_x, p.n_exp_x, t - tl, p.dt, p.tau_x, 0) + 1.0;
        tl = t;
    }
    kplus[row] = kp;
    if (p.triplet) p.kplus_triplet[row] = k3;
    t_last[row] = tl;
}

template <typename Post, typename Delay>
__global__ void stdp_synapses(i64 n_groups, const i64 *group_row, const i64 *group_ptr,
                              const i64 *spike_stamp, const i64 *spike_pos, const i64 *ptr,
                              const Post *post, double *weight, const Delay *delay,
                              i64 delay_all, const double *kplus, const i64 *t_last,
                              const i64 *h, const double *hf, i64 width, BB_STDP_PARAMS, int mode, i64 *ring_ex,
                              i64 *ring_in, i64 L, i64 n_columns, const unsigned char *rec_row,
                              const i64 *rec_syn, i64 n_rec_syn, i64 *n_out, i64 *out_pos,
                              i64 *out_stamp, i64 *out_syn, double *out_w) {
    StdpRule p = BB_STDP_RULE;
    for (i64 g = blockIdx.x; g < n_groups; g += gridDim.x) {
        i64 row = group_row[g];
        for (i64 k = ptr[row] + threadIdx.x; k < ptr[row + 1]; k += blockDim.x)
            stdp_synapse(k, g, group_row, group_ptr, spike_stamp, spike_pos, post, weight, delay,
                         delay_all, kplus, t_last, h, hf, width, p, mode,
                         ring_ex, ring_in, L, n_columns, rec_row, rec_syn, n_rec_syn, n_out,
                         out_pos, out_stamp, out_syn, out_w);
    }
}

extern "C" __global__ void stdp_rows(i64 n_groups, const i64 *group_row, const i64 *group_ptr,
                                     const i64 *spike_stamp, double *kplus, i64 *t_last,
                                     BB_STDP_PARAMS) {
    StdpRule p = BB_STDP_RULE;
    i64 g = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (g < n_groups) stdp_row(g, group_row, group_ptr, spike_stamp, kplus, t_last, p);
}

#define BB_STDP_SYNAPSES(Post, Delay)                                                          \
    template __global__ void stdp_synapses<Post, Delay>(                                       \
        i64, const i64 *, const i64 *, const i64 *, const i64 *, const i64 *, const Post *,    \
        double *, const Delay *, i64, const double *, const i64 *, const i64 *,                \
        const double *, i64, BB_STDP_PARAM_TYPES, int, i64 *, i64 *, i64, i64,                 \
        const unsigned char *, const i64 *, i64, i64 *, i64 *, i64 *, i64 *, double *);
BB_STDP_SYNAPSES(unsigned short, unsigned char)
BB_STDP_SYNAPSES(unsigned short, unsigned short)
BB_STDP_SYNAPSES(unsigned int, unsigned char)
BB_STDP_SYNAPSES(unsigned int, unsigned short)

// Entries of history row h that stay when a spike is added (kernels/stdp.py::kept_entries):
// those stamped after `bound` and the newest one at or before it.
BB_HD i64 kept_entries(const i64 *h, i64 bound) {
    i64 n = h[0], j = 0;
    while (j < n && h[4 + 2 * j] > bound) ++j;
    return j < n ? j + 1 : n;
}

// Post-synaptic trace time constants of the columns: K− (and K−₃ of the triplet rule) with
// their exp tables, as StdpRule holds K−'s.
struct PostTraces {
    double dt;
    const double *exp_minus;
    const i64 *minus_start, *minus_length;
    const double *inv_tau_minus;
    double *kminus;
    i64 *last_stamp;
    int triplet;
    const double *exp3;          // exp(-m * dt * inv_tau_minus_triplet[c]), as exp_minus
    const i64 *start3, *length3;
    const double *inv_tau3;
    double *kminus3;
    double *ht;
    i64 ht_width;
};

#define BB_POST_PARAMS                                                                         \
    double dt, const double *exp_minus, const i64 *minus_start, const i64 *minus_length,      \
    const double *inv_tau_minus, double *kminus, i64 *last_stamp, int triplet,               \
    const double *exp3, const i64 *start3, const i64 *length3, const double *inv_tau3,       \
    double *kminus3, double *ht, i64 ht_width
#define BB_POST_ARGS dt, exp_minus, minus_start, minus_length, inv_tau_minus, kminus,          \
                     last_stamp, triplet, exp3, start3, length3, inv_tau3, kminus3, ht, ht_width

// Column c's post-synaptic spikes of one interval (kernels/stdp.py::record_post_spikes):
// the spikes are sorted by (column, stamp) in cols, stamps (n of them); each steps the
// traces and becomes the newest history entry, after the entries at or below `bound` but
// the newest of them are dropped. The host has checked that no row is full.
BB_HD void record_column(i64 c, i64 n, const i64 *cols, const i64 *stamps,
                         const unsigned char *tracked, i64 bound, i64 *h_all, double *hf_all,
                         i64 width, const PostTraces &p) {
    if (!tracked[c]) return;
    i64 *h = h_all + c * width;
    double *hf = hf_all + c * width;
    for (i64 i = lower_bound(cols, n, c); i < n && cols[i] == c; ++i) {
        i64 keep = kept_entries(h, bound), t = stamps[i], gap = t - p.last_stamp[c];
        p.kminus[c] = p.kminus[c] * exp_steps(p.exp_minus + p.minus_start[c], p.minus_length[c],
                                              gap, p.dt, p.inv_tau_minus[c], 1) + 1.0;
        if (p.triplet) {
            double *ht = p.ht + c * p.ht_width;
            p.kminus3[c] = p.kminus3[c] * exp_steps(p.exp3 + p.start3[c], p.length3[c], gap,
                                                    p.dt, p.inv_tau3[c], 1) + 1.0;
            for (i64 j = keep; j > 0; --j) ht[j] = ht[j - 1];
            ht[0] = p.kminus3[c];
        }
        p.last_stamp[c] = t;
        for (i64 word = 4 + 2 * keep + 1; word > 5; --word) h[word] = h[word - 2];
        h[4] = t;
        hf[5] = p.kminus[c];
        h[0] = keep + 1;
    }
}

extern "C" __global__ void stdp_record_post(i64 n, const i64 *cols, const i64 *stamps,
                                            i64 n_columns, const unsigned char *tracked,
                                            i64 bound, i64 *h, double *hf, i64 width,
                                            BB_POST_PARAMS) {
    PostTraces p = {BB_POST_ARGS};
    i64 c = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (c < n_columns) record_column(c, n, cols, stamps, tracked, bound, h, hf, width, p);
}
