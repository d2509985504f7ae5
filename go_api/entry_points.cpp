// The extern "C" functions Go's runtime calls (runtime/race.go,
// runtime/race_amd64.s). A thin adapter: decode Go's arguments, call the
// core. The goroutine context Go stores in g.racectx is a GoroutineState*.
//
// Calling contexts differ per entry point (docs/go-race-abi-notes.md §10.1): only memory
// accesses, sync operations and atomics run on behalf of a user goroutine;
// malloc/free/go_start/proc_* may run on g0 and must never call back into Go.
#include <stdlib.h>

#include "go_api/atomic_hw.h"
#include "go_api/go_callbacks.h"
#include "go_api/gorace_flags.h"
#include "shadow/shadow_map.h"
#include "tsan_core/atomic_ops.h"
#include "tsan_core/memory_access.h"
#include "tsan_core/race_report.h"
#include "tsan_core/runtime.h"
#include "tsan_core/sync_ops.h"

using namespace racert;
using namespace racert::go_abi;

namespace {

// Go needs a non-null proc handle per P, but racert keeps no per-P state.
char proc_handle;

RACERT_ALWAYS_INLINE GoroutineState* G(void* thr) { return static_cast<GoroutineState*>(thr); }

}  // namespace

// ---- Lifecycle -------------------------------------------------------------

RACERT_EXPORT void __tsan_init(void** thr, void** proc, Callback callback) {
  go_api::SetGoCallback(callback);
  SetHeapLayout(HeapLayout{go_abi::kRaceHeapWindowBegin, go_abi::kRaceHeapWindowEnd, go_abi::kHeapArenaBytes});
  SetClientAddressSpace(ClientAddressSpace{.runtime_reserve = go_abi::kRuntimeReserveBytes,
                                           .start_minimum = go_abi::kStartMinimumBytes,
                                           .start_warning = go_abi::kStartWarningBytes,
                                           .heap_warning = go_abi::kHeapWarningBytes,
                                           .runtime_name = go_abi::kRuntimeName,
                                           .start_parts = go_abi::kStartMinimumParts,
                                           .start_estimate = go_abi::kStartEstimate,
                                           .failure_messages = go_abi::kAddressSpaceFailures});
  go_api::ApplyGoraceOrDie();
  SetCodeSymbolizer(go_api::SymbolizeGoCode);
  *thr = InitializeRuntime();
  *proc = &proc_handle;
}

RACERT_EXPORT void __tsan_fini() {
  int status = FinalizeRuntime();
  // libc exit runs C atexit handlers, which is why Go gave up its P first.
  exit(status);
}

RACERT_EXPORT void __tsan_map_shadow(uptr addr, uptr size) { MapShadow(addr, size); }
RACERT_EXPORT void __tsan_proc_create(void** proc) { *proc = &proc_handle; }
RACERT_EXPORT void __tsan_proc_destroy(void*) {}

// ---- Goroutines --------------------------------------------------------------

RACERT_EXPORT void __tsan_go_start(void* parent, void** thr, void* pc) {
  *thr = StartGoroutine(G(parent), reinterpret_cast<uptr>(pc));
}
RACERT_EXPORT void __tsan_go_end(void* thr) { EndGoroutine(G(thr)); }
RACERT_EXPORT void __tsan_finalizer_goroutine(void* thr) { AcquireEverything(G(thr)); }

// ---- Memory lifecycle --------------------------------------------------------

RACERT_EXPORT void __tsan_malloc(void*, uptr, uptr p, uptr size) { OnMalloc(p, size); }
RACERT_EXPORT void __tsan_free(uptr p, uptr size) { OnFree(p, size); }

// ---- Accesses and call stacks ---------------------------------------------------

RACERT_EXPORT void __tsan_read(void* thr, uptr addr, uptr pc) { AccessByte(G(thr), addr, false, pc); }
RACERT_EXPORT void __tsan_write(void* thr, uptr addr, uptr pc) { AccessByte(G(thr), addr, true, pc); }

// The runtime accesses memory on behalf of user code at callpc.
RACERT_EXPORT void __tsan_read_pc(void* thr, uptr addr, uptr callpc, uptr pc) {
  if (callpc) FuncEnter(G(thr), callpc);
  AccessByte(G(thr), addr, false, pc);
  if (callpc) FuncExit(G(thr));
}
RACERT_EXPORT void __tsan_write_pc(void* thr, uptr addr, uptr callpc, uptr pc) {
  if (callpc) FuncEnter(G(thr), callpc);
  AccessByte(G(thr), addr, true, pc);
  if (callpc) FuncExit(G(thr));
}

RACERT_EXPORT void __tsan_read_range(void* thr, uptr addr, uptr size, uptr pc) {
  AccessRange(G(thr), addr, size, false, false, pc);
}
RACERT_EXPORT void __tsan_write_range(void* thr, uptr addr, uptr size, uptr pc) {
  AccessRange(G(thr), addr, size, true, false, pc);
}

RACERT_EXPORT void __tsan_func_enter(void* thr, uptr pc) { FuncEnter(G(thr), pc); }
RACERT_EXPORT void __tsan_func_exit(void* thr) { FuncExit(G(thr)); }

// ---- Synchronization -----------------------------------------------------------

RACERT_EXPORT void __tsan_acquire(void* thr, void* addr) { Acquire(G(thr), reinterpret_cast<uptr>(addr)); }
RACERT_EXPORT void __tsan_release(void* thr, void* addr) { Release(G(thr), reinterpret_cast<uptr>(addr)); }
RACERT_EXPORT void __tsan_release_merge(void* thr, void* addr) { ReleaseMerge(G(thr), reinterpret_cast<uptr>(addr)); }
RACERT_EXPORT void __tsan_release_acquire(void* thr, void* addr) {
  ReleaseAcquire(G(thr), reinterpret_cast<uptr>(addr));
}

RACERT_EXPORT void __tsan_go_ignore_sync_begin(void* thr) { IgnoreSyncBegin(G(thr)); }
RACERT_EXPORT void __tsan_go_ignore_sync_end(void* thr) { IgnoreSyncEnd(G(thr)); }

RACERT_EXPORT void __tsan_report_count(u64* count) { *count = ReportCount(); }

// ---- sync/atomic -----------------------------------------------------------------

namespace {

constexpr AtomicSemantics SemanticsOf(AtomicOp op) {
  switch (op) {
    case AtomicOp::kLoad: return AtomicSemantics::kLoad;
    case AtomicOp::kStore: return AtomicSemantics::kStore;
    case AtomicOp::kCompareExchange: return AtomicSemantics::kCompareExchange;
    default: return AtomicSemantics::kReadModifyWrite;
  }
}

template <typename T, AtomicOp op>
bool RunHardwareOp(void* frame) {
  return PerformAtomic<T, op>(*static_cast<AtomicFrame*>(frame));
}

// cpc is the return address into the sync/atomic function's caller, pc the
// one inside it (tsan_core/atomic_ops.h).
template <typename T, AtomicOp op>
RACERT_ALWAYS_INLINE void GoAtomic(void* thr, uptr cpc, uptr pc, u8* args) {
  AtomicFrame frame{args};
  AtomicCall call{reinterpret_cast<uptr>(frame.Address<T>()), sizeof(T), SemanticsOf(op), RunHardwareOp<T, op>,
                  &frame};
  AtomicOperation(G(thr), call, cpc, pc);
}

}  // namespace

#define RACERT_DEFINE_GO_ATOMIC(name, type, op) \
  RACERT_EXPORT void name(void* thr, uptr cpc, uptr pc, u8* args) { GoAtomic<type, AtomicOp::op>(thr, cpc, pc, args); }
RACERT_FOR_EACH_GO_ATOMIC(RACERT_DEFINE_GO_ATOMIC)
