// One launch for every population of a neuron model ("segments"), and the spike log that
// the neuron kernels append to on the device (kernels/gpu.py: SegmentTable, SpikeLog).
//
// A model's per-neuron function  model_neuron(i64 i, i64 n, <the arguments of its
// one-population kernel after n, as in lif.cuh: state, ring buffers and their sizes, col0,
// t0, n_steps, parameters, recording, the flags array last>)  runs unchanged: segment p
// (one population) holds those arguments as 64-bit words (pointers, i64, int, double bits)
// in words[p * (n_args - 1) ...]; thread k finds its segment by seg_start (the segments'
// first threads, seg_start[n_seg] = all neurons), its index i in it, and calls the function
// with t0 and n_steps (words t0_at, t0_at + 1) of this interval. It then moves its spike
// flags to the log. A new model family plugs in with one kernel next to its one-population
// kernel `kernel`,
//     extern "C" __global__ void kernel_segments(BB_SEGMENT_PARAMS) {
//         BB_RUN_SEGMENT(model_neuron); }
// its host form (tests/cuda/host_harness.cu: BB_HOST_SEGMENTS(kernel, model_neuron)), and
// an entry in kernels/gpu.py's CudaKernels.MODELS (which makes its model_blocks method).
// Per-neuron parameters travel as a parameter table (params.cuh): two words, its arrays.
//
// Spike log (int64): log[0] the number of spikes appended, log[1], log[2] the first spike
// of the interval of parity 0 and 1 (kernels/cuda/delivery.cu: deliver_log), log[3] unused,
// then (rank column, step) pairs; a spike past `capacity` is counted, not written.
#pragma once
#include "common.cuh"

#define BB_LOG_HEADER 4

// One kernel argument from its 64-bit word.
template <typename T> struct Word { BB_HD static T get(u64 w) { return (T)w; } };
template <typename T> struct Word<T *> { BB_HD static T *get(u64 w) { return (T *)w; } };
template <> struct Word<double> {
    BB_HD static double get(u64 w) {
#ifdef __CUDA_ARCH__
        return __longlong_as_double((long long)w);
#else
        union { u64 u; double d; } bits;
        bits.u = w;
        return bits.d;
#endif
    }
};

template <i64... I> struct Indices {};
template <i64 N, i64... I> struct MakeIndices : MakeIndices<N - 1, N - 1, I...> {};
template <i64... I> struct MakeIndices<0, I...> { typedef Indices<I...> type; };

template <typename... A, i64... I>
BB_HD void call_words(void (*f)(A...), const u64 *w, Indices<I...>) {
    f(Word<A>::get(w[I])...);
}

// The next free entry of the log (an atomic increment on the device).
BB_HD i64 claim(i64 *count) {
#ifdef __CUDA_ARCH__
    return (i64)atomicAdd((u64 *)count, 1ULL);
#else
    return (*count)++;
#endif
}

// Append the spikes flagged for neuron i (of n, in rank column col0 + i) in steps t0 …
// t0 + n_steps − 1 to the log, clearing the flags.
BB_HD void log_spikes(i64 i, i64 n, i64 col0, i64 t0, i64 n_steps, unsigned char *flags,
                      i64 *log, i64 capacity) {
    for (i64 s = 0; s < n_steps; ++s) {
        if (!flags[s * n + i]) continue;
        flags[s * n + i] = 0;
        i64 at = claim(log);
        if (at < capacity) {
            log[BB_LOG_HEADER + 2 * at] = col0 + i;
            log[BB_LOG_HEADER + 2 * at + 1] = t0 + s;
        }
    }
}

// Thread k of a launch of several calls of f (call p: threads seg_start[p] … seg_start[p+1]
// − 1, its arguments after the first, i, in words[p * (n_args − 1) …]): f with i = k −
// seg_start[p], and t0, n_steps in place of words t0_at, t0_at + 1. Returns the words used.
template <i64 N, typename... A>
BB_HD void run_call(void (*f)(A...), u64 (&w)[N], i64 k, i64 n_seg, const i64 *seg_start,
                    const u64 *words, i64 t0_at, i64 t0, i64 n_steps) {
    i64 p = lower_bound(seg_start + 1, n_seg, k + 1);
    const u64 *mine = words + p * (N - 1);
    w[0] = (u64)(k - seg_start[p]);
    for (i64 a = 1; a < N; ++a) w[a] = mine[a - 1];
    w[t0_at] = (u64)t0;
    w[t0_at + 1] = (u64)n_steps;
    call_words(f, w, typename MakeIndices<N>::type());
}

// Thread k of a segments launch: neuron k of all segments (see the top of this file).
template <typename... A>
BB_HD void run_segment(void (*neuron)(A...), i64 k, i64 n_seg, const i64 *seg_start,
                       const u64 *words, i64 t0_at, i64 t0, i64 n_steps, i64 *log,
                       i64 capacity) {
    u64 w[sizeof...(A)];
    run_call(neuron, w, k, n_seg, seg_start, words, t0_at, t0, n_steps);
    log_spikes((i64)w[0], (i64)w[1], (i64)w[t0_at - 1], t0, n_steps,
               (unsigned char *)w[sizeof...(A) - 1], log, capacity);
}

#define BB_SEGMENT_PARAMS                                                                      \
    i64 n_seg, const i64 *seg_start, const u64 *words, i64 t0_at, i64 t0, i64 n_steps,        \
    i64 *log, i64 capacity
#define BB_RUN_SEGMENT(neuron)                                                                 \
    i64 k = blockIdx.x * (i64)blockDim.x + threadIdx.x;                                        \
    if (k < seg_start[n_seg])                                                                  \
        run_segment(neuron, k, n_seg, seg_start, words, t0_at, t0, n_steps, log, capacity)
#define BB_SEGMENT_ARGS n_seg, seg_start, words, t0_at, t0, n_steps, log, capacity
