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
  // A goroutine started by `parent` that holds its slot's accumulator entry.
  // A slot taken from a live goroutine leaves the entry with that goroutine
  // until it next synchronizes (ClaimAccumulator), and an earlier test in
  // this process may have taken one from a goroutine that never does again
  // (the init context): a new goroutine on that slot accumulates nothing.
  // Such siblings stay idle until TearDown ends them.
  GoroutineState* GoAccumulating(GoroutineState* parent) {
    for (unsigned tries = 0; tries < kSlotCount; tries++) {
      GoroutineState* g = Go(parent);
      if (g->acc != nullptr) return g;
    }
    ADD_FAILURE() << "no new goroutine got an accumulator entry";
    return Go(parent);
  }
};

TEST_F(CoreByteAccumulatorTest, BytesAfterTheFirstOfAWordStayPrivateUntilTheNextWord) {
  uptr buf = Alloc(16, 8);
  GoroutineState* g = GoAccumulating(Root());
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
  GoroutineState* owner = GoAccumulating(Root());
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
  GoroutineState* owner = GoAccumulating(Root());
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
  GoroutineState* owner = GoAccumulating(Root());
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
  GoroutineState* owner = GoAccumulating(Root());
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
  GoroutineState* owner = GoAccumulating(Root());
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
  GoroutineState* owner = GoAccumulating(Root());
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
  GoroutineState* owner = GoAccumulating(Root());
  GoroutineState* other = Go(Root());
  Fill(owner, buf, buf + 8, NewPc());
  Release(owner, lock);
  Acquire(other, lock);
  Fill(other, buf, buf + 8, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// A buffer refilled after a synchronization: each word holds the owner's
// older write, so the first byte makes a pair (the new byte, the older bytes)
// and the word's next bytes accumulate into it. Publishing rewrites the pair:
// the older write, fully overwritten, is gone.
TEST_F(CoreByteAccumulatorTest, ARefilledBufferAccumulatesIntoThePairItsFirstByteMade) {
  uptr buf = Alloc(16, 8), lock = Alloc(8);
  GoroutineState* owner = GoAccumulating(Root());
  uptr pc = NewPc();
  Fill(owner, buf, buf + 16, pc);
  Release(owner, lock);  // a new epoch: the older write is no longer the owner's current cell
  Fill(owner, buf, buf + 5, pc);
  EXPECT_EQ(owner->acc_word, buf) << "accumulating after the first byte's pair";
  EXPECT_TRUE(Cell(ShadowWordFor(buf)->load()).is_paired());
  EXPECT_EQ(Cell(owner->acc_value).write_mask(), 0x1f);
  Fill(owner, buf + 5, buf + 9, pc);  // moving on publishes the first word
  const Cell first(ShadowWordFor(buf)->load());
  EXPECT_FALSE(first.is_paired()) << "the older write is overwritten in full";
  EXPECT_EQ(first.key(), owner->plain_key);
  EXPECT_EQ(first.write_mask(), 0xff);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// The same refill, raced: a goroutine ordered after the first fill (it
// acquired the lock) but not after the refill writes a pending byte: a race
// with the refill, found by the changer's check or the owner's, whichever
// comes second. A byte the refill has not reached yet is ordered (the first
// fill's write), and no race.
TEST_F(CoreByteAccumulatorTest, AWriterOrderedAfterTheFirstFillOnlyRacesWithThePendingRefill) {
  for (bool owner_checks : {false, true}) {
    uptr buf = Alloc(16, 8), lock = Alloc(8);
    GoroutineState* owner = GoAccumulating(Root());
    Fill(owner, buf, buf + 8, NewPc());
    Release(owner, lock);
    GoroutineState* other = Go(Root());
    Acquire(other, lock);
    uptr refill_pc = NewPc();
    Fill(owner, buf, buf + 4, refill_pc);  // byte 0 in the pair, 1..3 pending
    SkipPendingChecksForTesting(owner_checks);
    AccessByte(other, buf + 6, /*is_write=*/true, NewPc());
    EXPECT_EQ(TakeRaces(), 0u) << "byte 6: the first fill's, which `other` is ordered after\n" << TakeReports();
    AccessByte(other, buf + 2, /*is_write=*/true, NewPc());
    SkipPendingChecksForTesting(false);
    Fill(owner, buf + 8, buf + 9, NewPc());  // the owner moves on: checks what it publishes
    EXPECT_EQ(TakeRaces(), 1u) << (owner_checks ? "found by the owner" : "found by the changer");
    std::string report = TakeReports();
    EXPECT_NE(report.find(FakeFunctionName(refill_pc)), std::string::npos) << report;
  }
}

TEST_F(CoreByteAccumulatorTest, ARangeAccessOfTheOwnerSeesItsPendingBytes) {
  uptr buf = Alloc(8, 8);
  GoroutineState* owner = GoAccumulating(Root());
  Fill(owner, buf, buf + 6, NewPc());
  AccessRange(owner, buf, 8, /*is_write=*/false, /*is_atomic=*/false, NewPc());
  GoroutineState* other = Go(Root());
  AccessByte(other, buf + 5, /*is_write=*/false, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "byte 5 was written, published before the range access";
}

// A word handed from goroutine to goroutine (a pipeline's item): the first
// byte the new owner touches finds only the earlier owner's cell, ordered
// before it, and takes AccessByte's tier for such words
// (AccessByteInlineCells); the bytes after it accumulate. Both owners'
// accesses stay recorded: a goroutine ordered after the earlier owner only
// races with the new one's bytes, one ordered after neither with the earlier
// owner's write.
TEST_F(CoreByteAccumulatorTest, AHandedOverWordKeepsTheEarlierWriteAndAccumulatesTheNewOwnersBytes) {
  uptr buf = Alloc(8, 8), lock = Alloc(8);
  GoroutineState* producer = Go(Root());
  const uptr produce_pc = NewPc();
  Fill(producer, buf, buf + 8, produce_pc);
  Fill(producer, buf + 8, buf + 9, NewPc());  // moves off the word: every byte published
  Release(producer, lock);
  GoroutineState* consumer = GoAccumulating(Root());
  GoroutineState* bystander = Go(Root());
  GoroutineState* outsider = Go(Root());
  Acquire(consumer, lock);
  Acquire(bystander, lock);
  const uptr consume_pc = NewPc();
  Fill(consumer, buf, buf + 5, consume_pc, /*is_write=*/false);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
  const Cell primary(ShadowWordFor(buf)->load());
  EXPECT_TRUE(primary.is_paired()) << "the producer's write stays beside the consumer's read";
  EXPECT_EQ(primary.key(), consumer->plain_key);
  EXPECT_EQ(consumer->acc_word, buf) << "accumulating after the first byte of the handed-over word";
  EXPECT_EQ(Cell(consumer->acc_value).read_mask(), 0x1f);
  AccessByte(bystander, buf + 6, /*is_write=*/true, NewPc());
  EXPECT_EQ(TakeRaces(), 0u) << "byte 6: only the producer's write, which the bystander is ordered after\n"
                             << TakeReports();
  AccessByte(bystander, buf + 3, /*is_write=*/true, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "byte 3: the consumer's pending read";
  std::string report = TakeReports();
  EXPECT_NE(report.find("Previous read at " + GoAddress(buf + 3)), std::string::npos) << report;
  EXPECT_NE(report.find(FakeFunctionName(consume_pc)), std::string::npos) << report;
  AccessByte(outsider, buf + 7, /*is_write=*/false, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "byte 7: the producer's write, still recorded";
  report = TakeReports();
  EXPECT_NE(report.find(FakeFunctionName(produce_pc)), std::string::npos) << report;
}

// The same hand-over with a reader of another byte that nobody is ordered
// after: its cell stays beside the new owner's and may be joined by more of
// that goroutine's bytes, so the new owner must not accumulate there (rule
// 6); its bytes go to the word one by one and the outsider's later write of
// one of them is reported.
TEST_F(CoreByteAccumulatorTest, AHandedOverWordWithAnUnorderedReaderDoesNotAccumulate) {
  uptr buf = Alloc(8, 8), lock = Alloc(8);
  GoroutineState* producer = Go(Root());
  Fill(producer, buf, buf + 8, NewPc());
  Fill(producer, buf + 8, buf + 9, NewPc());  // moves off the word: every byte published
  Release(producer, lock);
  GoroutineState* consumer = GoAccumulating(Root());
  GoroutineState* outsider = Go(Root());
  Acquire(outsider, lock);
  AccessByte(outsider, buf + 7, /*is_write=*/false, NewPc());  // ordered after the producer only
  Acquire(consumer, lock);
  const uptr consume_pc = NewPc();
  Fill(consumer, buf, buf + 3, consume_pc, /*is_write=*/false);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
  EXPECT_NE(consumer->acc_word, buf) << "an unordered cell of another goroutine is in the word";
  AccessByte(outsider, buf + 2, /*is_write=*/true, NewPc());
  EXPECT_EQ(TakeRaces(), 1u) << "byte 2: the consumer's read";
  const std::string report = TakeReports();
  EXPECT_NE(report.find(FakeFunctionName(consume_pc)), std::string::npos) << report;
}

// Real threads: one fills fresh words byte by byte, the other writes one
// byte of each word without synchronization. Whoever comes second, and
// whatever the store buffers hide, each word's race is reported exactly
// once (distinct pcs per word keep reports from being deduplicated).
TEST_F(CoreByteAccumulatorTest, ConcurrentFillAndWriterReportEveryWordsRace) {
  constexpr int kWords = 3000;
  uptr buf = Alloc(8 * kWords + 8, 8);
  GoroutineState* filler = GoAccumulating(Root());
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

// ---- The module's own rules, without the runtime -----------------------------

constexpr AccessBits kWrite(u8 mask) { return AccessBits{mask, true, false}; }
constexpr AccessBits kRead(u8 mask) { return AccessBits{mask, false, false}; }

TEST(ByteAccumulatorRules, TheStateKeepsTheWordAndTheCellsMasks) {
  for (uptr word : {uptr{0}, uptr{8}, uptr{0xc000123458}, kAppLowEnd - 8, kAppHighEnd - 8}) {
    for (u64 masks : {u64{0}, u64{0x0001}, u64{0x8000}, u64{0xff00}, u64{0xffff}}) {
      u64 cell = Cell::Make(7, 1234, 1, kWrite(0x01)).key() | masks;
      u64 state = PackAccumulatorState(word, cell);
      EXPECT_EQ(AccumulatorStateWord(state), word) << std::hex << word << " " << masks;
      EXPECT_EQ(state & Cell::kMaskBits, masks) << std::hex << word << " " << masks;
    }
  }
}

TEST(ByteAccumulatorRules, ReadsAlwaysAccumulateWritesOnlyIntoACellWithAWrittenByte) {
  u64 read_only = Cell::Make(2, 5, 0, kRead(0x01)).raw();
  u64 written = Cell::Make(2, 5, 0, kWrite(0x01)).raw();
  EXPECT_TRUE(CanAccumulate(read_only, kRead(0x02)));
  EXPECT_TRUE(CanAccumulate(written, kRead(0x02)));
  EXPECT_FALSE(CanAccumulate(read_only, kWrite(0x02)));
  EXPECT_TRUE(CanAccumulate(written, kWrite(0x02)));
}

TEST(ByteAccumulatorRules, PendingIsWhatThePrivateCellHasBeyondThePublishedOne) {
  struct Case {
    u8 seen_writes, seen_reads, now_writes, now_reads;
    u8 want_writes, want_reads;
  };
  const Case cases[] = {
      {0x01, 0x00, 0x01, 0x00, 0x00, 0x00},  // nothing new
      {0x01, 0x00, 0x0f, 0x00, 0x0e, 0x00},  // written bytes added
      {0x00, 0x01, 0x00, 0x07, 0x00, 0x06},  // read bytes added
      {0x01, 0x00, 0x01, 0x02, 0x00, 0x02},  // a read next to a write
      {0x00, 0x01, 0x01, 0x00, 0x01, 0x00},  // a read byte now written
      {0x03, 0x00, 0x03, 0x04, 0x00, 0x04},
      {0x01, 0x02, 0x01, 0x02, 0x00, 0x00},  // a read already published
      {0x02, 0x00, 0x02, 0x01, 0x00, 0x01},
  };
  for (const Case& c : cases) {
    Cell seen = Cell::Make(9, 77, 2, kWrite(0)).WithMasks(c.seen_writes, c.seen_reads);
    u64 now = seen.WithMasks(c.now_writes, c.now_reads).raw();
    Cell pending = PendingPart(seen, now);
    EXPECT_EQ(pending.key(), seen.key());
    EXPECT_EQ(pending.write_mask(), c.want_writes) << int(c.seen_writes) << "/" << int(c.now_writes);
    EXPECT_EQ(pending.read_mask(), c.want_reads) << int(c.seen_reads) << "/" << int(c.now_reads);
  }
}

// MayHavePendingBytes: only an unordered plain cell of the accessor's
// generation, whose slot's entry announces that very key, may have pending
// bytes the access could conflict with.
TEST(ByteAccumulatorRules, OnlyAnUnorderedCellWhoseEntryAnnouncesItsKeyMayHavePendingBytes) {
  constexpr Sid kOther = 200;  // a slot the accessor does not own
  constexpr Generation kGen = 3;
  Epoch clock[kSlotCount] = {};
  clock[kOther] = 10;  // the accessor knows kOther up to epoch 10
  AccessState write{};
  write.sid = 1;
  write.generation = kGen;
  write.clock = clock;
  write.bits = kWrite(0x01);
  write.owns_key_slot = true;
  write.own_first = 1;
  write.own_last = 1;
  AccessState read = write;
  read.bits = kRead(0x01);

  Cell unordered = Cell::Make(kOther, 11, kGen, kWrite(0x02));
  AccumulatorEntry& entry = AccumulatorEntryOf(kOther);
  u64 saved_key = entry.key.load();
  entry.key.store(unordered.key());
  EXPECT_TRUE(MayHavePendingBytes(unordered, write));
  EXPECT_TRUE(MayHavePendingBytes(unordered, read)) << "it has a written byte";
  EXPECT_FALSE(MayHavePendingBytes(Cell::Make(kOther, 10, kGen, kWrite(0x02)), write)) << "ordered";
  EXPECT_FALSE(MayHavePendingBytes(Cell::Make(kOther, 11, kGen - 1, kWrite(0x02)), write)) << "older generation";
  EXPECT_FALSE(MayHavePendingBytes(Cell::Make(kOther, 11, kGen, AccessBits{0x02, true, true}), write)) << "atomic";
  Cell reads_only = Cell::Make(kOther, 11, kGen, kRead(0x02));
  entry.key.store(reads_only.key());
  EXPECT_FALSE(MayHavePendingBytes(reads_only, read)) << "nothing written, nothing a read conflicts with";
  EXPECT_TRUE(MayHavePendingBytes(reads_only, write));
  entry.key.store(Cell::Make(kOther, 12, kGen, kWrite(0)).key());
  EXPECT_FALSE(MayHavePendingBytes(unordered, write)) << "the entry moved on to a later epoch";
  entry.key.store(saved_key);
}

}  // namespace
}  // namespace racert::core_test
