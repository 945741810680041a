// Gram matrices. On GPUs the products G = F·Fᵀ/N (N = H·W) and dF += S·F/N run as CLBlast
// SGEMMs; on CPU devices (PoCL) the two kernels below replace them. Centring (channel_center)
// is in reduce.cl. GRAM_VEC (4, 8 or 16), GRAM_OCB and GRAM_ROWS are build options.
// The fixed-count loops over a work-item's accumulators and private arrays carry
// #pragma unroll: PoCL leaves such loops rolled, and the accumulators then live on the stack
// (a load and a store per multiply-add; README, Performance).
// MULADD is fma where the device has a fused multiply-add (the host passes -DMULADD=fma, from
// CL_FP_FMA), else mad, which PoCL compiles to a separate multiply and add.
#ifndef MULADD
#define MULADD mad
#endif

#ifndef GRAM_VEC
#define GRAM_VEC 16
#endif
#ifndef GRAM_OCB
#define GRAM_OCB 16
#endif
#ifndef GRAM_ROWS
#define GRAM_ROWS 1
#endif

#if GRAM_VEC == 16
typedef float16 gvec_t;
#define GVLOAD vload16
#define GVSTORE vstore16
#elif GRAM_VEC == 8
typedef float8 gvec_t;
#define GVLOAD vload8
#define GVSTORE vstore8
#else
typedef float4 gvec_t;
#define GVLOAD vload4
#define GVSTORE vstore4
#endif

// S = dG + dGᵀ (C×C). One work-item per entry.
__kernel void symmetrize_sum(__global const float *dg, __global float *s, const int C) {
    const int idx = get_global_id(0);
    if (idx >= C * C) return;
    const int i = idx / C, j = idx - i * C;
    s[idx] = dg[idx] + dg[j * C + i];
}

// Horizontal sum in a fixed order (halving), so results do not depend on the compiler.
inline float hsum(gvec_t v) {
#if GRAM_VEC == 16
    float8 a = v.lo + v.hi;
#elif GRAM_VEC == 8
    float8 a = v;
#endif
#if GRAM_VEC >= 8
    float4 b = a.lo + a.hi;
#else
    float4 b = v;
#endif
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

// G = alpha·F·Fᵀ for F of C rows and N columns. Work-item (bi, bj) computes the 4×4 block of rows
// 4·bi… and columns 4·bj… when bj ≥ bi, and writes it and its mirror image. Each of the 16
// accumulators is a vector over GRAM_VEC consecutive columns of F; the tail is scalar.
__kernel void gram_direct(__global const float *f, __global float *g, const int C, const int N,
                          const float alpha) {
    const int bi = get_global_id(0), bj = get_global_id(1);
    if (bj < bi || 4 * bj >= C) return;
    __global const float *ri[4], *rj[4];
    #pragma unroll
    for (int t = 0; t < 4; t++) {
        ri[t] = f + (long)min(4 * bi + t, C - 1) * N;
        rj[t] = f + (long)min(4 * bj + t, C - 1) * N;
    }
    gvec_t acc[4][4];
    #pragma unroll
    for (int a = 0; a < 4; a++)
        #pragma unroll
        for (int b = 0; b < 4; b++) acc[a][b] = (gvec_t)(0.0f);
    const int nv = N / GRAM_VEC * GRAM_VEC;
    for (int n = 0; n < nv; n += GRAM_VEC) {
        gvec_t vi[4], vj[4];
        #pragma unroll
        for (int t = 0; t < 4; t++) { vi[t] = GVLOAD(0, ri[t] + n); vj[t] = GVLOAD(0, rj[t] + n); }
        #pragma unroll
        for (int a = 0; a < 4; a++)
            #pragma unroll
            for (int b = 0; b < 4; b++) acc[a][b] = MULADD(vi[a], vj[b], acc[a][b]);
    }
    #pragma unroll
    for (int a = 0; a < 4; a++) {
        const int i = 4 * bi + a;
        #pragma unroll
        for (int b = 0; b < 4; b++) {
            const int j = 4 * bj + b;
            float s = hsum(acc[a][b]);
            for (int n = nv; n < N; n++) s += ri[a][n] * rj[b][n];
            if (i < C && j < C) {
                g[i * C + j] = alpha * s;
                g[j * C + i] = alpha * s;
            }
        }
    }
}

// out = out + alpha·S·F for S (C×C) and F (C rows, N columns): the Gram backward. Work-item:
// GRAM_ROWS vectors of GRAM_VEC consecutive columns × GRAM_OCB rows of out (the register blocking
// of winograd_gemm: each S entry loaded serves GRAM_ROWS vectors). Dim 0 = column group, dim 1 =
// row block. A group that runs past N loads and stores its tail lane by lane.
__kernel void gram_backward_direct(__global const float *s, __global const float *f,
                                   __global float *out, const int C, const int N,
                                   const float alpha) {
    const int n0 = get_global_id(0) * GRAM_VEC * GRAM_ROWS;
    const int c0 = get_global_id(1) * GRAM_OCB;
    gvec_t acc[GRAM_ROWS][GRAM_OCB];
    #pragma unroll
    for (int r = 0; r < GRAM_ROWS; r++)
        #pragma unroll
        for (int o = 0; o < GRAM_OCB; o++) acc[r][o] = (gvec_t)(0.0f);
    const bool full = n0 + GRAM_ROWS * GRAM_VEC <= N;
    for (int k = 0; k < C; k++) {
        __global const float *row = f + (long)k * N + n0;
        gvec_t v[GRAM_ROWS];
        if (full) {
            #pragma unroll
            for (int r = 0; r < GRAM_ROWS; r++) v[r] = GVLOAD(0, row + r * GRAM_VEC);
        } else {
            #pragma unroll
            for (int r = 0; r < GRAM_ROWS; r++) {
                float lanes[GRAM_VEC];
                #pragma unroll
                for (int i = 0; i < GRAM_VEC; i++) {
                    const int n = r * GRAM_VEC + i;
                    lanes[i] = n0 + n < N ? row[n] : 0.0f;
                }
                v[r] = GVLOAD(0, lanes);
            }
        }
        #pragma unroll
        for (int o = 0; o < GRAM_OCB; o++) {
            const float sk = s[min(c0 + o, C - 1) * C + k];
            #pragma unroll
            for (int r = 0; r < GRAM_ROWS; r++) acc[r][o] = MULADD((gvec_t)(sk), v[r], acc[r][o]);
        }
    }
    #pragma unroll
    for (int o = 0; o < GRAM_OCB; o++) {
        const int c = c0 + o;
        if (c >= C) break;
        __global float *dst = out + (long)c * N + n0;
        #pragma unroll
        for (int r = 0; r < GRAM_ROWS; r++) {
            if (full) {
                GVSTORE(GVLOAD(0, dst + r * GRAM_VEC) + alpha * acc[r][o], 0, dst + r * GRAM_VEC);
            } else {
                float lanes[GRAM_VEC];
                GVSTORE(acc[r][o], 0, lanes);
                for (int i = 0; i < GRAM_VEC && n0 + r * GRAM_VEC + i < N; i++) dst[r * GRAM_VEC + i] += alpha * lanes[i];
            }
        }
    }
}
