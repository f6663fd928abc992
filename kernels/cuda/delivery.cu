// Spike delivery into the ring buffers and Poisson input: the CUDA form of
// kernels/delivery.py. Additions are integer atomics (common.cuh: ring_add), so the sums
// equal the CPU's whatever the order of the threads.
#include "philox.cuh"
#include "segments.cuh"

// Synapse k of a spike emitted in step t: add its weight to slot (t + delay) % L of its
// column, excitatory for weights >= 0, inhibitory otherwise. Its fixed-point weight is
// weight[k] << shift (int32 weights, kernels/fixed_point.py), or weight_all.
template <typename Post, typename Delay>
BB_HD void deliver_synapse(i64 k, i64 t, const Post *post, const i32 *weight, i64 shift,
                           i64 weight_all, const Delay *delay, i64 delay_all, i64 *ring_ex,
                           i64 *ring_in, i64 L, i64 n_columns) {
    i64 w = weight ? (i64)weight[k] * ((i64)1 << shift) : weight_all;
    i64 d = delay ? (i64)delay[k] : delay_all;
    i64 e = ((t + d) % L) * n_columns + (i64)post[k];
    ring_add(w >= 0 ? ring_ex + e : ring_in + e, w);
}

// One block per spike (source gid, emission step); its threads share the source's row
// ptr[g - gid_lo] : ptr[g - gid_lo + 1]. weight / delay: per-synapse arrays, or null
// when every synapse has weight_all / delay_all.
template <typename Post, typename Delay>
__global__ void deliver(const i64 *src_gid, const i64 *src_step, i64 n_spikes, i64 gid_lo,
                        const i64 *ptr, i64 span, const Post *post, const i32 *weight,
                        i64 shift, i64 weight_all, const Delay *delay, i64 delay_all,
                        i64 *ring_ex, i64 *ring_in, i64 L, i64 n_columns) {
    for (i64 s = blockIdx.x; s < n_spikes; s += gridDim.x) {
        i64 row = src_gid[s] - gid_lo;
        if (row < 0 || row >= span) continue;
        for (i64 k = ptr[row] + threadIdx.x; k < ptr[row + 1]; k += blockDim.x)
            deliver_synapse(k, src_step[s], post, weight, shift, weight_all, delay, delay_all,
                            ring_ex, ring_in, L, n_columns);
    }
}

template __global__ void deliver<unsigned short, unsigned char>(
    const i64 *, const i64 *, i64, i64, const i64 *, i64, const unsigned short *, const i32 *,
    i64, i64, const unsigned char *, i64, i64 *, i64 *, i64, i64);
template __global__ void deliver<unsigned short, unsigned short>(
    const i64 *, const i64 *, i64, i64, const i64 *, i64, const unsigned short *, const i32 *,
    i64, i64, const unsigned short *, i64, i64 *, i64 *, i64, i64);
template __global__ void deliver<unsigned int, unsigned char>(
    const i64 *, const i64 *, i64, i64, const i64 *, i64, const unsigned int *, const i32 *,
    i64, i64, const unsigned char *, i64, i64 *, i64 *, i64, i64);
template __global__ void deliver<unsigned int, unsigned short>(
    const i64 *, const i64 *, i64, i64, const i64 *, i64, const unsigned int *, const i32 *,
    i64, i64, const unsigned short *, i64, i64 *, i64 *, i64, i64);

// Every static projection of a rank in one launch: block j takes spike j / n_proj through
// projection j % n_proj. Projection p (arrays by address, kernels/gpu.py: delivery_table):
// sources gid_lo[p] … gid_lo[p] + span[p] − 1, rows ptr[p], targets post[p] of post_bytes[p]
// (2 or 4) bytes, weights weight[p] (int32, or 0: weight_all[p]) shifted by shift[p], delays
// delay[p] of delay_bytes[p] (1 or 2) bytes (or 0: delay_all[p]). The additions are those of
// `deliver`, projection by projection.
BB_HD void deliver_from_table(i64 k, i64 t, i64 p, const u64 *post, const i64 *post_bytes,
                              const u64 *weight, const i64 *shift, const i64 *weight_all,
                              const u64 *delay, const i64 *delay_bytes, const i64 *delay_all,
                              i64 *ring_ex, i64 *ring_in, i64 L, i64 n_columns) {
    const i32 *w = (const i32 *)weight[p];
    if (post_bytes[p] == 2) {
        const unsigned short *target = (const unsigned short *)post[p];
        if (delay_bytes[p] == 2)
            deliver_synapse(k, t, target, w, shift[p], weight_all[p],
                            (const unsigned short *)delay[p], delay_all[p], ring_ex, ring_in, L,
                            n_columns);
        else
            deliver_synapse(k, t, target, w, shift[p], weight_all[p],
                            (const unsigned char *)delay[p], delay_all[p], ring_ex, ring_in, L,
                            n_columns);
    } else {
        const unsigned int *target = (const unsigned int *)post[p];
        if (delay_bytes[p] == 2)
            deliver_synapse(k, t, target, w, shift[p], weight_all[p],
                            (const unsigned short *)delay[p], delay_all[p], ring_ex, ring_in, L,
                            n_columns);
        else
            deliver_synapse(k, t, target, w, shift[p], weight_all[p],
                            (const unsigned char *)delay[p], delay_all[p], ring_ex, ring_in, L,
                            n_columns);
    }
}

#define BB_TABLE_PARAMS                                                                        \
    i64 n_proj, const i64 *gid_lo, const i64 *span, const u64 *ptr, const u64 *post,          \
    const i64 *post_bytes, const u64 *weight, const i64 *shift, const i64 *weight_all,        \
    const u64 *delay, const i64 *delay_bytes, const i64 *delay_all, i64 *ring_ex,             \
    i64 *ring_in, i64 L, i64 n_columns
#define BB_TABLE_ARGS                                                                          \
    n_proj, gid_lo, span, ptr, post, post_bytes, weight, shift, weight_all, delay,            \
    delay_bytes, delay_all, ring_ex, ring_in, L, n_columns

// Synapses first, first + stride, … of the row of source position src (emission step t)
// in projection p of the table.
BB_HD void deliver_row(i64 src, i64 t, i64 p, i64 first, i64 stride, BB_TABLE_PARAMS) {
    i64 row = src - gid_lo[p];
    if (src < 0 || row < 0 || row >= span[p]) return;
    const i64 *rows = (const i64 *)ptr[p];
    for (i64 k = rows[row] + first; k < rows[row + 1]; k += stride)
        deliver_from_table(k, t, p, post, post_bytes, weight, shift, weight_all, delay,
                           delay_bytes, delay_all, ring_ex, ring_in, L, n_columns);
}

extern "C" __global__ void deliver_all(const i64 *src_gid, const i64 *src_step, i64 n_spikes,
                                       BB_TABLE_PARAMS) {
    for (i64 j = blockIdx.x; j < n_spikes * n_proj; j += gridDim.x)
        deliver_row(src_gid[j / n_proj], src_step[j / n_proj], j % n_proj, threadIdx.x,
                    blockDim.x, BB_TABLE_ARGS);
}

// The spikes of the spike log (kernels/cuda/segments.cuh) from log[1 + parity] (the
// interval's first) to log[0] (at most capacity) through every projection of the table;
// source_of[c]: the source position of rank column c (-1: no static targets). Marks the
// next interval's first spike in log[2 - parity].
extern "C" __global__ void deliver_log(i64 *log, i64 parity, i64 capacity, const i64 *source_of,
                                       BB_TABLE_PARAMS) {
    i64 first = log[1 + parity], end = log[0] < capacity ? log[0] : capacity;
    for (i64 j = blockIdx.x; j < (end - first) * n_proj; j += gridDim.x) {
        const i64 *spike = log + BB_LOG_HEADER + 2 * (first + j / n_proj);
        deliver_row(source_of[spike[0]], spike[1], j % n_proj, threadIdx.x, blockDim.x,
                    BB_TABLE_ARGS);
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) log[2 - parity] = end;
}

// Poisson count by inversion of one uniform u in [0, 1) (kernels/poisson.py::poisson_count):
// the smallest k with u < cdf[k] (or n_cdf), searched from guide[(int)(u * n_guide)].
BB_HD i64 poisson_count(double u, const double *cdf, i64 n_cdf, const i64 *guide, i64 n_guide) {
    i64 k = guide[(i64)(u * (double)n_guide)];
    while (k < n_cdf && u >= cdf[k]) k += 1;
    return k;
}

// Poisson synapse i, steps t0 … t0+n_steps−1 (kernels/poisson.py::poisson_input): the count
// read in step s was generated in step n = s − delay[i]; it is Poisson from word n % 4
// of Philox at counter (n / 4, post_gid[i], c2, ordinal[i]), key (k0, k1), counted with the
// host's tables cdf and guide (kernels/poisson.py::poisson_cdf).
BB_HD void poisson_synapse(i64 i, i64 t0, i64 n_steps, const i64 *post, const i64 *post_gid,
                           const i64 *ordinal, const i64 *delay, const i64 *weight,
                           const double *cdf, i64 n_cdf, const i64 *guide, i64 n_guide, u32 k0,
                           u32 k1, u32 c2, i64 *ring_ex, i64 *ring_in, i64 L, i64 n_columns) {
    i64 last = -1;
    u32 words[4] = {0, 0, 0, 0};
    for (i64 s = t0; s < t0 + n_steps; ++s) {
        i64 n = s - delay[i];
        if (n < 0) continue;
        if ((n >> 2) != last) {
            last = n >> 2;
            words[0] = (u32)last; words[1] = (u32)post_gid[i]; words[2] = c2;
            words[3] = (u32)ordinal[i];
            philox4x32(words, k0, k1);
        }
        double u = (double)words[n & 3] * 2.3283064365386962890625e-10;
        i64 k = poisson_count(u, cdf, n_cdf, guide, n_guide);
        if (k > 0) {
            i64 w = k * weight[i];
            i64 e = (s % L) * n_columns + post[i];
            ring_add(w >= 0 ? ring_ex + e : ring_in + e, w);
        }
    }
}

extern "C" __global__ void poisson_input(i64 n, i64 t0, i64 n_steps, const i64 *post,
                                         const i64 *post_gid, const i64 *ordinal,
                                         const i64 *delay, const i64 *weight,
                                         const double *cdf, i64 n_cdf, const i64 *guide,
                                         i64 n_guide, u32 k0, u32 k1, u32 c2,
                                         i64 *ring_ex, i64 *ring_in, i64 L, i64 n_columns) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    poisson_synapse(i, t0, n_steps, post, post_gid, ordinal, delay, weight, cdf, n_cdf, guide,
                    n_guide, k0, k1, c2, ring_ex, ring_in, L, n_columns);
}

// Several poisson_input calls with the same steps in one launch (segments.cuh: run_call):
// call p's arguments after n (t0 and n_steps: those given here) in words, its synapses
// threads seg_start[p] … seg_start[p + 1] − 1.
extern "C" __global__ void poisson_calls(i64 n_seg, const i64 *seg_start, const u64 *words,
                                         i64 t0, i64 n_steps) {
    i64 k = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    u64 w[19];
    if (k < seg_start[n_seg])
        run_call(poisson_synapse, w, k, n_seg, seg_start, words, 1, t0, n_steps);
}
