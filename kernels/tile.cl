// Tiles of feature maps, for evaluating a large image piece by piece.
// Layout C×H×W (W fastest); both tensors have the same channel count C. Offsets (top, left)
// place the tile's (0, 0) in the image and may be negative or overhang the far edges.
// One work-item per tile element; no two work-items write the same place.

// dst[c, i, j] = src[c, top + i, left + j], zero outside src (so a tile with halo at the
// image border is zero-padded exactly like the convolution's padding).
// Work-items: one per dst element (C·DH·DW).
__kernel void crop2d(__global const float *src, __global float *dst, const int C, const int SH,
                     const int SW, const int DH, const int DW, const int top, const int left) {
    const int idx = get_global_id(0);
    if (idx >= C * DH * DW) return;
    const int c = idx / (DH * DW), r = idx - c * DH * DW, i = r / DW, j = r - i * DW;
    const int y = top + i, x = left + j;
    dst[idx] = (y >= 0 && y < SH && x >= 0 && x < SW) ? src[(c * SH + y) * SW + x] : 0.0f;
}

// dst[c, top + i, left + j] += src[c, i, j] where that falls inside dst; the rest is ignored.
// Work-items: one per src element (C·SH·SW); within one launch each writes its own dst element.
__kernel void accumulate_crop2d(__global const float *src, __global float *dst, const int C,
                                const int SH, const int SW, const int DH, const int DW,
                                const int top, const int left) {
    const int idx = get_global_id(0);
    if (idx >= C * SH * SW) return;
    const int c = idx / (SH * SW), r = idx - c * SH * SW, i = r / SW, j = r - i * SW;
    const int y = top + i, x = left + j;
    if (y >= 0 && y < DH && x >= 0 && x < DW) dst[(c * DH + y) * DW + x] += src[idx];
}
