// libFuzzer harness for the image decoder: Sources/CImageIO/imageio.c, nsio_read_file.
// The input bytes are wrapped in a read-only memory stream (fmemopen) and decoded as PNG or JPEG
// (for even-length PNGs after fixing the chunk CRCs, see fix_png_crcs).
// Built by tools/fuzz.sh:
//   clang -g -O1 -fsanitize=fuzzer,address,undefined -I Sources/CImageIO/include \
//     Sources/CImageIO/imageio.c tools/fuzz/fuzz_image.c -lpng16 -ljpeg -lz
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "imageio.h"

// 4 megapixels (about 12 MB of RGB): larger legitimate headers are refused as NSIO_ERR_TOO_LARGE
// before any pixel memory is allocated, so the fuzzer does not run out of memory on them.
#define FUZZ_MAX_PIXELS 4000000u

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

// libpng rejects a critical chunk (IHDR, PLTE, IDAT) whose CRC-32 is wrong, so nearly every
// mutation of an image header dies at the CRC check and the size checks, the transformations and
// the layout check behind it stay out of reach. For even-length PNG inputs the harness therefore
// rewrites every complete chunk's CRC before decoding; odd-length inputs go in unchanged, so the
// CRC-error paths are still fuzzed.
static void fix_png_crcs(uint8_t *d, size_t size) {
    size_t p = 8;
    while (p + 12 <= size) {
        uint32_t len = be32(d + p);
        if (len > size - p - 12) break;
        uint32_t crc = (uint32_t)crc32(0, d + p + 4, (uInt)len + 4);
        uint8_t *c = d + p + 8 + len;
        c[0] = (uint8_t)(crc >> 24), c[1] = (uint8_t)(crc >> 16), c[2] = (uint8_t)(crc >> 8), c[3] = (uint8_t)crc;
        p += 12 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;  // fmemopen refuses a zero-length buffer
    uint8_t *copy = NULL;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size % 2 == 0 && size >= 8 && memcmp(data, png_sig, 8) == 0 && (copy = malloc(size)) != NULL) {
        memcpy(copy, data, size);
        fix_png_crcs(copy, size);
        data = copy;
    }
    // NSIO_FUZZ_SAVE_INPUT=FILE writes the bytes as decoded (CRCs fixed), for replaying a finding
    // through nsio_read or the CLI.
    const char *save = getenv("NSIO_FUZZ_SAVE_INPUT");
    if (save) {
        FILE *o = fopen(save, "wb");
        if (o) { fwrite(data, 1, size, o); fclose(o); }
    }
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp) { free(copy); return 0; }
    nsio_image img;
    char message[1024];
    message[0] = 0;
    int32_t rc = nsio_read_file(fp, "fuzz-input", FUZZ_MAX_PIXELS, &img, message, sizeof message);
    // NSIO_FUZZ_VERBOSE=1 prints each input's outcome (for checking seeds and reproducing findings).
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("NSIO_FUZZ_VERBOSE") != NULL;
    if (verbose) {
        if (rc == 0) fprintf(stderr, "size %zu: decoded %ux%u\n", size, img.width, img.height);
        else fprintf(stderr, "size %zu: status %d: %s\n", size, rc, message);
    }
    if (rc == 0) {
        // Touch every output byte so ASan/MSan-style tools see an under-sized buffer.
        size_t n = (size_t)img.width * img.height * 3;
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < n; i++) sink ^= img.rgb[i];
        (void)sink;
        nsio_free(img.rgb);
    } else {
        // Errors must come with a NUL-terminated message, and must not leave pixels behind.
        if (img.rgb != NULL) __builtin_trap();
        if (memchr(message, 0, sizeof message) == NULL) __builtin_trap();
    }
    fclose(fp);
    free(copy);
    return 0;
}
