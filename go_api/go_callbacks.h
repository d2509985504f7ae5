// Calls from the object back into Go, through the function Go handed to
// __tsan_init (runtime.racecallbackthunk).
//
// Symbolization is only safe while the current entry point was called from a
// user goroutine (not from g0 code such as newproc or the sweeper): the thunk
// switches Go's TLS g and restores m->curg afterwards. Race reports only
// happen in memory accesses, which Go makes from goroutines.
#pragma once

#include "go_api/go_abi.h"
#include "tsan_core/symbolizer.h"

namespace racert::go_api {

void SetGoCallback(go_abi::Callback callback);

// SymbolizeCodeFn for the core: one recorded pc -> its frames, innermost first.
uptr SymbolizeGoCode(uptr pc, CodeFrame* frames, uptr max_frames);

}  // namespace racert::go_api
