// Loss gradients (the values are reductions, in reduce.cl). One work-item per element.

// out = (accumulate ? out : 0) + k·(a − b). Content: ∂/∂F of ‖F − P‖²/(CHW) with k = 2w/(CHW);
// style: ∂/∂G of ‖G − A‖²/C² with k = 2w/C².
__kernel void scaled_difference(__global const float *a, __global const float *b,
                                __global float *out, const float k, const int accumulate,
                                const int n) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float d = k * (a[i] - b[i]);
    out[i] = accumulate ? out[i] + d : d;
}

// Total variation: ∂/∂dv and ∂/∂dh of one term (kind 0 = l2, 1 = l1 with sign(0) = 0,
// 2 = (dv² + dh² + eps)^gamma). Mirrors TVMath in the CPU backend.
inline float2 tv_partials_of(const int kind, const float gamma, const float eps, const float dv,
                             const float dh) {
    if (kind == 0) return (float2)(2.0f * dv, 2.0f * dh);
    if (kind == 1) return (float2)(dv > 0.0f ? 1.0f : (dv < 0.0f ? -1.0f : 0.0f),
                                   dh > 0.0f ? 1.0f : (dh < 0.0f ? -1.0f : 0.0f));
    const float s = dv * dv + dh * dh + eps;
    if (s == 0.0f) return (float2)(0.0f, 0.0f);
    const float k = 2.0f * gamma * pow(s, gamma - 1.0f);
    return (float2)(k * dv, k * dh);
}

// dx += weight · ∂TV/∂x, gathered per pixel from its own term and the terms above and left.
__kernel void tv_gradient(__global const float *x, __global float *dx, const int C, const int H,
                          const int W, const int kind, const float gamma, const float eps,
                          const float weight) {
    const int idx = get_global_id(0);
    if (idx >= C * H * W) return;
    const int r = idx / W, j = idx - r * W, i = r % H;
    const float v = x[idx];
    float g = 0.0f;
    {
        const float dv = i + 1 < H ? x[idx + W] - v : 0.0f;
        const float dh = j + 1 < W ? x[idx + 1] - v : 0.0f;
        const float2 p = tv_partials_of(kind, gamma, eps, dv, dh);
        g -= (i + 1 < H ? p.x : 0.0f) + (j + 1 < W ? p.y : 0.0f);
    }
    if (i > 0) {
        const int u = idx - W;
        const float dv = v - x[u];
        const float dh = j + 1 < W ? x[u + 1] - x[u] : 0.0f;
        g += tv_partials_of(kind, gamma, eps, dv, dh).x;
    }
    if (j > 0) {
        const int l = idx - 1;
        const float dv = i + 1 < H ? x[l + W] - x[l] : 0.0f;
        const float dh = v - x[l];
        g += tv_partials_of(kind, gamma, eps, dv, dh).y;
    }
    dx[idx] += weight * g;
}
