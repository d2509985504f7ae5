// The detector's lifecycle and the operations that are neither accesses nor
// happens-before edges: goroutine start/end, call stacks, memory (re)use,
// and the end-of-run summary.
#pragma once

#include "base/types.h"
#include "tsan_core/goroutine.h"

namespace racert {

// Sets up global state and returns the initial context (report number 0).
// Options must be set before.
GoroutineState* InitializeRuntime();

// A new goroutine created by `parent` (may be null) at `pc`: everything the
// parent did so far happens before everything the child does.
GoroutineState* StartGoroutine(GoroutineState* parent, uptr pc);
// g has ended; its state is kept (bounded) for reports about its accesses.
void EndGoroutine(GoroutineState* g);

RACERT_ALWAYS_INLINE void FuncEnter(GoroutineState* g, uptr pc) { g->call_stack.push_back(pc); }
RACERT_ALWAYS_INLINE void FuncExit(GoroutineState* g) {
  // The shadow stack is not balanced (recovered panics skip exits), and
  // must never underflow.
  uptr depth = g->call_stack.size();
  if (RACERT_UNLIKELY(depth == 0)) return;
  g->call_stack.pop_back();
  if (g->stable_depth >= depth) g->stable_depth = depth - 1;
}

// From this size on, OnMalloc and OnFree first ask the kernel which shadow
// pages were ever written (ForEachWrittenShadowRun) and clear only those;
// below it, every shadow word of the range. Measured both ways: a 12 GiB heap
// allocated in 512 MiB pieces took 4.6 s to clear word by word (the official
// object 0.03 s for the whole run; with the page map 0.03 s), while
// range_copy's 32 MiB slices ran 1.39x slower (CPU) with the page map than
// word by word, its kernel time up (spin unlocks, TLB shootdowns) beside the
// other thread's page faults. The bound lies between the two.
constexpr uptr kPageMapResetBytes = uptr{256} << 20;

// Fresh memory ([p, p + size) was just allocated): forget earlier accesses.
void OnMalloc(uptr p, uptr size);
// Freed memory: forget accesses and drop sync objects.
void OnFree(uptr p, uptr size);

// End of run: waits as configured, prints the summary (the race count, then
// the matched suppressions if asked) and returns the exit status the process
// should end with.
int FinalizeRuntime();

}  // namespace racert
