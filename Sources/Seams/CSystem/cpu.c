// CPU features, for the few kernels compiled for more than the baseline instruction set.
#include "csystem.h"

int32_t psys_cpu_has_avx2(void) {
#if defined(__x86_64__)
    // Also false when the kernel does not save the 256-bit registers (the runtime checks XGETBV).
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}
