// The extern "C" __tsan_* entry points, called as Go's runtime calls them
// (docs/go-race-abi-notes.md §10), with symbolization going through the Go callback
// protocol (§12) of the fake callback installed by __tsan_init.
#include "tests/unit/go_api_test_support.h"

#include <cinttypes>
#include <cstring>

#include "go_api/atomic_hw.h"  // RACERT_FOR_EACH_GO_ATOMIC
#include "go_api/go_abi.h"
#include "go_api/go_callbacks.h"

extern "C" {
using racert::u64;
using racert::u8;
using racert::uptr;
void __tsan_proc_create(void** proc);
void __tsan_proc_destroy(void* proc);
void __tsan_map_shadow(uptr addr, uptr size);
void __tsan_go_start(void* parent, void** thr, void* pc);
void __tsan_go_end(void* thr);
void __tsan_finalizer_goroutine(void* thr);
void __tsan_malloc(void* thr, uptr pc, uptr p, uptr size);
void __tsan_free(uptr p, uptr size);
void __tsan_read(void* thr, uptr addr, uptr pc);
void __tsan_write(void* thr, uptr addr, uptr pc);
void __tsan_read_pc(void* thr, uptr addr, uptr callpc, uptr pc);
void __tsan_write_pc(void* thr, uptr addr, uptr callpc, uptr pc);
void __tsan_read_range(void* thr, uptr addr, uptr size, uptr pc);
void __tsan_write_range(void* thr, uptr addr, uptr size, uptr pc);
void __tsan_func_enter(void* thr, uptr pc);
void __tsan_func_exit(void* thr);
void __tsan_acquire(void* thr, void* addr);
void __tsan_release(void* thr, void* addr);
void __tsan_release_merge(void* thr, void* addr);
void __tsan_release_acquire(void* thr, void* addr);
void __tsan_go_ignore_sync_begin(void* thr);
void __tsan_go_ignore_sync_end(void* thr);
void __tsan_report_count(u64* count);
#define RACERT_DECLARE_GO_ATOMIC(name, type, op) void name(void* thr, uptr cpc, uptr pc, u8* args);
RACERT_FOR_EACH_GO_ATOMIC(RACERT_DECLARE_GO_ATOMIC)
#undef RACERT_DECLARE_GO_ATOMIC
}

namespace racert::core_test {
namespace {

using AtomicEntry = void (*)(void* thr, uptr cpc, uptr pc, u8* args);

class GoApiEntryPointsTest : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    // Symbolize through Go's callback protocol, as in a real program.
    SetCodeSymbolizer(go_api::SymbolizeGoCode);
  }
  void TearDown() override {
    for (void* thr : started_) __tsan_go_end(thr);
    started_.clear();
    SetCodeSymbolizer(FakeSymbolize);
    EXPECT_EQ(GoCallbackCountsSoFar().unexpected, 0u) << "the object must only ask the callback to symbolize code";
    CoreTest::TearDown();
  }

  void* GoStart(void* parent, uptr pc = 0) {
    void* thr = nullptr;
    __tsan_go_start(parent, &thr, reinterpret_cast<void*>(pc ? pc : NewPc()));
    EXPECT_NE(thr, nullptr);
    started_.push_back(thr);
    return thr;
  }
  void GoEnd(void* thr) {
    for (size_t i = 0; i < started_.size(); i++) {
      if (started_[i] == thr) {
        started_.erase(started_.begin() + static_cast<long>(i));
        __tsan_go_end(thr);
        return;
      }
    }
    ADD_FAILURE() << "GoEnd of a goroutine not started here";
  }
  void* RootThr() { return Root(); }

  static u64 ReportCountViaApi() {
    u64 count = ~u64{0};
    __tsan_report_count(&count);
    return count;
  }

  // What the fake Go callback answers for a recorded pc (queried as pc - 1).
  static std::string GoFrame(uptr recorded_pc) {
    uptr q = recorded_pc - 1;
    char text[128];
    snprintf(text, sizeof(text), "  gofn_%" PRIxPTR "()\n      go_file.go:%" PRIuPTR " +0x2a\n", q, q & 0xffff);
    return text;
  }

 private:
  std::vector<void*> started_;
};

TEST_F(GoApiEntryPointsTest, InitHandedOutContextsAndProcsAreNonNull) {
  EXPECT_NE(Runtime().init_context, nullptr);
  EXPECT_NE(Runtime().proc, nullptr);
  void* proc = nullptr;
  __tsan_proc_create(&proc);
  EXPECT_NE(proc, nullptr);
  __tsan_proc_destroy(proc);
  // Mapping an already mapped range again is harmless.
  __tsan_map_shadow(kFakeHeapBase, 4096);
}

TEST_F(GoApiEntryPointsTest, InitDescribesGosHeapAndAddressSpaceNeedsToTheCore) {
  const HeapLayout& heap = CurrentHeapLayout();
  EXPECT_EQ(heap.window_begin, go_abi::kRaceHeapWindowBegin);
  EXPECT_EQ(heap.window_end, go_abi::kRaceHeapWindowEnd);
  EXPECT_EQ(heap.arena_bytes, go_abi::kHeapArenaBytes);
  const ClientAddressSpace& client = CurrentClientAddressSpace();
  EXPECT_EQ(client.runtime_reserve, uptr{4} << 30);
  EXPECT_EQ(client.start_minimum, uptr{850} << 20);
  EXPECT_EQ(client.start_warning, uptr{1536} << 20);
  EXPECT_EQ(client.heap_warning, uptr{1024} << 20);
  EXPECT_STREQ(client.runtime_name, "Go's runtime");
  EXPECT_STREQ(client.start_parts, "page summaries, its first 64 MiB heap arena and that arena's shadow");
  EXPECT_STREQ(client.start_estimate, "about 1.1 GiB");
  EXPECT_STREQ(client.failure_messages,
               "\"too many address space collisions for -race mode\", \"failed to reserve\", \"out of memory\", "
               "\"pthread_create failed\"");
}

TEST_F(GoApiEntryPointsTest, WriteThenReadPcRacesAndIsReportedThroughTheGoCallback) {
  uptr x = Alloc(8);
  uptr pc_go_a = NewPc(), pc_go_b = NewPc();
  void* a = GoStart(RootThr(), pc_go_a);
  void* b = GoStart(RootThr(), pc_go_b);
  uptr pc_a_outer = NewPc(), pc_a_f = NewPc(), pc_write = NewPc();
  __tsan_func_enter(a, pc_a_outer);
  __tsan_func_enter(a, pc_a_f);
  __tsan_write(a, x, pc_write);
  __tsan_func_exit(a);
  __tsan_func_exit(a);

  uptr pc_b_outer = NewPc(), callpc = NewPc(), pc_runtime = NewPc();
  __tsan_func_enter(b, pc_b_outer);
  TakeReports();
  u64 before = ReportCountViaApi();
  __tsan_read_pc(b, x, callpc, pc_runtime);
  EXPECT_EQ(ReportCountViaApi(), before + 1) << "the count is updated before the access returns";
  __tsan_func_exit(b);
  ASSERT_EQ(TakeRaces(), 1u);

  std::string expected = std::string("==================\nWARNING: DATA RACE\n") +
                         "Read at " + GoAddress(x) + " by goroutine " + std::to_string(static_cast<GoroutineState*>(b)->number) + ":\n" +
                         GoFrame(pc_runtime) + GoFrame(callpc) +
                         "\nPrevious write at " + GoAddress(x) + " by goroutine " +
                         std::to_string(static_cast<GoroutineState*>(a)->number) + ":\n" +
                         GoFrame(pc_write) + GoFrame(pc_a_f) +
                         "\nGoroutine " + std::to_string(static_cast<GoroutineState*>(b)->number) +
                         " (running) created at:\n" + GoFrame(pc_go_b) +
                         "\nGoroutine " + std::to_string(static_cast<GoroutineState*>(a)->number) +
                         " (running) created at:\n" + GoFrame(pc_go_a) +
                         "==================\n";
  EXPECT_EQ(TakeReports(), expected);
  EXPECT_GT(GoCallbackCountsSoFar().symbolize_code, 0u);
}

TEST_F(GoApiEntryPointsTest, InlinedFramesAreExpandedFromOnePc) {
  // A pc whose pc - 1 the callback reports as inlined: two frames, the
  // inlined one first, then its logical caller (queried without another -1).
  uptr x = Alloc(8);
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  __tsan_write(a, x, NewPc());
  uptr inlined_pc = kFakeInlinedBegin + 0x1235;  // queried as ...1234
  uptr outer = NewPc();
  __tsan_func_enter(b, outer);
  TakeReports();
  __tsan_write(b, x, inlined_pc);
  __tsan_func_exit(b);
  ASSERT_EQ(TakeRaces(), 1u);
  uptr q = inlined_pc - 1;
  char inlined[96], caller[96];
  snprintf(inlined, sizeof(inlined), "  inl_%" PRIxPTR "()\n      inline.go:%" PRIuPTR " +0x%" PRIxPTR "\n", q,
           q & 0xffff, q & 0xff);
  uptr logical = q + kFakeInlinedCallerDelta;
  snprintf(caller, sizeof(caller), "  gofn_%" PRIxPTR "()\n      go_file.go:%" PRIuPTR " +0x2a\n", logical,
           logical & 0xffff);
  std::string report = TakeReports();
  // Both frames of the access pc, and the outer frame dropped as outermost.
  EXPECT_NE(report.find(std::string(":\n") + inlined + caller + "\nPrevious write"), std::string::npos) << report;
}

TEST_F(GoApiEntryPointsTest, WritePcPushesTheCallerOnlyForTheAccess) {
  uptr x = Alloc(8);
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  uptr outer = NewPc(), callpc = NewPc(), pc = NewPc();
  __tsan_func_enter(a, outer);
  __tsan_write_pc(a, x, callpc, pc);
  __tsan_write_pc(a, Alloc(8), 0, NewPc());  // callpc 0: nothing pushed
  EXPECT_EQ(static_cast<GoroutineState*>(a)->call_stack.size(), 1u) << "write_pc must pop what it pushed";
  __tsan_func_exit(a);
  TakeReports();
  __tsan_write(b, x, NewPc());
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("by goroutine " + std::to_string(static_cast<GoroutineState*>(a)->number) + ":\n" +
                        GoFrame(pc) + GoFrame(callpc) + "\n"),
            std::string::npos)
      << report;
}

TEST_F(GoApiEntryPointsTest, ReadAndWriteRanges) {
  uptr base = Alloc(100, 8);
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  void* c = GoStart(RootThr());
  __tsan_write_range(a, base + 3, 50, NewPc());
  __tsan_read_range(b, base + 53, 40, NewPc());
  __tsan_read_range(b, base, 0, NewPc());
  __tsan_write_range(b, base + 10, 0, NewPc());
  EXPECT_EQ(TakeRaces(), 0u);
  __tsan_read_range(c, base + 40, 60, NewPc());
  EXPECT_EQ(TakeRaces(), 1u);
  __tsan_write_range(c, base + 90, 10, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "write after b's concurrent range read";
}

TEST_F(GoApiEntryPointsTest, ReleaseAcquireReleaseMergeAndReleaseAcquireOrder) {
  uptr x = Alloc(8), y = Alloc(8), z = Alloc(8);
  uptr lock = Alloc(8), wg = Alloc(8), slot = Alloc(8);
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  void* c = GoStart(RootThr());
  __tsan_write(a, x, NewPc());
  __tsan_release(a, reinterpret_cast<void*>(lock));
  __tsan_acquire(b, reinterpret_cast<void*>(lock));
  __tsan_write(b, x, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << "release/acquire";

  __tsan_write(a, y, NewPc());
  __tsan_release_merge(a, reinterpret_cast<void*>(wg));
  __tsan_write(b, z, NewPc());
  __tsan_release_merge(b, reinterpret_cast<void*>(wg));
  __tsan_acquire(c, reinterpret_cast<void*>(wg));
  __tsan_write(c, y, NewPc());
  __tsan_write(c, z, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << "release_merge keeps both releasers";

  uptr w = Alloc(8);
  __tsan_write(c, w, NewPc());
  __tsan_release_acquire(c, reinterpret_cast<void*>(slot));
  __tsan_release_acquire(a, reinterpret_cast<void*>(slot));
  __tsan_write(a, w, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << "release_acquire";

  uptr v = Alloc(8);
  __tsan_write(a, v, NewPc());
  __tsan_write(b, v, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "and without sync they race";
}

TEST_F(GoApiEntryPointsTest, IgnoreSyncMakesReleaseANoOpButKeepsCheckingAccesses) {
  uptr x = Alloc(8), lock = Alloc(8);
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  __tsan_write(a, x, NewPc());
  __tsan_go_ignore_sync_begin(a);
  __tsan_release(a, reinterpret_cast<void*>(lock));
  __tsan_go_ignore_sync_end(a);
  __tsan_go_ignore_sync_end(a);  // unbalanced end: must not underflow
  EXPECT_EQ(static_cast<GoroutineState*>(a)->ignore_sync_depth, 0u);
  __tsan_acquire(b, reinterpret_cast<void*>(lock));
  __tsan_write(b, x, NewPc());
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(GoApiEntryPointsTest, MallocAndFree) {
  uptr obj = Alloc(32, 16), data = Alloc(8);
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  __tsan_write_range(a, obj, 32, NewPc());
  __tsan_release(a, reinterpret_cast<void*>(obj + 8));
  __tsan_write(a, data, NewPc());
  __tsan_release(a, reinterpret_cast<void*>(obj + 16));
  __tsan_free(obj, 32);
  __tsan_malloc(nullptr, 0, obj, 32);
  __tsan_write_range(b, obj, 32, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << "the reallocated object starts clean";
  __tsan_acquire(b, reinterpret_cast<void*>(obj + 16));
  __tsan_write(b, data, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "free dropped the sync object";
}

TEST_F(GoApiEntryPointsTest, FinalizerGoroutineAcquiresEverything) {
  uptr x = Alloc(8);
  void* a = GoStart(RootThr());
  void* fin = GoStart(RootThr());
  __tsan_write(a, x, NewPc());
  __tsan_finalizer_goroutine(fin);
  __tsan_write(fin, x, NewPc());
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(GoApiEntryPointsTest, GoEndMarksTheGoroutineFinished) {
  uptr x = Alloc(8);
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  __tsan_write(a, x, NewPc());
  u64 a_number = static_cast<GoroutineState*>(a)->number;
  GoEnd(a);
  TakeReports();
  __tsan_write(b, x, NewPc());
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Goroutine " + std::to_string(a_number) + " (finished) created at:"), std::string::npos)
      << report;
}

// --- sync/atomic ---------------------------------------------------------------------

// A Go ABI0 argument frame for one sync/atomic call (go_api/go_abi.h).
struct alignas(8) Frame {
  u8 bytes[32];
  template <typename T>
  void Set(uptr offset, T value) { memcpy(bytes + offset, &value, sizeof(T)); }
  template <typename T>
  T Get(uptr offset) const {
    T value;
    memcpy(&value, bytes + offset, sizeof(T));
    return value;
  }
};

template <typename T>
Frame FrameFor(T* target) {
  Frame f;
  memset(f.bytes, 0xcc, sizeof(f.bytes));
  f.Set<T*>(0, target);
  return f;
}

template <typename T>
void CheckAtomicValues(void* thr, T* target, AtomicEntry load, AtomicEntry store, AtomicEntry exchange,
                       AtomicEntry fetch_add, AtomicEntry fetch_and, AtomicEntry fetch_or, AtomicEntry cas,
                       T big) {
  using L = go_abi::AtomicLayout<T>;
  auto call = [&](AtomicEntry entry, Frame& f) { entry(thr, NewPc(), NewPc(), f.bytes); };

  *target = big + 7;
  Frame f = FrameFor(target);
  call(load, f);
  EXPECT_EQ(f.Get<T>(L::kLoadResult), static_cast<T>(big + 7)) << "load";

  f = FrameFor(target);
  f.Set<T>(L::kValue, big + 9);
  call(store, f);
  EXPECT_EQ(*target, static_cast<T>(big + 9)) << "store";

  f = FrameFor(target);
  f.Set<T>(L::kValue, big + 11);
  call(exchange, f);
  EXPECT_EQ(f.Get<T>(L::kOldResult), static_cast<T>(big + 9)) << "exchange returns the old value";
  EXPECT_EQ(*target, static_cast<T>(big + 11)) << "exchange";

  f = FrameFor(target);
  f.Set<T>(L::kValue, 5);
  call(fetch_add, f);
  EXPECT_EQ(f.Get<T>(L::kOldResult), static_cast<T>(big + 11)) << "add returns the old value";
  EXPECT_EQ(*target, static_cast<T>(big + 16)) << "add";

  *target = big | 0xe;
  f = FrameFor(target);
  f.Set<T>(L::kValue, static_cast<T>(big | 0x6));
  call(fetch_and, f);
  EXPECT_EQ(f.Get<T>(L::kOldResult), static_cast<T>(big | 0xe)) << "and returns the old value";
  EXPECT_EQ(*target, static_cast<T>(big | 0x6)) << "and";

  f = FrameFor(target);
  f.Set<T>(L::kValue, 0x10);
  call(fetch_or, f);
  EXPECT_EQ(f.Get<T>(L::kOldResult), static_cast<T>(big | 0x6)) << "or returns the old value";
  EXPECT_EQ(*target, static_cast<T>(big | 0x16)) << "or";

  f = FrameFor(target);
  f.Set<T>(L::kCasOld, static_cast<T>(big | 0x16));
  f.Set<T>(L::kCasNew, static_cast<T>(big + 42));
  call(cas, f);
  EXPECT_EQ(f.Get<u8>(L::kCasResult), 1) << "cas success";
  EXPECT_EQ(*target, static_cast<T>(big + 42));

  f = FrameFor(target);
  f.Set<T>(L::kCasOld, 1);
  f.Set<T>(L::kCasNew, 2);
  call(cas, f);
  EXPECT_EQ(f.Get<u8>(L::kCasResult), 0) << "cas failure";
  EXPECT_EQ(*target, static_cast<T>(big + 42));
}

TEST_F(GoApiEntryPointsTest, Atomic32OperationsComputeTheRightValuesAndTouchOnlyFourBytes) {
  uptr mem = AllocReal(16, 8);
  memset(reinterpret_cast<void*>(mem), 0xab, 16);
  u32* target = reinterpret_cast<u32*>(mem + 4);
  void* g = GoStart(RootThr());
  CheckAtomicValues<u32>(g, target, __tsan_go_atomic32_load, __tsan_go_atomic32_store, __tsan_go_atomic32_exchange,
                         __tsan_go_atomic32_fetch_add, __tsan_go_atomic32_fetch_and, __tsan_go_atomic32_fetch_or,
                         __tsan_go_atomic32_compare_exchange, u32{0x80000000});
  const u8* bytes = reinterpret_cast<const u8*>(mem);
  for (int i : {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15}) EXPECT_EQ(bytes[i], 0xab) << "byte " << i;
  EXPECT_EQ(TakeRaces(), 0u) << "one goroutine";
}

TEST_F(GoApiEntryPointsTest, Atomic64OperationsComputeTheRightValues) {
  uptr mem = AllocReal(24, 8);
  memset(reinterpret_cast<void*>(mem), 0xab, 24);
  u64* target = reinterpret_cast<u64*>(mem + 8);
  void* g = GoStart(RootThr());
  CheckAtomicValues<u64>(g, target, __tsan_go_atomic64_load, __tsan_go_atomic64_store, __tsan_go_atomic64_exchange,
                         __tsan_go_atomic64_fetch_add, __tsan_go_atomic64_fetch_and, __tsan_go_atomic64_fetch_or,
                         __tsan_go_atomic64_compare_exchange, u64{0x8000000500000000});
  const u8* bytes = reinterpret_cast<const u8*>(mem);
  for (int i : {0, 7, 16, 23}) EXPECT_EQ(bytes[i], 0xab) << "byte " << i;
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(GoApiEntryPointsTest, PlainWriteRacesWithAnAtomicAndAtomicsDoNotRaceWithEachOther) {
  u32* flag = reinterpret_cast<u32*>(AllocReal(8, 8));
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  void* c = GoStart(RootThr());
  Frame f = FrameFor(flag);
  f.Set<u32>(go_abi::AtomicLayout<u32>::kValue, 1);
  uptr cpc = NewPc(), pc = NewPc();
  __tsan_go_atomic32_store(a, cpc, pc, f.bytes);
  Frame g = FrameFor(flag);
  __tsan_go_atomic32_load(b, NewPc(), NewPc(), g.bytes);
  g = FrameFor(flag);
  g.Set<u32>(go_abi::AtomicLayout<u32>::kValue, 2);
  __tsan_go_atomic32_fetch_add(b, NewPc(), NewPc(), g.bytes);
  EXPECT_EQ(TakeRaces(), 0u) << "atomic vs atomic";
  EXPECT_EQ(*flag, 3u);

  // c is ordered with neither a nor b: its plain write races with their
  // atomics. The previous access is b's add (the latest write).
  TakeReports();
  uptr pc_plain = NewPc();
  __tsan_write(c, reinterpret_cast<uptr>(flag), pc_plain);
  EXPECT_EQ(TakeRaces(), 1u) << "a plain write racing with an atomic must be reported";
  std::string report = TakeReports();
  EXPECT_NE(report.find("Write at " + GoAddress(reinterpret_cast<uptr>(flag))), std::string::npos) << report;
  EXPECT_NE(report.find("Previous write at " + GoAddress(reinterpret_cast<uptr>(flag))), std::string::npos) << report;
}

TEST_F(GoApiEntryPointsTest, AtomicReportShowsTheAtomicPcAndItsCaller) {
  u64* word = reinterpret_cast<u64*>(AllocReal(8, 8));
  void* a = GoStart(RootThr());
  void* b = GoStart(RootThr());
  uptr outer = NewPc(), cpc = NewPc(), pc = NewPc();
  __tsan_func_enter(a, outer);
  Frame f = FrameFor(word);
  f.Set<u64>(go_abi::AtomicLayout<u64>::kValue, 5);
  __tsan_go_atomic64_store(a, cpc, pc, f.bytes);
  EXPECT_EQ(static_cast<GoroutineState*>(a)->call_stack.size(), 1u) << "the atomic must pop what it pushed";
  __tsan_func_exit(a);
  TakeReports();
  __tsan_read(b, reinterpret_cast<uptr>(word), NewPc());
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Previous write at " + GoAddress(reinterpret_cast<uptr>(word)) + " by goroutine " +
                        std::to_string(static_cast<GoroutineState*>(a)->number) + ":\n" + GoFrame(pc) + GoFrame(cpc) +
                        "\n"),
            std::string::npos)
      << report;
}

TEST_F(GoApiEntryPointsTest, AtomicsSynchronize) {
  u32* flag = reinterpret_cast<u32*>(AllocReal(8, 8));
  uptr data = Alloc(8);
  void* producer = GoStart(RootThr());
  void* consumer = GoStart(RootThr());
  __tsan_write(producer, data, NewPc());
  Frame f = FrameFor(flag);
  f.Set<u32>(go_abi::AtomicLayout<u32>::kValue, 1);
  __tsan_go_atomic32_store(producer, NewPc(), NewPc(), f.bytes);
  Frame g = FrameFor(flag);
  __tsan_go_atomic32_load(consumer, NewPc(), NewPc(), g.bytes);
  ASSERT_EQ(g.Get<u32>(go_abi::AtomicLayout<u32>::kLoadResult), 1u);
  __tsan_read(consumer, data, NewPc());
  __tsan_write(consumer, data, NewPc());
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(GoApiEntryPointsTest, UntrackedAtomicsUnderIgnoreSyncWorkOnMemoryWithoutShadow) {
  // Go wraps atomics on addresses outside its tracked ranges in ignore-sync;
  // the object must do the bare operation and touch no shadow (this local
  // variable lives on the test's stack, far outside the shadowed range).
  alignas(8) u64 local = 40;
  alignas(8) u32 local32 = 7;
  void* g = GoStart(RootThr());
  __tsan_go_ignore_sync_begin(g);
  Frame f = FrameFor(&local);
  f.Set<u64>(go_abi::AtomicLayout<u64>::kValue, 2);
  __tsan_go_atomic64_fetch_add(g, NewPc(), NewPc(), f.bytes);
  Frame h = FrameFor(&local32);
  h.Set<u32>(go_abi::AtomicLayout<u32>::kCasOld, 7);
  h.Set<u32>(go_abi::AtomicLayout<u32>::kCasNew, 8);
  __tsan_go_atomic32_compare_exchange(g, NewPc(), NewPc(), h.bytes);
  __tsan_go_ignore_sync_end(g);
  EXPECT_EQ(local, 42u);
  EXPECT_EQ(f.Get<u64>(go_abi::AtomicLayout<u64>::kOldResult), 40u);
  EXPECT_EQ(local32, 8u);
  EXPECT_EQ(h.Get<u8>(go_abi::AtomicLayout<u32>::kCasResult), 1);
  EXPECT_EQ(static_cast<GoroutineState*>(g)->call_stack.size(), 0u);
}

}  // namespace
}  // namespace racert::core_test
