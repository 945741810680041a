// Winograd convolution F(4×4, 3×3), stride 1, zero padding 1 (Lavin & Gray): the CPU backend's
// CPUWinograd.swift is its twin and documents the transforms. Per convolution, winograd_pad makes
// a zero-padded copy of the input; then per band of tile rows:
//
//   winograd_input_f4:  V[ξ][c][t] = (Bᵀ d B)[ξ] for the 6×6 input patch d of tile t
//   winograd_gemm:      M[ξ][o][t] = Σ_c U[ξ][o][c] · V[ξ][c][t] (U = G g Gᵀ, transformed on the host)
//   winograd_output_f4: y[o][4·ty + a][4·tx + b] = (Aᵀ M A)[a][b] + bias[o]
//
// Tiles: t = (ty − ty0)·tilesWPad + tx over the band's tile rows ty0 …, with tilesWPad the tile
// columns rounded up to WG_VEC; tile (ty, tx) reads input rows 4·ty − 1 … 4·ty + 4 and writes the
// output rows and columns 4·ty … 4·ty + 3 that are inside the image. V and M rows are `ntStride`
// floats long (the band's tiles rounded up to a whole GEMM work-item); that slack is never written
// by the transforms and never read back from M. The padding tiles (tx ≥ tilesW) hold transforms
// of zeros and are never stored.
//
// winograd_gemm has the register blocking of conv3x3_direct: each work-item computes WG_ROWS
// vectors of WG_VEC tiles for WG_OCB output channels; per input channel it loads WG_ROWS vectors of
// V and does WG_OCB broadcast multiply-adds on each. Output channels past Cout repeat the last one
// and are not stored. WG_VEC (4, 8 or 16), WG_OCB and WG_ROWS are build options.
// The fixed-count loops over a work-item's accumulators and private arrays carry
// #pragma unroll: PoCL leaves such loops rolled, and the accumulators then live on the stack
// (a load and a store per multiply-add; README, Performance).
// MULADD is fma where the device has a fused multiply-add (the host passes -DMULADD=fma, from
// CL_FP_FMA), else mad, which PoCL compiles to a separate multiply and add.
#ifndef MULADD
#define MULADD mad
#endif

#ifndef WG_OCB
#define WG_OCB 6
#endif
#ifndef WG_VEC
#define WG_VEC 16
#endif
#ifndef WG_ROWS
#define WG_ROWS 4
#endif

#if WG_VEC == 16
typedef float16 wvec_t;
#define WVLOAD vload16
#define WVSTORE vstore16
#elif WG_VEC == 8
typedef float8 wvec_t;
#define WVLOAD vload8
#define WVSTORE vstore8
#else
typedef float4 wvec_t;
#define WVLOAD vload4
#define WVSTORE vstore4
#endif

// Bᵀ applied to six values d0…d5, into o[0…5]:
//   4d0 − 5d2 + d4, −4(d1 + d2) + d3 + d4, 4(d1 − d2) + d4 − d3,
//   2(d3 − d1) + d4 − d2, 2(d1 − d3) + d4 − d2, 4d1 − 5d3 + d5
#define BT6(d0, d1, d2, d3, d4, d5, o)                       \
    do {                                                     \
        o[0] = 4.0f * (d0) - 5.0f * (d2) + (d4);             \
        o[1] = ((d3) + (d4)) - 4.0f * ((d1) + (d2));         \
        o[2] = 4.0f * ((d1) - (d2)) + ((d4) - (d3));         \
        o[3] = ((d4) - (d2)) - 2.0f * ((d1) - (d3));         \
        o[4] = ((d4) - (d2)) + 2.0f * ((d1) - (d3));         \
        o[5] = 4.0f * (d1) - 5.0f * (d3) + (d5);             \
    } while (0)

// xp[c][py][px] = x[c][py − 1][px − 1], zero outside the image: a zero-padded copy wide and tall
// enough (PW ≥ 4·tilesWPad + 4, PH = 4·tilesH + 2) that winograd_input_f4 needs no bounds checks.
// Work-items: (px, py, c).
__kernel void winograd_pad(__global const float *x, __global float *xp, const int C, const int H, const int W,
                           const int PH, const int PW) {
    const int px = get_global_id(0), py = get_global_id(1), c = get_global_id(2);
    if (px >= PW || py >= PH || c >= C) return;
    const int yy = py - 1, xx = px - 1;
    xp[((size_t)c * PH + py) * PW + px] =
        (yy >= 0 && yy < H && xx >= 0 && xx < W) ? x[((size_t)c * H + yy) * W + xx] : 0.0f;
}

// The four phases P_k[t] = row[4t + k] of WG_VEC tiles from 4·WG_VEC contiguous floats.
#if WG_VEC == 16
#define PHASES(row, p0, p1, p2, p3)                                                        \
    do {                                                                                   \
        const float16 a0 = vload16(0, row), a1 = vload16(0, row + 16);                     \
        const float16 a2 = vload16(0, row + 32), a3 = vload16(0, row + 48);                \
        p0 = (float16)(a0.s048c, a1.s048c, a2.s048c, a3.s048c);                            \
        p1 = (float16)(a0.s159d, a1.s159d, a2.s159d, a3.s159d);                            \
        p2 = (float16)(a0.s26ae, a1.s26ae, a2.s26ae, a3.s26ae);                            \
        p3 = (float16)(a0.s37bf, a1.s37bf, a2.s37bf, a3.s37bf);                            \
    } while (0)
#elif WG_VEC == 8
#define PHASES(row, p0, p1, p2, p3)                                                        \
    do {                                                                                   \
        const float16 a0 = vload16(0, row), a1 = vload16(0, row + 16);                     \
        p0 = (float8)(a0.s048c, a1.s048c);                                                 \
        p1 = (float8)(a0.s159d, a1.s159d);                                                 \
        p2 = (float8)(a0.s26ae, a1.s26ae);                                                 \
        p3 = (float8)(a0.s37bf, a1.s37bf);                                                 \
    } while (0)
#else
#define PHASES(row, p0, p1, p2, p3)                                                        \
    do {                                                                                   \
        const float16 a0 = vload16(0, row);                                                \
        p0 = a0.s048c; p1 = a0.s159d; p2 = a0.s26ae; p3 = a0.s37bf;                        \
    } while (0)
#endif

// Work-items: (group of WG_VEC tiles of a tile row, tile row within the band, channel); explicit
// vectors over the WG_VEC tiles, so every load and store is contiguous. Tile t's six columns are
// P0[t], P1[t], P2[t], P3[t], P0[t+1], P1[t+1]; the last two come from the row shifted by 4.
// V's tile index is tr·tilesWPad + tx (tilesWPad: tilesW rounded up to WG_VEC).
__kernel void winograd_input_f4(__global const float *xp, __global float *v, const int C, const int PH,
                                const int PW, const int ty0, const int tileRows, const int tilesWPad,
                                const int ntStride) {
    const int t0 = get_global_id(0) * WG_VEC, tr = get_global_id(1), c = get_global_id(2);
    if (t0 >= tilesWPad || tr >= tileRows || c >= C) return;
    __global const float *base = xp + ((size_t)c * PH + 4 * (ty0 + tr)) * PW + 4 * t0;
    wvec_t e[6][6];   // e[i][s]: row combination i, column s
    wvec_t d[6][6];
    #pragma unroll
    for (int r = 0; r < 6; r++) {
        wvec_t q0, q1, q2, q3, n0, n1, n2, n3;
        PHASES(base + r * PW, q0, q1, q2, q3);
        PHASES(base + r * PW + 4, n0, n1, n2, n3);
        d[r][0] = q0; d[r][1] = q1; d[r][2] = q2; d[r][3] = q3; d[r][4] = n0; d[r][5] = n1;
    }
    #pragma unroll
    for (int s = 0; s < 6; s++) {
        wvec_t o[6];
        BT6(d[0][s], d[1][s], d[2][s], d[3][s], d[4][s], d[5][s], o);
        #pragma unroll
        for (int i = 0; i < 6; i++) e[i][s] = o[i];
    }
    const size_t positionStride = (size_t)C * ntStride;
    __global float *out = v + (size_t)c * ntStride + (size_t)tr * tilesWPad + t0;
    #pragma unroll
    for (int i = 0; i < 6; i++) {
        wvec_t o[6];
        BT6(e[i][0], e[i][1], e[i][2], e[i][3], e[i][4], e[i][5], o);
        #pragma unroll
        for (int j = 0; j < 6; j++) WVSTORE(o[j], 0, out + (i * 6 + j) * positionStride);
    }
}

// Work-items: (group of WG_ROWS·WG_VEC tiles, block of WG_OCB output channels, position ξ).
__kernel void winograd_gemm(__global const float *u, __global const float *v, __global float *m,
                            const int Cin, const int Cout, const int ntStride) {
    const int t0 = get_global_id(0) * WG_ROWS * WG_VEC;
    const int oc0 = get_global_id(1) * WG_OCB;
    const int xi = get_global_id(2);
    __global const float *uxi = u + (size_t)xi * Cout * Cin;
    __global const float *vxi = v + (size_t)xi * Cin * ntStride + t0;
    wvec_t acc[WG_ROWS][WG_OCB];
    #pragma unroll
    for (int r = 0; r < WG_ROWS; r++)
        #pragma unroll
        for (int o = 0; o < WG_OCB; o++) acc[r][o] = (wvec_t)(0.0f);
    for (int c = 0; c < Cin; c++) {
        wvec_t vv[WG_ROWS];
        #pragma unroll
        for (int r = 0; r < WG_ROWS; r++) vv[r] = WVLOAD(0, vxi + (size_t)c * ntStride + r * WG_VEC);
        #pragma unroll
        for (int o = 0; o < WG_OCB; o++) {
            const float uk = uxi[min(oc0 + o, Cout - 1) * Cin + c];
            #pragma unroll
            for (int r = 0; r < WG_ROWS; r++) acc[r][o] = MULADD((wvec_t)(uk), vv[r], acc[r][o]);
        }
    }
    __global float *mxi = m + (size_t)xi * Cout * ntStride + t0;
    #pragma unroll
    for (int o = 0; o < WG_OCB; o++) {
        if (oc0 + o >= Cout) break;
        #pragma unroll
        for (int r = 0; r < WG_ROWS; r++) WVSTORE(acc[r][o], 0, mxi + (size_t)(oc0 + o) * ntStride + r * WG_VEC);
    }
}

// Aᵀ applied to six values: y0 = m0 + (m1 + m2) + (m3 + m4), y1 = (m1 − m2) + 2(m3 − m4),
// y2 = (m1 + m2) + 4(m3 + m4), y3 = (m1 − m2) + 8(m3 − m4) + m5.
#define AT6(m0, m1, m2, m3, m4, m5, o)                      \
    do {                                                    \
        const wvec_t s12 = (m1) + (m2), a12 = (m1) - (m2);  \
        const wvec_t s34 = (m3) + (m4), a34 = (m3) - (m4);  \
        o[0] = (m0) + s12 + s34;                            \
        o[1] = a12 + 2.0f * a34;                            \
        o[2] = s12 + 4.0f * s34;                            \
        o[3] = a12 + 8.0f * a34 + (m5);                     \
    } while (0)

// Work-items: (group of WG_VEC tiles of a tile row, tile row within the band, output channel);
// explicit vectors over the tiles, as in winograd_input_f4. Each output row's four phases are
// interleaved in private memory and stored contiguously where the row allows.
__kernel void winograd_output_f4(__global const float *m, __global const float *bias, __global float *y,
                                 const int C, const int H, const int W, const int ty0, const int tileRows,
                                 const int tilesWPad, const int ntStride, const int useBias) {
    const int t0 = get_global_id(0) * WG_VEC, tr = get_global_id(1), o = get_global_id(2);
    if (t0 >= tilesWPad || tr >= tileRows || o >= C) return;
    const size_t positionStride = (size_t)C * ntStride;
    __global const float *src = m + (size_t)o * ntStride + (size_t)tr * tilesWPad + t0;
    // rows: T[a][j] = Σ_i Aᵀ[a][i] M[i][j]
    wvec_t tt[4][6];
    #pragma unroll
    for (int j = 0; j < 6; j++) {
        wvec_t q[6], r[4];
        #pragma unroll
        for (int i = 0; i < 6; i++) q[i] = WVLOAD(0, src + (i * 6 + j) * positionStride);
        AT6(q[0], q[1], q[2], q[3], q[4], q[5], r);
        #pragma unroll
        for (int a = 0; a < 4; a++) tt[a][j] = r[a];
    }
    const float b = useBias ? bias[o] : 0.0f;
    __global float *plane = y + (size_t)o * H * W;
    const int oy = 4 * (ty0 + tr), ox = 4 * t0;
    #pragma unroll
    for (int a = 0; a < 4; a++) {
        if (oy + a >= H) break;
        wvec_t r[4];
        AT6(tt[a][0], tt[a][1], tt[a][2], tt[a][3], tt[a][4], tt[a][5], r);
        float line[4 * WG_VEC];
        #pragma unroll
        for (int bb = 0; bb < 4; bb++) {
            float lanes[WG_VEC];
            WVSTORE(r[bb] + (wvec_t)(b), 0, lanes);
            #pragma unroll
            for (int k = 0; k < WG_VEC; k++) line[4 * k + bb] = lanes[k];
        }
        __global float *dst = plane + (oy + a) * W + ox;
        if (ox + 4 * WG_VEC <= W) {
            #pragma unroll
            for (int k = 0; k < 4 * WG_VEC; k += 4) vstore4(vload4(0, line + k), 0, dst + k);
        } else {
            for (int k = 0; ox + k < W && k < 4 * WG_VEC; k++) dst[k] = line[k];
        }
    }
}
