// clshim.c: thin, non-aborting wrappers over OpenCL 1.2 and CLBlast's C API.
#include "clshim.h"

#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <clblast_c.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ns_context {
    cl_context context;
    cl_device_id device;
    cl_command_queue queue;
    uint64_t max_alloc;
    uint64_t global_mem;
    char device_name[256];
};
struct ns_buffer { cl_mem mem; uint64_t bytes; };
struct ns_program { cl_program program; };
struct ns_kernel { cl_kernel kernel; };
struct ns_event { cl_event event; };

const char *ns_error_name(int32_t code) {
    switch (code) {
    case CL_SUCCESS: return "CL_SUCCESS";
    case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND";
    case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE";
    case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE";
    case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES";
    case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY";
    case CL_PROFILING_INFO_NOT_AVAILABLE: return "CL_PROFILING_INFO_NOT_AVAILABLE";
    case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE";
    case CL_INVALID_VALUE: return "CL_INVALID_VALUE";
    case CL_INVALID_DEVICE: return "CL_INVALID_DEVICE";
    case CL_INVALID_CONTEXT: return "CL_INVALID_CONTEXT";
    case CL_INVALID_COMMAND_QUEUE: return "CL_INVALID_COMMAND_QUEUE";
    case CL_INVALID_MEM_OBJECT: return "CL_INVALID_MEM_OBJECT";
    case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE";
    case CL_INVALID_PROGRAM: return "CL_INVALID_PROGRAM";
    case CL_INVALID_PROGRAM_EXECUTABLE: return "CL_INVALID_PROGRAM_EXECUTABLE";
    case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME";
    case CL_INVALID_KERNEL: return "CL_INVALID_KERNEL";
    case CL_INVALID_ARG_INDEX: return "CL_INVALID_ARG_INDEX";
    case CL_INVALID_ARG_VALUE: return "CL_INVALID_ARG_VALUE";
    case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE";
    case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS";
    case CL_INVALID_WORK_DIMENSION: return "CL_INVALID_WORK_DIMENSION";
    case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE";
    case CL_INVALID_WORK_ITEM_SIZE: return "CL_INVALID_WORK_ITEM_SIZE";
    case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE";
    case CL_INVALID_EVENT: return "CL_INVALID_EVENT";
    case CL_INVALID_OPERATION: return "CL_INVALID_OPERATION";
    case CL_INVALID_BUILD_OPTIONS: return "CL_INVALID_BUILD_OPTIONS";
    case CL_PLATFORM_NOT_FOUND_KHR: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform installed)";
    case NS_ERR_NO_PLATFORM: return "NO_PLATFORM";
    case NS_ERR_BAD_INDEX: return "BAD_DEVICE_INDEX";
    case NS_ERR_TOO_LARGE: return "ALLOCATION_TOO_LARGE";
    case NS_ERR_HOST_MEMORY: return "HOST_OUT_OF_MEMORY";
    case NS_ERR_CLBLAST: return "CLBLAST_ERROR";
    default: return "OpenCL error";
    }
}

// Records `code` and a formatted message; returns `code` so callers can `return fail(...)`.
static int32_t fail(ns_error *err, int32_t code, const char *fmt, ...) {
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof err->message) {
            snprintf(err->message + n, sizeof err->message - (size_t)n, " (%s, %d)",
                     ns_error_name(code), (int)code);
        }
    }
    return code;
}

static int32_t ok(ns_error *err) {
    if (err) { err->code = 0; err->message[0] = 0; }
    return NS_OK;
}

// Flattens (platform, device) pairs into one index space.
static int32_t find_device(uint32_t index, cl_platform_id *platform_out, cl_device_id *device_out,
                           uint32_t *platform_index, uint32_t *device_index, uint32_t *total,
                           ns_error *err) {
    cl_uint nplat = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &nplat);
    if (rc == CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && nplat == 0)) {
        return fail(err, NS_ERR_NO_PLATFORM,
                    "no OpenCL platform found: install an OpenCL driver "
                    "(for example `apt-get install pocl-opencl-icd` for the CPU, or your GPU vendor's ICD)");
    }
    if (rc != CL_SUCCESS) return fail(err, rc, "clGetPlatformIDs failed");
    cl_platform_id plats[64];
    if (nplat > 64) nplat = 64;
    rc = clGetPlatformIDs(nplat, plats, NULL);
    if (rc != CL_SUCCESS) return fail(err, rc, "clGetPlatformIDs failed");
    uint32_t seen = 0;
    for (cl_uint p = 0; p < nplat; p++) {
        cl_uint ndev = 0;
        rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (rc == CL_DEVICE_NOT_FOUND || ndev == 0) continue;
        if (rc != CL_SUCCESS) return fail(err, rc, "clGetDeviceIDs failed on platform %u", p);
        cl_device_id devs[64];
        if (ndev > 64) ndev = 64;
        rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, devs, NULL);
        if (rc != CL_SUCCESS) return fail(err, rc, "clGetDeviceIDs failed on platform %u", p);
        for (cl_uint d = 0; d < ndev; d++, seen++) {
            if (seen == index && device_out) {
                *platform_out = plats[p];
                *device_out = devs[d];
                *platform_index = p;
                *device_index = d;
            }
        }
    }
    if (total) *total = seen;
    if (device_out && index >= seen) {
        return fail(err, NS_ERR_BAD_INDEX, "OpenCL device %u does not exist (%u found)", index, seen);
    }
    return ok(err);
}

int32_t ns_device_count(uint32_t *count, ns_error *err) {
    *count = 0;
    return find_device(0, NULL, NULL, NULL, NULL, count, err);
}

static void device_string(cl_device_id d, cl_device_info what, char *out, size_t cap) {
    out[0] = 0;
    if (clGetDeviceInfo(d, what, cap, out, NULL) != CL_SUCCESS) snprintf(out, cap, "?");
    out[cap - 1] = 0;
}

static void platform_string(cl_platform_id p, cl_platform_info what, char *out, size_t cap) {
    out[0] = 0;
    if (clGetPlatformInfo(p, what, cap, out, NULL) != CL_SUCCESS) snprintf(out, cap, "?");
    out[cap - 1] = 0;
}

int32_t ns_device_info_get(uint32_t index, ns_device_info *out, ns_error *err) {
    memset(out, 0, sizeof *out);
    cl_platform_id p;
    cl_device_id d;
    int32_t rc = find_device(index, &p, &d, &out->platform_index, &out->device_index, NULL, err);
    if (rc != NS_OK) return rc;
    platform_string(p, CL_PLATFORM_NAME, out->platform_name, sizeof out->platform_name);
    platform_string(p, CL_PLATFORM_VENDOR, out->platform_vendor, sizeof out->platform_vendor);
    platform_string(p, CL_PLATFORM_VERSION, out->platform_version, sizeof out->platform_version);
    device_string(d, CL_DEVICE_NAME, out->name, sizeof out->name);
    device_string(d, CL_DEVICE_VENDOR, out->vendor, sizeof out->vendor);
    device_string(d, CL_DEVICE_VERSION, out->version, sizeof out->version);
    device_string(d, CL_DRIVER_VERSION, out->driver_version, sizeof out->driver_version);
    device_string(d, CL_DEVICE_OPENCL_C_VERSION, out->opencl_c_version, sizeof out->opencl_c_version);
    cl_device_type type = 0;
    cl_uint cu = 0, clock = 0;
    cl_ulong gmem = 0, lmem = 0, maxalloc = 0;
    size_t wg = 0;
    cl_device_fp_config fp64 = 0, fp32 = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    if (clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL) != CL_SUCCESS) fp64 = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp32, &fp32, NULL) != CL_SUCCESS) fp32 = 0;
    char ext[8192];
    device_string(d, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
    out->type = type;
    out->compute_units = cu;
    out->clock_mhz = clock;
    out->global_mem_bytes = gmem;
    out->local_mem_bytes = lmem;
    out->max_alloc_bytes = maxalloc;
    out->max_work_group_size = wg;
    out->fp64 = fp64 != 0 || strstr(ext, "cl_khr_fp64") != NULL;
    out->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
    out->fma32 = (fp32 & CL_FP_FMA) != 0;
    return ok(err);
}

/* CLBlast keeps compiled programs in a process-wide cache, released by its static destructors
 * at exit, after the driver may already be torn down: under Oclgrind's LD_PRELOAD runtime that
 * freed memory twice ("corrupted double-linked list" at exit, after every check had passed).
 * The cache is emptied while the driver is alive instead: when a context is released, and at
 * exit (an atexit handler registered after CLBlast loaded runs before its destructors). */
static void clblast_clear_cache(void) { CLBlastClearCache(); }

int32_t ns_context_create(uint32_t index, int32_t profiling, ns_context **out, ns_error *err) {
    static int registered = 0;
    if (!registered) {
        atexit(clblast_clear_cache);
        registered = 1;
    }
    *out = NULL;
    cl_platform_id p;
    cl_device_id d;
    uint32_t pi, di;
    int32_t rc = find_device(index, &p, &d, &pi, &di, NULL, err);
    if (rc != NS_OK) return rc;
    ns_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return fail(err, NS_ERR_HOST_MEMORY, "out of host memory");
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)p, 0};
    cl_int cl_rc = CL_SUCCESS;
    ctx->context = clCreateContext(props, 1, &d, NULL, NULL, &cl_rc);
    if (cl_rc != CL_SUCCESS) { free(ctx); return fail(err, cl_rc, "clCreateContext failed for device %u", index); }
    ctx->device = d;
    ctx->queue = clCreateCommandQueue(ctx->context, d, profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &cl_rc);
    if (cl_rc != CL_SUCCESS) {
        clReleaseContext(ctx->context);
        free(ctx);
        return fail(err, cl_rc, "clCreateCommandQueue failed for device %u", index);
    }
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ctx->max_alloc, &ctx->max_alloc, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof ctx->global_mem, &ctx->global_mem, NULL);
    device_string(d, CL_DEVICE_NAME, ctx->device_name, sizeof ctx->device_name);
    *out = ctx;
    return ok(err);
}

void ns_context_release(ns_context *ctx) {
    if (!ctx) return;
    clFinish(ctx->queue);
    CLBlastClearCache();
    clReleaseCommandQueue(ctx->queue);
    clReleaseContext(ctx->context);
    free(ctx);
}

int32_t ns_finish(ns_context *ctx, ns_error *err) {
    cl_int rc = clFinish(ctx->queue);
    if (rc != CL_SUCCESS) return fail(err, rc, "clFinish failed on %s", ctx->device_name);
    return ok(err);
}

static int32_t memory_fail(ns_context *ctx, ns_error *err, cl_int rc, const char *what, uint64_t bytes) {
    return fail(err, rc,
                "%s of %llu bytes failed on %s (device memory %llu bytes, largest single allocation %llu bytes)",
                what, (unsigned long long)bytes, ctx->device_name,
                (unsigned long long)ctx->global_mem, (unsigned long long)ctx->max_alloc);
}

int32_t ns_buffer_create(ns_context *ctx, uint64_t bytes, ns_buffer **out, ns_error *err) {
    *out = NULL;
    if (bytes == 0) bytes = 4;
    if (bytes > ctx->max_alloc) return memory_fail(ctx, err, NS_ERR_TOO_LARGE, "allocation", bytes);
    ns_buffer *b = calloc(1, sizeof *b);
    if (!b) return fail(err, NS_ERR_HOST_MEMORY, "out of host memory");
    cl_int rc = CL_SUCCESS;
    b->mem = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, (size_t)bytes, NULL, &rc);
    if (rc != CL_SUCCESS) { free(b); return memory_fail(ctx, err, rc, "allocation", bytes); }
    b->bytes = bytes;
    *out = b;
    return ok(err);
}

void ns_buffer_release(ns_buffer *buf) {
    if (!buf) return;
    clReleaseMemObject(buf->mem);
    free(buf);
}

uint64_t ns_buffer_size(const ns_buffer *buf) { return buf->bytes; }

static int32_t check_range(ns_buffer *buf, uint64_t offset, uint64_t bytes, const char *what, ns_error *err) {
    if (offset + bytes > buf->bytes || offset + bytes < offset) {
        return fail(err, CL_INVALID_VALUE, "%s of %llu bytes at offset %llu is outside a buffer of %llu bytes",
                    what, (unsigned long long)bytes, (unsigned long long)offset, (unsigned long long)buf->bytes);
    }
    return NS_OK;
}

int32_t ns_buffer_write(ns_context *ctx, ns_buffer *buf, uint64_t offset, uint64_t bytes,
                        const void *src, ns_error *err) {
    if (check_range(buf, offset, bytes, "write", err) != NS_OK) return err ? err->code : CL_INVALID_VALUE;
    if (bytes == 0) return ok(err);
    cl_int rc = clEnqueueWriteBuffer(ctx->queue, buf->mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
    if (rc != CL_SUCCESS) return memory_fail(ctx, err, rc, "buffer write", bytes);
    return ok(err);
}

int32_t ns_buffer_read(ns_context *ctx, ns_buffer *buf, uint64_t offset, uint64_t bytes,
                       void *dst, ns_error *err) {
    if (check_range(buf, offset, bytes, "read", err) != NS_OK) return err ? err->code : CL_INVALID_VALUE;
    if (bytes == 0) return ok(err);
    cl_int rc = clEnqueueReadBuffer(ctx->queue, buf->mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
    if (rc != CL_SUCCESS) return memory_fail(ctx, err, rc, "buffer read", bytes);
    return ok(err);
}

int32_t ns_buffer_copy(ns_context *ctx, ns_buffer *src, ns_buffer *dst, uint64_t src_offset,
                       uint64_t dst_offset, uint64_t bytes, ns_error *err) {
    if (check_range(src, src_offset, bytes, "copy source", err) != NS_OK) return err ? err->code : CL_INVALID_VALUE;
    if (check_range(dst, dst_offset, bytes, "copy destination", err) != NS_OK) return err ? err->code : CL_INVALID_VALUE;
    if (bytes == 0) return ok(err);
    cl_int rc = clEnqueueCopyBuffer(ctx->queue, src->mem, dst->mem, src_offset, dst_offset, bytes, 0, NULL, NULL);
    if (rc != CL_SUCCESS) return memory_fail(ctx, err, rc, "buffer copy", bytes);
    return ok(err);
}

int32_t ns_buffer_fill_f32(ns_context *ctx, ns_buffer *buf, float value, uint64_t offset,
                           uint64_t bytes, ns_error *err) {
    if (check_range(buf, offset, bytes, "fill", err) != NS_OK) return err ? err->code : CL_INVALID_VALUE;
    if (bytes == 0) return ok(err);
    cl_int rc = clEnqueueFillBuffer(ctx->queue, buf->mem, &value, sizeof value, offset, bytes, 0, NULL, NULL);
    if (rc != CL_SUCCESS) return memory_fail(ctx, err, rc, "buffer fill", bytes);
    return ok(err);
}

int32_t ns_program_build(ns_context *ctx, const char *source, const char *options,
                         ns_program **out, char **log, ns_error *err) {
    *out = NULL;
    if (log) *log = NULL;
    cl_int rc = CL_SUCCESS;
    cl_program prog = clCreateProgramWithSource(ctx->context, 1, &source, NULL, &rc);
    if (rc != CL_SUCCESS) return fail(err, rc, "clCreateProgramWithSource failed on %s", ctx->device_name);
    rc = clBuildProgram(prog, 1, &ctx->device, options ? options : "", NULL, NULL);
    if (rc != CL_SUCCESS) {
        size_t n = 0;
        clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
        if (log && n > 0) {
            *log = calloc(n + 1, 1);
            if (*log) clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, n, *log, NULL);
        }
        clReleaseProgram(prog);
        return fail(err, rc, "OpenCL program failed to build on %s", ctx->device_name);
    }
    ns_program *p = calloc(1, sizeof *p);
    if (!p) { clReleaseProgram(prog); return fail(err, NS_ERR_HOST_MEMORY, "out of host memory"); }
    p->program = prog;
    *out = p;
    return ok(err);
}

void ns_program_release(ns_program *prog) {
    if (!prog) return;
    clReleaseProgram(prog->program);
    free(prog);
}

void ns_free(void *p) { free(p); }

int32_t ns_kernel_create(ns_program *prog, const char *name, ns_kernel **out, ns_error *err) {
    *out = NULL;
    cl_int rc = CL_SUCCESS;
    cl_kernel k = clCreateKernel(prog->program, name, &rc);
    if (rc != CL_SUCCESS) return fail(err, rc, "kernel `%s` not found in its program", name);
    ns_kernel *kk = calloc(1, sizeof *kk);
    if (!kk) { clReleaseKernel(k); return fail(err, NS_ERR_HOST_MEMORY, "out of host memory"); }
    kk->kernel = k;
    *out = kk;
    return ok(err);
}

void ns_kernel_release(ns_kernel *k) {
    if (!k) return;
    clReleaseKernel(k->kernel);
    free(k);
}

int32_t ns_kernel_set_buffer(ns_kernel *k, uint32_t index, ns_buffer *buf, ns_error *err) {
    cl_int rc = clSetKernelArg(k->kernel, index, sizeof(cl_mem), &buf->mem);
    if (rc != CL_SUCCESS) return fail(err, rc, "setting buffer argument %u failed", index);
    return ok(err);
}

int32_t ns_kernel_set_arg(ns_kernel *k, uint32_t index, size_t size, const void *value, ns_error *err) {
    cl_int rc = clSetKernelArg(k->kernel, index, size, value);
    if (rc != CL_SUCCESS) return fail(err, rc, "setting argument %u (%zu bytes) failed", index, size);
    return ok(err);
}

int32_t ns_kernel_enqueue(ns_context *ctx, ns_kernel *k, uint32_t dims, const size_t *global,
                          const size_t *local, ns_event **event, ns_error *err) {
    if (event) *event = NULL;
    cl_event ev = NULL;
    cl_int rc = clEnqueueNDRangeKernel(ctx->queue, k->kernel, dims, NULL, global, local, 0, NULL,
                                       event ? &ev : NULL);
    if (rc != CL_SUCCESS) {
        char name[128] = "?";
        clGetKernelInfo(k->kernel, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL);
        name[sizeof name - 1] = 0;
        if (rc == CL_MEM_OBJECT_ALLOCATION_FAILURE || rc == CL_OUT_OF_RESOURCES) {
            return fail(err, rc, "kernel `%s` ran out of device memory on %s (device memory %llu bytes)",
                        name, ctx->device_name, (unsigned long long)ctx->global_mem);
        }
        return fail(err, rc, "enqueueing kernel `%s` failed on %s", name, ctx->device_name);
    }
    if (event) {
        ns_event *e = calloc(1, sizeof *e);
        if (!e) { clReleaseEvent(ev); return fail(err, NS_ERR_HOST_MEMORY, "out of host memory"); }
        e->event = ev;
        *event = e;
    }
    return ok(err);
}

int32_t ns_event_times(ns_event *ev, uint64_t *start_ns, uint64_t *end_ns, ns_error *err) {
    cl_int rc = clWaitForEvents(1, &ev->event);
    if (rc != CL_SUCCESS) return fail(err, rc, "waiting for an event failed");
    cl_ulong s = 0, e = 0;
    rc = clGetEventProfilingInfo(ev->event, CL_PROFILING_COMMAND_START, sizeof s, &s, NULL);
    if (rc == CL_SUCCESS) rc = clGetEventProfilingInfo(ev->event, CL_PROFILING_COMMAND_END, sizeof e, &e, NULL);
    if (rc != CL_SUCCESS) return fail(err, rc, "reading event times failed (was the queue created with profiling?)");
    *start_ns = s;
    *end_ns = e;
    return ok(err);
}

void ns_event_release(ns_event *ev) {
    if (!ev) return;
    clReleaseEvent(ev->event);
    free(ev);
}

/* Turns a CLBlast status and its event into the shim's error and event conventions. */
static int32_t clblast_result(ns_context *ctx, CLBlastStatusCode rc, cl_event ev, const char *what,
                              size_t m, size_t n, size_t k, size_t batch, ns_event **event,
                              ns_error *err) {
    if (rc != CLBlastSuccess) {
        int32_t code = rc < -1000 ? NS_ERR_CLBLAST : (int32_t)rc;
        return fail(err, code, "CLBlast %s (m=%zu n=%zu k=%zu batch=%zu) failed on %s with status %d",
                    what, m, n, k, batch, ctx->device_name, (int)rc);
    }
    if (event) {
        ns_event *e = calloc(1, sizeof *e);
        if (!e) { clReleaseEvent(ev); return fail(err, NS_ERR_HOST_MEMORY, "out of host memory"); }
        e->event = ev;
        *event = e;
    }
    return ok(err);
}

int32_t ns_sgemm(ns_context *ctx, int32_t trans_a, int32_t trans_b, size_t m, size_t n, size_t k,
                 float alpha, ns_buffer *a, size_t a_offset, size_t lda, ns_buffer *b,
                 size_t b_offset, size_t ldb, float beta, ns_buffer *c, size_t c_offset,
                 size_t ldc, ns_event **event, ns_error *err) {
    if (event) *event = NULL;
    cl_event ev = NULL;
    CLBlastStatusCode rc = CLBlastSgemm(
        CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a->mem, a_offset, lda,
        b->mem, b_offset, ldb, beta, c->mem, c_offset, ldc, &ctx->queue, event ? &ev : NULL);
    return clblast_result(ctx, rc, ev, "SGEMM", m, n, k, 1, event, err);
}

int32_t ns_sgemm_strided_batched(ns_context *ctx, size_t m, size_t n, size_t k, float alpha,
                                 ns_buffer *a, size_t a_offset, size_t lda, size_t a_stride,
                                 ns_buffer *b, size_t b_offset, size_t ldb, size_t b_stride,
                                 float beta, ns_buffer *c, size_t c_offset, size_t ldc,
                                 size_t c_stride, size_t batch, ns_event **event, ns_error *err) {
    if (event) *event = NULL;
    cl_event ev = NULL;
    CLBlastStatusCode rc = CLBlastSgemmStridedBatched(
        CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, m, n, k, alpha, a->mem,
        a_offset, lda, a_stride, b->mem, b_offset, ldb, b_stride, beta, c->mem, c_offset, ldc,
        c_stride, batch, &ctx->queue, event ? &ev : NULL);
    return clblast_result(ctx, rc, ev, "strided batched SGEMM", m, n, k, batch, event, err);
}

int32_t ns_clblast_override(ns_context *ctx, const char *kernel, size_t count, const char **names,
                            const size_t *values, ns_error *err) {
    CLBlastStatusCode rc = CLBlastOverrideParameters(ctx->device, kernel, CLBlastPrecisionSingle,
                                                     count, names, values);
    if (rc != CLBlastSuccess) {
        int32_t code = rc < -1000 ? NS_ERR_CLBLAST : (int32_t)rc;
        return fail(err, code, "CLBlast rejected the %zu tuned parameters for kernel %s on %s (status %d%s)",
                    count, kernel, ctx->device_name, (int)rc,
                    rc == CLBlastMissingOverrideParameter ? ": some parameter is missing" : "");
    }
    return ok(err);
}
