#include "tsan_core/symbolizer.h"

namespace racert {
namespace {
SymbolizeCodeFn code_symbolizer;
}  // namespace

void SetCodeSymbolizer(SymbolizeCodeFn fn) { code_symbolizer = fn; }

uptr SymbolizeCode(uptr pc, CodeFrame* frames, uptr max_frames) {
  if (code_symbolizer && max_frames > 0) return code_symbolizer(pc, frames, max_frames);
  // Without a symbolizer, show the raw pc so the report is still useful.
  if (max_frames == 0) return 0;
  frames[0] = CodeFrame{"??", "-", 0, pc};
  return 1;
}

}  // namespace racert
