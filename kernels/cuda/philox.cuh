// Philox4x32-10 (Salmon et al. 2011), the same bits as kernels/philox.py.
// Counter (c0..c3), key (k0, k1); the four output words replace the counter.
#pragma once
#include "common.cuh"

BB_HD void philox4x32(u32 c[4], u32 k0, u32 k1) {
    for (int round = 0; round < 10; ++round) {
        u64 p0 = 0xD2511F53ull * c[0];
        u64 p1 = 0xCD9E8D57ull * c[2];
        u32 n0 = (u32)(p1 >> 32) ^ c[1] ^ k0;
        u32 n1 = (u32)p1;
        u32 n2 = (u32)(p0 >> 32) ^ c[3] ^ k1;
        u32 n3 = (u32)p0;
        c[0] = n0; c[1] = n1; c[2] = n2; c[3] = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
}
