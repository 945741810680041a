// clshim: the project's only window onto OpenCL and CLBlast.
//
// Opaque handles and plain functions. Every call returns a status (0 on success,
// otherwise the OpenCL/CLBlast error code or NS_ERR_*) and fills `err` with a
// message a user can act on. Nothing here aborts the process.
#ifndef NEURAL_STYLE_CLSHIM_H
#define NEURAL_STYLE_CLSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    NS_OK = 0,
    NS_ERR_NO_PLATFORM = -10001,   // no OpenCL platform (no ICD installed)
    NS_ERR_BAD_INDEX = -10002,     // device index out of range
    NS_ERR_TOO_LARGE = -10003,     // allocation over the device's max single allocation
    NS_ERR_HOST_MEMORY = -10004,   // malloc failed on the host
    NS_ERR_CLBLAST = -10005,       // CLBlast returned a non-OpenCL status (code in message)
};

typedef struct ns_error {
    int32_t code;
    char message[1024];
} ns_error;

// Device types, as OpenCL's CL_DEVICE_TYPE_* bits.
enum { NS_DEVICE_CPU = 2, NS_DEVICE_GPU = 4, NS_DEVICE_ACCELERATOR = 8 };

typedef struct ns_device_info {
    uint32_t platform_index;
    uint32_t device_index;          // within its platform
    char platform_name[256];
    char platform_vendor[256];
    char platform_version[256];
    char name[256];
    char vendor[256];
    char version[256];
    char driver_version[256];
    char opencl_c_version[256];
    uint64_t type;                  // CL_DEVICE_TYPE_* bits
    uint32_t compute_units;
    uint32_t clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    uint64_t max_work_group_size;
    int32_t fp64;                   // 1 when the device reports double precision
    int32_t fp16;
    int32_t fma32;                  // 1 when single precision has a fused multiply-add (CL_FP_FMA)
} ns_device_info;

typedef struct ns_context ns_context; // context + device + in-order queue
typedef struct ns_buffer ns_buffer;
typedef struct ns_program ns_program;
typedef struct ns_kernel ns_kernel;
typedef struct ns_event ns_event;

// Devices are numbered across all platforms, in platform order.
int32_t ns_device_count(uint32_t *count, ns_error *err);
int32_t ns_device_info_get(uint32_t index, ns_device_info *out, ns_error *err);

int32_t ns_context_create(uint32_t index, int32_t profiling, ns_context **out, ns_error *err);
void ns_context_release(ns_context *ctx);
int32_t ns_finish(ns_context *ctx, ns_error *err);

int32_t ns_buffer_create(ns_context *ctx, uint64_t bytes, ns_buffer **out, ns_error *err);
void ns_buffer_release(ns_buffer *buf);
uint64_t ns_buffer_size(const ns_buffer *buf);
int32_t ns_buffer_write(ns_context *ctx, ns_buffer *buf, uint64_t offset, uint64_t bytes,
                        const void *src, ns_error *err);
int32_t ns_buffer_read(ns_context *ctx, ns_buffer *buf, uint64_t offset, uint64_t bytes,
                       void *dst, ns_error *err);
int32_t ns_buffer_copy(ns_context *ctx, ns_buffer *src, ns_buffer *dst, uint64_t src_offset,
                       uint64_t dst_offset, uint64_t bytes, ns_error *err);
int32_t ns_buffer_fill_f32(ns_context *ctx, ns_buffer *buf, float value, uint64_t offset,
                           uint64_t bytes, ns_error *err);

// On failure with a compiler error, *log receives the build log (free with ns_free).
int32_t ns_program_build(ns_context *ctx, const char *source, const char *options,
                         ns_program **out, char **log, ns_error *err);
void ns_program_release(ns_program *prog);
void ns_free(void *p);

int32_t ns_kernel_create(ns_program *prog, const char *name, ns_kernel **out, ns_error *err);
void ns_kernel_release(ns_kernel *k);
int32_t ns_kernel_set_buffer(ns_kernel *k, uint32_t index, ns_buffer *buf, ns_error *err);
// A scalar argument (value != NULL) or local memory of `size` bytes (value == NULL).
int32_t ns_kernel_set_arg(ns_kernel *k, uint32_t index, size_t size, const void *value,
                          ns_error *err);
// local may be NULL (implementation's choice). event may be NULL (no event kept).
int32_t ns_kernel_enqueue(ns_context *ctx, ns_kernel *k, uint32_t dims, const size_t *global,
                          const size_t *local, ns_event **event, ns_error *err);

// Waits for the event, then reports its profiled start and end in nanoseconds.
int32_t ns_event_times(ns_event *ev, uint64_t *start_ns, uint64_t *end_ns, ns_error *err);
void ns_event_release(ns_event *ev);

// CLBlast SGEMM, row-major: C = alpha * op(A) * op(B) + beta * C.
int32_t ns_sgemm(ns_context *ctx, int32_t trans_a, int32_t trans_b, size_t m, size_t n,
                 size_t k, float alpha, ns_buffer *a, size_t a_offset, size_t lda,
                 ns_buffer *b, size_t b_offset, size_t ldb, float beta, ns_buffer *c,
                 size_t c_offset, size_t ldc, ns_event **event, ns_error *err);

/* `batch` row-major, non-transposed SGEMMs C_i = alpha·A_i·B_i + beta·C_i, where operand i starts
   at offset + i·stride (in floats): CLBlastSgemmStridedBatched, one launch for all of them. */
int32_t ns_sgemm_strided_batched(ns_context *ctx, size_t m, size_t n, size_t k, float alpha,
                                 ns_buffer *a, size_t a_offset, size_t lda, size_t a_stride,
                                 ns_buffer *b, size_t b_offset, size_t ldb, size_t b_stride,
                                 float beta, ns_buffer *c, size_t c_offset, size_t ldc,
                                 size_t c_stride, size_t batch, ns_event **event, ns_error *err);

/* Overrides CLBlast's single-precision tuning parameters for `kernel` ("Xgemm", "XgemmDirect",
   "Copy", "Pad", "Transpose", "Padtranspose", …) on this context's device; the set must be
   complete. Used with the results of CLBlast's tuners (see CLBlastTuning.swift). */
int32_t ns_clblast_override(ns_context *ctx, const char *kernel, size_t count, const char **names,
                            const size_t *values, ns_error *err);

const char *ns_error_name(int32_t code);

#ifdef __cplusplus
}
#endif
#endif
