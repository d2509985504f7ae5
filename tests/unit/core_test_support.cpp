#include "tests/unit/core_test_support.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <atomic>
#include <set>
#include <mutex>

#include "shadow/shadow_map.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/symbolizer.h"

namespace racert::core_test {
namespace {

uptr report_read_offset = 0;

TestRuntime* InitializeOnce() {
  auto* runtime = new TestRuntime{};
  StartRuntimeForTests(runtime);
  g_options.atexit_sleep_ms = 0;
  MapShadow(kFakeHeapBase, kFakeHeapSize);
  void* real = mmap(reinterpret_cast<void*>(kRealMemoryBase), kRealMemorySize, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (real != reinterpret_cast<void*>(kRealMemoryBase)) {
    fprintf(stderr, "core_test_support: cannot map real memory at 0x%" PRIxPTR "\n", kRealMemoryBase);
    abort();
  }
  SetCodeSymbolizer(FakeSymbolize);
  runtime->report_fd = memfd_create("racert-core-test-reports", 0);
  if (runtime->report_fd < 0) {
    perror("memfd_create");
    abort();
  }
  SetReportFd(runtime->report_fd);
  runtime->main_goroutine = StartGoroutine(runtime->init_context, NewPc());
  return runtime;
}

}  // namespace

std::string Hex(const char* prefix, uptr value) {
  char text[48];
  snprintf(text, sizeof(text), "%s%" PRIxPTR, prefix, value);
  return text;
}

const char* Interned(const std::string& name) {
  // Set nodes never move, so the strings stay where they are.
  static std::mutex names_mutex;
  static std::set<std::string> names;
  std::lock_guard<std::mutex> lock(names_mutex);
  return names.insert(name).first->c_str();
}

TestRuntime& Runtime() {
  static TestRuntime* runtime = InitializeOnce();
  return *runtime;
}

uptr NewPc() {
  // Spaced by 0x10 and starting at a typical text address; never reused.
  static std::atomic<uptr> next{0x401010};
  uptr pc = next.fetch_add(0x10);
  // Keep the derived line number non-zero (Go skips line-0 frames).
  if ((pc & 0xffff) == 0) pc = next.fetch_add(0x10);
  return pc;
}

std::string FakeFunctionName(uptr pc) { return Hex("fn_", pc); }

std::string FakeFrameText(uptr pc) {
  char text[96];
  snprintf(text, sizeof(text), "  fn_%" PRIxPTR "()\n      file.go:%" PRIuPTR " +0x0\n", pc, pc & 0xffff);
  return text;
}

uptr FakeSymbolize(uptr pc, CodeFrame* frames, uptr max_frames) {
  if (max_frames == 0) return 0;
  frames[0] = CodeFrame{Interned(FakeFunctionName(pc)), "file.go", pc & 0xffff, 0};
  return 1;
}

std::string TakeReportText() {
  int fd = Runtime().report_fd;
  struct stat st;
  if (fstat(fd, &st) != 0) return {};
  std::string text;
  uptr end = static_cast<uptr>(st.st_size);
  if (end > report_read_offset) {
    text.resize(end - report_read_offset);
    ssize_t n = pread(fd, text.data(), text.size(), static_cast<off_t>(report_read_offset));
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    report_read_offset += text.size();
  }
  return text;
}

size_t CountOccurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) {
    count++;
  }
  return count;
}

std::string GoAddress(uptr addr) {
  char text[32];
  snprintf(text, sizeof(text), "0x%012" PRIxPTR, addr);
  return text;
}

std::string PreviousAccessHeading(const char* kind, uptr addr, const GoroutineState* g) {
  return std::string("Previous ") + kind + " at " + GoAddress(addr) + " by goroutine " + std::to_string(g->number) +
         ":";
}

// ---- CoreTest ----------------------------------------------------------------

namespace {
uptr fake_next = kFakeHeapBase;
uptr real_next = kRealMemoryBase;

uptr Bump(uptr* next, uptr limit, uptr size, uptr align) {
  if (align < 8) align = 8;
  // A 64-byte gap keeps allocations in distinct shadow words and cache lines.
  uptr p = (*next + 64 + align - 1) & ~(align - 1);
  if (p + size > limit) {
    fprintf(stderr, "core_test_support: fake memory exhausted\n");
    abort();
  }
  *next = p + size;
  return p;
}
}  // namespace

void CoreTest::SetUp() {
  Runtime();
  TakeReportText();  // what earlier tests printed is not ours
  race_baseline_ = ReportCount();
  root_ = Go(Main());
}

void CoreTest::TearDown() {
  for (GoroutineState* g : running_) EndGoroutine(g);
  running_.clear();
}

GoroutineState* CoreTest::Go(GoroutineState* parent) { return GoAt(parent, NewPc()); }

GoroutineState* CoreTest::GoAt(GoroutineState* parent, uptr pc) {
  GoroutineState* g = StartGoroutine(parent, pc);
  running_.push_back(g);
  return g;
}

void CoreTest::End(GoroutineState* g) {
  for (size_t i = 0; i < running_.size(); i++) {
    if (running_[i] == g) {
      running_[i] = running_.back();
      running_.pop_back();
      EndGoroutine(g);
      return;
    }
  }
  ADD_FAILURE() << "End() of a goroutine that is not running";
}

uptr CoreTest::Alloc(uptr size, uptr align) { return Bump(&fake_next, kRealMemoryBase, size, align); }

uptr CoreTest::AllocReal(uptr size, uptr align) {
  return Bump(&real_next, kRealMemoryBase + kRealMemorySize, size, align);
}

void CoreTest::Write(GoroutineState* g, uptr addr) { AccessByte(g, addr, /*is_write=*/true, NewPc()); }
void CoreTest::Read(GoroutineState* g, uptr addr) { AccessByte(g, addr, /*is_write=*/false, NewPc()); }

u64 CoreTest::TakeRaces() {
  u64 now = ReportCount();
  u64 delta = now - race_baseline_;
  race_baseline_ = now;
  return delta;
}

}  // namespace racert::core_test
