// The atomic operation protocol (tsan_core/atomic_ops.h): which operations
// acquire and release, the access each records, the caller's frame around
// it, and ignore-sync, driven through the core without Go's argument frames.
#include "tests/unit/core_test_support.h"
#include "tsan_core/atomic_ops.h"

namespace racert::core_test {
namespace {

struct FakeHardware {
  int calls = 0;
  bool succeeds = true;
  static bool Run(void* self) {
    auto* hw = static_cast<FakeHardware*>(self);
    hw->calls++;
    return hw->succeeds;
  }
};

class CoreAtomicOpsTest : public CoreTest {
 protected:
  // One 8-byte atomic operation at a fresh pair of pcs; returns how often the
  // hardware operation ran.
  int Op(GoroutineState* g, uptr addr, AtomicSemantics semantics, bool succeeds = true) {
    FakeHardware hw;
    hw.succeeds = succeeds;
    AtomicOperation(g, AtomicCall{addr, 8, semantics, FakeHardware::Run, &hw}, NewPc(), NewPc());
    return hw.calls;
  }

  // a writes x, then does `semantics` on an atomic; b loads the atomic and
  // writes x. Returns the races reported: 0 if the operation released.
  u64 RacesAcrossHandoff(AtomicSemantics semantics, bool succeeds) {
    uptr x = Alloc(8), atom = Alloc(8);
    GoroutineState* a = Go(Root());
    GoroutineState* b = Go(Root());
    Write(a, x);
    EXPECT_EQ(Op(a, atom, semantics, succeeds), 1);
    EXPECT_EQ(Op(b, atom, AtomicSemantics::kLoad), 1);
    Write(b, x);
    return TakeRaces();
  }
};

TEST_F(CoreAtomicOpsTest, StoreThenLoadOrdersPlainAccesses) {
  EXPECT_EQ(RacesAcrossHandoff(AtomicSemantics::kStore, /*succeeds=*/true), 0u);
}

TEST_F(CoreAtomicOpsTest, FailedCompareExchangeDoesNotRelease) {
  EXPECT_EQ(RacesAcrossHandoff(AtomicSemantics::kCompareExchange, /*succeeds=*/false), 1u);
}

TEST_F(CoreAtomicOpsTest, SuccessfulCompareExchangeReleases) {
  EXPECT_EQ(RacesAcrossHandoff(AtomicSemantics::kCompareExchange, /*succeeds=*/true), 0u);
}

TEST_F(CoreAtomicOpsTest, TheAccessIsRecordedAndRacesWithAPlainOne) {
  uptr atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr caller_pc = NewPc(), pc = NewPc();
  FakeHardware hw;
  FuncEnter(a, NewPc());  // reports leave out the outermost frame (Go's goexit)
  AtomicOperation(a, AtomicCall{atom, 8, AtomicSemantics::kReadModifyWrite, FakeHardware::Run, &hw}, caller_pc, pc);
  FuncExit(a);
  Read(b, atom);
  EXPECT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find(FakeFrameText(pc) + FakeFrameText(caller_pc)), std::string::npos)
      << "the atomic's stack is its pc inside the caller's frame:\n"
      << report;
}

TEST_F(CoreAtomicOpsTest, TheCallersFrameIsPoppedAgain) {
  uptr atom = Alloc(8);
  GoroutineState* a = Go(Root());
  uptr depth = a->call_stack.size();
  Op(a, atom, AtomicSemantics::kStore);
  Op(a, atom, AtomicSemantics::kLoad);
  EXPECT_EQ(a->call_stack.size(), depth);
}

TEST_F(CoreAtomicOpsTest, WhileIgnoringSyncOnlyTheHardwareOperationRuns) {
  uptr x = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  IgnoreSyncBegin(a);
  EXPECT_EQ(Op(a, atom, AtomicSemantics::kStore), 1);
  IgnoreSyncEnd(a);
  Op(b, atom, AtomicSemantics::kLoad);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u) << "no release while ignoring sync";
  Write(b, atom);
  EXPECT_EQ(TakeRaces(), 0u) << "no access recorded while ignoring sync";
}

TEST_F(CoreAtomicOpsTest, AnUnpairedIgnoreSyncEndIsIgnored) {
  GoroutineState* a = Go(Root());
  IgnoreSyncEnd(a);
  EXPECT_FALSE(IgnoringSync(a));
  IgnoreSyncBegin(a);
  EXPECT_TRUE(IgnoringSync(a));
  IgnoreSyncEnd(a);
  EXPECT_FALSE(IgnoringSync(a));
}

}  // namespace
}  // namespace racert::core_test
