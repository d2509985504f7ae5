// How racert_unit_tests starts the runtime: through the core's own API, with
// the default options. This binary links no go_api code, so the core, shadow
// and base tests run without the entry points or GORACE parsing.
#include "tests/unit/core_test_support.h"

#include "shadow/shadow_map.h"
#include "tsan_core/runtime.h"
#include "tsan_core/runtime_options.h"

namespace racert::core_test {

void StartRuntimeForTests(TestRuntime* runtime) {
  SetDefaultOptions(&g_options);
  // The client's heap, as go_api names Go's: the fake heap lies inside it.
  SetHeapLayout(HeapLayout{kFakeHeapBase, kFakeHeapBase + (uptr{32} << 30), uptr{64} << 20});
  runtime->init_context = InitializeRuntime();
  runtime->proc = nullptr;  // procs are a go_api notion; the core has none
}

}  // namespace racert::core_test
