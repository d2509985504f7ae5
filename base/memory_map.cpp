#include "base/memory_map.h"

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

void* ReserveAnonymousOrDie(uptr size, const char* what) {
  sptr result = SysMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (SysFailed(result)) Fatal("cannot reserve %zu bytes for %s (errno %d)", size, what, SysErrno(result));
  return reinterpret_cast<void*>(result);
}

void* MapAnonymousOrDie(uptr size, const char* what) {
  sptr result = SysMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (SysFailed(result)) {
    Fatal("failed to map %zu bytes for %s (errno %d)", size, what, SysErrno(result));
  }
  return reinterpret_cast<void*>(result);
}

void UnmapOrDie(void* addr, uptr size) {
  sptr result = SysMunmap(addr, size);
  if (SysFailed(result)) {
    Fatal("failed to unmap %zu bytes at %p (errno %d)", size, addr, SysErrno(result));
  }
}

bool MapFixedNoReplace(uptr addr, uptr size) {
  sptr result = SysMmap(reinterpret_cast<void*>(addr), size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (SysFailed(result)) return false;
  if (static_cast<uptr>(result) != addr) {
    // An old kernel took the address as a hint and mapped somewhere else.
    SysMunmap(reinterpret_cast<void*>(result), size);
    return false;
  }
  return true;
}

void ReleaseMemoryToOS(uptr begin, uptr end) {
  uptr first_page = RoundUp(begin, kPageSize);
  uptr end_page = RoundDown(end, kPageSize);
  if (first_page >= end_page) return;
  SysMadvise(reinterpret_cast<void*>(first_page), end_page - first_page, MADV_DONTNEED);
}

}  // namespace racert
