// The goroutines the runtime knows: every live goroutine's state, plus a
// record of each recently finished one (its number, starter, creation stack
// and history: what a report needs to name it and restore the stack of its
// racing access). A finished goroutine's state, clock included, is freed at
// once; only the record is kept.
//
// Bounded by design: records are retired oldest first (see the constants
// below). Nothing here grows with the number of goroutines ever created.
#pragma once

#include "base/types.h"
#include "tsan_core/goroutine.h"

namespace racert {

// Which finished goroutines keep their record (not scaled by history_size):
//   - the last kRetainedRecent, within kRetainedRecentBudget bytes of records
//     and history (what whole states were kept for before records existed:
//     goroutines with large histories keep that depth);
//   - beyond those, more (up to kRetainedFinished in all) while all of them
//     together fit in kRetainedBudget: short goroutines, with little history,
//     are kept by the thousand at little memory. A server's request
//     goroutines (4-8 KiB of history each) keep about the last thousand
//     either way.
constexpr unsigned kRetainedFinished = 16384;
constexpr unsigned kRetainedRecent = 1024;
constexpr uptr kRetainedRecentBudget = kHistoryBudgetUnit;
constexpr uptr kRetainedBudget = kHistoryBudgetUnit / 8;
static_assert(kRetainedRecent <= kRetainedFinished && kRetainedBudget <= kRetainedRecentBudget,
              "the recent tier is the deeper one in bytes and the smaller in count");

// Creates a zeroed goroutine state with the next report number.
GoroutineState* CreateGoroutine();
// Marks g finished: it keeps its history for a while and is freed later.
void FinishGoroutine(GoroutineState* g);

u64 LiveGoroutineCount();

// Calls fn(g, arg) for every live goroutine (created and not yet finished),
// with the registry locked: no goroutine is created or finishes meanwhile.
// The registry lock comes after every other core lock (a reset walks the
// goroutines holding the pool and slot mutexes), so fn must take none.
void ForEachLiveGoroutine(void (*fn)(const GoroutineState* g, void* arg), void* arg);

// Looks up a goroutine by report number among live and retained finished
// ones and calls fn with the registry locked (so the state cannot be freed
// meanwhile). Returns false if it is unknown.
struct GoroutineLookup {
  const History* history;
  u64 parent_number;
  u32 creation_stack;
  bool finished;
};
bool WithGoroutine(u64 number, void (*fn)(const GoroutineLookup&, void*), void* arg);

}  // namespace racert
