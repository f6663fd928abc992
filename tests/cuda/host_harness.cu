// The CUDA kernels of kernels/cuda run on the CPU: every kernel is a loop over what its
// threads do, calling the same __host__ __device__ functions. tests/cuda_host.py loads this
// library (built with nvcc) as a stand-in device, so the kernels' arithmetic and the
// launchers in kernels/gpu.py are checked against the Numba kernels without a GPU.
// Each function has the parameters of the kernel of the same name.
#include "philox.cu"
#include "lif.cu"
#include "cond.cu"
#include "hh.cu"
#include "delivery.cu"
#include "stdp.cu"

extern "C" void host_philox_words(const u32 *counters, i64 n, u32 k0, u32 k1, u32 *out) {
    for (i64 i = 0; i < n; ++i) {
        u32 c[4] = {counters[4 * i], counters[4 * i + 1], counters[4 * i + 2], counters[4 * i + 3]};
        philox4x32(c, k0, k1);
        for (int j = 0; j < 4; ++j) out[4 * i + j] = c[j];
    }
}

extern "C" void host_iaf_psc_delta(BB_DELTA_EACH_PARAMS) {
    for (i64 i = 0; i < n; ++i) iaf_psc_delta_each(i, BB_DELTA_EACH_ARGS);
}

extern "C" void host_iaf_psc_exp(BB_EXP_EACH_PARAMS) {
    for (i64 i = 0; i < n; ++i) iaf_psc_exp_each(i, BB_EXP_EACH_ARGS);
}

extern "C" void host_iaf_psc_alpha(BB_ALPHA_EACH_PARAMS) {
    for (i64 i = 0; i < n; ++i) iaf_psc_alpha_each(i, BB_ALPHA_EACH_ARGS);
}

extern "C" void host_cond(BB_COND_PARAMS) {
    for (i64 i = 0; i < n; ++i) cond_neuron(i, BB_COND_ARGS);
}

extern "C" void host_hh_cond_exp_traub(BB_HH_PARAMS) {
    for (i64 i = 0; i < n; ++i) hh_neuron(i, BB_HH_ARGS);
}

template <typename Post, typename Delay>
void host_deliver(const i64 *src_gid, const i64 *src_step, i64 n_spikes, i64 gid_lo,
                  const i64 *ptr, i64 span, const Post *post, const i32 *weight, i64 shift,
                  i64 weight_all, const Delay *delay, i64 delay_all, i64 *ring_ex, i64 *ring_in,
                  i64 L, i64 n_columns) {
    for (i64 s = 0; s < n_spikes; ++s) {
        i64 row = src_gid[s] - gid_lo;
        if (row < 0 || row >= span) continue;
        for (i64 k = ptr[row]; k < ptr[row + 1]; ++k)
            deliver_synapse(k, src_step[s], post, weight, shift, weight_all, delay, delay_all,
                            ring_ex, ring_in, L, n_columns);
    }
}

extern "C" void host_deliver_all(const i64 *src_gid, const i64 *src_step, i64 n_spikes,
                                 BB_TABLE_PARAMS) {
    for (i64 j = 0; j < n_spikes * n_proj; ++j)
        deliver_row(src_gid[j / n_proj], src_step[j / n_proj], j % n_proj, 0, 1, BB_TABLE_ARGS);
}

extern "C" void host_deliver_log(i64 *log, i64 parity, i64 capacity, const i64 *source_of,
                                 BB_TABLE_PARAMS) {
    i64 first = log[1 + parity], end = log[0] < capacity ? log[0] : capacity;
    for (i64 j = 0; j < (end - first) * n_proj; ++j) {
        const i64 *spike = log + BB_LOG_HEADER + 2 * (first + j / n_proj);
        deliver_row(source_of[spike[0]], spike[1], j % n_proj, 0, 1, BB_TABLE_ARGS);
    }
    log[2 - parity] = end;
}

extern "C" void host_poisson_calls(i64 n_seg, const i64 *seg_start, const u64 *words, i64 t0,
                                   i64 n_steps) {
    u64 w[19];
    for (i64 k = 0; k < seg_start[n_seg]; ++k)
        run_call(poisson_synapse, w, k, n_seg, seg_start, words, 1, t0, n_steps);
}

// The <model>_segments kernels: every thread k of the launch in turn.
#define BB_HOST_SEGMENTS(kernel, neuron)                                                       \
    extern "C" void host_##kernel##_segments(BB_SEGMENT_PARAMS) {                              \
        for (i64 k = 0; k < seg_start[n_seg]; ++k)                                             \
            run_segment(neuron, k, BB_SEGMENT_ARGS);                                           \
    }
BB_HOST_SEGMENTS(iaf_psc_delta, iaf_psc_delta_each)
BB_HOST_SEGMENTS(iaf_psc_exp, iaf_psc_exp_each)
BB_HOST_SEGMENTS(iaf_psc_alpha, iaf_psc_alpha_each)
BB_HOST_SEGMENTS(cond, cond_neuron)
BB_HOST_SEGMENTS(hh_cond_exp_traub, hh_neuron)

extern "C" void host_poisson_input(i64 n, i64 t0, i64 n_steps, const i64 *post,
                                   const i64 *post_gid, const i64 *ordinal, const i64 *delay,
                                   const i64 *weight, const double *cdf, i64 n_cdf,
                                   const i64 *guide, i64 n_guide, u32 k0, u32 k1, u32 c2,
                                   i64 *ring_ex, i64 *ring_in, i64 L, i64 n_columns) {
    for (i64 i = 0; i < n; ++i)
        poisson_synapse(i, t0, n_steps, post, post_gid, ordinal, delay, weight, cdf, n_cdf, guide,
                        n_guide, k0, k1, c2, ring_ex, ring_in, L, n_columns);
}

template <typename Post, typename Delay>
void host_stdp_synapses(i64 n_groups, const i64 *group_row, const i64 *group_ptr,
                        const i64 *spike_stamp, const i64 *spike_pos, const i64 *ptr,
                        const Post *post, double *weight, const Delay *delay, i64 delay_all,
                        const double *kplus, const i64 *t_last, const i64 *h,
                        const double *hf, i64 width,
                        BB_STDP_PARAMS, int mode, i64 *ring_ex, i64 *ring_in, i64 L,
                        i64 n_columns, const unsigned char *rec_row, const i64 *rec_syn,
                        i64 n_rec_syn, i64 *n_out, i64 *out_pos, i64 *out_stamp, i64 *out_syn,
                        double *out_w) {
    StdpRule p = BB_STDP_RULE;
    for (i64 g = 0; g < n_groups; ++g)
        for (i64 k = ptr[group_row[g]]; k < ptr[group_row[g] + 1]; ++k)
            stdp_synapse(k, g, group_row, group_ptr, spike_stamp, spike_pos, post, weight, delay,
                         delay_all, kplus, t_last, h, hf, width, p, mode,
                         ring_ex, ring_in, L, n_columns, rec_row, rec_syn, n_rec_syn, n_out,
                         out_pos, out_stamp, out_syn, out_w);
}

extern "C" void host_stdp_rows(i64 n_groups, const i64 *group_row, const i64 *group_ptr,
                               const i64 *spike_stamp, double *kplus, i64 *t_last,
                               BB_STDP_PARAMS) {
    StdpRule p = BB_STDP_RULE;
    for (i64 g = 0; g < n_groups; ++g)
        stdp_row(g, group_row, group_ptr, spike_stamp, kplus, t_last, p);
}

extern "C" void host_stdp_record_post(i64 n, const i64 *cols, const i64 *stamps, i64 n_columns,
                                      const unsigned char *tracked, i64 bound, i64 *h,
                                      double *hf, i64 width, BB_POST_PARAMS) {
    PostTraces p = {BB_POST_ARGS};
    for (i64 c = 0; c < n_columns; ++c)
        record_column(c, n, cols, stamps, tracked, bound, h, hf, width, p);
}

#define BB_HOST_INSTANCES(P, D, suffix)                                                        \
    extern "C" void host_deliver_##suffix(const i64 *a, const i64 *b, i64 c, i64 d,           \
            const i64 *e, i64 f, const P *g, const i32 *h, i64 h1, i64 i, const D *j, i64 k,  \
            i64 *l, i64 *m, i64 n, i64 o) {                                                    \
        host_deliver(a, b, c, d, e, f, g, h, h1, i, j, k, l, m, n, o); }                       \
    extern "C" void host_stdp_synapses_##suffix(i64 a, const i64 *b, const i64 *c,            \
            const i64 *d, const i64 *e, const i64 *f, const P *g, double *h, const D *i,       \
            i64 j, const double *k, const i64 *l, const i64 *m, const double *n, i64 o,        \
            BB_STDP_PARAMS, int mode, i64 *r, i64 *s, i64 t, i64 u,                            \
            const unsigned char *v, const i64 *w, i64 x, i64 *y, i64 *z, i64 *z1, i64 *z2,     \
            double *z3) {                                                                      \
        host_stdp_synapses(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, BB_STDP_ARGS, mode, r, \
                           s, t, u, v, w, x, y, z, z1, z2, z3); }
BB_HOST_INSTANCES(unsigned short, unsigned char, u16_u8)
BB_HOST_INSTANCES(unsigned short, unsigned short, u16_u16)
BB_HOST_INSTANCES(unsigned int, unsigned char, u32_u8)
BB_HOST_INSTANCES(unsigned int, unsigned short, u32_u16)
