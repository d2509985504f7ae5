// How racert_go_api_tests starts the runtime: through __tsan_init, as Go
// does, with FakeGoCallback standing in for Go's callback; and that callback.
#include "tests/unit/go_api_test_support.h"

#include <stdlib.h>

#include <atomic>

#include "go_api/go_abi.h"

extern "C" void __tsan_init(void** thr, void** proc, racert::go_abi::Callback callback);

namespace racert::core_test {
namespace {

std::atomic<u64> callback_symbolize_code;
std::atomic<u64> callback_unexpected;

}  // namespace

void StartRuntimeForTests(TestRuntime* runtime) {
  // GORACE from the environment would change the options under test.
  unsetenv("GORACE");
  __tsan_init(reinterpret_cast<void**>(&runtime->init_context), &runtime->proc, FakeGoCallback);
}

void FakeGoCallback(uptr command, void* context) {
  if (command != go_abi::kSymbolizeCode) {
    callback_unexpected++;
    return;
  }
  callback_symbolize_code++;
  auto* ctx = static_cast<go_abi::SymbolizeCodeContext*>(context);
  uptr q = ctx->pc;
  if (q >= kFakeInlinedBegin && q < kFakeInlinedEnd) {
    ctx->func = Interned(Hex("inl_", q));
    ctx->file = "inline.go";
    ctx->line = q & 0xffff;
    ctx->offset = q & 0xff;
    ctx->pc = q + kFakeInlinedCallerDelta;
  } else {
    ctx->func = Interned(Hex("gofn_", q));
    ctx->file = "go_file.go";
    ctx->line = q & 0xffff;
    ctx->offset = 0x2a;
  }
  ctx->resolved = 1;
}

GoCallbackCounts GoCallbackCountsSoFar() { return GoCallbackCounts{callback_symbolize_code.load(), callback_unexpected.load()}; }

}  // namespace racert::core_test
