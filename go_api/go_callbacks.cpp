#include "go_api/go_callbacks.h"

namespace racert::go_api {

using go_abi::SymbolizeCodeContext;

namespace {
go_abi::Callback go_callback;
}  // namespace

void SetGoCallback(go_abi::Callback callback) { go_callback = callback; }

uptr SymbolizeGoCode(uptr pc, CodeFrame* frames, uptr max_frames) {
  if (!go_callback || max_frames == 0) return 0;
  // Recorded pcs are return addresses or entry+1; pc-1 lands inside the call
  // instruction (or on the entry). Go then walks inlined frames: each answer
  // may name the logical caller's pc inside the same physical function.
  uptr query = pc - 1;
  uptr n = 0;
  while (n < max_frames) {
    SymbolizeCodeContext context{};
    context.pc = query;
    go_callback(go_abi::kSymbolizeCode, &context);
    if (!context.resolved) {
      frames[n++] = CodeFrame{"??", "-", 0, pc};
      break;
    }
    frames[n++] = CodeFrame{context.func, context.file, context.line, context.offset};
    if (context.pc == query) break;
    query = context.pc;
  }
  return n;
}

}  // namespace racert::go_api
