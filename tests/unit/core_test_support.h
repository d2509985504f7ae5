// Shared fixture for the detection-core unit tests (tests/unit/core_*_test.cpp)
// and the entry point tests (go_api_entry_points_test.cpp).
//
// The tests play the part of Go's scheduler: they create simulated goroutines
// and call the core exactly as the entry points would, one step at a time, so
// every interleaving is chosen by the test and the outcome is deterministic.
//
// The core keeps process-global state, so there is one runtime per process:
// Runtime() initializes it on first use through StartRuntimeForTests, which
// each test binary defines once: racert_unit_tests through the core's own
// InitializeRuntime with default options (the binary links no go_api code, so
// the core is tested alone), racert_go_api_tests through __tsan_init (the path
// Go takes, with GORACE unset and a fake Go callback). Then Runtime()
//   - maps shadow for a fake application range inside Go's heap window
//     (kFakeHeapBase, kFakeHeapSize); the core never dereferences application
//     memory except in atomics, so these addresses need not be real memory,
//   - installs FakeSymbolize as the code symbolizer (pc -> "fn_<hex pc>",
//     "file.go", line pc & 0xffff, offset 0),
//   - redirects race reports into an in-memory file that the tests read back,
//   - starts the main goroutine (report number 1) from the init context.
// Other test files that need the runtime must use Runtime() too, never
// initialize the runtime themselves (a second init would start a second
// "main").
//
// Isolation between tests sharing the process: every address handed out by
// CoreTest::Alloc is fresh, every pc from NewPc() is unique (so no two reports
// have equal stacks and suppress_equal_stacks never hides one), and every test
// gets its own root goroutine, started by main, from which its goroutines
// descend. Goroutines a test leaves running are ended in TearDown. Slots are
// process-wide too: a test that needs the pool in a known state counts the
// unowned slots (UnownedSlotCountForTesting) instead of assuming never-used
// ones, so the whole binary can run in one process, in any order.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/types.h"
#include "shadow/shadow_map.h"
#include "tsan_core/goroutine.h"
#include "tsan_core/memory_access.h"
#include "tsan_core/race_report.h"
#include "tsan_core/runtime.h"
#include "tsan_core/symbolizer.h"
#include "tsan_core/sync_ops.h"

namespace racert::core_test {

constexpr uptr kFakeHeapBase = uptr{0xc000000000};
// Room for the whole binary run in one process, even a few times over
// (--gtest_repeat): every Alloc is fresh, and each large-reset test takes
// more than kPageMapResetBytes. Only address space: shadow pages are
// committed when touched.
constexpr uptr kFakeHeapSize = uptr{4} << 30;
// Real, readable and writable memory (for atomics), inside the shadowed range.
constexpr uptr kRealMemorySize = uptr{1} << 20;
constexpr uptr kRealMemoryBase = kFakeHeapBase + kFakeHeapSize - kRealMemorySize;
// The heap window the tests name to the shadow layer, as go_api names Go's:
// the fake heap lies inside it.
constexpr HeapLayout kTestHeapLayout{kFakeHeapBase, kFakeHeapBase + (uptr{32} << 30), uptr{64} << 20};
static_assert(kTestHeapLayout.InWindow(kFakeHeapBase, kFakeHeapBase + kFakeHeapSize));

struct TestRuntime {
  GoroutineState* init_context;  // report number 0
  GoroutineState* main_goroutine;  // report number 1
  void* proc;  // what __tsan_init handed out; null when started through the core
  int report_fd;
};

// Starts the runtime and sets init_context (and proc, where there is one).
// Defined once per test binary (see above).
void StartRuntimeForTests(TestRuntime* runtime);

// Initializes the runtime once per process (see above) and returns it.
TestRuntime& Runtime();

// `name` kept for the process lifetime, as Go's pclntab strings are: what the
// fake symbolizers hand out.
const char* Interned(const std::string& name);
// `prefix` followed by `value` in lower-case hex, no "0x".
std::string Hex(const char* prefix, uptr value);

// A program counter never returned before in this process. Lines derived
// from it (pc & 0xffff) are never 0.
uptr NewPc();

// What FakeSymbolize prints for `pc`: "fn_<hex pc>", and the full frame text
// "  fn_<hex>()\n      file.go:<pc & 0xffff> +0x0\n".
std::string FakeFunctionName(uptr pc);
std::string FakeFrameText(uptr pc);

// The code symbolizer the fixture installs (tsan_core/symbolizer.h signature).
uptr FakeSymbolize(uptr pc, CodeFrame* frames, uptr max_frames);

// Report text written since the last call (by any test in this process).
std::string TakeReportText();

// Number of non-overlapping occurrences of `needle` in `text`.
size_t CountOccurrences(const std::string& text, const std::string& needle);

// "0x%012x" as Go prints addresses in reports.
std::string GoAddress(uptr addr);
// The heading of a report's previous access: "Previous <kind> at <addr> by
// goroutine <g's number>:", kind "read" or "write".
std::string PreviousAccessHeading(const char* kind, uptr addr, const GoroutineState* g);

class CoreTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  GoroutineState* Main() { return Runtime().main_goroutine; }
  // This test's root goroutine: started by main in SetUp.
  GoroutineState* Root() { return root_; }

  // A new goroutine started by `parent` (at a fresh pc unless given).
  GoroutineState* Go(GoroutineState* parent);
  GoroutineState* GoAt(GoroutineState* parent, uptr pc);
  // Ends g (go_end). Each goroutine may be ended once.
  void End(GoroutineState* g);

  // `size` fresh bytes of fake application memory, `align`-aligned, with a
  // guard gap so no two allocations share a shadow word.
  uptr Alloc(uptr size, uptr align = 8);
  // `size` fresh bytes of real memory (readable and writable, zeroed).
  uptr AllocReal(uptr size, uptr align = 8);

  // Plain 1-byte accesses at a fresh pc.
  void Write(GoroutineState* g, uptr addr);
  void Read(GoroutineState* g, uptr addr);

  // Reports printed since the previous call (or since SetUp).
  u64 TakeRaces();
  // Report text printed since the previous call (or since SetUp).
  std::string TakeReports() { return TakeReportText(); }

 private:
  GoroutineState* root_ = nullptr;
  std::vector<GoroutineState*> running_;
  u64 race_baseline_ = 0;
};

}  // namespace racert::core_test
