// The goroutines the runtime knows: every live goroutine's state, plus a
// record of each recently finished one (its number, starter, creation stack
// and history: what a report needs to name it and restore the stack of its
// racing access). A finished goroutine's state, clock included, is freed at
// once; only the record is kept.
//
// Bounded by design: records are retired oldest first once more than
// kRetainedFinished are kept or they and their history exceed a byte
// budget. Nothing here grows with the number of goroutines ever created.
#pragma once

#include "base/types.h"
#include "tsan_core/goroutine.h"

namespace racert {

constexpr unsigned kRetainedFinished = 16384;
// Finished goroutines' records and their history together are kept up to
// this many bytes (not scaled by history_size). An eighth of the live
// goroutines' default budget: a server's short request goroutines, 4-8 KiB of
// history each, keep about the last thousand, and their memory stays what it
// was when whole states were kept for the last 1,024; goroutines with little
// history are kept up to kRetainedFinished.
constexpr uptr kRetainedHistoryBudget = kHistoryBudgetUnit / 8;

// Creates a zeroed goroutine state with the next report number.
GoroutineState* CreateGoroutine();
// Marks g finished: it keeps its history for a while and is freed later.
void FinishGoroutine(GoroutineState* g);

u64 LiveGoroutineCount();

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
