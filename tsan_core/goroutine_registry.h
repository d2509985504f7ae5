// The set of goroutine states the runtime knows: every live goroutine, plus
// a bounded number of recently finished ones whose history may still be
// needed to restore the stack of a racing access.
//
// Bounded by design: finished goroutines are retired oldest first once more
// than kRetainedFinished are kept or their history exceeds a byte budget.
// Nothing here grows with the number of goroutines ever created.
#pragma once

#include "base/types.h"
#include "tsan_core/goroutine.h"

namespace racert {

constexpr unsigned kRetainedFinished = 1024;

// Creates a zeroed goroutine state with the next report number.
GoroutineState* CreateGoroutine();
// Marks g finished: it keeps its history for a while and is freed later.
void FinishGoroutine(GoroutineState* g);

u64 LiveGoroutineCount();

// Looks up a goroutine by report number among live and retained finished
// ones and calls fn with the registry locked (so the state cannot be freed
// meanwhile). Returns false if it is unknown.
struct GoroutineLookup {
  GoroutineState* state;
  bool finished;
};
bool WithGoroutine(u64 number, void (*fn)(const GoroutineLookup&, void*), void* arg);

}  // namespace racert
