// 2×2 stride-2 pooling, floor mode (an odd last row or column is dropped).
// Layout C×H×W in, C×(H/2)×(W/2) out. Forward: one work-item per output element.
// Backward gathers: one work-item per input element, so no two work-items write the same place.

__kernel void maxpool2x2(__global const float *x, __global float *y, const int C, const int H,
                         const int W) {
    const int OH = H / 2, OW = W / 2;
    const int idx = get_global_id(0);
    if (idx >= C * OH * OW) return;
    const int c = idx / (OH * OW), r = idx - c * OH * OW, i = r / OW, j = r - i * OW;
    __global const float *p = x + (c * H + 2 * i) * W + 2 * j;
    y[idx] = fmax(fmax(p[0], p[1]), fmax(p[W], p[W + 1]));
}

__kernel void avgpool2x2(__global const float *x, __global float *y, const int C, const int H,
                         const int W) {
    const int OH = H / 2, OW = W / 2;
    const int idx = get_global_id(0);
    if (idx >= C * OH * OW) return;
    const int c = idx / (OH * OW), r = idx - c * OH * OW, i = r / OW, j = r - i * OW;
    __global const float *p = x + (c * H + 2 * i) * W + 2 * j;
    y[idx] = (p[0] + p[1] + p[W] + p[W + 1]) * 0.25f;
}

// The gradient goes to the first maximum of the window in row-major order (as the CPU twin).
__kernel void maxpool2x2_backward(__global const float *dy, __global const float *x,
                                  __global float *dx, const int C, const int H, const int W) {
    const int OH = H / 2, OW = W / 2;
    const int idx = get_global_id(0);
    if (idx >= C * H * W) return;
    const int c = idx / (H * W), r = idx - c * H * W, y = r / W, xx = r - y * W;
    const int i = y / 2, j = xx / 2;
    float g = 0.0f;
    if (i < OH && j < OW) {
        const int o = (c * H + 2 * i) * W + 2 * j;
        int best = o;
        float m = x[o];
        if (x[o + 1] > m) { best = o + 1; m = x[o + 1]; }
        if (x[o + W] > m) { best = o + W; m = x[o + W]; }
        if (x[o + W + 1] > m) { best = o + W + 1; }
        if (best == idx) g = dy[(c * OH + i) * OW + j];
    }
    dx[idx] = g;
}

__kernel void avgpool2x2_backward(__global const float *dy, __global float *dx, const int C,
                                  const int H, const int W) {
    const int OH = H / 2, OW = W / 2;
    const int idx = get_global_id(0);
    if (idx >= C * H * W) return;
    const int c = idx / (H * W), r = idx - c * H * W, y = r / W, xx = r - y * W;
    const int i = y / 2, j = xx / 2;
    dx[idx] = (i < OH && j < OW) ? dy[(c * OH + i) * OW + j] * 0.25f : 0.0f;
}
