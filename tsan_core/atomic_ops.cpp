#include "tsan_core/atomic_ops.h"

#include "tsan_core/memory_access.h"
#include "tsan_core/runtime.h"

namespace racert {

void AtomicOperation(GoroutineState* g, const AtomicCall& call, uptr caller_pc, uptr pc) {
  if (IgnoringSync(g)) {
    call.operation(call.operation_arg);
    return;
  }
  const bool writes = call.semantics != AtomicSemantics::kLoad;
  FuncEnter(g, caller_pc);
  if (writes) {
    RecordAccessHistory(g, call.addr, call.size, /*is_write=*/true, /*is_atomic=*/true, pc,
                        /*innermost_in_event=*/true);
  }
  u64 key_before_release = 0;
  AtomicSynchronize(g, call.addr, call.semantics, call.operation, call.operation_arg, &key_before_release);
  u64 key_at_access = writes ? key_before_release : g->atomic_key;
  AtomicAccess(g, call.addr, call.size, writes, pc, key_at_access, /*history_recorded=*/writes);
  FuncExit(g);
}

}  // namespace racert
