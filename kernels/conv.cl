// Convolution, 3×3, stride 1, zero padding 1 (VGG's only kind).
// Layout: feature maps C×H×W (W fastest), weights OIHW. Convolution = im2col over a band of
// output rows + CLBlast SGEMM: y[Cout, band] = W[Cout, Cin·9] · col[Cin·9, band].
// The backward pass to the input reuses the same path with flipped, transposed weights.

// col[(c·9 + ky·3 + kx), i·W + j] = x[c, r0 + i + ky − 1, j + kx − 1], zero outside the image.
// Work-items: dim 0 = pixel of the band (rows·W), dim 1 = row of col (C·9).
__kernel void im2col3x3(__global const float *x, __global float *col, const int C, const int H,
                        const int W, const int r0, const int rows) {
    const int p = get_global_id(0);
    const int r = get_global_id(1);
    const int n = rows * W;
    if (p >= n || r >= C * 9) return;
    const int c = r / 9, k = r - c * 9, ky = k / 3, kx = k - ky * 3;
    const int i = p / W, j = p - i * W;
    const int sy = r0 + i + ky - 1, sx = j + kx - 1;
    float v = 0.0f;
    if (sy >= 0 && sy < H && sx >= 0 && sx < W) v = x[(c * H + sy) * W + sx];
    col[r * n + p] = v;
}

// y[o, offset + p] = bias[o] for p in [0, n); the SGEMM then accumulates onto it.
// Work-items: dim 0 = p, dim 1 = o.
__kernel void bias_fill(__global float *y, __global const float *bias, const int plane,
                        const int offset, const int n) {
    const int p = get_global_id(0);
    const int o = get_global_id(1);
    if (p >= n) return;
    y[o * plane + offset + p] = bias[o];
}
