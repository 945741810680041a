// imageio: PNG (libpng) and JPEG (libjpeg-turbo) decoding to 8-bit RGB, PNG encoding,
// zlib's CRC-32 and SHA-256 (sha256.c). Errors come back as a status and a message; nothing aborts.
#ifndef NEURAL_STYLE_IMAGEIO_H
#define NEURAL_STYLE_IMAGEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nsio_image {
    uint32_t width;
    uint32_t height;
    uint8_t *rgb;   // width·height·3 bytes, row-major; free with nsio_free
} nsio_image;

// Largest side accepted on decode (protects against absurd headers).
#define NSIO_MAX_SIDE 65536u

// Statuses: 0 success, else one of these with `message` filled ("path: why").
#define NSIO_ERR_DATA (-1)       // not an image, corrupt or truncated
#define NSIO_ERR_IO (-2)         // cannot open, read or write the file (full disk included)
#define NSIO_ERR_NOMEM (-3)      // an allocation failed
#define NSIO_ERR_TOO_LARGE (-4)  // the header's size is over NSIO_MAX_SIDE or max_pixels

// Decodes PNG (8/16-bit, grey, grey+alpha, RGB, RGBA, palette) or JPEG, by content, to RGB.
// Alpha is composited over white. The header's size is checked against `max_pixels` before any
// pixel memory is allocated. libjpeg's warnings (corrupt or truncated data) are errors; nothing
// is printed.
int32_t nsio_read(const char *path, uint64_t max_pixels, nsio_image *out, char *message, size_t message_cap);
// The same from an open stream (the fuzz harness reads from memory through fmemopen).
int32_t nsio_read_file(FILE *fp, const char *path, uint64_t max_pixels, nsio_image *out, char *message,
                       size_t message_cap);
// Writes 8-bit RGB PNG and fsyncs it. Returns 0 or a status with `message` filled.
int32_t nsio_write_png(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                       char *message, size_t message_cap);
// The same with `count` UTF-8 text chunks (iTXt, uncompressed) before the pixels: keys[i] = values[i]
// (the studio's results carry their options and command line this way).
int32_t nsio_write_png_text(const char *path, const uint8_t *rgb, uint32_t width, uint32_t height,
                            const char *const *keys, const char *const *values, uint32_t count,
                            char *message, size_t message_cap);
void nsio_free(void *p);

uint32_t nsio_crc32(uint32_t crc, const void *data, size_t bytes);

// SHA-256 (sha256.c): run identities and output digests.
typedef struct nsio_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t block[64];
    uint32_t used;
} nsio_sha256;
void nsio_sha256_init(nsio_sha256 *s);
void nsio_sha256_update(nsio_sha256 *s, const void *data, size_t bytes);
void nsio_sha256_final(nsio_sha256 *s, uint8_t digest[32]);

#ifdef __cplusplus
}
#endif
#endif
