// Many goroutines: more live goroutines than slots (slots are taken from their
// owners), and a million goroutines over a run with bounded memory.
#include "tests/unit/core_test_support.h"

#include <chrono>

#include "base/internal_alloc.h"
#include "shadow/shadow_cell.h"
#include "tsan_core/slot_pool.h"
#include "tsan_core/sync_ops.h"
#include "tsan_core/vector_clock.h"

namespace racert::core_test {
namespace {

class CoreSlotsTest : public CoreTest {
 protected:
  // Takes every slot nobody owns but `leave` (never-used or freed, whatever
  // earlier tests in this process did) with goroutines that each record an
  // access their siblings do not know of. Once these end, a new sibling gets
  // no exact hand-over from them: it reuses the slot that has rested longest.
  // Nothing is taken from a live owner, so which goroutine holds which slot
  // stays under the test's control.
  std::vector<GoroutineState*> TakeUnownedSlotsWithUnknownAccesses(u32 leave) {
    u32 unowned = UnownedSlotCountForTesting();
    EXPECT_GT(unowned, leave) << "precondition: more unowned slots than the test needs";
    std::vector<GoroutineState*> fillers;
    uptr own = Alloc(8 * kSlotCount, 8);
    for (u32 i = leave; i < unowned; i++) {
      fillers.push_back(Go(Root()));
      Write(fillers.back(), own + 8 * (fillers.size() - 1));
    }
    EXPECT_EQ(UnownedSlotCountForTesting(), leave);
    return fillers;
  }

  // A goroutine writes `shared` and ends without synchronizing; the
  // goroutine returned gets its slot (nullptr, with a failure, if it does
  // not: the precondition of the tests that use it).
  GoroutineState* SuccessorOfAFinishedWriter(uptr shared) {
    // One unowned slot left, for the writer, so that the successor has to reuse a freed one.
    std::vector<GoroutineState*> fillers = TakeUnownedSlotsWithUnknownAccesses(1);
    GoroutineState* first = Go(Root());
    Write(first, shared);
    const u32 first_sid = first->sid;
    End(first);
    for (GoroutineState* f : fillers) End(f);
    GoroutineState* successor = Go(Root());
    EXPECT_EQ(successor->sid, first_sid) << "precondition: the successor reuses the finished goroutine's slot";
    return successor->sid == first_sid ? successor : nullptr;
  }
};

TEST_F(CoreSlotsTest, ConcurrentWritersRaceWhileSlotsLast) {
  // 200 live siblings (fewer than kSlotCount) write one variable in turn:
  // each write races with the previous sibling's.
  constexpr int kWriters = 200;
  uptr shared = Alloc(8);
  for (int i = 0; i < kWriters; i++) Write(Go(Root()), shared);
  EXPECT_EQ(TakeRaces(), static_cast<u64>(kWriters - 1));
}

// Slot reuse: a goroutine that gets the slot of a finished goroutine must not
// mistake the finished goroutine's accesses for its own (the racy demo missed
// its race in 9% of runs at GOMAXPROCS=2 before this was fixed).
TEST_F(CoreSlotsTest, SuccessorOnAFinishedGoroutinesSlotStillRacesWithIt) {
  uptr shared = Alloc(8);
  GoroutineState* successor = SuccessorOfAFinishedWriter(shared);
  ASSERT_NE(successor, nullptr);
  Write(successor, shared);
  EXPECT_EQ(TakeRaces(), 1u) << "a race with the slot's previous owner was hidden";
}

// The same after the successor has accessed other memory, so that its write
// of the variable takes the access path's first tiers (its history event
// extends the previous one): the previous owner's cell, with the slot's
// number and an earlier epoch, is not the successor's own earlier cell.
TEST_F(CoreSlotsTest, SuccessorOnAFinishedGoroutinesSlotRacesWithItsCellFromTheFastTiers) {
  uptr shared = Alloc(8), own = Alloc(64);
  GoroutineState* successor = SuccessorOfAFinishedWriter(shared);
  ASSERT_NE(successor, nullptr);
  const uptr pc = NewPc();
  AccessByte(successor, own, /*is_write=*/true, pc);
  AccessByte(successor, shared, /*is_write=*/true, pc);
  EXPECT_EQ(TakeRaces(), 1u) << "a race with the slot's previous owner was hidden";
}

// An acquire may skip its join when the goroutine already knows the epoch
// that released the clock (sync_ops.cpp). Knowing "slot s at epoch >= e"
// through the slot's next owner is not knowing the releaser: the join must
// still happen, or what the releaser knew is lost (a false race here).
TEST_F(CoreSlotsTest, AcquireOfAFormerSlotOwnersReleaseStillLearnsWhatItKnew) {
  uptr x = Alloc(8);
  uptr from_writer = Alloc(8), from_releaser = Alloc(8), from_successor = Alloc(8);
  std::vector<GoroutineState*> fillers = TakeUnownedSlotsWithUnknownAccesses(2);  // for writer and releaser
  GoroutineState* writer = Go(Root());
  Write(writer, x);
  Release(writer, from_writer);
  GoroutineState* releaser = Go(Root());
  Acquire(releaser, from_writer);
  Release(releaser, from_releaser);  // its clock now holds the writer's write
  u32 releaser_sid = releaser->sid;
  End(releaser);
  for (GoroutineState* f : fillers) End(f);
  GoroutineState* successor = Go(Root());
  ASSERT_EQ(successor->sid, releaser_sid) << "precondition: the successor reuses the releaser's slot";
  Release(successor, from_successor);
  GoroutineState* reader = Go(Root());
  Acquire(reader, from_successor);  // reader's entry for that slot passes the releaser's epoch
  Acquire(reader, from_releaser);
  Write(reader, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

TEST_F(CoreSlotsTest, SuccessorOrderedAfterThePreviousOwnerDoesNotRace) {
  uptr shared = Alloc(8);
  uptr sync = Alloc(8);
  std::vector<GoroutineState*> fillers = TakeUnownedSlotsWithUnknownAccesses(1);  // for first
  GoroutineState* first = Go(Root());
  Write(first, shared);
  Release(first, sync);
  u32 first_sid = first->sid;
  End(first);
  for (GoroutineState* f : fillers) End(f);
  GoroutineState* successor = Go(Root());
  ASSERT_EQ(successor->sid, first_sid) << "precondition: the successor reuses the finished goroutine's slot";
  Acquire(successor, sync);
  Write(successor, shared);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// Exact hand-overs (issue 8). A writer exits without synchronizing; a wave
// of workers takes every other unowned slot, and the parent waits for them.
// Goroutines the parent starts afterwards know every access of the workers'
// slots, so they take those, never the writer's: a reader that synchronizes
// with all of them still races with the writer, attributed to it.
TEST_F(CoreSlotsTest, GoroutinesStartedAfterAWaitReuseKnownSlotsAndTheWritersRaceIsFound) {
  uptr x = Alloc(8);
  uptr own = Alloc(8 * kSlotCount, 8);
  uptr wait_group = Alloc(8);
  uptr to_reader = Alloc(8);
  GoroutineState* parent = Go(Root());
  GoroutineState* writer = Go(parent);
  Write(writer, x);
  u64 writer_number = writer->number;
  u32 writer_sid = writer->sid;
  End(writer);
  // Every unowned slot but the writer's: the first wave gets never-used
  // slots, or freed ones that rested longer than the writer's (freed last),
  // whichever earlier tests in this process left.
  const u32 wave_size = UnownedSlotCountForTesting() - 1;
  ASSERT_GT(wave_size, kSlotCount / 2) << "precondition: earlier tests left most slots unowned";
  HandOverCounts after_first_wave{};
  for (int wave = 0; wave < 4; wave++) {
    std::vector<GoroutineState*> workers;
    for (u32 i = 0; i < wave_size; i++) {
      GoroutineState* w = Go(parent);
      ASSERT_NE(w->sid, writer_sid) << "wave " << wave << " took the writer's slot";
      Write(w, own + 8 * i);
      ReleaseMerge(w, wait_group);  // WaitGroup.Done
      ReleaseMerge(w, to_reader);
      workers.push_back(w);
    }
    for (GoroutineState* w : workers) End(w);
    Acquire(parent, wait_group);  // WaitGroup.Wait
    if (wave == 0) after_first_wave = SlotHandOverCountsForTesting();
  }
  HandOverCounts counts = SlotHandOverCountsForTesting();
  EXPECT_EQ(counts.exact - after_first_wave.exact, 3u * wave_size);
  EXPECT_EQ(counts.unknown_reuse, after_first_wave.unknown_reuse);
  EXPECT_EQ(counts.steal, after_first_wave.steal);
  GoroutineState* reader = Go(Root());
  Acquire(reader, to_reader);
  Read(reader, x);
  EXPECT_EQ(TakeRaces(), 1u) << "the writer's slot was handed over without its access being known";
  std::string reports = TakeReports();
  EXPECT_NE(reports.find("Previous write at " + GoAddress(x) + " by goroutine " + std::to_string(writer_number)),
            std::string::npos)
      << reports;
}

// The writer's slot itself is handed over exactly when the new goroutine
// knows the write: no race with it, nor for whoever learns of the new owner.
TEST_F(CoreSlotsTest, AKnownSlotIsReusedAndItsAccessesStayOrdered) {
  uptr x = Alloc(8);
  uptr done = Alloc(8), handoff = Alloc(8);
  GoroutineState* parent = Go(Root());
  GoroutineState* writer = Go(parent);
  Write(writer, x);
  Release(writer, done);
  u32 writer_sid = writer->sid;
  End(writer);
  Acquire(parent, done);
  HandOverCounts before = SlotHandOverCountsForTesting();
  GoroutineState* successor = Go(parent);
  HandOverCounts after = SlotHandOverCountsForTesting();
  // Preferred even over the never-used slots.
  EXPECT_EQ(successor->sid, writer_sid);
  EXPECT_EQ(after.exact, before.exact + 1);
  Write(successor, x);
  Release(successor, handoff);
  GoroutineState* reader = Go(Root());
  Acquire(reader, handoff);
  Write(reader, x);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// A finished goroutine keeps a small record with its history, so its stack
// is still restored after thousands more goroutines finished (whole states,
// clocks included, used to be kept for the last 1,024 only).
TEST_F(CoreSlotsTest, AFinishedWritersStackIsRestoredAfterTenThousandMoreFinish) {
  uptr x = Alloc(8);
  GoroutineState* writer = Go(Root());
  Write(writer, x);
  u64 writer_number = writer->number;
  End(writer);
  constexpr int kLater = 10000;
  uptr own = Alloc(8 * kLater, 8);
  for (int i = 0; i < kLater; i++) {
    GoroutineState* g = Go(Root());
    Write(g, own + 8 * i);  // a history chunk each, as real goroutines have
    End(g);
  }
  GoroutineState* reader = Go(Root());
  Read(reader, x);
  EXPECT_EQ(TakeRaces(), 1u);
  std::string reports = TakeReports();
  EXPECT_NE(reports.find("Previous write at " + GoAddress(x) + " by goroutine " + std::to_string(writer_number) + ":\n"),
            std::string::npos)
      << reports;
  EXPECT_EQ(reports.find("failed to restore"), std::string::npos) << reports;
}

// When no freed slot is known and none was never used, the slot that rested
// longest is handed over, and the hand-over is counted as one that can hide
// an earlier owner's accesses (the limit the README states).
TEST_F(CoreSlotsTest, AnUnknownHandOverIsCounted) {
  std::vector<GoroutineState*> fillers = TakeUnownedSlotsWithUnknownAccesses(0);
  u32 oldest = fillers.front()->sid;
  for (GoroutineState* f : fillers) End(f);
  HandOverCounts before = SlotHandOverCountsForTesting();
  GoroutineState* g = Go(Root());
  HandOverCounts after = SlotHandOverCountsForTesting();
  EXPECT_EQ(g->sid, oldest);
  EXPECT_EQ(after.unknown_reuse, before.unknown_reuse + 1);
}

TEST_F(CoreSlotsTest, ThousandLiveGoroutinesDoingOrderedWorkHaveNoFalseRace) {
  constexpr int kGoroutines = 1000;
  static_assert(kGoroutines > 3 * kSlotCount);
  uptr own = Alloc(8 * kGoroutines, 8);
  uptr config = Alloc(8);
  uptr done = Alloc(8 * kGoroutines, 8);
  GoroutineState* parent = Go(Root());
  Write(parent, config);
  for (int i = 0; i < kGoroutines; i++) Write(parent, own + 8 * i);  // initialize

  std::vector<GoroutineState*> workers;
  for (int i = 0; i < kGoroutines; i++) workers.push_back(Go(parent));
  // All 1000 are alive; each works in turn, so slots keep changing hands.
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < kGoroutines; i++) {
      GoroutineState* w = workers[i];
      if (round > 0) Acquire(w, done + 8 * i);  // the parent handed the value back
      Read(w, config);
      Read(w, own + 8 * i);
      Write(w, own + 8 * i);
      Release(w, done + 8 * i);
    }
    for (int i = 0; i < kGoroutines; i++) {
      Acquire(parent, done + 8 * i);
      Read(parent, own + 8 * i);
      Write(parent, own + 8 * i);
      Release(parent, done + 8 * i);
    }
  }
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
  for (GoroutineState* w : workers) End(w);
}

TEST_F(CoreSlotsTest, UnorderedGoroutinesStillRaceWhenSlotsAreExhausted) {
  constexpr int kGoroutines = 1000;
  uptr shared = Alloc(8);
  GoroutineState* parent = Go(Root());
  std::vector<GoroutineState*> live;
  for (int i = 0; i < kGoroutines; i++) live.push_back(Go(parent));
  // Every slot is owned now. Two more unordered goroutines: the first pair
  // of conflicting accesses must still be reported.
  GoroutineState* a = Go(parent);
  GoroutineState* b = Go(parent);
  Write(a, shared);
  Write(b, shared);
  EXPECT_EQ(TakeRaces(), 1u);
  // And the crowd writing one variable in turn races at least once.
  uptr crowd_shared = Alloc(8);
  for (GoroutineState* g : live) Write(g, crowd_shared);
  u64 crowd_races = TakeRaces();
  EXPECT_GE(crowd_races, 1u);
  RecordProperty("crowd_races_of_999", static_cast<int>(crowd_races));
}

// A million goroutines created and ended over the run, in waves of 1000:
// each wave's goroutines are all alive at once (so slots are exhausted and
// stolen), each reads shared configuration, writes its own variable and the
// wave's counter under a lock, then does WaitGroup.Done (release_merge); the
// parent waits (acquire) and checks every variable. Memory must stay bounded.
TEST_F(CoreSlotsTest, MillionGoroutinesInWavesWithBoundedMemory) {
  constexpr int kWaveSize = 1000;
  constexpr int kWaves = 1000;
  uptr config = Alloc(8);
  uptr counter = Alloc(8);
  uptr counter_lock = Alloc(8);
  uptr wait_group = Alloc(8);
  uptr results = Alloc(8 * kWaveSize, 8);
  uptr pc_go = NewPc(), pc_read = NewPc(), pc_write = NewPc(), pc_lock_read = NewPc(), pc_lock_write = NewPc();
  uptr pc_parent_read = NewPc(), pc_parent_write = NewPc();
  GoroutineState* parent = Go(Root());
  AccessByte(parent, config, true, pc_parent_write);

  uptr bytes_after_wave_10 = 0;
  auto start = std::chrono::steady_clock::now();
  std::vector<GoroutineState*> wave(kWaveSize);
  for (int w = 0; w < kWaves; w++) {
    for (int i = 0; i < kWaveSize; i++) wave[i] = StartGoroutine(parent, pc_go);
    for (int i = 0; i < kWaveSize; i++) {
      GoroutineState* g = wave[i];
      AccessByte(g, config, false, pc_read);
      AccessByte(g, results + 8 * i, true, pc_write);
      Acquire(g, counter_lock);
      AccessByte(g, counter, false, pc_lock_read);
      AccessByte(g, counter, true, pc_lock_write);
      Release(g, counter_lock);
      ReleaseMerge(g, wait_group);
      EndGoroutine(g);
    }
    Acquire(parent, wait_group);
    for (int i = 0; i < kWaveSize; i++) AccessByte(parent, results + 8 * i, false, pc_parent_read);
    AccessByte(parent, counter, false, pc_parent_read);
    if (w == 9) bytes_after_wave_10 = InternalAllocatedBytesForTesting();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uptr bytes_at_end = InternalAllocatedBytesForTesting();
  RecordProperty("seconds", std::to_string(seconds));
  RecordProperty("internal_bytes_after_wave_10", std::to_string(bytes_after_wave_10));
  RecordProperty("internal_bytes_at_end", std::to_string(bytes_at_end));
  printf("[ info ] %d goroutines in %.2f s; internal allocator: %zu bytes after wave 10, %zu at the end\n",
         kWaveSize * kWaves, seconds, static_cast<size_t>(bytes_after_wave_10), static_cast<size_t>(bytes_at_end));
  EXPECT_EQ(TakeRaces(), 0u);
  EXPECT_LT(bytes_at_end, 2 * bytes_after_wave_10 + (uptr{16} << 20));
}

}  // namespace
}  // namespace racert::core_test
