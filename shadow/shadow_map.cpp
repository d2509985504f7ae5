#include "shadow/shadow_map.h"

#include <errno.h>  // EEXIST (constant only)

#include "base/check.h"
#include "base/fatal.h"
#include "base/memory_map.h"
#include "base/spin_mutex.h"
#include "base/format.h"
#include "base/syscalls.h"

namespace racert {
namespace {

// Shadow ranges mapped so far, as page-aligned [begin, end) in shadow space.
// The client calls MapShadow a handful of times (data, then heap arenas,
// which all fall inside the reserved heap window), so a small fixed table is
// plenty.
constexpr unsigned kMaxMappedRanges = 256;
struct MappedRange {
  uptr begin;
  uptr end;
};

struct ShadowRegistry {
  SpinMutex mutex;
  unsigned count;
  bool per_arena;  // UseShadowPerArena: no whole-window reservation
  bool heap_mapped;  // a heap arena has been shadowed (in per-arena mode)
  bool headroom_warned;
  HeapLayout heap;  // SetHeapLayout; written before any concurrent use
  ClientAddressSpace client;  // SetClientAddressSpace; likewise
  MappedRange ranges[kMaxMappedRanges];
};
constinit ShadowRegistry registry{};  // constant-initialized: no constructor runs

// If shadow_page lies in a mapped range, returns that range's end; else 0.
uptr MappedRangeEndLocked(uptr shadow_page) {
  for (unsigned i = 0; i < registry.count; i++) {
    if (shadow_page >= registry.ranges[i].begin && shadow_page < registry.ranges[i].end) return registry.ranges[i].end;
  }
  return 0;
}

// The first mapped range start above `page`, capped at `limit`.
uptr NextMappedBeginLocked(uptr page, uptr limit) {
  uptr next = limit;
  for (unsigned i = 0; i < registry.count; i++) {
    if (registry.ranges[i].begin > page && registry.ranges[i].begin < next) next = registry.ranges[i].begin;
  }
  return next;
}

void RecordLocked(uptr begin, uptr end) {
  // A range that continues a recorded one extends it (heap arenas mostly grow
  // upwards one after another), which keeps the table small in per-arena mode.
  for (unsigned i = 0; i < registry.count; i++) {
    if (registry.ranges[i].end == begin) {
      registry.ranges[i].end = end;
      return;
    }
    if (registry.ranges[i].begin == end) {
      registry.ranges[i].begin = begin;
      return;
    }
  }
  if (registry.count == kMaxMappedRanges) {
    Fatal("too many separate shadow ranges (%u): the heap grew in more than %u places far apart, with shadow "
          "mapped per heap arena because of the address-space limit (ulimit -v); raise the limit (ulimit -v "
          "unlimited) so that racert reserves the whole heap window at once",
          kMaxMappedRanges, kMaxMappedRanges);
  }
  registry.ranges[registry.count++] = MappedRange{begin, end};
}

// Maps the parts of [begin, end) (shadow space, page-aligned, for application
// memory at `offset` below it) that are not mapped yet.
void MapMissingPagesLocked(uptr begin, uptr end, uptr offset) {
  uptr page = begin;
  while (page < end) {
    if (uptr mapped_end = MappedRangeEndLocked(page)) {
      page = mapped_end;
      continue;
    }
    uptr run_end = NextMappedBeginLocked(page, end);
    if (int error = MapFixedNoReplaceError(page, run_end - page)) {
      if (error == EEXIST) {
        Fatal("cannot map shadow memory at [0x%zx, 0x%zx) for application range [0x%zx, 0x%zx): "
              "the address range is already in use",
              page, run_end, page - offset, run_end - offset);
      }
      char what[160];
      Format(what, sizeof(what), "shadow memory at [0x%zx, 0x%zx) for application range [0x%zx, 0x%zx)", page,
             run_end, page - offset, run_end - offset);
      FatalMappingFailed("map", run_end - page, what, error);
    }
    RecordLocked(page, run_end);
    page = run_end;
  }
}

constexpr uptr kMiB = uptr{1} << 20;

// Per-arena mode only (an address-space limit is set). When the limit runs
// out, the mapping that fails is often the client runtime's own (its next
// heap arena, a thread stack), not racert's, and the client's message may not
// name the limit. So after racert maps shadow, it checks what is left against
// what the client said its runtime needs (ClientAddressSpace): not enough for
// it to start at all is fatal here, with the figures; little left gets one
// warning, printed before the client's own message would be.
void CheckHeadroomLocked(uptr app_begin, uptr app_end, bool heap) {
  const ClientAddressSpace& client = registry.client;
  u64 limit = SysAddressSpaceLimit();
  uptr in_use = AddressSpaceInUse();
  if (limit == ~u64{0} || in_use == 0) return;
  uptr left = limit > in_use ? static_cast<uptr>(limit) - in_use : 0;
  bool starting = !heap && !registry.heap_mapped;
  if (heap) registry.heap_mapped = true;
  uptr app_mib = (app_end - app_begin) / kMiB;
  if (starting && left < client.start_minimum) {
    Fatal("the address-space limit (ulimit -v) of %zu KiB leaves %zu MiB after the program's data and bss "
          "[0x%zx, 0x%zx) (%zu MiB) and their shadow (3 bytes per byte, %zu MiB): %s reserves at least %zu MiB "
          "more to start (%s); raise the limit above %zu KiB, plus 4 bytes per byte of heap the program uses, or "
          "lift it (ulimit -v unlimited)",
          static_cast<uptr>(limit / 1024), left / kMiB, app_begin, app_end, app_mib, 3 * app_mib,
          client.runtime_name, client.start_minimum / kMiB, client.start_parts,
          (in_use + client.start_minimum) / 1024);
  }
  if (registry.headroom_warned || left >= (starting ? client.start_warning : client.heap_warning)) return;
  registry.headroom_warned = true;
  char start_clause[160] = "";
  if (starting) {
    Format(start_clause, sizeof(start_clause), ", and %s reserves %s more to start", client.runtime_name,
           client.start_estimate);
  }
  char line[1024];
  uptr n = Format(line, sizeof(line),
                  "racert: warning: %zu MiB of the address-space limit (ulimit -v) of %zu KiB are left after "
                  "mapping shadow for [0x%zx, 0x%zx) (%zu MiB); under racert a byte of heap takes 4 bytes of "
                  "address space (itself and 3 of shadow)%s; if the program then stops in %s (%s), the limit is "
                  "the cause: raise it (ulimit -v unlimited)\n",
                  left / kMiB, static_cast<uptr>(limit / 1024), app_begin, app_end, app_mib, start_clause,
                  client.runtime_name, client.failure_messages);
  WriteToStderr(line, n < sizeof(line) ? n : sizeof(line) - 1);
}

}  // namespace

void MapShadow(uptr addr, uptr size) {
  if (size == 0) return;
  uptr app_end = addr + size;
  if (app_end < addr || !IsShadowableApp(addr) || !IsShadowableApp(app_end - 1) ||
      (addr < kAppLowEnd) != (app_end - 1 < kAppLowEnd)) {
    Fatal("cannot track memory at [0x%zx, 0x%zx): racert shadows application addresses in "
          "[0, 0x%zx) and [0x%zx, 0x%zx) only",
          addr, app_end, kAppLowEnd, kAppHighBegin, kAppHighEnd);
  }
  uptr begin = addr & ~uptr{7};
  uptr end = RoundUp(app_end, 8);
  SpinMutexLock lock(&registry.mutex);
  const HeapLayout& heap = registry.heap;
  const bool in_heap = heap.InWindow(addr, app_end);
  if (in_heap) {
    if (registry.per_arena) {
      begin = RoundDown(begin, heap.arena_bytes);
      end = RoundUp(end, heap.arena_bytes);
    } else {
      // Reserve the whole window once; pages are committed by the kernel on touch.
      begin = heap.window_begin;
      end = heap.window_end;
    }
  }
  const uptr offsets[] = {kPrimaryOffset, kSecondaryOffset, kTertiaryOffset};
  const unsigned offset_count = begin < kAppLowEnd ? 3 : 2;  // no tertiary words for the high range
  for (unsigned i = 0; i < offset_count; i++) {
    MapMissingPagesLocked(RoundDown(begin + offsets[i], kPageSize), RoundUp(end + offsets[i], kPageSize), offsets[i]);
  }
  if (registry.per_arena) CheckHeadroomLocked(begin, end, in_heap);
}

namespace {

struct WrittenRunVisit {
  uptr app_begin;
  uptr app_end;
  void (*visit)(uptr, uptr, void*);
  void* context;
};

void VisitAppPartOfShadowRun(uptr shadow_begin, uptr shadow_end, void* context) {
  auto* walk = static_cast<WrittenRunVisit*>(context);
  uptr begin = shadow_begin - kPrimaryOffset;
  uptr end = shadow_end - kPrimaryOffset;
  if (begin < walk->app_begin) begin = walk->app_begin;
  if (end > walk->app_end) end = walk->app_end;
  if (begin < end) walk->visit(begin, end, walk->context);
}

}  // namespace

void ForEachWrittenShadowRun(uptr addr, uptr size, void (*visit)(uptr, uptr, void*), void* context) {
  if (size == 0) return;
  WrittenRunVisit walk{addr, addr + size, visit, context};
  uptr shadow_begin = reinterpret_cast<uptr>(ShadowWordFor(addr));
  uptr shadow_end = reinterpret_cast<uptr>(ShadowWordFor(addr + size - 1)) + sizeof(u64);
  ForEachPopulatedPageRun(RoundDown(shadow_begin, kPageSize), RoundUp(shadow_end, kPageSize),
                          VisitAppPartOfShadowRun, &walk);
}

void UseShadowPerArena() {
  SpinMutexLock lock(&registry.mutex);
  registry.per_arena = true;
}

void SetHeapLayout(const HeapLayout& layout) {
  RACERT_CHECK(!layout.has_window() || (layout.arena_bytes != 0 && layout.window_end <= kAppLowEnd));
  SpinMutexLock lock(&registry.mutex);
  RACERT_DCHECK(registry.count == 0);  // before the first MapShadow
  registry.heap = layout;
}

const HeapLayout& CurrentHeapLayout() { return registry.heap; }

void SetClientAddressSpace(const ClientAddressSpace& client) {
  // The texts each message prints, for the figures that enable it.
  RACERT_CHECK(client.start_minimum == 0 || (client.runtime_name && client.start_parts));
  RACERT_CHECK((client.start_warning == 0 && client.heap_warning == 0) ||
               (client.runtime_name && client.start_estimate && client.failure_messages));
  SpinMutexLock lock(&registry.mutex);
  RACERT_DCHECK(registry.count == 0);  // before the first MapShadow
  registry.client = client;
}

const ClientAddressSpace& CurrentClientAddressSpace() { return registry.client; }

void ClearAllShadow() {
  SpinMutexLock lock(&registry.mutex);
  for (unsigned i = 0; i < registry.count; i++) ReleaseMemoryToOS(registry.ranges[i].begin, registry.ranges[i].end);
}

}  // namespace racert
