// Byte accumulation (tsan_core/byte_accumulator.h): a goroutine's further
// bytes of a word it is alone in are kept privately and published later. No
// race may be lost or invented on the way: a changer of the word checks what
// is pending, the owner checks what it publishes into a changed word, and
// bytes of a word freed meanwhile are dropped.
#include "tests/unit/core_test_support.h"

#include <atomic>
#include <thread>

#include "base/process_fence.h"
#include "tsan_core/byte_accumulator.h"

namespace racert::core_test {
namespace {

class CoreByteAccumulatorTest : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    if (!ProcessFenceAvailable()) GTEST_SKIP() << "no membarrier: accumulation is off on this kernel";
  }
  void TearDown() override {
    SkipPendingChecksForTesting(false);
    CoreTest::TearDown();
  }
  // A byte loop: the same pc for every byte, as a compiled loop has.
  static void Fill(GoroutineState* g, uptr begin, uptr end, uptr pc, bool is_write = true) {
    for (uptr a = begin; a < end; a++) AccessByte(g, a, is_write, pc);
  }
  GoroutineState* Accumulating(GoroutineState* g) {
    EXPECT_NE(g->acc, nullptr) << "a goroutine holding a slot should hold its accumulator";
    return g;
  }
};

TEST_F(CoreByteAccumulatorTest, BytesAfterTheFirstOfAWordStayPrivateUntilTheNextWord) {
  uptr buf = Alloc(16, 8);
  GoroutineState* g = Accumulating(Go(Root()));
  uptr pc = NewPc();
  Fill(g, buf, buf + 5, pc);
  EXPECT_EQ(g->acc_word, buf);
  // The first bytes are published one by one (the first one also starts the
  // goroutine's history), the rest only privately.
  EXPECT_LE(Cell(ShadowWordFor(buf)->load()).write_mask(), 0x03);
  EXPECT_EQ(Cell(g->acc_value).write_mask(), 0x1f);
  Fill(g, buf + 5, buf + 9, pc);
  EXPECT_EQ(Cell(ShadowWordFor(buf)->load()).write_mask(), 0xff) << "published when the loop moved on";
  EXPECT_EQ(g->acc_word, buf + 8);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreByteAccumulatorTest, AnUnorderedWriterOfAPendingByteIsReportedWithTheOwnersStack) {
  uptr buf = Alloc(8, 8);
  GoroutineState* owner = Accumulating(Go(Root()));
  GoroutineState* other = Go(Root());
  uptr fill_pc = NewPc();
  Fill(owner, buf, buf + 6, fill_pc);  // bytes 1..5 pending
  uptr racing_pc = NewPc();
  AccessByte(other, buf + 4, /*is_write=*/true, racing_pc);
  EXPECT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find(FakeFunctionName(racing_pc)), std::string::npos) << report;
  EXPECT_NE(report.find("Previous write at " + GoAddress(buf + 4)), std::string::npos) << report;
  EXPECT_NE(report.find(FakeFunctionName(fill_pc)), std::string::npos) << report;
}

TEST_F(CoreByteAccumulatorTest, AReaderOfAPendingWrittenByteRacesAndOfAnotherByteDoesNot) {
  uptr buf = Alloc(16, 8);
  GoroutineState* owner = Accumulating(Go(Root()));
  GoroutineState* reader = Go(Root());
  uptr pc = NewPc();
  Fill(owner, buf, buf + 4, pc);
  Fill(owner, buf + 8, buf + 12, pc);  // publishes the first word, bytes 9..11 pending
  AccessByte(reader, buf + 13, /*is_write=*/false, NewPc());
  AccessByte(reader, buf + 4, /*is_write=*/false, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
  AccessByte(reader, buf + 10, /*is_write=*/false, NewPc());
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreByteAccumulatorTest, DisjointBytesOfAnotherGoroutineAreNoRaceAndThePendingOnesStillPublish) {
  uptr buf = Alloc(16, 8);
  GoroutineState* owner = Accumulating(Go(Root()));
  GoroutineState* neighbour = Go(Root());
  uptr pc = NewPc();
  Fill(owner, buf, buf + 4, pc);
  AccessByte(neighbour, buf + 6, /*is_write=*/true, NewPc());
  Fill(owner, buf + 8, buf + 10, pc);  // moving on publishes bytes 1..3 into the changed word
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
  GoroutineState* late = Go(Root());  // ordered after neither
  AccessByte(late, buf + 3, /*is_write=*/false, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "byte 3 must be in the word after the owner moved on";
}

TEST_F(CoreByteAccumulatorTest, TheOwnerChecksWhatItPublishesIntoAChangedWord) {
  // The changer's check is what a store buffer can hide (rule 2 of the
  // header covers it with a fence); without it the owner must still find the
  // race when it next looks at the word, and report its own byte's stack.
  uptr buf = Alloc(8, 8);
  GoroutineState* owner = Accumulating(Go(Root()));
  GoroutineState* other = Go(Root());
  uptr fill_pc = NewPc();
  Fill(owner, buf, buf + 3, fill_pc);  // bytes 1, 2 pending
  SkipPendingChecksForTesting(true);
  uptr racing_pc = NewPc();
  AccessByte(other, buf + 2, /*is_write=*/true, racing_pc);
  EXPECT_EQ(TakeRaces(), 0u) << "the changer's check was skipped";
  SkipPendingChecksForTesting(false);
  AccessByte(owner, buf + 3, /*is_write=*/true, fill_pc);  // sees the word changed
  EXPECT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Write at " + GoAddress(buf + 2)), std::string::npos) << report;
  EXPECT_NE(report.find(FakeFunctionName(fill_pc)), std::string::npos) << report;
  EXPECT_NE(report.find(FakeFunctionName(racing_pc)), std::string::npos) << report;
}

TEST_F(CoreByteAccumulatorTest, TheOwnerChecksWhatItPublishesWhenItSynchronizes) {
  uptr buf = Alloc(8, 8), lock = Alloc(8);
  GoroutineState* owner = Accumulating(Go(Root()));
  GoroutineState* other = Go(Root());
  uptr fill_pc = NewPc();
  Fill(owner, buf, buf + 4, fill_pc);
  SkipPendingChecksForTesting(true);
  AccessByte(other, buf + 3, /*is_write=*/false, NewPc());
  SkipPendingChecksForTesting(false);
  EXPECT_EQ(TakeRaces(), 0u);
  Release(owner, lock);  // publishes first
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreByteAccumulatorTest, PendingBytesOfFreedMemoryAreDroppedNotPublishedIntoItsNextObject) {
  uptr buf = Alloc(8, 8);
  GoroutineState* owner = Accumulating(Go(Root()));
  uptr pc = NewPc();
  Fill(owner, buf, buf + 8, pc);  // bytes 1..7 pending
  ResetShadowRange(buf, 8);        // freed, then allocated to someone else
  GoroutineState* next_user = Go(Root());
  AccessByte(next_user, buf + 1, /*is_write=*/true, NewPc());
  Fill(owner, buf + 16, buf + 17, NewPc());  // the owner moves on
  GoroutineState* third = Go(next_user);     // ordered after the next user only
  AccessByte(third, buf + 5, /*is_write=*/true, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

TEST_F(CoreByteAccumulatorTest, BytesBeforeAReleaseAreOrderedBeforeTheAcquirer) {
  uptr buf = Alloc(8, 8), lock = Alloc(8);
  GoroutineState* owner = Accumulating(Go(Root()));
  GoroutineState* other = Go(Root());
  Fill(owner, buf, buf + 8, NewPc());
  Release(owner, lock);
  Acquire(other, lock);
  Fill(other, buf, buf + 8, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

TEST_F(CoreByteAccumulatorTest, ARangeAccessOfTheOwnerSeesItsPendingBytes) {
  uptr buf = Alloc(8, 8);
  GoroutineState* owner = Accumulating(Go(Root()));
  Fill(owner, buf, buf + 6, NewPc());
  AccessRange(owner, buf, 8, /*is_write=*/false, /*is_atomic=*/false, NewPc());
  GoroutineState* other = Go(Root());
  AccessByte(other, buf + 5, /*is_write=*/false, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "byte 5 was written, published before the range access";
}

// Real threads: one fills fresh words byte by byte, the other writes one
// byte of each word without synchronization. Whoever comes second, and
// whatever the store buffers hide, each word's race is reported exactly
// once (distinct pcs per word keep reports from being deduplicated).
TEST_F(CoreByteAccumulatorTest, ConcurrentFillAndWriterReportEveryWordsRace) {
  constexpr int kWords = 3000;
  uptr buf = Alloc(8 * kWords + 8, 8);
  GoroutineState* filler = Accumulating(Go(Root()));
  GoroutineState* writer = Go(Root());
  std::vector<uptr> fill_pcs(kWords), write_pcs(kWords);
  for (int i = 0; i < kWords; i++) {
    fill_pcs[i] = NewPc();
    write_pcs[i] = NewPc();
  }
  std::atomic<int> progress{0};
  std::thread fill_thread([&] {
    for (int i = 0; i < kWords; i++) {
      Fill(filler, buf + 8 * i, buf + 8 * i + 8, fill_pcs[i]);
      progress.store(i + 1, std::memory_order_release);
    }
    Fill(filler, buf + 8 * kWords, buf + 8 * kWords + 1, NewPc());  // moves off the last word
  });
  std::thread write_thread([&] {
    for (int i = 0; i < kWords; i++) {
      // Alternate between racing the fill as it happens and just behind it.
      while (i % 2 == 0 && progress.load(std::memory_order_acquire) < i) {
      }
      AccessByte(writer, buf + 8 * i + (i * 5 + 3) % 8, /*is_write=*/true, write_pcs[i]);
    }
  });
  fill_thread.join();
  write_thread.join();
  EXPECT_EQ(TakeRaces(), static_cast<u64>(kWords));
}

}  // namespace
}  // namespace racert::core_test
