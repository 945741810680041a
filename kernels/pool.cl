// 2×2 stride-2 pooling, floor mode (an odd last row or column is dropped).
// Layout C×H×W in, C×(H/2)×(W/2) out. Work-items are three-dimensional (column, row, channel), so
// no index needs dividing. Forward: one work-item per output element. Backward: one work-item per
// 2×2 input window (⌈W/2⌉ × ⌈H/2⌉ × C of them, so the dropped last row and column are zeroed too);
// each writes its own window, so no two work-items write the same place.

__kernel void maxpool2x2(__global const float *x, __global float *y, const int C, const int H,
                         const int W) {
    const int j = get_global_id(0), i = get_global_id(1), c = get_global_id(2);
    const int OH = H / 2, OW = W / 2;
    if (j >= OW || i >= OH || c >= C) return;
    __global const float *p = x + ((size_t)c * H + 2 * i) * W + 2 * j;
    y[((size_t)c * OH + i) * OW + j] = fmax(fmax(p[0], p[1]), fmax(p[W], p[W + 1]));
}

__kernel void avgpool2x2(__global const float *x, __global float *y, const int C, const int H,
                         const int W) {
    const int j = get_global_id(0), i = get_global_id(1), c = get_global_id(2);
    const int OH = H / 2, OW = W / 2;
    if (j >= OW || i >= OH || c >= C) return;
    __global const float *p = x + ((size_t)c * H + 2 * i) * W + 2 * j;
    y[((size_t)c * OH + i) * OW + j] = (p[0] + p[1] + p[W] + p[W + 1]) * 0.25f;
}

// Zeroes the part of window (i, j) inside the image; the window of a dropped row or column.
inline void zero_window(__global float *p, const int i, const int j, const int H, const int W) {
    for (int a = 0; a < 2 && 2 * i + a < H; a++)
        for (int b = 0; b < 2 && 2 * j + b < W; b++) p[a * W + b] = 0.0f;
}

// The gradient goes to the first maximum of the window in row-major order (as the CPU twin).
__kernel void maxpool2x2_backward(__global const float *dy, __global const float *x,
                                  __global float *dx, const int C, const int H, const int W) {
    const int j = get_global_id(0), i = get_global_id(1), c = get_global_id(2);
    const int OH = H / 2, OW = W / 2;
    if (2 * j >= W || 2 * i >= H || c >= C) return;
    const size_t o = ((size_t)c * H + 2 * i) * W + 2 * j;
    if (i >= OH || j >= OW) { zero_window(dx + o, i, j, H, W); return; }
    const float g = dy[((size_t)c * OH + i) * OW + j];
    const float x0 = x[o], x1 = x[o + 1], x2 = x[o + W], x3 = x[o + W + 1];
    int best = 0;
    float m = x0;
    if (x1 > m) { best = 1; m = x1; }
    if (x2 > m) { best = 2; m = x2; }
    if (x3 > m) { best = 3; }
    dx[o] = best == 0 ? g : 0.0f;
    dx[o + 1] = best == 1 ? g : 0.0f;
    dx[o + W] = best == 2 ? g : 0.0f;
    dx[o + W + 1] = best == 3 ? g : 0.0f;
}

__kernel void avgpool2x2_backward(__global const float *dy, __global float *dx, const int C,
                                  const int H, const int W) {
    const int j = get_global_id(0), i = get_global_id(1), c = get_global_id(2);
    const int OH = H / 2, OW = W / 2;
    if (2 * j >= W || 2 * i >= H || c >= C) return;
    const size_t o = ((size_t)c * H + 2 * i) * W + 2 * j;
    if (i >= OH || j >= OW) { zero_window(dx + o, i, j, H, W); return; }
    const float g = dy[((size_t)c * OH + i) * OW + j] * 0.25f;
    dx[o] = g; dx[o + 1] = g; dx[o + W] = g; dx[o + W + 1] = g;
}
