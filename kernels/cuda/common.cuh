// Shared definitions of the bigbrain CUDA kernels (loaded by kernels/gpu.py with NVRTC,
// option --fmad=false, so that no multiply-add is contracted and every double operation
// rounds exactly as in the Numba kernels of kernels/*.py).
//
// Functions marked BB_HD run on the device and on the host: tests/cuda/host_harness.cu
// compiles them for the CPU to check their bits against the Numba kernels without a GPU.
#pragma once

#define BB_HD __host__ __device__ inline

typedef int i32;
typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;

// Fixed point (kernels/fixed_point.py): weight w is stored as round(w * 2^36).
#define BB_SCALE 68719476736.0
#define BB_INVERSE_SCALE 1.4551915228366851806640625e-11

// Add v to a ring-buffer entry. Device: atomicAdd on the two's-complement bits, so the
// signed sum is exact and does not depend on the order of the additions.
BB_HD void ring_add(i64 *entry, i64 v) {
#ifdef __CUDA_ARCH__
    atomicAdd((u64 *)entry, (u64)v);
#else
    *entry += v;
#endif
}

// exp(-m * dt / tau) (op 0) or exp(-m * dt * inv_tau) (op 1) for a step count m >= 0, read
// from a table that the host filled with the CPU's libm exp (kernels/exp_tables.py) until
// the value reached 0. Past a table that was cut before reaching 0 (or for m < 0, which
// time-ordered spikes never give), the device's exp.
BB_HD double exp_steps(const double *table, i64 length, i64 m, double dt, double tau, int op) {
    if (m >= 0 && m < length) return table[m];
    if (m >= length && table[length - 1] == 0.0) return 0.0;
    double x = (double)(-m) * dt;
    return exp(op == 0 ? x / tau : x * tau);
}

// Index of the first element >= key in sorted a[0, n).
BB_HD i64 lower_bound(const i64 *a, i64 n, i64 key) {
    i64 lo = 0, hi = n;
    while (lo < hi) {
        i64 mid = (lo + hi) / 2;
        if (a[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
}

// Position of neuron i in rec_idx, or -1.
BB_HD i64 recorded_at(const i64 *rec_idx, i64 n_rec, i64 i) {
    i64 j = lower_bound(rec_idx, n_rec, i);
    return (j < n_rec && rec_idx[j] == i) ? j : -1;
}

// Recordable k (of n_var) of neuron i after step offset s, for every position j of i in rec_idx.
BB_HD void record_v(double v, i64 i, const i64 *rec_idx, i64 n_rec, i64 j, i64 s, i64 k, i64 n_var,
                    double *rec_v) {
    for (; j >= 0 && j < n_rec && rec_idx[j] == i; ++j) rec_v[(s * n_rec + j) * n_var + k] = v;
}
