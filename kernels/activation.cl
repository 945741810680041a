// ReLU and its backward pass. One work-item per element.

__kernel void relu(__global const float *x, __global float *y, const int n) {
    const int i = get_global_id(0);
    if (i < n) y[i] = fmax(x[i], 0.0f);
}

// dx = dy where the ReLU's output y > 0, else 0 (dx may alias dy).
__kernel void relu_backward(__global const float *dy, __global const float *y, __global float *dx,
                            const int n) {
    const int i = get_global_id(0);
    if (i < n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
