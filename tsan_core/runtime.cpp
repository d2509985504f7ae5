#include "tsan_core/runtime.h"

#include "base/format.h"
#include "base/stack_store.h"
#include "base/syscalls.h"
#include "tsan_core/goroutine_registry.h"
#include "tsan_core/memory_access.h"
#include "tsan_core/race_report.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/slot_pool.h"
#include "tsan_core/sync_ops.h"
#include "tsan_core/sync_table.h"

namespace racert {

GoroutineState* InitializeRuntime() {
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

void OnMalloc(uptr p, uptr size) { ResetShadowRange(p, size); }

void OnFree(uptr p, uptr size) {
  ResetShadowRange(p, size);
  RemoveSyncVars(p, p + size);
}

int FinalizeRuntime() {
  if (g_options.atexit_sleep_ms > 0 && LiveGoroutineCount() > 1) {
    SleepMilliseconds(static_cast<u64>(g_options.atexit_sleep_ms));
  }
  u64 races = ReportCount();
  if (races > 0) {
    char line[64];
    uptr n = Format(line, sizeof(line), "Found %llu data race(s)\n", static_cast<unsigned long long>(races));
    WriteReportText(line, n);
  }
  // After "Found N data race(s)", as the official runtime prints it.
  if (g_options.print_suppressions) PrintMatchedSuppressions();
  return races > 0 ? static_cast<int>(g_options.exitcode) : 0;
}

}  // namespace racert
