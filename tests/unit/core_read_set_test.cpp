// Read sets (shadow/cell_set.h) through the whole core: a word read by many
// goroutines between writes keeps its read cells in the compact form, and
// every race the explicit form would report is still reported, none that it
// would not.
#include "tests/unit/core_test_support.h"

#include <cstdio>

#include "shadow/cell_set.h"
#include "shadow/epoch_snapshot.h"
#include "shadow/shadow_map.h"
#include "shadow/shadow_word.h"
#include "tsan_core/slot_pool.h"

namespace racert::core_test {
namespace {

Cell Primary(uptr word) { return Cell(ShadowWordFor(word)->load()); }

std::string ReaderNamed(GoroutineState* g, uptr word) {
  char who[96];
  snprintf(who, sizeof(who), "Previous read at %s by goroutine %llu:", GoAddress(word).c_str(),
           static_cast<unsigned long long>(g->number));
  return who;
}

class CoreReadSetTest : public CoreTest {
 protected:
  // Whether a word's readers fit the pool's current snapshot depends on what
  // earlier tests in the process claimed in it; each test starts a fresh one.
  void SetUp() override {
    CoreTest::SetUp();
    RetireCurrentEpochSnapshotForTesting();
  }
  // A 1-byte read (the summary in the secondary word cannot say: the set is
  // checked) or a whole-word read (the summary says).
  void ReadWord(GoroutineState* g, uptr word, bool whole_word) {
    if (whole_word) {
      AccessRange(g, word, 8, /*is_write=*/false, /*is_atomic=*/false, NewPc());
    } else {
      Read(g, word);
    }
  }
  void WriterMeetsTheOneUnorderedReader(int unordered, bool whole_word);
};

// 40 concurrent readers; the writer is ordered after all of them but one.
// The word is a read set (the readers' cells in one snapshot), and the one
// reader the writer is not ordered after is reported, whichever it is.
void CoreReadSetTest::WriterMeetsTheOneUnorderedReader(int unordered, bool whole_word) {
  CoreReadSetTest* test = this;
  constexpr int kReaders = 40;
  uptr word = test->Alloc(8, 8);
  std::vector<GoroutineState*> readers;
  std::vector<uptr> done;
  for (int i = 0; i < kReaders; i++) {
    readers.push_back(test->Go(test->Root()));
    done.push_back(test->Alloc(8));
  }
  for (int i = 0; i < kReaders; i++) ReadWord(readers[i], word, whole_word);
  EXPECT_TRUE(Primary(word).is_read_set_handle()) << "40 readers of one epoch each: a read set";
  for (int i = 0; i < kReaders; i++) Release(readers[i], done[i]);
  GoroutineState* writer = test->Go(test->Root());
  for (int i = 0; i < kReaders; i++) {
    if (i != unordered) Acquire(writer, done[i]);
  }
  test->TakeReports();
  test->Write(writer, word);
  EXPECT_EQ(test->TakeRaces(), 1u);
  std::string report = test->TakeReports();
  EXPECT_NE(report.find(ReaderNamed(readers[unordered], word)), std::string::npos)
      << "reader " << unordered << " must be named\n"
      << report;
}

TEST_F(CoreReadSetTest, WriterMeetsTheOneUnorderedReaderOfAByteReadSet) {
  for (int unordered : {0, 17, 39}) WriterMeetsTheOneUnorderedReader(unordered, /*whole_word=*/false);
}

TEST_F(CoreReadSetTest, WriterMeetsTheOneUnorderedReaderOfAWholeWordReadSet) {
  for (int unordered : {0, 17, 39}) WriterMeetsTheOneUnorderedReader(unordered, /*whole_word=*/true);
}

TEST_F(CoreReadSetTest, AWriterOrderedAfterEveryReaderDoesNotRace) {
  // Readers handing the word on one to the next (each ordered after the one
  // before), and others concurrent: the set keeps reads a later read
  // subsumes. A writer ordered after all of them races with none.
  uptr word = Alloc(8, 8);
  uptr all_done = Alloc(8);
  uptr chain = Alloc(8);
  for (int i = 0; i < 40; i++) {
    GoroutineState* g = Go(Root());
    if (i % 3 == 0) Acquire(g, chain);
    ReadWord(g, word, true);
    if (i % 3 == 0) Release(g, chain);
    ReleaseMerge(g, all_done);
  }
  EXPECT_TRUE(Primary(word).is_read_set_handle());
  GoroutineState* writer = Go(Root());
  Acquire(writer, all_done);
  Write(writer, word);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreReadSetTest, AReadSetKeepsTheWriteItsReadersReadAndAnUnorderedReaderMeetsIt) {
  // A goroutine started before the write, then the write, then readers
  // started after it: the word holds the write with the reads. The early
  // goroutine's read races with the write.
  uptr word = Alloc(8, 8);
  GoroutineState* early = Go(Root());
  GoroutineState* writer = Go(Root());
  Write(writer, word);
  for (int i = 0; i < 40; i++) ReadWord(Go(writer), word, true);
  EXPECT_TRUE(Primary(word).is_read_set_handle()) << "the readers' reads and the write they read";
  EXPECT_EQ(TakeRaces(), 0u);
  ReadWord(early, word, true);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreReadSetTest, ARepeatedReadChangesNothingAndAnotherEpochIsRecorded) {
  uptr word = Alloc(8, 8);
  uptr lock = Alloc(8);
  std::vector<GoroutineState*> readers;
  for (int i = 0; i < 40; i++) readers.push_back(Go(Root()));
  for (GoroutineState* r : readers) ReadWord(r, word, true);
  const u64 set_word = ShadowWordFor(word)->load();
  ASSERT_TRUE(Cell(set_word).is_read_set_handle());
  const u16 count = CellSetFromHandle(Cell(set_word).handle())->count;
  for (GoroutineState* r : readers) ReadWord(r, word, true);
  EXPECT_EQ(ShadowWordFor(word)->load(), set_word);
  EXPECT_EQ(CellSetFromHandle(Cell(set_word).handle())->count, count) << "already recorded: nothing added";

  // After a release, a reader's read is of a new epoch: recorded (it is
  // ordered after the reader's earlier read, which it may replace), and a
  // writer that is ordered after the reader's first read only still races.
  Release(readers[3], lock);
  ReadWord(readers[3], word, true);
  GoroutineState* writer = Go(Root());
  Acquire(writer, lock);
  TakeReports();
  Write(writer, word);
  EXPECT_GE(TakeRaces(), 1u) << "the others' reads and reader 3's second read race with the write";
}

// The summary in the secondary word answers for the readers of a whole-word
// set and of a one-byte set alike, and only for what they read: a wider
// read, a write or another goroutine's key goes to the set (or the general
// path). It names readers by their place in the snapshot's claim order, so
// readers on high slot numbers are in it too.
TEST_F(CoreReadSetTest, TheSummaryCoversTheReadersOfAWholeWordOrOneByteSetOnly) {
  const u64 steals_before = SlotHandOverCountsForTesting().steal;
  // Readers on slots the summary's 52 bits could not name by number: the
  // goroutines that get lower slots are held until the readers have theirs.
  std::vector<GoroutineState*> high_readers, held;
  while (high_readers.size() < 20 && high_readers.size() + held.size() < kSlotCount - 40) {
    GoroutineState* g = Go(Root());
    (g->sid >= kReadSetSummarySlots ? high_readers : held).push_back(g);
  }
  ASSERT_EQ(high_readers.size(), 20u) << "precondition: 20 goroutines on slots from " << kReadSetSummarySlots;
  for (GoroutineState* g : held) End(g);
  for (bool whole_word : {true, false}) {
    RetireCurrentEpochSnapshotForTesting();  // the readers' claims come first in the next one
    uptr word = Alloc(8, 8);
    std::vector<GoroutineState*> readers = high_readers;
    for (int i = 0; i < 20; i++) readers.push_back(Go(Root()));
    ASSERT_EQ(SlotHandOverCountsForTesting().steal, steals_before)
        << "precondition: no slot was taken from a live goroutine (the readers' cells are one per slot)";
    for (GoroutineState* r : readers) ReadWord(r, word, whole_word);
    ASSERT_TRUE(Primary(word).is_read_set_handle());
    const u64 summary = SecondaryWordFor(word)->load();
    const u8 mask = whole_word ? 0xff : 0x01;
    for (GoroutineState* r : readers) {
      EXPECT_TRUE(ReadSetSummaryCovers(summary, r->plain_key, AccessBits{mask, false, false})) << "slot " << +r->sid;
      EXPECT_FALSE(ReadSetSummaryCovers(summary, r->plain_key, AccessBits{mask, true, false})) << "a write";
    }
    const u64 key = readers.front()->plain_key;
    EXPECT_EQ(ReadSetSummaryCovers(summary, key, AccessBits{0x01, false, false}), true) << "byte 0 is read either way";
    EXPECT_EQ(ReadSetSummaryCovers(summary, key, AccessBits{0x02, false, false}), whole_word);
    EXPECT_FALSE(ReadSetSummaryCovers(summary, Go(Root())->plain_key, AccessBits{0x01, false, false}))
        << "a goroutine that did not read";
    for (size_t i = high_readers.size(); i < readers.size(); i++) End(readers[i]);
  }
  for (GoroutineState* g : high_readers) End(g);
}

// A snapshot places only its first kReadSetSummarySlots claims: readers
// placed later are not in the summary, and the set itself still holds them.
TEST_F(CoreReadSetTest, ReadersBeyondTheSummarysPlacesAreFoundInTheSet) {
  RetireCurrentEpochSnapshotForTesting();
  uptr word = Alloc(8, 8);
  std::vector<GoroutineState*> readers;
  for (u32 i = 0; i < kReadSetSummarySlots + 10; i++) readers.push_back(Go(Root()));
  for (GoroutineState* r : readers) ReadWord(r, word, true);
  ASSERT_TRUE(Primary(word).is_read_set_handle());
  const u64 summary = SecondaryWordFor(word)->load();
  const CellSet* set = CellSetFromHandle(Primary(word).handle());
  u32 in_summary = 0;
  for (GoroutineState* r : readers) {
    const AccessBits read{0xff, false, false};
    in_summary += ReadSetSummaryCovers(summary, r->plain_key, read);
    EXPECT_TRUE(ReadSetCovers(set, r->plain_key, read)) << "slot " << +r->sid;
  }
  EXPECT_EQ(in_summary, kReadSetSummarySlots) << "the first claims are placed, the later ones are not";
  for (GoroutineState* r : readers) End(r);
}

// A read set changed in place brings its summary up to date over the slots
// that changed: after every join it is what a computation over every reader
// gives.
TEST_F(CoreReadSetTest, TheSummaryKeptUpToDateInPlaceIsTheOneComputedAfresh) {
  RetireCurrentEpochSnapshotForTesting();
  uptr word = Alloc(8, 8);
  std::vector<GoroutineState*> readers;
  u32 checked = 0;
  for (u32 i = 0; i < kReadSetSummarySlots + 20; i++) {
    readers.push_back(Go(Root()));
    ReadWord(readers.back(), word, false);
    if (!Primary(word).is_read_set_handle()) continue;
    EXPECT_EQ(SecondaryWordFor(word)->load(), ReadSetSummary(CellSetFromHandle(Primary(word).handle())))
        << "after " << readers.size() << " readers";
    checked++;
  }
  EXPECT_GT(checked, kReadSetSummarySlots) << "precondition: the word was a read set for most joins";
  for (GoroutineState* r : readers) End(r);
}

TEST_F(CoreReadSetTest, FreeingTheWordReturnsTheSetAndItsSnapshotReference) {
  uptr word = Alloc(8, 8);
  uptr sets_before = CellSetCountForTesting();
  for (int i = 0; i < 40; i++) ReadWord(Go(Root()), word, true);
  ASSERT_TRUE(Primary(word).is_read_set_handle());
  EXPECT_EQ(CellSetCountForTesting(), sets_before + 1);
  const u32 snapshot = CellSetFromHandle(Primary(word).handle())->next_free;
  ASSERT_LT(snapshot, kEpochSnapshotCount);
  const u32 references = EpochSnapshotAt(snapshot).references.load();
  OnMalloc(word, 8);
  EXPECT_EQ(CellSetCountForTesting(), sets_before);
  EXPECT_EQ(Primary(word).raw(), 0u);
  EXPECT_EQ(EpochSnapshotAt(snapshot).references.load(), references - 1) << "the set's reference is dropped";
}

// The compact form holds exactly the cells of the explicit one: expanding it
// gives back every reader's cell (and the extras) unchanged.
TEST_F(CoreReadSetTest, ExpandingAReadSetGivesBackEveryCell) {
  uptr word = Alloc(8, 8);
  GoroutineState* writer = Go(Root());
  Write(writer, word);
  std::vector<GoroutineState*> readers;
  for (int i = 0; i < 40; i++) readers.push_back(Go(writer));
  for (GoroutineState* r : readers) ReadWord(r, word, true);
  const Cell handle = Primary(word);
  ASSERT_TRUE(handle.is_read_set_handle());
  u64 cells[kReadSetMaxCells];
  u32 count = ReadSetCells(CellSetFromHandle(handle.handle()), cells);
  EXPECT_EQ(count, readers.size() + 1) << "every reader and the write";
  for (GoroutineState* r : readers) {
    bool found = false;
    for (u32 i = 0; i < count; i++) found |= Cell(cells[i]).key() == r->plain_key;
    EXPECT_TRUE(found) << "goroutine " << r->number << "'s read";
  }
  bool write_found = false;
  for (u32 i = 0; i < count; i++) write_found |= Cell(cells[i]).write_mask() != 0;
  EXPECT_TRUE(write_found);
}

}  // namespace
}  // namespace racert::core_test
