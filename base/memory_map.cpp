#include "base/memory_map.h"

#include <errno.h>     // ENOMEM, EEXIST (constants only)
#include <fcntl.h>     // O_RDONLY, O_CLOEXEC (constants only)
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

void ForEachPopulatedPageRun(uptr begin, uptr end, void (*visit)(uptr, uptr, void*), void* context) {
  if (begin >= end) return;
  sptr fd = SysOpen("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
  if (SysFailed(fd)) {
    visit(begin, end, context);
    return;
  }
  // One 64-bit entry per page: bit 63 present, bit 62 swapped out.
  constexpr u64 kPresentOrSwapped = (u64{1} << 63) | (u64{1} << 62);
  constexpr uptr kBatch = 512;  // entries per read: 4 KiB on the stack, 2 MiB of address space
  u64 entries[kBatch];
  bool in_run = false;
  uptr run_begin = 0;
  uptr page = begin;
  while (page < end) {
    uptr count = (end - page) / kPageSize;
    if (count > kBatch) count = kBatch;
    sptr got = SysPread(static_cast<int>(fd), entries, count * sizeof(u64), (page / kPageSize) * sizeof(u64));
    if (SysFailed(got) || got < static_cast<sptr>(sizeof(u64))) {
      // Unreadable from here on: everything left may hold data.
      if (!in_run) run_begin = page;
      in_run = true;
      break;
    }
    uptr read = static_cast<uptr>(got) / sizeof(u64);
    for (uptr i = 0; i < read; i++, page += kPageSize) {
      bool populated = (entries[i] & kPresentOrSwapped) != 0;
      if (populated && !in_run) {
        run_begin = page;
        in_run = true;
      } else if (!populated && in_run) {
        visit(run_begin, page, context);
        in_run = false;
      }
    }
  }
  if (in_run) visit(run_begin, end, context);
  SysClose(static_cast<int>(fd));
}

uptr AddressSpaceInUse() {
  sptr fd = SysOpen("/proc/self/statm", O_RDONLY | O_CLOEXEC, 0);
  if (SysFailed(fd)) return 0;
  char text[128];
  sptr got = SysRead(static_cast<int>(fd), text, sizeof(text));
  SysClose(static_cast<int>(fd));
  if (SysFailed(got)) return 0;
  // The first field is the total size in pages.
  uptr pages = 0;
  sptr i = 0;
  for (; i < got && text[i] >= '0' && text[i] <= '9'; i++) pages = pages * 10 + static_cast<uptr>(text[i] - '0');
  if (i == 0 || i == got || text[i] != ' ') return 0;
  return pages * kPageSize;
}

void ReleaseMemoryToOS(uptr begin, uptr end) {
  uptr first_page = RoundUp(begin, kPageSize);
  uptr end_page = RoundDown(end, kPageSize);
  if (first_page >= end_page) return;
  SysMadvise(reinterpret_cast<void*>(first_page), end_page - first_page, MADV_DONTNEED);
}

}  // namespace racert
