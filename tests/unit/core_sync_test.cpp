// Happens-before edges of every synchronization primitive the core offers:
// each one must order the accesses it is supposed to order (no report), and
// without it (or with the wrong one) the same accesses must race.
#include "tests/unit/core_test_support.h"

namespace racert::core_test {
namespace {

class CoreSyncTest : public CoreTest {
 protected:
  void ReadModifyWritesPublishBothTo(bool c_loads_atomically);
};

// --- go_start ----------------------------------------------------------------

TEST_F(CoreSyncTest, ParentAccessesBeforeGoStartHappenBeforeTheChild) {
  uptr x = Alloc(8);
  Write(Root(), x);
  GoroutineState* child = Go(Root());
  Write(child, x);
  Read(child, x);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreSyncTest, ParentWriteAfterGoStartRacesWithChild) {
  uptr x = Alloc(8);
  GoroutineState* child = Go(Root());
  Write(Root(), x);
  Write(child, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, ChildWriteRacesWithParentWriteAfterGoStart) {
  // The other order: the child writes first, the parent (which knows nothing
  // of the child) writes later.
  uptr x = Alloc(8);
  GoroutineState* child = Go(Root());
  Write(child, x);
  Write(Root(), x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, GoStartIsTransitive) {
  uptr x = Alloc(8);
  Write(Root(), x);
  GoroutineState* child = Go(Root());
  GoroutineState* grandchild = Go(child);
  Write(grandchild, x);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreSyncTest, SiblingsAreUnordered) {
  uptr x = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

// --- Release / Acquire ---------------------------------------------------------

TEST_F(CoreSyncTest, ReleaseThenAcquireOrders) {
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  Release(a, lock);
  Acquire(b, lock);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreSyncTest, WithoutAcquireTheSameAccessesRace) {
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  Release(a, lock);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AcquireOfAnotherAddressDoesNotOrder) {
  uptr x = Alloc(8), lock = Alloc(8), other = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  Release(a, lock);
  Acquire(b, other);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AccessAfterReleaseIsNotCoveredByIt) {
  // The releaser's epoch advances: what it does after the release is not
  // published by it.
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Release(a, lock);
  Write(a, x);
  Acquire(b, lock);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AcquireBeforeReleaseDoesNotOrder) {
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Acquire(b, lock);  // nothing released yet: a no-op
  Write(a, x);
  Release(a, lock);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, ReleaseAcquireChainIsTransitive) {
  uptr x = Alloc(8), l1 = Alloc(8), l2 = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(a, x);
  Release(a, l1);
  Acquire(b, l1);
  Release(b, l2);
  Acquire(c, l2);
  Write(c, x);
  EXPECT_EQ(TakeRaces(), 0u);
}

// --- Release is a store; ReleaseMerge merges ---------------------------------------

TEST_F(CoreSyncTest, ReleaseMergeKeepsBothReleasers) {
  uptr x = Alloc(8), y = Alloc(8), wg = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(a, x);
  ReleaseMerge(a, wg);
  Write(b, y);
  ReleaseMerge(b, wg);
  Acquire(c, wg);
  Write(c, x);
  Write(c, y);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreSyncTest, ReleaseDropsTheEarlierReleaser) {
  uptr x = Alloc(8), y = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(a, x);
  Release(a, lock);
  Write(b, y);
  Release(b, lock);  // S = T_b: a's release is forgotten
  Acquire(c, lock);
  Write(c, y);
  EXPECT_EQ(TakeRaces(), 0u) << "the last releaser must be ordered";
  Write(c, x);
  EXPECT_EQ(TakeRaces(), 1u) << "a release must overwrite, not merge, the sync clock";
}

// --- ReleaseAcquire (buffered channel slots) ------------------------------------------

// A release to a clock that already holds the releaser's own earlier release
// copies only the releaser's own entry (sync_ops.cpp, ReleaseInto), but not
// once the releaser learned something in between: that must reach the clock.
TEST_F(CoreSyncTest, ReleaseAgainAfterAnAcquireCarriesWhatWasAcquired) {
  uptr x = Alloc(8), from_writer = Alloc(8), lock = Alloc(8);
  GoroutineState* writer = Go(Root());
  GoroutineState* g = Go(Root());
  GoroutineState* reader = Go(Root());
  Write(writer, x);
  Release(writer, from_writer);
  Release(g, lock);
  Release(g, lock);  // its own release again: one entry copied
  Acquire(g, from_writer);
  Release(g, lock);
  Acquire(reader, lock);
  Write(reader, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// The same when what g learned came with a release-acquire on that very
// clock: its copy holds g's clock from before the join.
TEST_F(CoreSyncTest, ReleaseAgainAfterAReleaseAcquireCarriesWhatItAcquired) {
  uptr x = Alloc(8), channel = Alloc(8);
  GoroutineState* writer = Go(Root());
  GoroutineState* g = Go(Root());
  GoroutineState* reader = Go(Root());
  Write(writer, x);
  Release(writer, channel);
  ReleaseAcquire(g, channel);  // learns the writer; leaves its own earlier clock
  Release(g, channel);
  Acquire(reader, channel);
  Write(reader, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// Repeated releases copy one entry, and still do not cover what the
// releaser does after them.
TEST_F(CoreSyncTest, RepeatedReleasesStillExcludeLaterAccesses) {
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* g = Go(Root());
  GoroutineState* reader = Go(Root());
  Release(g, lock);
  Release(g, lock);
  Write(g, x);
  Acquire(reader, lock);
  Write(reader, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, ReleaseAcquireOrdersBothWays) {
  uptr x = Alloc(8), y = Alloc(8), slot = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  ReleaseAcquire(a, slot);  // S = T_a
  Write(b, y);
  ReleaseAcquire(b, slot);  // b learns a; S = T_b
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 0u) << "b acquired a's release";
  ReleaseAcquire(a, slot);  // a learns b
  Write(a, y);
  EXPECT_EQ(TakeRaces(), 0u) << "a acquired b's release";
}

TEST_F(CoreSyncTest, ReleaseAcquireStoresOnlyTheReleasersOwnClock) {
  // S' = T (the releaser's clock before joining): the slot does not pass on
  // what the releaser just acquired from it.
  uptr x = Alloc(8), slot = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(a, x);
  ReleaseAcquire(a, slot);
  ReleaseAcquire(b, slot);  // S = b's pre-acquire clock, without a
  Acquire(c, slot);
  Write(c, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

// TestOutput "chanmm" (docs/go-race-abi-notes.md §10.2), replayed as Go's channel
// code drives the detector for a buffered channel of capacity 1:
//   c := make(chan bool, 1); var data uint64
//   c <- true                   // main: slot release_acquire
//   go func() { c <- true }()   // G1 blocks: the buffer is full
//   go func() { sleep; <-c; data = 2 }()  // G2
//   data = 1                    // main
//   <-c                         // main takes the item and G1's send moves
//                               // into the same slot: release_acquire for
//                               // main, then for G1 on G1's behalf
//   ... G2: <-c (release_acquire), data = 2  -> must race with data = 1
// With merging semantics the slot would still carry main's clock and G2
// would (wrongly) be ordered after data = 1.
TEST_F(CoreSyncTest, ChanmmRaceIsReportedWithPerSlotReleaseAcquire) {
  GoroutineState* main_g = Go(Root());
  uptr slot = Alloc(8), data = Alloc(8);
  ReleaseAcquire(main_g, slot);           // c <- true
  GoroutineState* g1 = Go(main_g);        // go func() { c <- true }()
  GoroutineState* g2 = Go(main_g);        // go func() { ...; <-c; data = 2 }()
  Write(main_g, data);                    // data = 1
  ReleaseAcquire(main_g, slot);           // <-c: main receives the head item
  ReleaseAcquire(g1, slot);               //      and G1's send fills the slot
  ReleaseAcquire(g2, slot);               // G2: <-c
  Write(g2, data);                        // data = 2
  EXPECT_EQ(TakeRaces(), 1u);
}

// --- Atomics through AtomicSynchronize ----------------------------------------------

struct CountedOperation {
  int calls = 0;
  bool result = true;
  static bool Run(void* self) {
    auto* op = static_cast<CountedOperation*>(self);
    op->calls++;
    return op->result;
  }
};

bool Atomic(GoroutineState* g, uptr addr, AtomicSemantics semantics, bool succeeds = true) {
  CountedOperation op;
  op.result = succeeds;
  u64 key_before_release = 0;
  bool result = AtomicSynchronize(g, addr, semantics, CountedOperation::Run, &op, &key_before_release);
  if (semantics == AtomicSemantics::kLoad) {
    // Tried without a lock first, and again under it if its acquire has
    // something to learn (sync_ops.cpp).
    EXPECT_GE(op.calls, 1);
    EXPECT_LE(op.calls, 2);
  } else {
    EXPECT_EQ(op.calls, 1) << "the hardware operation must run exactly once";
  }
  return result;
}

// A read-modify-write: S = T = max(S, T); new epoch.

// S = T = max(S, T): unlike ReleaseAcquire, c learns both a and b, whether
// it acquires with a plain acquire or an atomic load. (probe is only touched
// by a and b: b's own later accesses are not published by its release, so c
// must not touch what b touched after it.)
void CoreSyncTest::ReadModifyWritesPublishBothTo(bool c_loads_atomically) {
  uptr x = Alloc(8), y = Alloc(8), probe = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(a, x);
  Write(a, probe);
  Atomic(a, atom, AtomicSemantics::kReadModifyWrite);
  Write(b, y);
  Atomic(b, atom, AtomicSemantics::kReadModifyWrite);
  Write(b, probe);
  EXPECT_EQ(TakeRaces(), 0u) << "b's read-modify-write acquired a";
  if (c_loads_atomically) {
    Atomic(c, atom, AtomicSemantics::kLoad);
  } else {
    Acquire(c, atom);
  }
  Write(c, x);
  Write(c, y);
  EXPECT_EQ(TakeRaces(), 0u) << "c acquired both through b: the read-modify-write released max(S, T)";
}

TEST_F(CoreSyncTest, ReadModifyWritePublishesWhatItAcquired) { ReadModifyWritesPublishBothTo(false); }

TEST_F(CoreSyncTest, ReadModifyWriteDoesNotCoverLaterAccesses) {
  uptr x = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Atomic(a, atom, AtomicSemantics::kReadModifyWrite);
  Write(a, x);
  Acquire(b, atom);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AtomicSynchronizeReturnsTheOperationsResult) {
  uptr atom = Alloc(8);
  GoroutineState* a = Go(Root());
  EXPECT_TRUE(Atomic(a, atom, AtomicSemantics::kCompareExchange, true));
  EXPECT_FALSE(Atomic(a, atom, AtomicSemantics::kCompareExchange, false));
  EXPECT_FALSE(Atomic(a, atom, AtomicSemantics::kLoad, false));
  EXPECT_TRUE(Atomic(a, atom, AtomicSemantics::kReadModifyWrite, true));
  // A load where nothing was ever released still runs the operation.
  EXPECT_TRUE(Atomic(a, Alloc(8), AtomicSemantics::kLoad, true));
}

TEST_F(CoreSyncTest, AtomicStoreThenLoadOrders) {
  uptr x = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  Atomic(a, atom, AtomicSemantics::kStore);
  Atomic(b, atom, AtomicSemantics::kLoad);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreSyncTest, AtomicLoadDoesNotRelease) {
  uptr y = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Atomic(a, atom, AtomicSemantics::kStore);
  Write(b, y);
  Atomic(b, atom, AtomicSemantics::kLoad);
  Atomic(c, atom, AtomicSemantics::kLoad);
  Write(c, y);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AtomicStoreIsAReleaseStore) {
  uptr x = Alloc(8), y = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(a, x);
  Atomic(a, atom, AtomicSemantics::kStore);
  Write(b, y);
  Atomic(b, atom, AtomicSemantics::kStore);  // S = T_b, a dropped
  Atomic(c, atom, AtomicSemantics::kLoad);
  Write(c, y);
  EXPECT_EQ(TakeRaces(), 0u);
  Write(c, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AtomicReadModifyWriteAcquiresAndReleases) { ReadModifyWritesPublishBothTo(true); }

TEST_F(CoreSyncTest, FailedCompareExchangeOnlyAcquires) {
  uptr x = Alloc(8), y = Alloc(8), probe = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(a, x);
  Write(a, probe);
  Atomic(a, atom, AtomicSemantics::kStore);
  Write(b, y);
  Atomic(b, atom, AtomicSemantics::kCompareExchange, /*succeeds=*/false);
  Write(b, probe);
  EXPECT_EQ(TakeRaces(), 0u) << "a failed CAS still acquires";
  Atomic(c, atom, AtomicSemantics::kLoad);
  Write(c, x);
  EXPECT_EQ(TakeRaces(), 0u) << "a's store is still in the sync clock";
  Write(c, y);
  EXPECT_EQ(TakeRaces(), 1u) << "a failed CAS must not release";
}

TEST_F(CoreSyncTest, SuccessfulCompareExchangeReleases) {
  uptr y = Alloc(8), atom = Alloc(8);
  GoroutineState* b = Go(Root());
  GoroutineState* c = Go(Root());
  Write(b, y);
  Atomic(b, atom, AtomicSemantics::kCompareExchange, /*succeeds=*/true);
  Atomic(c, atom, AtomicSemantics::kLoad);
  Write(c, y);
  EXPECT_EQ(TakeRaces(), 0u);
}

// --- AcquireEverything (finalizers) ----------------------------------------------------

TEST_F(CoreSyncTest, AcquireEverythingOrdersAfterAllGoroutines) {
  uptr x = Alloc(8), y = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  GoroutineState* finalizer = Go(Root());
  Write(a, x);  // a and b never release anything
  Write(b, y);
  AcquireEverything(finalizer);
  Write(finalizer, x);
  Write(finalizer, y);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreSyncTest, WithoutAcquireEverythingTheFinalizerRaces) {
  uptr x = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* finalizer = Go(Root());
  Write(a, x);
  Write(finalizer, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AcquireEverythingDoesNotCoverAccessesAfterTheOthersNextRelease) {
  // Acquiring "everything" takes each slot's current epoch, so it cannot
  // cover what another goroutine does after its next release (new epoch).
  // (Accesses made before that release, at the acquired epoch, are covered:
  // an inherent imprecision of epoch-based clocks, as in TSan's
  // AcquireGlobal, harmless for finalizers whose objects are unreachable.)
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* finalizer = Go(Root());
  AcquireEverything(finalizer);
  Release(a, lock);
  Write(a, x);
  Write(finalizer, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

// --- ignore_sync ---------------------------------------------------------------------

TEST_F(CoreSyncTest, ReleaseWhileIgnoringSyncIsANoOp) {
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  IgnoreSyncBegin(a);
  Release(a, lock);
  ReleaseMerge(a, lock);
  ReleaseAcquire(a, lock);
  Atomic(a, lock, AtomicSemantics::kReadModifyWrite);
  IgnoreSyncEnd(a);
  Acquire(b, lock);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AcquireWhileIgnoringSyncIsANoOp) {
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  Release(a, lock);
  IgnoreSyncBegin(b);
  Acquire(b, lock);
  AcquireEverything(b);
  IgnoreSyncEnd(b);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, AtomicsWhileIgnoringSyncRunButDoNotSynchronize) {
  uptr x = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  IgnoreSyncBegin(a);
  EXPECT_FALSE(Atomic(a, atom, AtomicSemantics::kCompareExchange, false));
  EXPECT_TRUE(Atomic(a, atom, AtomicSemantics::kStore, true));
  IgnoreSyncEnd(a);
  Atomic(b, atom, AtomicSemantics::kLoad);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, GoStartFromAParentIgnoringSyncDoesNotOrder) {
  uptr x = Alloc(8);
  GoroutineState* parent = Go(Root());
  Write(parent, x);
  IgnoreSyncBegin(parent);
  GoroutineState* child = Go(parent);
  IgnoreSyncEnd(parent);
  Write(child, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreSyncTest, IgnoreSyncNestsAndPlainAccessesAreStillChecked) {
  uptr x = Alloc(8), lock = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  IgnoreSyncBegin(a);
  IgnoreSyncBegin(a);
  Write(a, x);
  Release(a, lock);
  IgnoreSyncEnd(a);  // still ignoring
  Release(a, lock);
  IgnoreSyncEnd(a);
  Acquire(b, lock);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u) << "accesses made while ignoring sync are still checked";
  // And once ignoring ends, sync works again.
  uptr y = Alloc(8);
  Write(a, y);
  Release(a, lock);
  Acquire(b, lock);
  Write(b, y);
  EXPECT_EQ(TakeRaces(), 0u);
}

}  // namespace
}  // namespace racert::core_test
