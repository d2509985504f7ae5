// Epoch overflow: when a slot's epoch reaches the limit, every clock is
// cleared and the generation advances (tsan_core/slot_pool.h). Races that
// straddle a reset may be missed; nothing may ever be reported falsely.
// The limit is lowered with SetMaxEpochForTesting so resets happen quickly.
#include "tests/unit/core_test_support.h"

#include "shadow/shadow_cell.h"
#include "tsan_core/atomic_ops.h"
#include "tsan_core/slot_pool.h"
#include "tsan_core/sync_ops.h"

namespace racert::core_test {
namespace {

// The hardware half of an atomic store, for AtomicOperation: nothing to do.
struct FakeStore {
  static bool Run(void*) { return true; }
};

constexpr Epoch kSmallMaxEpoch = 50;

class CoreEpochResetTest : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    SetMaxEpochForTesting(kSmallMaxEpoch);
    // Slots used by earlier tests may be far beyond the small limit; one
    // reset first brings every slot back to epoch 0, so the resets below
    // happen where each test expects them.
    busy_ = Go(Root());
    ForceResets(busy_, 1);
  }
  void TearDown() override {
    SetMaxEpochForTesting(0);  // back to the default limit
    CoreTest::TearDown();
  }
  // Releases on a private address until at least `resets` more resets happened.
  void ForceResets(GoroutineState* g, u64 resets) {
    uptr spin = Alloc(8);
    u64 target = ResetCountForTesting() + resets;
    for (int i = 0; i < 100000 && ResetCountForTesting() < target; i++) Release(g, spin);
    ASSERT_GE(ResetCountForTesting(), target) << "resets did not happen";
  }
  // A goroutine that only exists to overflow its slot's epoch.
  GoroutineState* Busy() { return busy_; }
  // Resets once if the next reset would wrap the generation (from
  // kGenerationMask back to 1). The wrap clears all shadow, so a race across
  // it is missed by design; across any other reset, old-generation cells stay
  // for the goroutines that still check them. Earlier tests in the process
  // may have left the generation anywhere.
  void StepPastTheWrap() {
    if (CurrentGenerationForTesting() == kGenerationMask) ForceResets(Busy(), 1);
  }

 private:
  GoroutineState* busy_ = nullptr;
};

TEST_F(CoreEpochResetTest, PingPongAcrossManyResetsHasNoFalseRace) {
  uptr x = Alloc(8), y = Alloc(8), to_b = Alloc(8), to_a = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  u64 resets_before = ResetCountForTesting();
  for (int round = 0; round < 1000; round++) {
    Write(a, x);
    Read(a, y);
    Release(a, to_b);
    Acquire(b, to_b);
    Write(b, x);
    Write(b, y);
    Release(b, to_a);
    Acquire(a, to_a);
  }
  EXPECT_GE(ResetCountForTesting() - resets_before, 10u);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreEpochResetTest, WaitGroupStyleRoundsAcrossResetsHaveNoFalseRace) {
  constexpr int kWorkers = 8;
  uptr wg = Alloc(8);
  uptr slots = Alloc(8 * kWorkers, 8);
  uptr shared = Alloc(8);
  GoroutineState* coordinator = Go(Root());
  u64 resets_before = ResetCountForTesting();
  for (int round = 0; round < 200; round++) {
    Write(coordinator, shared);
    std::vector<GoroutineState*> workers;
    for (int w = 0; w < kWorkers; w++) workers.push_back(Go(coordinator));
    for (int w = 0; w < kWorkers; w++) {
      Read(workers[w], shared);
      Write(workers[w], slots + 8 * w);
      ReleaseMerge(workers[w], wg);
    }
    Acquire(coordinator, wg);
    for (int w = 0; w < kWorkers; w++) {
      Read(coordinator, slots + 8 * w);
      End(workers[w]);
    }
  }
  EXPECT_GE(ResetCountForTesting() - resets_before, 10u);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreEpochResetTest, RacesWithinOneResetWindowAreFound) {
  uptr lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  u64 resets_before = ResetCountForTesting();
  int rounds_in_one_window = 0;
  for (int round = 0; round < 300; round++) {
    Release(a, lock);
    Acquire(b, lock);
    // A race is only promised when both goroutines run in the current
    // generation; a reset inside one of the two sync calls may leave `a` on
    // the old one until its next sync (a straddling race may be missed).
    Generation now = CurrentGenerationForTesting();
    bool one_window = Cell(a->plain_key).generation() == now && Cell(b->plain_key).generation() == now;
    if (one_window) rounds_in_one_window++;
    uptr x = Alloc(8);
    Write(b, x);
    Write(a, x);  // released before b acquired: not covered by it
    EXPECT_EQ(TakeRaces(), one_window ? 1u : 0u) << "round " << round;
  }
  EXPECT_GE(ResetCountForTesting() - resets_before, 3u);
  EXPECT_GE(rounds_in_one_window, 250);
}

TEST_F(CoreEpochResetTest, GoroutineThatHasNotSyncedSinceTheResetReportsNoFalseRace) {
  // `reader` is ordered after the root's write (go_start). A reset caused by
  // an unrelated goroutine clears every clock while `reader` is running; when
  // it then reads the value, without any synchronization of its own in
  // between, nothing may be reported: the write happened before it.
  uptr x = Alloc(8);
  GoroutineState* writer = Go(Root());
  Write(writer, x);
  GoroutineState* reader = Go(writer);
  ForceResets(Busy(), 1);
  Read(reader, x);
  Write(reader, x);
  EXPECT_EQ(TakeRaces(), 0u) << "an access ordered by go_start was reported after an epoch reset";
}

TEST_F(CoreEpochResetTest, AcquiredKnowledgeIsNotTurnedIntoAFalseRaceByAReset) {
  // The same with a lock: b acquired a's release, then a reset happens
  // elsewhere before b touches the data.
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  Release(a, lock);
  Acquire(b, lock);
  ForceResets(Busy(), 1);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 0u) << "an access ordered by release/acquire was reported after an epoch reset";
}

TEST_F(CoreEpochResetTest, AtomicWriteThatReattachesAfterAResetReportsNoFalseRace) {
  // b is ordered after a's read. A reset elsewhere; b's first step after it
  // is an atomic write, whose synchronization re-attaches b (a new
  // generation, its clock dropped). The access must be checked with the key
  // b has then, not the old-generation key from before the attach, which
  // would compare old cells with the dropped clock (the core stress test
  // found it: program seed 0x4152f7c1a58fa328 with --max-epoch 64).
  uptr x = AllocReal(8, 8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Read(a, x);
  Release(a, lock);
  Acquire(b, lock);
  ForceResets(Busy(), 1);
  ASSERT_NE(Cell(b->atomic_key).generation(), CurrentGenerationForTesting()) << "precondition: b has not re-attached yet";
  FakeStore store;
  AtomicOperation(b, AtomicCall{x, 8, AtomicSemantics::kStore, FakeStore::Run, &store}, NewPc(), NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << "an atomic write ordered after the read was reported after an epoch reset";
}

TEST_F(CoreEpochResetTest, ARaceWithAnOldGenerationCellNamesItsGoroutineNotTheSlotsNewOwner) {
  // a reads x, then a reset happens. b has not synchronized since, so it
  // still checks old-generation cells, and its write races with a's read.
  // Meanwhile a new goroutine attached to a's former slot with epochs that
  // start again from 0: the report must still name a, not the slot's owner
  // at the same epoch number in the new generation (the core stress test
  // found it: program seed 0x4152f7c1a58fa328 with --max-epoch 64).
  uptr x = Alloc(8);
  StepPastTheWrap();  // a's read must survive the reset below
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Read(a, x);
  Sid a_sid = a->sid;
  Generation read_in = Cell(a->plain_key).generation();
  u64 resets_before = ResetCountForTesting();
  ForceResets(Busy(), 1);
  GoroutineState* newcomer = nullptr;
  for (int i = 0; i < 2 * static_cast<int>(kSlotCount) && !newcomer; i++) {
    GoroutineState* g = Go(Root());
    if (g->sid == a_sid) newcomer = g;
  }
  ASSERT_NE(newcomer, nullptr) << "precondition: a new goroutine got a's former slot";
  for (int i = 0; i < 3; i++) Release(newcomer, Alloc(8));  // past a's epoch number
  TakeReports();
  ASSERT_EQ(u64{CurrentGenerationForTesting()} - read_in, ResetCountForTesting() - resets_before)
      << "precondition: the generation did not wrap since a's read (a wrap clears every cell)";
  ASSERT_EQ(Cell(b->plain_key).generation(), read_in) << "precondition: b still checks a's generation";
  Write(b, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Previous read at " + GoAddress(x) + " by goroutine " + std::to_string(a->number) + ":"),
            std::string::npos)
      << report;
}

// An acquire that finds a stamped clock it already knows takes no lock
// (sync_ops.cpp). A goroutine that has not synchronized since a reset still
// holds its old clock, whose entry for a slot can pass the epoch a new owner
// of that slot released at in the new generation. Its acquire must still
// learn that release: the goroutine drops its old clock when it re-attaches,
// and without the release the new owner's write would race falsely.
TEST_F(CoreEpochResetTest, AcquireOfANewGenerationReleaseIsNotSkippedWithAnOldClock) {
  uptr x = Alloc(8), lock = Alloc(8), warm_up = Alloc(8), elsewhere = Alloc(8);
  GoroutineState* g = Go(Root());
  GoroutineState* releaser = Go(Root());
  AcquireEverything(g);  // every slot's epoch of this generation
  ForceResets(Busy(), 1);
  Release(releaser, warm_up);  // attaches in the new generation
  Write(releaser, x);
  Release(releaser, lock);
  ASSERT_GE(g->clock.Get(releaser->sid), releaser->epoch - 1)
      << "precondition: g's old clock passes the new generation's release";
  Acquire(g, lock);
  Release(g, elsewhere);  // attaches in the new generation if it has not yet
  Write(g, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

TEST_F(CoreEpochResetTest, GenerationWrapDoesNotRevivePreResetCells) {
  // The generation has kGenerationMask values: after that many resets it
  // comes back to the same value. Cells written before all those resets must not look current again
  // and race with accesses that are in fact ordered after them. Several
  // writers, so that some hold slots other than the ones the late goroutines
  // get after the last reset (a shared slot would hide the problem).
  constexpr int kWriters = 6;
  uptr data = Alloc(8 * kWriters, 8);
  uptr lock = Alloc(8);
  GoroutineState* busy = Busy();
  Generation written_in = CurrentGenerationForTesting();
  for (int w = 0; w < kWriters; w++) {
    GoroutineState* writer = Go(Root());
    Write(writer, data + 8 * w);
    ASSERT_EQ(Cell(writer->plain_key).generation(), written_in) << "precondition: no reset among the writes";
    Release(writer, lock);  // busy learns the write: everything below is ordered
    Acquire(busy, lock);
  }
  ForceResets(busy, kGenerationMask);
  ASSERT_EQ(CurrentGenerationForTesting(), written_in) << "precondition: the generation wrapped around";
  GoroutineState* later = Go(busy);
  for (int w = 0; w < kWriters; w++) Write(later, data + 8 * w);
  EXPECT_EQ(TakeRaces(), 0u) << "cells from a full generation cycle ago were treated as current";
}

}  // namespace
}  // namespace racert::core_test
