// imageio.c: libpng and libjpeg wrapped so their longjmp-based errors become return values.
#include "imageio.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
// jpeglib.h needs FILE from stdio.h first.
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void nsio_free(void *p) { free(p); }

uint32_t nsio_crc32(uint32_t crc, const void *data, size_t bytes) {
    const uint8_t *p = data;
    while (bytes > 0) {
        uInt n = bytes > (1u << 30) ? (1u << 30) : (uInt)bytes;
        crc = (uint32_t)crc32(crc, p, n);
        p += n;
        bytes -= n;
    }
    return crc;
}

static int32_t fail_with(int32_t status, char *message, size_t cap, const char *text, const char *path) {
    snprintf(message, cap, "%s: %s", path, text);
    return status;
}

static int32_t fail(char *message, size_t cap, const char *text, const char *path) {
    return fail_with(NSIO_ERR_DATA, message, cap, text, path);
}

// Refuses a header whose size is over the limits before any pixel memory is allocated.
static int32_t check_size(uint64_t w, uint64_t h, uint64_t max_pixels, char *text, size_t cap) {
    if (w == 0 || h == 0) {
        snprintf(text, cap, "image has zero width or height");
        return NSIO_ERR_DATA;
    }
    if (w > NSIO_MAX_SIDE || h > NSIO_MAX_SIDE) {
        snprintf(text, cap, "%llu×%llu pixels: sides over %u pixels are not supported", (unsigned long long)w,
                 (unsigned long long)h, NSIO_MAX_SIDE);
        return NSIO_ERR_TOO_LARGE;
    }
    if (w * h > max_pixels) {
        snprintf(text, cap, "%llu×%llu is %.1f megapixels, over the limit of %.1f (raise it with --max-input-megapixels)",
                 (unsigned long long)w, (unsigned long long)h, (double)(w * h) / 1e6, (double)max_pixels / 1e6);
        return NSIO_ERR_TOO_LARGE;
    }
    return 0;
}

// ---- PNG ----

typedef struct { char *message; size_t cap; jmp_buf jmp; int32_t status; } png_failure;

static void png_error_fn(png_structp png, png_const_charp text) {
    png_failure *f = png_get_error_ptr(png);
    if (f->status == 0) f->status = NSIO_ERR_DATA;
    snprintf(f->message, f->cap, "%s", text);
    longjmp(f->jmp, 1);
}

static void png_warning_fn(png_structp png, png_const_charp text) { (void)png; (void)text; }

static int32_t read_png(FILE *fp, const char *path, uint64_t max_pixels, nsio_image *out, char *message, size_t cap) {
    png_failure f = {message, cap};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &f, png_error_fn, png_warning_fn);
    if (!png) return fail_with(NSIO_ERR_NOMEM, message, cap, "out of memory", path);
    png_infop info = png_create_info_struct(png);
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(f.jmp)) {
        char detail[512];
        int32_t status = info ? f.status : NSIO_ERR_NOMEM;
        if (status == NSIO_ERR_DATA) snprintf(detail, sizeof detail, "not a valid PNG (%s)", message);
        else snprintf(detail, sizeof detail, "%s", info ? message : "out of memory");
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(pixels);
        free(rows);
        return fail_with(status, message, cap, detail, path);
    }
    png_init_io(png, fp);
    // libpng's own limit would say only "Invalid IHDR data"; check_size names ours
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    // Text, Exif and other metadata chunks are never used, and libpng 1.6.39 allocates (and
    // zeroes) a buffer of the length their header claims before reading them: a 58-byte file
    // claiming 2 GiB of tEXt cost 1.9 GB of memory, eXIf up to 1.9 GB (found by tools/fuzz.sh).
    // Skip them unread.
    static const png_byte unused[] = "tEXt\0zTXt\0iTXt\0sPLT\0pCAL\0sCAL\0eXIf\0";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, unused, 7);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    char why[256];
    int32_t size_status = check_size(w, h, max_pixels, why, sizeof why);
    if (size_status != 0) {
        f.status = size_status;
        png_error(png, why);
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    // Alpha (channel or tRNS) composited over white.
    png_color_16 white = {0, 255, 255, 255, 255};
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_background(png, &white, PNG_BACKGROUND_GAMMA_SCREEN, 0, 1.0);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected channel layout after conversion");
    pixels = malloc((size_t)w * h * 3);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) {
        f.status = NSIO_ERR_NOMEM;
        png_error(png, "out of memory decoding the image");
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->width = w;
    out->height = h;
    out->rgb = pixels;
    return 0;
}

// ---- JPEG ----

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jmp;
    int32_t status;
    char text[JMSG_LENGTH_MAX + 64];
} jpeg_failure;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    if (f->status == 0) {
        f->status = NSIO_ERR_DATA;
        (*cinfo->err->format_message)(cinfo, f->text);
    }
    longjmp(f->jmp, 1);
}

// libjpeg reports corrupt or truncated data ("Premature end of JPEG file") as a warning
// (level −1) and decodes on with grey fill: a damaged input, so it fails like an error.
// Trace messages (level ≥ 0) are dropped; nothing is ever printed.
static void jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_error_exit(cinfo);
}

static void jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static int32_t read_jpeg(FILE *fp, const char *path, uint64_t max_pixels, nsio_image *out, char *message, size_t cap) {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure f;
    f.status = 0;
    f.text[0] = 0;
    uint8_t *volatile pixels = NULL;
    cinfo.err = jpeg_std_error(&f.base);
    f.base.error_exit = jpeg_error_exit;
    f.base.emit_message = jpeg_emit_message;
    f.base.output_message = jpeg_output_message;
    if (setjmp(f.jmp)) {
        char detail[JMSG_LENGTH_MAX + 128];
        if (f.status == NSIO_ERR_DATA) snprintf(detail, sizeof detail, "not a valid JPEG (%s)", f.text);
        else snprintf(detail, sizeof detail, "%s", f.text);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return fail_with(f.status, message, cap, detail, path);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, fp);
    jpeg_read_header(&cinfo, TRUE);
    int32_t size_status = check_size(cinfo.image_width, cinfo.image_height, max_pixels, f.text, sizeof f.text);
    if (size_status != 0) {
        f.status = size_status;
        longjmp(f.jmp, 1);
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) {
        f.status = NSIO_ERR_DATA;
        snprintf(f.text, sizeof f.text, "not a valid JPEG (unsupported channels)");
        longjmp(f.jmp, 1);
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    pixels = malloc(stride * cinfo.output_height);
    if (!pixels) {
        f.status = NSIO_ERR_NOMEM;
        snprintf(f.text, sizeof f.text, "out of memory decoding the image");
        longjmp(f.jmp, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    out->width = cinfo.output_width;
    out->height = cinfo.output_height;
    out->rgb = pixels;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int32_t nsio_read_file(FILE *fp, const char *path, uint64_t max_pixels, nsio_image *out, char *message, size_t cap) {
    memset(out, 0, sizeof *out);
    uint8_t sig[8] = {0};
    size_t n = fread(sig, 1, 8, fp);
    rewind(fp);
    int32_t rc;
    if (n == 8 && png_sig_cmp(sig, 0, 8) == 0) rc = read_png(fp, path, max_pixels, out, message, cap);
    else if (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF) rc = read_jpeg(fp, path, max_pixels, out, message, cap);
    else rc = fail(message, cap, "not a PNG or JPEG image", path);
    if (rc == 0 && (out->width == 0 || out->height == 0)) {
        free(out->rgb);
        memset(out, 0, sizeof *out);
        return fail(message, cap, "image has zero width or height", path);
    }
    return rc;
}

int32_t nsio_read(const char *path, uint64_t max_pixels, nsio_image *out, char *message, size_t cap) {
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return fail_with(NSIO_ERR_IO, message, cap, errno == ENOENT ? "no such file" : strerror(errno), path);
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return fail_with(NSIO_ERR_IO, message, cap, "is a folder, not an image", path);
    }
    int32_t rc = nsio_read_file(fp, path, max_pixels, out, message, cap);
    fclose(fp);
    return rc;
}

int32_t nsio_write_png(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                       char *message, size_t cap) {
    return nsio_write_png_text(path, rgb, width, height, NULL, NULL, 0, message, cap);
}

int32_t nsio_write_png_text(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                            const char *const *keys, const char *const *values, uint32_t count,
                            char *message, size_t cap) {
    png_textp text = NULL;
    if (count > 0) {
        text = calloc(count, sizeof *text);
        if (!text) return fail_with(NSIO_ERR_NOMEM, message, cap, "out of memory", path);
        for (uint32_t i = 0; i < count; i++) {
            text[i].compression = PNG_ITXT_COMPRESSION_NONE;
            text[i].key = (png_charp)keys[i];
            text[i].text = (png_charp)values[i];
            text[i].itxt_length = strlen(values[i]);
        }
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(text);
        return fail_with(NSIO_ERR_IO, message, cap, strerror(errno), path);
    }
    errno = 0;
    png_failure f = {message, cap};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &f, png_error_fn, png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(f.jmp)) {
        // libpng says only "Write Error"; errno from the failed fwrite says why
        int saved = errno;
        int32_t status = png && info ? NSIO_ERR_IO : NSIO_ERR_NOMEM;
        char detail[512];
        if (!png || !info) snprintf(detail, sizeof detail, "out of memory");
        else if (saved != 0) snprintf(detail, sizeof detail, "%s", strerror(saved));
        else snprintf(detail, sizeof detail, "writing PNG failed (%s)", message);
        png_destroy_write_struct(&png, info ? &info : NULL);
        fclose(fp);
        free(text);
        return fail_with(status, message, cap, detail, path);
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (count > 0) png_set_text(png, info, text, (int)count);
    png_write_info(png, info);
    for (uint32_t y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(text);
    // buffered data reaches the disk here: a full disk shows up as ENOSPC from fflush/fsync/fclose
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        int saved = errno;
        fclose(fp);
        return fail_with(NSIO_ERR_IO, message, cap, strerror(saved), path);
    }
    if (fclose(fp) != 0) return fail_with(NSIO_ERR_IO, message, cap, strerror(errno), path);
    return 0;
}
