// cpuinfo.c: cpuid leaves 1 and 7 for the instruction sets, xgetbv for what the OS enables.
#include "cpuinfo.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

uint32_t ns_cpu_features(void) {
    uint32_t a, b, c, d, m = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & bit_SSE3) m |= NS_CPU_SSE3;
    int osxsave = (c & bit_OSXSAVE) != 0;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int ymm = (xcr0 & 0x6) == 0x6;            // SSE and AVX state
    int zmm = ymm && (xcr0 & 0xe0) == 0xe0;   // opmask, ZMM_Hi256, Hi16_ZMM
    if (ymm && (c & bit_AVX)) m |= NS_CPU_AVX;
    if (ymm && (c & bit_FMA)) m |= NS_CPU_FMA;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (ymm && (b & bit_AVX2)) m |= NS_CPU_AVX2;
        if (zmm && (b & bit_AVX512F)) m |= NS_CPU_AVX512F;
        if (zmm && (b & bit_AVX512BW)) m |= NS_CPU_AVX512BW;
        if (zmm && (b & bit_AVX512VL)) m |= NS_CPU_AVX512VL;
        if (zmm && (b & bit_AVX512DQ)) m |= NS_CPU_AVX512DQ;
        if (d & (1u << 24)) m |= NS_CPU_AMX;
        uint32_t a1, b1, c1, d1;
        if (zmm && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && (a1 & (1u << 5))) m |= NS_CPU_AVX512BF16;
    }
    return m;
}

void ns_cpu_vendor(char vendor[13]) {
    uint32_t a, b, c, d;
    memset(vendor, 0, 13);
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
}

void ns_cpu_brand(char brand[49]) {
    uint32_t r[12];
    memset(brand, 0, 49);
    for (uint32_t i = 0; i < 3; i++) {
        if (!__get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3])) return;
    }
    memcpy(brand, r, 48);
}
#else
uint32_t ns_cpu_features(void) { return 0; }
void ns_cpu_vendor(char vendor[13]) { memset(vendor, 0, 13); }
void ns_cpu_brand(char brand[49]) { memset(brand, 0, 49); }
#endif
