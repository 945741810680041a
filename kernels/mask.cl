// Spatial masks: a per-pixel weight map (1×H×W) applied to every channel of a feature map
// (C×H×W). Guided Gram matrices weight features by a mask, and their gradient by it again; the
// content weight map scales the content features and targets by √m.

#pragma OPENCL FP_CONTRACT OFF

// y = (accumulate ? y : 0) + x·m, m broadcast over channels. One work-item per element of x.
__kernel void multiply_plane(__global const float *x, __global const float *m, __global float *y,
                             const int plane, const int n, const int accumulate) {
    const int idx = get_global_id(0);
    if (idx >= n) return;
    const float v = x[idx] * m[idx % plane];
    y[idx] = accumulate ? y[idx] + v : v;
}
