#include "tsan_core/goroutine_registry.h"

#include <atomic>

#include "base/internal_alloc.h"
#include "base/spin_mutex.h"

namespace racert {
namespace {

// Finished goroutines keep their history up to this many bytes in total.
constexpr uptr kRetainedHistoryBudget = kHistoryBudgetUnit;  // not scaled by history_size

struct Registry {
  SpinMutex mutex;
  GoroutineState* live_head;   // intrusive list through prev_live/next_live
  u64 live_count;
  // Ring of finished goroutines, oldest at `finished_head`.
  GoroutineState* finished[kRetainedFinished];
  u32 finished_head;
  u32 finished_count;
  uptr finished_history_bytes;
  std::atomic<u64> next_number;  // the init context gets 0, the main goroutine 1
};
constinit Registry registry{};

void Unlink(GoroutineState* g) {
  if (g->prev_live) g->prev_live->next_live = g->next_live; else registry.live_head = g->next_live;
  if (g->next_live) g->next_live->prev_live = g->prev_live;
  g->prev_live = g->next_live = nullptr;
}

void Destroy(GoroutineState* g) {
  g->history.Clear();
  InternalDelete(g);
}

// Frees the oldest retained finished goroutine. Registry lock held.
void RetireOldestLocked() {
  GoroutineState* g = registry.finished[registry.finished_head];
  registry.finished[registry.finished_head] = nullptr;
  registry.finished_head = (registry.finished_head + 1) % kRetainedFinished;
  registry.finished_count--;
  registry.finished_history_bytes -= g->history.MemoryBytes();
  Destroy(g);
}

}  // namespace

GoroutineState* CreateGoroutine() {
  GoroutineState* g = InternalNew<GoroutineState>();
  g->sid = kNoSid;
  g->clock_data = g->clock.data();
  g->number = registry.next_number.fetch_add(1, std::memory_order_relaxed);
  SpinMutexLock lock(&registry.mutex);
  g->next_live = registry.live_head;
  if (registry.live_head) registry.live_head->prev_live = g;
  registry.live_head = g;
  registry.live_count++;
  return g;
}

void FinishGoroutine(GoroutineState* g) {
  g->call_stack.Reset();
  SpinMutexLock lock(&registry.mutex);
  Unlink(g);
  registry.live_count--;
  uptr history_bytes = g->history.MemoryBytes();
  while (registry.finished_count > 0 &&
         (registry.finished_count == kRetainedFinished ||
          registry.finished_history_bytes + history_bytes > kRetainedHistoryBudget)) {
    RetireOldestLocked();
  }
  registry.finished[(registry.finished_head + registry.finished_count) % kRetainedFinished] = g;
  registry.finished_count++;
  registry.finished_history_bytes += history_bytes;
}

u64 LiveGoroutineCount() {
  SpinMutexLock lock(&registry.mutex);
  return registry.live_count;
}

bool WithGoroutine(u64 number, void (*fn)(const GoroutineLookup&, void*), void* arg) {
  SpinMutexLock lock(&registry.mutex);
  for (GoroutineState* g = registry.live_head; g; g = g->next_live) {
    if (g->number == number) {
      fn(GoroutineLookup{g, false}, arg);
      return true;
    }
  }
  for (u32 i = 0; i < registry.finished_count; i++) {
    GoroutineState* g = registry.finished[(registry.finished_head + i) % kRetainedFinished];
    if (g->number == number) {
      fn(GoroutineLookup{g, true}, arg);
      return true;
    }
  }
  return false;
}

}  // namespace racert
