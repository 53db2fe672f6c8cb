// Allocation counting for postern-bench.
//
// Linking this module into an executable interposes the malloc family (malloc, calloc, realloc,
// posix_memalign, aligned_alloc, memalign, valloc): each call bumps a counter and forwards to glibc's own
// allocator (__libc_malloc and friends). Because the definitions live in the executable, the dynamic
// linker binds every library's calls (the Swift runtime, libsodium, LMDB) to them, so the count covers
// the whole process. Only postern-bench links it; the shipped daemon keeps the plain allocator.
#ifndef CALLOCCOUNTER_H
#define CALLOCCOUNTER_H
#include <stdint.h>

/// Number of allocation calls (not frees) since the process started.
uint64_t palloc_count(void);
/// Bytes the process has allocated and not freed (glibc's mallinfo2: in-use heap chunks plus mmapped
/// blocks), whoever allocated them. Unlike RSS, it falls when memory is freed.
uint64_t palloc_heap_bytes(void);
/// Resident bytes of the process's private writable anonymous mappings (heap, mmapped blocks, stacks):
/// /proc/self/maps walked and each mapping asked with mincore(2). Pages allocated but never touched do
/// not count. Under qemu user-mode emulation both calls see the emulated program's own mappings only,
/// so qemu's translation cache and heap are left out: this is how the aarch64 figure is taken.
uint64_t palloc_resident_anon_bytes(void);
/// 1: this binary's allocator is interposed and the count is meaningful.
int32_t palloc_is_active(void);

#endif
