#include "tsan_core/goroutine_registry.h"

#include <atomic>

#include "base/check.h"
#include "base/internal_alloc.h"
#include "base/spin_mutex.h"

namespace racert {
namespace {

struct FinishedGoroutine {
  u64 number;
  u64 parent_number;
  u32 creation_stack;
  History history;
};
// The README states the record's size (about 150 bytes).
static_assert(sizeof(FinishedGoroutine) <= 160, "a finished goroutine's record must stay small");

uptr RetainedBytes(const FinishedGoroutine* f) { return sizeof(FinishedGoroutine) + f->history.MemoryBytes(); }

struct Registry {
  SpinMutex mutex;
  GoroutineState* live_head;   // intrusive list through prev_live/next_live
  u64 live_count;
  // Ring of finished goroutines' records, oldest at `finished_head`.
  FinishedGoroutine* finished[kRetainedFinished];
  u32 finished_head;
  u32 finished_count;
  uptr finished_bytes;  // RetainedBytes of every record in the ring
  std::atomic<u64> next_number;  // the init context gets 0, the main goroutine 1
};
constinit Registry registry{};

void Unlink(GoroutineState* g) {
  if (g->prev_live) g->prev_live->next_live = g->next_live; else registry.live_head = g->next_live;
  if (g->next_live) g->next_live->prev_live = g->prev_live;
  g->prev_live = g->next_live = nullptr;
}

// Frees the oldest finished goroutine's record. Registry lock held.
void RetireOldestLocked() {
  RACERT_DCHECK(registry.mutex.IsLocked());
  FinishedGoroutine* f = registry.finished[registry.finished_head];
  registry.finished[registry.finished_head] = nullptr;
  registry.finished_head = (registry.finished_head + 1) % kRetainedFinished;
  registry.finished_count--;
  registry.finished_bytes -= RetainedBytes(f);
  f->history.Clear();
  InternalDelete(f);
}

// Whether the oldest record must go before a new one of `bytes` is kept
// (goroutine_registry.h: the two tiers). Registry lock held.
bool MustRetireBefore(uptr bytes) {
  RACERT_DCHECK(registry.mutex.IsLocked());
  u32 count_after = registry.finished_count + 1;
  uptr bytes_after = registry.finished_bytes + bytes;
  if (count_after > kRetainedFinished || bytes_after > kRetainedRecentBudget) return true;
  return count_after > kRetainedRecent && bytes_after > kRetainedBudget;
}

}  // namespace

GoroutineState* CreateGoroutine() {
  GoroutineState* g = InternalNew<GoroutineState>();
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
  FinishedGoroutine* f = InternalNew<FinishedGoroutine>();
  f->number = g->number;
  f->parent_number = g->parent_number;
  f->creation_stack = g->creation_stack;
  g->call_stack.Reset();
  {
    SpinMutexLock lock(&registry.mutex);
    Unlink(g);
    registry.live_count--;
    // Under the lock: a report may be restoring from g's history right now.
    f->history.TakeEventsOf(&g->history);
    uptr bytes = RetainedBytes(f);
    while (registry.finished_count > 0 && MustRetireBefore(bytes)) RetireOldestLocked();
    registry.finished[(registry.finished_head + registry.finished_count) % kRetainedFinished] = f;
    registry.finished_count++;
    registry.finished_bytes += bytes;
  }
  InternalDelete(g);
}

u64 LiveGoroutineCount() {
  SpinMutexLock lock(&registry.mutex);
  return registry.live_count;
}

void ForEachLiveGoroutine(void (*fn)(const GoroutineState* g, void* arg), void* arg) {
  SpinMutexLock lock(&registry.mutex);
  for (GoroutineState* g = registry.live_head; g; g = g->next_live) fn(g, arg);
}

bool WithGoroutine(u64 number, void (*fn)(const GoroutineLookup&, void*), void* arg) {
  SpinMutexLock lock(&registry.mutex);
  for (GoroutineState* g = registry.live_head; g; g = g->next_live) {
    if (g->number == number) {
      fn(GoroutineLookup{&g->history, g->parent_number, g->creation_stack, false}, arg);
      return true;
    }
  }
  for (u32 i = 0; i < registry.finished_count; i++) {
    const FinishedGoroutine* f = registry.finished[(registry.finished_head + i) % kRetainedFinished];
    if (f->number == number) {
      fn(GoroutineLookup{&f->history, f->parent_number, f->creation_stack, true}, arg);
      return true;
    }
  }
  return false;
}

}  // namespace racert
