// Gram matrices. The product G = F·Fᵀ/N (N = H·W) and its backward dF += S·F/N run as
// CLBlast SGEMMs; centring (channel_center) is in reduce.cl. This file holds the small
// C×C step between them.

// S = dG + dGᵀ (C×C). One work-item per entry.
__kernel void symmetrize_sum(__global const float *dg, __global float *s, const int C) {
    const int idx = get_global_id(0);
    if (idx >= C * C) return;
    const int i = idx / C, j = idx - i * C;
    s[idx] = dg[idx] + dg[j * C + i];
}
