// How racert_unit_tests starts the runtime: through the core's own API, with
// the default options. This binary links no go_api code, so the core, shadow
// and base tests run without the entry points or GORACE parsing.
#include "tests/unit/core_test_support.h"

#include "tsan_core/runtime.h"
#include "tsan_core/runtime_options.h"

namespace racert::core_test {

void StartRuntimeForTests(TestRuntime* runtime) {
  SetDefaultOptions(&g_options);
  SetHeapLayout(kTestHeapLayout);
  runtime->init_context = InitializeRuntime();
  runtime->proc = nullptr;  // procs are a go_api notion; the core has none
}

}  // namespace racert::core_test
