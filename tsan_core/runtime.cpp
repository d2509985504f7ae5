#include "tsan_core/runtime.h"

#include "base/fatal.h"
#include "base/format.h"
#include "base/memory_map.h"
#include "base/stack_store.h"
#include "base/syscalls.h"
#include "shadow/cell_set.h"
#include "shadow/shadow_map.h"
#include "tsan_core/goroutine_registry.h"
#include "tsan_core/memory_access.h"
#include "tsan_core/race_report.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/slot_pool.h"
#include "tsan_core/sync_table.h"

namespace racert {
namespace {

constexpr uptr kGiB = uptr{1} << 30;
// What the Go runtime itself needs besides racert's reservations (its heap
// arena index, page summaries, stacks, the binary): about 1 GiB; the rest is
// headroom for the program's heap.
constexpr uptr kGoRuntimeAllowance = 4 * kGiB;

// Checked at start, before the first shadow is mapped: racert reserves its big
// ranges with MAP_NORESERVE, which costs no memory but counts against
// RLIMIT_AS in full. Failing here, with the whole bill, beats failing on the
// first reservation that no longer fits, possibly deep into the run.
void CheckAddressSpaceLimit() {
  u64 limit = SysAddressSpaceLimit();
  if (limit == ~u64{0}) return;
  const uptr heap_shadow = 3 * (kGoHeapWindowEnd - kGoHeapWindowBegin);
  const uptr cell_sets = CellSetArenaReservation();
  const uptr sync_table = SyncTableReservation();
  const uptr need = heap_shadow + cell_sets + sync_table + kGoRuntimeAllowance;
  if (limit >= need) return;
  Fatal("the address-space limit (ulimit -v) is %zu KiB (%zu MiB), less than the %zu GiB of address space racert "
        "reserves: %zu GiB of shadow memory for Go's heap window [0x%zx, 0x%zx), %zu GiB of shadow cell sets, "
        "%zu GiB for the sync object table, plus %zu GiB for the Go runtime (reserved pages cost memory only where "
        "touched); raise the limit to at least %zu KiB, e.g. with ulimit -v unlimited",
        static_cast<uptr>(limit / 1024), static_cast<uptr>(limit >> 20), need / kGiB, heap_shadow / kGiB,
        kGoHeapWindowBegin, kGoHeapWindowEnd, cell_sets / kGiB, RoundUp(sync_table, kGiB) / kGiB,
        kGoRuntimeAllowance / kGiB, need / 1024);
}

}  // namespace

GoroutineState* InitializeRuntime() {
  CheckAddressSpaceLimit();
  g_access_options.report_atomic_races = g_options.report_atomic_races;
  History::Configure(g_options.history_size);
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
    if (parent->ignore_sync_depth == 0) {
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

void OnMalloc(uptr p, uptr size) { ResetShadowRange(p, size); }

void OnFree(uptr p, uptr size) {
  ResetShadowRange(p, size);
  RemoveSyncVars(p, p + size);
}

int FinalizeRuntime() {
  if (g_options.atexit_sleep_ms > 0 && LiveGoroutineCount() > 1) {
    SleepMilliseconds(static_cast<u64>(g_options.atexit_sleep_ms));
  }
  // A goroutine may be writing a report right now (os.Exit from another
  // goroutine): the summary waits for it, so the count and the exit status
  // include every report printed.
  if (PrintRaceSummary() == 0) return 0;
  return static_cast<int>(g_options.exitcode);
}

}  // namespace racert
