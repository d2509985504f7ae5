#include "base/memory_map.h"

#include <errno.h>     // ENOMEM, EEXIST (constants only)
#include <sys/mman.h>  // PROT_*, MAP_*, MADV_* (constants only)

#include "base/fatal.h"
#include "base/syscalls.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace racert {

void* MapAnonymousOrNull(uptr size) {
  sptr result = SysMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (SysFailed(result)) return nullptr;
  return reinterpret_cast<void*>(result);
}

void FatalMappingFailed(const char* verb, uptr size, const char* what, int error) {
  constexpr uptr kMiB = uptr{1} << 20;
  if (error != ENOMEM) Fatal("cannot %s %zu bytes (%zu MiB) for %s (errno %d)", verb, size, size / kMiB, what, error);
  u64 limit = SysAddressSpaceLimit();
  if (limit != ~u64{0}) {
    Fatal("cannot %s %zu bytes (%zu MiB) for %s: out of address space (ENOMEM) under the address-space limit "
          "(ulimit -v) of %zu KiB; racert reserves large ranges of address space that cost memory only where "
          "touched: raise the limit (ulimit -v unlimited)",
          verb, size, size / kMiB, what, static_cast<uptr>(limit / 1024));
  }
  Fatal("cannot %s %zu bytes (%zu MiB) for %s: the kernel refused (ENOMEM: out of memory, or the "
        "vm.max_map_count or vm.overcommit_memory settings forbid it)",
        verb, size, size / kMiB, what);
}

void* ReserveAnonymousOrDie(uptr size, const char* what) {
  sptr result = SysMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (SysFailed(result)) FatalMappingFailed("reserve", size, what, SysErrno(result));
  return reinterpret_cast<void*>(result);
}

void* MapAnonymousOrDie(uptr size, const char* what) {
  sptr result = SysMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (SysFailed(result)) FatalMappingFailed("map", size, what, SysErrno(result));
  return reinterpret_cast<void*>(result);
}

void UnmapOrDie(void* addr, uptr size) {
  sptr result = SysMunmap(addr, size);
  if (SysFailed(result)) {
    Fatal("failed to unmap %zu bytes at %p (errno %d)", size, addr, SysErrno(result));
  }
}

int MapFixedNoReplaceError(uptr addr, uptr size) {
  sptr result = SysMmap(reinterpret_cast<void*>(addr), size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (SysFailed(result)) return SysErrno(result);
  if (static_cast<uptr>(result) != addr) {
    // An old kernel took the address as a hint and mapped somewhere else.
    SysMunmap(reinterpret_cast<void*>(result), size);
    return EEXIST;
  }
  return 0;
}

bool MapFixedNoReplace(uptr addr, uptr size) { return MapFixedNoReplaceError(addr, size) == 0; }

void ReleaseMemoryToOS(uptr begin, uptr end) {
  uptr first_page = RoundUp(begin, kPageSize);
  uptr end_page = RoundDown(end, kPageSize);
  if (first_page >= end_page) return;
  SysMadvise(reinterpret_cast<void*>(first_page), end_page - first_page, MADV_DONTNEED);
}

}  // namespace racert
