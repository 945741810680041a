// Element-wise vector operations for the optimisers. One work-item per element.

__kernel void axpy(const float a, __global const float *x, __global float *y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] += a * x[i];
}

__kernel void scale(__global float *x, const float a, const int n) {
    const int i = get_global_id(0);
    if (i < n) x[i] *= a;
}

// Clamps channel c to [bounds[2c], bounds[2c+1]].
__kernel void clamp_channels(__global float *x, __global const float *bounds, const int plane,
                             const int n) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const int c = i / plane;
    x[i] = fmin(fmax(x[i], bounds[2 * c]), bounds[2 * c + 1]);
}

// Zeroes g where channel c of x lies outside [bounds[2c], bounds[2c+1]]: with g the gradient of
// f at clamp(x), the result is the gradient of f(clamp(x)) at x (bounded pixels, the CPU twin is
// CPUBackend.zeroOutside).
__kernel void zero_outside_channels(__global float *g, __global const float *x, __global const float *bounds,
                                    const int plane, const int n) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const int c = i / plane;
    const float v = x[i];
    if (v < bounds[2 * c] || v > bounds[2 * c + 1]) g[i] = 0.0f;
}

// Adam (Kingma & Ba) with bias correction: c1 = 1 − β1ᵗ, c2 = 1 − β2ᵗ.
__kernel void adam(__global float *x, __global const float *g, __global float *m,
                   __global float *v, const float lr, const float beta1, const float beta2,
                   const float eps, const float c1, const float c2, const int n) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float gi = g[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    x[i] -= lr * (mi / c1) / (sqrt(vi / c2) + eps);
}
