// What the go_api tests add to core_test_support.h: the runtime is started
// through __tsan_init, with FakeGoCallback as Go's callback.
#pragma once

#include "tests/unit/core_test_support.h"

namespace racert::core_test {

// The callback handed to __tsan_init, standing in for runtime.racecallbackthunk.
// Command 1 (symbolize code) answers like Go does (docs/go-race-abi-notes.md §12) for a
// made-up program:
//   - a pc q in [kFakeInlinedBegin, kFakeInlinedEnd) is an inlined call: the
//     frame is "inl_<hex q>" at inline.go:<q & 0xffff> +0x<q & 0xff>, and
//     ctx.pc becomes q + kFakeInlinedCallerDelta (the logical caller's pc in
//     the same physical function, outside that range);
//   - any other q is a physical frame "gofn_<hex q>" at
//     go_file.go:<q & 0xffff> +0x2a, ctx.pc left unchanged.
// Every other command is counted as unexpected (the core must not make it).
constexpr uptr kFakeInlinedBegin = uptr{0x7000000};
constexpr uptr kFakeInlinedEnd = uptr{0x7100000};
constexpr uptr kFakeInlinedCallerDelta = uptr{0x200000};
void FakeGoCallback(uptr command, void* context);
struct GoCallbackCounts {
  u64 symbolize_code;
  u64 unexpected;
};
GoCallbackCounts GoCallbackCountsSoFar();

}  // namespace racert::core_test
