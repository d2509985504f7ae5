// The floor object: every entry point Go calls, and no race detection at all.
//
// It exists only to measure what Go's -race instrumentation costs by itself
// (each access switches to the g0 stack and calls into the object). The
// benchmark runner subtracts this floor from a detector's time to get the
// detector's real cost. Never ship it: it finds nothing.
//
// Only the atomics do real work, because in race builds sync/atomic relies on
// the object to perform the operation.
#include <stdlib.h>

#include "go_api/atomic_hw.h"

using namespace racert;
using namespace racert::go_abi;

namespace {
// Go treats 0 as "no context" and retries proc creation on 0, so hand out the
// address of a dummy byte as every context.
char dummy_context;
void* DummyContext() { return &dummy_context; }
}  // namespace

RACERT_EXPORT void __tsan_init(void** thr, void** proc, Callback) {
  *thr = DummyContext();
  *proc = DummyContext();
}
RACERT_EXPORT void __tsan_fini() { exit(0); }
RACERT_EXPORT void __tsan_map_shadow(uptr, uptr) {}
RACERT_EXPORT void __tsan_proc_create(void** proc) { *proc = DummyContext(); }
RACERT_EXPORT void __tsan_proc_destroy(void*) {}
RACERT_EXPORT void __tsan_go_start(void*, void** thr, void*) { *thr = DummyContext(); }
RACERT_EXPORT void __tsan_go_end(void*) {}
RACERT_EXPORT void __tsan_finalizer_goroutine(void*) {}
RACERT_EXPORT void __tsan_malloc(void*, uptr, uptr, uptr) {}
RACERT_EXPORT void __tsan_free(uptr, uptr) {}
RACERT_EXPORT void __tsan_read(void*, uptr, uptr) {}
RACERT_EXPORT void __tsan_write(void*, uptr, uptr) {}
RACERT_EXPORT void __tsan_read_pc(void*, uptr, uptr, uptr) {}
RACERT_EXPORT void __tsan_write_pc(void*, uptr, uptr, uptr) {}
RACERT_EXPORT void __tsan_read_range(void*, uptr, uptr, uptr) {}
RACERT_EXPORT void __tsan_write_range(void*, uptr, uptr, uptr) {}
RACERT_EXPORT void __tsan_func_enter(void*, uptr) {}
RACERT_EXPORT void __tsan_func_exit(void*) {}
RACERT_EXPORT void __tsan_acquire(void*, void*) {}
RACERT_EXPORT void __tsan_release(void*, void*) {}
RACERT_EXPORT void __tsan_release_merge(void*, void*) {}
RACERT_EXPORT void __tsan_release_acquire(void*, void*) {}
RACERT_EXPORT void __tsan_go_ignore_sync_begin(void*) {}
RACERT_EXPORT void __tsan_go_ignore_sync_end(void*) {}
RACERT_EXPORT void __tsan_report_count(u64* count) { *count = 0; }

#define RACERT_DEFINE_FLOOR_ATOMIC(name, type, op) \
  RACERT_EXPORT void name(void*, uptr, uptr, u8* args) { PerformAtomic<type, AtomicOp::op>(AtomicFrame{args}); }
RACERT_FOR_EACH_GO_ATOMIC(RACERT_DEFINE_FLOOR_ATOMIC)
