// Philox words for a list of counters: checks the device bits against kernels/philox.py.
#include "philox.cuh"

extern "C" __global__ void philox_words(const u32 *counters, i64 n, u32 k0, u32 k1, u32 *out) {
    i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x;
    if (i >= n) return;
    u32 c[4] = {counters[4 * i], counters[4 * i + 1], counters[4 * i + 2], counters[4 * i + 3]};
    philox4x32(c, k0, k1);
    for (int j = 0; j < 4; ++j) out[4 * i + j] = c[j];
}
