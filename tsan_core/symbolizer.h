// How the core turns program counters into source locations. The core does
// not know how; the embedding (go_api) installs a function that does.
#pragma once

#include "base/types.h"

namespace racert {

struct CodeFrame {
  const char* function;
  const char* file;
  uptr line;
  uptr offset;  // from the entry of the physical function
};

// Expands one recorded pc (a return address, or a function entry + 1) into
// source frames, innermost first. Returns how many frames were written.
using SymbolizeCodeFn = uptr (*)(uptr pc, CodeFrame* frames, uptr max_frames);

void SetCodeSymbolizer(SymbolizeCodeFn fn);
uptr SymbolizeCode(uptr pc, CodeFrame* frames, uptr max_frames);

}  // namespace racert
