// Writes the image fuzzer's seed corpus: small PNGs of every colour type and depth the decoder
// accepts (grey 1/2/4/8/16, grey+alpha, RGB 8/16, RGBA, palette with and without tRNS, interlaced,
// gAMA/text chunks). JPEG seeds are made by cjpeg in tools/fuzz.sh.
// Usage: gen_image_seeds OUTDIR
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_png(const char *dir, const char *name, int w, int h, int color, int depth, int interlace,
                     int extras) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.png", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return 1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) { fclose(fp); return 1; }
    png_init_io(png, fp);
    png_set_IHDR(png, info, w, h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        for (int i = 0; i < 16; i++) pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 16), (png_byte)(i * 7)};
        png_set_PLTE(png, info, pal, 1 << (depth < 4 ? depth : 4));
        if (extras) {
            png_byte alpha[4] = {0, 64, 128, 255};
            png_set_tRNS(png, info, alpha, 4, NULL);
        }
    } else if (extras && (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_RGB)) {
        png_color_16 key = {0, 1, 1, 1, 1};
        png_set_tRNS(png, info, NULL, 0, &key);
    }
    if (extras) {
        png_set_gAMA(png, info, 0.45455);
        png_text t = {PNG_TEXT_COMPRESSION_zTXt, "Comment", "fuzz seed", 9};
        png_set_text(png, info, &t, 1);
    }
    png_write_info(png, info);
    int channels = color == PNG_COLOR_TYPE_GRAY ? 1 : color == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                 : color == PNG_COLOR_TYPE_RGB ? 3 : color == PNG_COLOR_TYPE_RGBA ? 4 : 1;
    size_t rowbytes = ((size_t)w * channels * depth + 7) / 8;
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    for (int y = 0; y < h; y++) {
        rows[y] = malloc(rowbytes);
        for (size_t x = 0; x < rowbytes; x++) rows[y][x] = (png_byte)(x * 37 + y * 11);
        if (color == PNG_COLOR_TYPE_PALETTE && depth == 8)
            for (size_t x = 0; x < rowbytes; x++) rows[y][x] &= 15;  // stay inside the 16-entry palette
    }
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    for (int y = 0; y < h; y++) free(rows[y]);
    free(rows);
    return fclose(fp) != 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s OUTDIR\n", argv[0]); return 2; }
    const char *d = argv[1];
    int bad = 0;
    bad |= write_png(d, "grey1", 9, 5, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "grey2", 7, 3, PNG_COLOR_TYPE_GRAY, 2, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "grey4", 5, 4, PNG_COLOR_TYPE_GRAY, 4, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "grey8", 8, 8, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "grey16_trns", 4, 4, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, 1);
    bad |= write_png(d, "greyalpha8", 6, 6, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "rgb8", 8, 6, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "rgb16_trns", 5, 5, PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, 1);
    bad |= write_png(d, "rgba8", 7, 7, PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "rgba16", 3, 4, PNG_COLOR_TYPE_RGBA, 16, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "palette4", 9, 4, PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, 0);
    bad |= write_png(d, "palette8_trns", 8, 8, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, 1);
    bad |= write_png(d, "rgb8_adam7", 11, 9, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, 1);
    bad |= write_png(d, "grey2_adam7", 10, 10, PNG_COLOR_TYPE_GRAY, 2, PNG_INTERLACE_ADAM7, 0);
    bad |= write_png(d, "rgba8_adam7", 5, 13, PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_ADAM7, 0);
    bad |= write_png(d, "one_pixel", 1, 1, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, 0);
    return bad;
}
