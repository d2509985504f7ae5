#include "tsan_core/runtime.h"

#include "base/fatal.h"
#include "base/format.h"
#include "base/memory_map.h"
#include "base/stack_store.h"
#include "base/syscalls.h"
#include "shadow/cell_set.h"
#include "shadow/shadow_map.h"
#include "tsan_core/byte_accumulator.h"
#include "tsan_core/goroutine_registry.h"
#include "tsan_core/memory_access.h"
#include "tsan_core/race_report.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/slot_pool.h"
#include "tsan_core/sync_ops.h"
#include "tsan_core/sync_table.h"

namespace racert {
namespace {

constexpr uptr kGiB = uptr{1} << 30;

// Checked at start, before the first shadow is mapped: racert reserves its big
// ranges with MAP_NORESERVE, which costs no memory but counts against
// RLIMIT_AS in full. The limit must also hold what the client's runtime
// reserves for itself (ClientAddressSpace::runtime_reserve, shadow/shadow_map.h).
// Under a limit too small for them, racert reserves only what the program uses
// (heap shadow per heap arena, cell sets as carved, up to an eighth of the
// limit, sync object counts for the heap window only), and says so once. A run
// that then needs more than the limit allows stops at the mapping that failed,
// with a message naming the limit.
void CheckAddressSpaceLimit() {
  u64 limit = SysAddressSpaceLimit();
  if (limit == ~u64{0}) return;
  const HeapLayout& heap = CurrentHeapLayout();
  const uptr heap_shadow = 3 * heap.window_bytes();
  const uptr need = heap_shadow + CellSetArenaReservation() + SyncTableReservation() +
                    CurrentClientAddressSpace().runtime_reserve;
  if (limit >= need) {
    // Enough for the default reservations, but the heap counts against the
    // limit too: a 130 GiB heap under a 572 GiB limit left no room for the
    // 64 GiB cell-set arena reserved at its first use. Mapped as needed, the
    // arena takes only what the sets use.
    SetCellSetArenaSize(CellSetArenaReservation());
    return;
  }
  UseShadowPerArena();
  SyncCountOnlyHeapWindow();
  SetCellSetArenaSize(static_cast<uptr>(limit / 8));
  // Without a heap window there is no heap shadow to map per arena, and sync
  // objects are counted in the whole low range (CountedRange in
  // tsan_core/sync_table.cpp): the note says only what applies.
  char per_arena[96] = "";
  if (heap.has_window()) {
    Format(per_arena, sizeof(per_arena), "maps heap shadow per %zu MiB arena, ", heap.arena_bytes >> 20);
  }
  char line[600];
  uptr n = Format(line, sizeof(line),
                  "racert: note: the address-space limit (ulimit -v) of %zu KiB is below the %zu GiB racert "
                  "reserves by default; it %smaps the shadow cell sets as they are needed (up to %zu MiB)%s; a run "
                  "that needs more stops with a message (ulimit -v unlimited lifts the limit)\n",
                  static_cast<uptr>(limit / 1024), need / kGiB, per_arena, CellSetArenaReservation() >> 20,
                  heap.has_window() ? " and counts sync objects only in the heap (slower frees elsewhere)" : "");
  WriteToStderr(line, n < sizeof(line) ? n : sizeof(line) - 1);
}

}  // namespace

GoroutineState* InitializeRuntime() {
  CheckAddressSpaceLimit();
  g_access_options.report_atomic_races = g_options.report_atomic_races;
  History::Configure(g_options.history_size);
  EnableByteAccumulation();
  return StartGoroutine(nullptr, 0);
}

GoroutineState* StartGoroutine(GoroutineState* parent, uptr pc) {
  GoroutineState* child = CreateGoroutine();
  if (parent) {
    child->parent_number = parent->number;
    InternalVector<uptr> creation;
    for (uptr i = 0; i < parent->call_stack.size(); i++) creation.push_back(parent->call_stack[i]);
    creation.push_back(pc);
    child->creation_stack = StackStorePut(creation.data(), creation.size());
    if (!IgnoringSync(parent)) {
      LockOwnSlot(parent);
      child->clock.CopyFrom(parent->clock);
      child->clock_generation = parent->clock_generation;
      // The parent's later steps must not be covered by what the child knows.
      AdvanceEpoch(parent);
      UnlockOwnSlot(parent);
    }
  }
  LockOwnSlot(child);
  UnlockOwnSlot(child);
  ResetIfRequested();
  return child;
}

void EndGoroutine(GoroutineState* g) {
  DetachSlot(g);
  FinishGoroutine(g);
}

namespace {

void ResetRun(uptr begin, uptr end, void*) { ResetShadowRange(begin, end - begin); }

void ResetShadow(uptr p, uptr size) {
  if (size < kPageMapResetBytes) {
    ResetShadowRange(p, size);
    return;
  }
  ForEachWrittenShadowRun(p, size, ResetRun, nullptr);
}

}  // namespace

void OnMalloc(uptr p, uptr size) { ResetShadow(p, size); }

void OnFree(uptr p, uptr size) {
  ResetShadow(p, size);
  RemoveSyncVars(p, p + size);
}

int FinalizeRuntime() {
  if (g_options.atexit_sleep_ms > 0 && LiveGoroutineCount() > 1) {
    SleepMilliseconds(static_cast<u64>(g_options.atexit_sleep_ms));
  }
  // A goroutine may be writing a report right now (os.Exit from another
  // goroutine): the summary waits for it, so the count and the exit status
  // include every report printed.
  u64 races = PrintRaceSummary();
  // After "Found N data race(s)", as the official runtime prints it.
  if (g_options.print_suppressions) PrintMatchedSuppressions();
  return races > 0 ? static_cast<int>(g_options.exitcode) : 0;
}

}  // namespace racert
