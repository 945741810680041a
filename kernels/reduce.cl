// Deterministic reductions. A launch uses a fixed number of work-groups (G) of REDUCE_WG
// work-items: work-item l of group g sums elements g·WG + l, g·WG + l + G·WG, …, then the
// group sums its items in a fixed tree and writes partials[g]. The host adds the G partials
// in order in double precision. No atomics, so the same input gives the same bits every run.
// REDUCE_WG is a build option (-DREDUCE_WG=…), a power of two.

#ifndef REDUCE_WG
#define REDUCE_WG 256
#endif

inline void group_sum(float acc, __local float *scratch, __global float *partials) {
    const int l = get_local_id(0);
    scratch[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = REDUCE_WG / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) partials[get_group_id(0)] = scratch[0];
}

__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void dot_partials(__global const float *x, __global const float *y, __global float *partials,
                  const int n) {
    __local float scratch[REDUCE_WG];
    float acc = 0.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) acc += x[i] * y[i];
    group_sum(acc, scratch, partials);
}

__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void sum_of_squares_partials(__global const float *x, __global float *partials, const int n) {
    __local float scratch[REDUCE_WG];
    float acc = 0.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) acc += x[i] * x[i];
    group_sum(acc, scratch, partials);
}

// Σ (a − b)²: the content and style losses.
__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void squared_difference_partials(__global const float *a, __global const float *b,
                                 __global float *partials, const int n) {
    __local float scratch[REDUCE_WG];
    float acc = 0.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        const float d = a[i] - b[i];
        acc += d * d;
    }
    group_sum(acc, scratch, partials);
}

// Total variation, the value. kind: 0 = l2, 1 = l1, 2 = power (gamma, eps); see loss.cl.
inline float tv_term(const int kind, const float gamma, const float eps, const float dv, const float dh) {
    if (kind == 0) return dv * dv + dh * dh;
    if (kind == 1) return fabs(dv) + fabs(dh);
    return pow(dv * dv + dh * dh + eps, gamma);
}

__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void tv_partials(__global const float *x, __global float *partials, const int C, const int H,
                 const int W, const int kind, const float gamma, const float eps) {
    __local float scratch[REDUCE_WG];
    const int n = C * H * W;
    float acc = 0.0f;
    for (int idx = get_global_id(0); idx < n; idx += get_global_size(0)) {
        const int r = idx / W, j = idx - r * W, i = r % H;
        const float v = x[idx];
        const float dv = i + 1 < H ? x[idx + W] - v : 0.0f;
        const float dh = j + 1 < W ? x[idx + 1] - v : 0.0f;
        acc += tv_term(kind, gamma, eps, dv, dh);
    }
    group_sum(acc, scratch, partials);
}

// Per-channel sums: one work-group per channel (dim 0 = C·REDUCE_WG). Work-item l sums elements
// l, l + WG, … of the channel, then the group sums its items in a fixed tree. Every item gets the
// total (the barrier at the end lets the caller reuse scratch).
inline float channel_sum(__global const float *src, const int N, __local float *scratch) {
    const int l = get_local_id(0);
    float acc = 0.0f;
    for (int i = l; i < N; i += REDUCE_WG) acc += src[i];
    scratch[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = REDUCE_WG / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

// Subtracts each channel's spatial mean. out may alias f.
__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void channel_center(__global const float *f, __global float *out, const int N) {
    __local float scratch[REDUCE_WG];
    const int c = get_group_id(0), l = get_local_id(0);
    __global const float *src = f + (long)c * N;
    __global float *dst = out + (long)c * N;
    const float mean = channel_sum(src, N, scratch) / (float)N;
    for (int i = l; i < N; i += REDUCE_WG) dst[i] = src[i] - mean;
}

// s[c] += scale·Σ f[c, ·]: the feature means of the style term (scale 1/N). CPU twin:
// CPUBackend.accumulateChannelSums.
__kernel __attribute__((reqd_work_group_size(REDUCE_WG, 1, 1)))
void channel_sums(__global const float *f, __global float *s, const int N, const float scale) {
    __local float scratch[REDUCE_WG];
    const int c = get_group_id(0);
    const float total = channel_sum(f + (long)c * N, N, scratch);
    if (get_local_id(0) == 0) s[c] += scale * total;
}

// df[c, ·] += scale·v[c], the backward of channel_sums. One work-item per element of df.
__kernel void channel_broadcast(__global const float *v, __global float *df, const float scale,
                                const int plane, const int n) {
    const int i = get_global_id(0);
    if (i < n) df[i] += scale * v[i / plane];
}
