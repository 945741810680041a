// cpuinfo: the x86-64 instruction sets this CPU and its operating system support (cpuid and
// xgetbv), so the CPU backend can pick its BLAS kernels from features, never from a model table.
#ifndef NEURAL_STYLE_CPUINFO_H
#define NEURAL_STYLE_CPUINFO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    NS_CPU_SSE3 = 1u << 0,
    NS_CPU_AVX = 1u << 1,       // and the OS saves the ymm state
    NS_CPU_AVX2 = 1u << 2,
    NS_CPU_FMA = 1u << 3,
    NS_CPU_AVX512F = 1u << 4,   // and the OS saves the zmm and mask state
    NS_CPU_AVX512BW = 1u << 5,
    NS_CPU_AVX512VL = 1u << 6,
    NS_CPU_AVX512DQ = 1u << 7,
    NS_CPU_AVX512BF16 = 1u << 8,
    NS_CPU_AMX = 1u << 9,       // AMX-TILE
};

// A mask of NS_CPU_* bits; 0 on processors other than x86-64.
uint32_t ns_cpu_features(void);
// "GenuineIntel", "AuthenticAMD", … (12 characters and a NUL) into `vendor` (13 bytes).
void ns_cpu_vendor(char vendor[13]);
// The processor's brand string (48 characters and a NUL) into `brand` (49 bytes).
void ns_cpu_brand(char brand[49]);

#ifdef __cplusplus
}
#endif
#endif
