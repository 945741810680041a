// Convolution, 3×3, stride 1, zero padding 1, computed directly (no im2col, no GEMM library).
// Chosen on CPU OpenCL devices (PoCL), where it beats im2col + CLBlast. Explicit vectors: each
// work-item computes CONV_VEC neighbouring pixels of one row (one SIMD register) for CONV_OCB
// output channels (CONV_OCB registers of accumulators); per input channel and tap it loads one
// vector of inputs and does CONV_OCB broadcast multiply-adds.
//
// Layout: input zero-padded to C×(H+2)×(W+2) by pad_input, plus CONV_VEC + 2 floats of slack so
// the last vector of a row may read past the edge; weights OIHW; output C×H×W.
// Work-items: dim 0 = group of CONV_VEC pixels of a row, dim 1 = group of CONV_ROWS rows, dim 2 =
// block of CONV_OCB output channels. Each weight loaded serves CONV_ROWS rows. CONV_VEC (4, 8 or
// 16), CONV_OCB and CONV_ROWS are build options.
// The fixed-count loops over a work-item's accumulators and private arrays carry
// #pragma unroll: PoCL leaves such loops rolled, and the accumulators then live on the stack
// (a load and a store per multiply-add; README, Performance).
// MULADD is fma where the device has a fused multiply-add (the host passes -DMULADD=fma, from
// CL_FP_FMA), else mad, which PoCL compiles to a separate multiply and add.
#ifndef MULADD
#define MULADD mad
#endif

#ifndef CONV_OCB
#define CONV_OCB 16
#endif
#ifndef CONV_VEC
#define CONV_VEC 16
#endif
#ifndef CONV_ROWS
#define CONV_ROWS 1
#endif

#if CONV_VEC == 16
typedef float16 vec_t;
#define VLOAD vload16
#define VSTORE vstore16
#elif CONV_VEC == 8
typedef float8 vec_t;
#define VLOAD vload8
#define VSTORE vstore8
#else
typedef float4 vec_t;
#define VLOAD vload4
#define VSTORE vstore4
#endif

// xp[c, y + 1, x + 1] = x[c, y, x]; the one-pixel border is zero, and so are the `slack` floats
// after the last channel that the last vectors and row groups read. Work-items: (padded x,
// padded y, channel), so no index needs dividing; the first one also writes the slack.
__kernel void pad_input(__global const float *x, __global float *xp, const int C, const int H,
                        const int W, const int slack) {
    const int px = get_global_id(0), py = get_global_id(1), c = get_global_id(2);
    const int PW = W + 2, PH = H + 2;
    if (px == 0 && py == 0 && c == 0)
        for (int i = 0; i < slack; i++) xp[C * PH * PW + i] = 0.0f;
    if (px >= PW || py >= PH || c >= C) return;
    const int y = py - 1, xx = px - 1;
    xp[(c * PH + py) * PW + px] = (y >= 0 && y < H && xx >= 0 && xx < W) ? x[(c * H + y) * W + xx] : 0.0f;
}

__kernel void conv3x3_direct(__global const float *xp, __global const float *w,
                             __global const float *bias, __global float *y, const int Cin,
                             const int Cout, const int H, const int W, const int useBias) {
    const int x0 = get_global_id(0) * CONV_VEC;
    const int row0 = get_global_id(1) * CONV_ROWS;
    const int oc0 = get_global_id(2) * CONV_OCB;
    const int PW = W + 2, PH = H + 2;
    vec_t acc[CONV_ROWS][CONV_OCB];
    #pragma unroll
    for (int r = 0; r < CONV_ROWS; r++)
        #pragma unroll
        for (int o = 0; o < CONV_OCB; o++) acc[r][o] = (vec_t)(0.0f);
    // weights of the block: w[(oc·Cin + ic)·9 + k]; channels past Cout repeat the last one.
    // Rows past H read the padded buffer's zero border or slack and are never stored.
    for (int ic = 0; ic < Cin; ic++) {
        __global const float *src = xp + (ic * PH + row0) * PW + x0;
        #pragma unroll
        for (int k = 0; k < 9; k++) {
            const int ky = k / 3, kx = k - ky * 3;
            vec_t v[CONV_ROWS];
            #pragma unroll
            for (int r = 0; r < CONV_ROWS; r++) v[r] = VLOAD(0, src + (ky + r) * PW + kx);
            #pragma unroll
            for (int o = 0; o < CONV_OCB; o++) {
                const float wk = w[(min(oc0 + o, Cout - 1) * Cin + ic) * 9 + k];
                #pragma unroll
                for (int r = 0; r < CONV_ROWS; r++) acc[r][o] = MULADD((vec_t)(wk), v[r], acc[r][o]);
            }
        }
    }
    #pragma unroll
    for (int r = 0; r < CONV_ROWS; r++) {
        const int row = row0 + r;
        if (row >= H) break;
        #pragma unroll
        for (int o = 0; o < CONV_OCB; o++) {
            const int oc = oc0 + o;
            if (oc >= Cout) break;
            const vec_t res = acc[r][o] + (vec_t)(useBias ? bias[oc] : 0.0f);
            __global float *dst = y + (oc * H + row) * W + x0;
            if (x0 + CONV_VEC <= W) {
                VSTORE(res, 0, dst);
            } else {
                float lanes[CONV_VEC];
                VSTORE(res, 0, lanes);
                for (int i = 0; x0 + i < W; i++) dst[i] = lanes[i];
            }
        }
    }
}
