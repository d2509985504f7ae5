// Page-level memory from the kernel: anonymous mappings, fixed-address
// reservations (for shadow memory) and returning pages to the OS.
#pragma once

#include "base/types.h"

namespace racert {

constexpr uptr kPageSize = 4096;

// `align` must be a power of two.
inline uptr RoundUp(uptr x, uptr align) { return (x + align - 1) & ~(align - 1); }
inline uptr RoundDown(uptr x, uptr align) { return x & ~(align - 1); }
inline bool IsAligned(uptr x, uptr align) { return (x & (align - 1)) == 0; }

// Private anonymous read-write mapping (zero-filled). Calls Fatal, naming
// `what`, the size and the errno, if the kernel refuses.
void* MapAnonymousOrDie(uptr size, const char* what);
// The same, but returns nullptr on failure.
void* MapAnonymousOrNull(uptr size);
// Reserves a large private anonymous read-write range with MAP_NORESERVE:
// pages cost nothing until touched and read as zero. Fatal, naming `what`, if
// the kernel refuses. For big tables sized for the worst case.
void* ReserveAnonymousOrDie(uptr size, const char* what);
// Fatal for a mapping of `size` bytes for `what` that the kernel refused
// with `error`: names what and how much, and for ENOMEM under an
// address-space limit (`ulimit -v`) the limit and how to raise it.
[[noreturn]] void FatalMappingFailed(const char* verb, uptr size, const char* what, int error);
// munmap; Fatal on failure (it only fails on a bad range, i.e. a bug).
void UnmapOrDie(void* addr, uptr size);

// Maps [addr, addr+size) read-write, private, anonymous and MAP_NORESERVE
// exactly at `addr` without replacing anything already mapped there. Returns
// 0 on success or the errno: EEXIST when part of the range is in use (also
// on kernels older than 4.17, which treat MAP_FIXED_NOREPLACE as a plain
// hint: a mapping placed elsewhere is undone), ENOMEM when the address-space
// limit or the kernel refuses. `addr` and `size` must be page-aligned.
int MapFixedNoReplaceError(uptr addr, uptr size);

// Calls visit(run_begin, run_end, context) for each maximal run of pages in
// [begin, end) (page-aligned) that may hold non-zero data: present in memory
// or swapped out, per /proc/self/pagemap. The other pages of a private
// anonymous mapping were never written since it was made or last released
// with ReleaseMemoryToOS, so they read as zero and need not be read at all
// (reading them would map the zero page and cost a page-table entry each).
// When the page map cannot be read, the whole remaining range is one run: a
// caller then reads what it would have read without this function. Opens the
// file on each call, so it always describes the calling process (also in a
// forked child).
void ForEachPopulatedPageRun(uptr begin, uptr end, void (*visit)(uptr run_begin, uptr run_end, void* context),
                             void* context);

// The process's mapped address space in bytes (VmSize, what `ulimit -v`
// limits), from /proc/self/statm; 0 when it cannot be read.
uptr AddressSpaceInUse();

// Gives the pages fully inside [begin, end) back to the kernel
// (MADV_DONTNEED). They stay mapped and read back as zero afterwards; partial
// pages at either end are left untouched.
void ReleaseMemoryToOS(uptr begin, uptr end);

}  // namespace racert
