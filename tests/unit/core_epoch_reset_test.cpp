// Epoch overflow: when a slot's epoch reaches the limit, every clock is
// cleared and the generation changes (tsan_core/slot_pool.h). Races that
// straddle a reset may be missed; nothing may ever be reported falsely.
// The limit is lowered with SetMaxEpochForTesting so resets happen quickly.
#include "tests/unit/core_test_support.h"

#include "shadow/shadow_cell.h"
#include "tsan_core/atomic_ops.h"
#include "tsan_core/race_report.h"
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
  // Resets once if the next reset would clear all shadow (no generation
  // value is left that nothing carries, tsan_core/slot_pool.cpp). A race
  // across such a reset is missed by design; across any other reset,
  // old-generation cells stay for the goroutines that still check them.
  // Earlier tests in the process may have left the generations anywhere.
  void StepPastAShadowClear() {
    if (NextResetClearsShadowForTesting()) ForceResets(Busy(), 1);
  }
  // Resets until the next reset is one that clears all shadow.
  void ResetUntilTheNextOneClearsTheShadow() {
    for (unsigned i = 0; i < 2 * kGenerationMask && !NextResetClearsShadowForTesting(); i++) ForceResets(Busy(), 1);
    ASSERT_TRUE(NextResetClearsShadowForTesting()) << "precondition: a reset that clears the shadow is next";
  }
  // Resets once, then one at a time until `gen` is the current generation,
  // or until `max_resets` resets happened in all (a generation a live
  // goroutine carries never comes back).
  void ResetUntilCurrentAgain(Generation gen, unsigned max_resets) {
    unsigned resets = 0;
    do {
      ForceResets(Busy(), 1);
    } while (++resets < max_resets && CurrentGenerationForTesting() != gen);
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
  StepPastAShadowClear();  // a's read must survive the reset below
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Read(a, x);
  Sid a_sid = a->sid;
  Generation read_in = Cell(a->plain_key).generation();
  u64 clears_before = ShadowClearCountForTesting();
  ForceResets(Busy(), 1);
  GoroutineState* newcomer = nullptr;
  for (int i = 0; i < 2 * static_cast<int>(kSlotCount) && !newcomer; i++) {
    GoroutineState* g = Go(Root());
    if (g->sid == a_sid) newcomer = g;
  }
  ASSERT_NE(newcomer, nullptr) << "precondition: a new goroutine got a's former slot";
  for (int i = 0; i < 3; i++) Release(newcomer, Alloc(8));  // past a's epoch number
  TakeReports();
  ASSERT_EQ(ShadowClearCountForTesting(), clears_before)
      << "precondition: no reset since a's read cleared the shadow (that clears every cell)";
  ASSERT_EQ(Cell(b->plain_key).generation(), read_in) << "precondition: b still checks a's generation";
  Write(b, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find(PreviousAccessHeading("read", x, a)), std::string::npos) << report;
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

TEST_F(CoreEpochResetTest, AGenerationComingBackDoesNotRevivePreResetCells) {
  // The generation has kGenerationMask values: after enough resets a value
  // comes back. Cells written when it was current before must not look
  // current again and race with accesses that are in fact ordered after
  // them. Several writers, so that some hold slots other than the ones the
  // late goroutines get after the last reset (a shared slot would hide the
  // problem). The writers end, so that no goroutine keeps the value in use.
  constexpr int kWriters = 6;
  uptr data = Alloc(8 * kWriters, 8);
  uptr lock = Alloc(8);
  GoroutineState* busy = Busy();
  Generation written_in = CurrentGenerationForTesting();
  for (int w = 0; w < kWriters; w++) {
    GoroutineState* writer = Go(busy);
    Write(writer, data + 8 * w);
    ASSERT_EQ(Cell(writer->plain_key).generation(), written_in) << "precondition: no reset among the writes";
    Release(writer, lock);  // busy learns the write: everything below is ordered
    Acquire(busy, lock);
    End(writer);
  }
  u64 clears_before = ShadowClearCountForTesting();
  ResetUntilCurrentAgain(written_in, 3 * kGenerationMask);
  ASSERT_EQ(CurrentGenerationForTesting(), written_in) << "precondition: the generation came back";
  EXPECT_GT(ShadowClearCountForTesting(), clears_before) << "a value comes back only after a shadow clear";
  GoroutineState* later = Go(busy);
  for (int w = 0; w < kWriters; w++) Write(later, data + 8 * w);
  EXPECT_EQ(TakeRaces(), 0u) << "cells from a full generation cycle ago were treated as current";
}

TEST_F(CoreEpochResetTest, CellStampedWithAnOldGenerationAfterAShadowClearDoesNotReviveAsCurrent) {
  // b attached just before a reset that clears all shadow (it was the 6-bit
  // generation wrapping from 63 to 1) and writes x after it, with its old
  // key: nothing clears that cell again. c is ordered after the write, with
  // a clock of a new generation. When the old value came round to be current
  // again, the cell looked current and c's clock did not cover it: a false
  // race with an unknown goroutine. Now the value stays out of use while a
  // live goroutine (b) carries it.
  uptr x = Alloc(8);
  ResetUntilTheNextOneClearsTheShadow();
  GoroutineState* b = Go(Root());
  const Generation carried = Cell(b->plain_key).generation();
  u64 clears_before = ShadowClearCountForTesting();
  ForceResets(Busy(), 1);
  ASSERT_EQ(ShadowClearCountForTesting(), clears_before + 1) << "precondition: that reset cleared the shadow";
  ASSERT_EQ(Cell(b->plain_key).generation(), carried) << "precondition: b has not re-attached";
  Write(b, x);                // stamped with `carried`, after the clear
  GoroutineState* c = Go(b);  // ordered after b's write
  ResetUntilCurrentAgain(carried, 2 * kGenerationMask);
  Release(c, Alloc(8));  // c re-attaches in the current generation
  Write(c, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

TEST_F(CoreEpochResetTest, GoroutineIdleForAWholeGenerationCycleDoesNotRaceWithItsOwnWrite) {
  // h does not synchronize while the generation goes round. Were its value
  // current again, h's re-attach would keep its old clock as if it were of
  // the new turn, and its cell written before that re-attach (old key, slot
  // s at epoch e) would be live: back on slot s at a lower epoch, h's clock
  // entry for s drops below e, and h's next write races with its own.
  uptr x = Alloc(8);
  GoroutineState* h = Go(Root());
  ForceResets(Busy(), 1);
  // h attaches first after the reset: it gets the first free slot, as it
  // does again below.
  for (int i = 0; i < 3; i++) Release(h, Alloc(8));
  const Sid sid = h->sid;
  const Epoch epoch = h->epoch;
  const Generation carried = Cell(h->plain_key).generation();
  ResetUntilCurrentAgain(carried, 2 * kGenerationMask);
  Write(h, x);           // with its old key
  Release(h, Alloc(8));  // re-attaches, the first after the last reset
  ASSERT_EQ(h->sid, sid) << "precondition: h is back on its old slot";
  ASSERT_LT(h->epoch, epoch) << "precondition: at a lower epoch than its old key's";
  Write(h, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

TEST_F(CoreEpochResetTest, AGenerationALiveGoroutineCarriesDoesNotBecomeCurrentAgain) {
  GoroutineState* b = Go(Root());
  const Generation carried = Cell(b->plain_key).generation();
  ASSERT_EQ(b->clock_generation, carried);
  u64 clears_before = ShadowClearCountForTesting();
  for (unsigned i = 0; i < 2 * kGenerationMask; i++) {
    ForceResets(Busy(), 1);
    ASSERT_NE(CurrentGenerationForTesting(), carried) << "after " << i + 1 << " resets";
  }
  EXPECT_GE(ShadowClearCountForTesting() - clears_before, 2u) << "precondition: the values ran out, twice";
  // Once b synchronizes, it carries the current generation instead.
  Release(b, Alloc(8));
  EXPECT_EQ(Cell(b->plain_key).generation(), CurrentGenerationForTesting());
}

TEST_F(CoreEpochResetTest, ARaceAfterAShadowClearBetweenGoroutinesThatMissedItNamesTheEarlierOne) {
  // a and b carry the generation from before a reset that cleared all
  // shadow; their writes after it are a true race (nothing orders them), in
  // that old generation. The slot journals still name a.
  uptr x = Alloc(8);
  ResetUntilTheNextOneClearsTheShadow();
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  ASSERT_EQ(Cell(a->plain_key).generation(), Cell(b->plain_key).generation()) << "precondition: one generation";
  u64 clears_before = ShadowClearCountForTesting();
  ForceResets(Busy(), 1);
  ASSERT_EQ(ShadowClearCountForTesting(), clears_before + 1) << "precondition: that reset cleared the shadow";
  Write(a, x);
  Write(b, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find(PreviousAccessHeading("write", x, a)), std::string::npos) << report;
}

TEST_F(CoreEpochResetTest, ConflictsInAGenerationReusedWhileCarriedAreNotReported) {
  // Goroutines that stay idle, one attached in each generation, until a
  // shadow clear finds every value carried: one is made current anyway (the
  // epochs must start again), and conflicts in it may be false, as here:
  // `old` carries the reused value from its earlier turn, writes x under its
  // old key (slot s, epoch e), re-attaches keeping its old clock (same
  // generation value) back on slot s at a lower epoch, and starts k, which
  // is ordered after the write but does not know (s, e).
  std::vector<GoroutineState*> idle;
  GoroutineState* next = Go(Busy());
  for (unsigned i = 0; i < 4 * kGenerationMask; i++) {
    ForceResets(Busy(), 1);
    if (UntrustedGenerationsForTesting() != 0) break;
    for (int r = 0; r < 3; r++) Release(next, Alloc(8));  // the first to attach: the first free slot
    idle.push_back(next);
    next = Go(Busy());
  }
  const Generation reused = CurrentGenerationForTesting();
  ASSERT_EQ(UntrustedGenerationsForTesting(), u64{1} << reused) << "precondition: a carried value was reused";
  GoroutineState* old = nullptr;
  for (GoroutineState* g : idle) {
    if (Cell(g->plain_key).generation() == reused) old = g;
  }
  ASSERT_NE(old, nullptr) << "precondition: an idle goroutine carries the reused value";
  uptr x = Alloc(8);
  u64 dropped_before = UntrustedRacesDroppedForTesting();
  Write(old, x);
  GoroutineState* k = Go(old);
  Write(k, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
  EXPECT_GE(UntrustedRacesDroppedForTesting() - dropped_before, 1u) << "precondition: the conflict was found";
  // Once no goroutine carries it, the value is trusted again, and races in
  // it are reported.
  End(k);
  End(next);
  for (GoroutineState* g : idle) End(g);
  for (unsigned i = 0; i < 2 * kGenerationMask && UntrustedGenerationsForTesting() != 0; i++) ForceResets(Busy(), 1);
  ASSERT_EQ(UntrustedGenerationsForTesting(), 0u);
  ResetUntilCurrentAgain(reused, 2 * kGenerationMask);
  ASSERT_EQ(CurrentGenerationForTesting(), reused) << "precondition: the value is current again";
  uptr y = Alloc(8);
  GoroutineState* a = Go(Busy());
  GoroutineState* b = Go(Busy());
  Write(a, y);
  Write(b, y);
  EXPECT_EQ(TakeRaces(), 1u);
}

}  // namespace
}  // namespace racert::core_test
