// racert's guarantee over TSan v3: nothing is evicted from the shadow, so the
// first race on every word is reported however many other goroutines touched
// the word in between. TSan keeps four cells per word and evicts at random,
// so it misses the scenarios below.
#include "tests/unit/core_test_support.h"

#include "shadow/cell_set.h"
#include "shadow/shadow_map.h"
#include "tsan_core/runtime_options.h"

namespace racert::core_test {
namespace {

class CoreNoEvictionTest : public CoreTest {};

TEST_F(CoreNoEvictionTest, WriterRacesWithAHundredConcurrentReaders) {
  uptr x = Alloc(8);
  std::vector<GoroutineState*> readers;
  for (int i = 0; i < 100; i++) readers.push_back(Go(Root()));
  for (GoroutineState* r : readers) Read(r, x);
  EXPECT_EQ(TakeRaces(), 0u);
  GoroutineState* writer = Go(Root());
  Write(writer, x);
  EXPECT_EQ(TakeRaces(), 1u);
}

TEST_F(CoreNoEvictionTest, WriterRacesWithTheOneReaderItIsNotOrderedAfter) {
  // 100 concurrent readers; the writer is ordered after all but the first.
  // Only the first reader's cell can produce the report, and it must still be
  // there after 99 later readers.
  uptr x = Alloc(8);
  std::vector<GoroutineState*> readers;
  std::vector<uptr> done;
  for (int i = 0; i < 100; i++) {
    readers.push_back(Go(Root()));
    done.push_back(Alloc(8));
  }
  for (int i = 0; i < 100; i++) {
    Read(readers[i], x);
    Release(readers[i], done[i]);
  }
  GoroutineState* writer = Go(Root());
  for (int i = 1; i < 100; i++) Acquire(writer, done[i]);
  TakeReports();
  Write(writer, x);
  EXPECT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  char who[64];
  snprintf(who, sizeof(who), "by goroutine %llu:", static_cast<unsigned long long>(readers[0]->number));
  EXPECT_NE(report.find(std::string("Previous read at ") + GoAddress(x) + " " + who), std::string::npos)
      << "the report must name the first reader\n"
      << report;
}

TEST_F(CoreNoEvictionTest, FirstReaderSurvivesACrowdOnTheOtherBytes) {
  // The first reader of byte 0 is followed by a crowd that is ordered before
  // the final writer: readers of byte 0 and writers of bytes 1..7, each in its
  // own goroutine (so each needs its own cell). The final write to byte 0 must
  // still meet the first reader.
  uptr word = Alloc(8, 8);
  uptr crowd_done = Alloc(8);
  GoroutineState* first = Go(Root());
  Read(first, word);

  uptr sets_before = CellSetCountForTesting();
  uptr bytes_before = CellSetBytesInUseForTesting();
  // Writers of the same byte hand it over through a per-byte lock, so the
  // crowd has no race of its own; readers of byte 0 are all concurrent.
  uptr byte_locks = Alloc(8 * 8, 8);
  for (int i = 0; i < 140; i++) {
    GoroutineState* g = Go(Root());
    if (i % 2 == 0) {
      Read(g, word);
    } else {
      int byte = 1 + (i / 2) % 7;
      Acquire(g, byte_locks + 8 * byte);
      Write(g, word + byte);
      Release(g, byte_locks + 8 * byte);
    }
    ReleaseMerge(g, crowd_done);
  }
  EXPECT_EQ(TakeRaces(), 0u) << "the crowd itself has no race";
  uptr sets_grown = CellSetCountForTesting();
  uptr bytes_grown = CellSetBytesInUseForTesting();
  EXPECT_GT(sets_grown, sets_before);
  EXPECT_GT(bytes_grown, bytes_before);

  GoroutineState* writer = Go(Root());
  Acquire(writer, crowd_done);
  Write(writer, word);
  EXPECT_EQ(TakeRaces(), 1u) << "the first reader's cell was lost";

  OnMalloc(word, 8);
  EXPECT_EQ(CellSetCountForTesting(), sets_before);
  EXPECT_EQ(CellSetBytesInUseForTesting(), bytes_before);
}

// A word of the low range holds up to three cells inline (primary,
// secondary, tertiary word); the fourth moves it to a cell set. Every cell
// stays visible to the race check in either form.
TEST_F(CoreNoEvictionTest, ThreeCellsStayInlineAndAFourthSpills) {
  uptr word = Alloc(8, 8);
  ASSERT_NE(TertiaryWordFor(word), nullptr) << "the fixture's heap is in the low range";
  GoroutineState* readers[4] = {Go(Root()), Go(Root()), Go(Root()), Go(Root())};
  uptr sets_before = CellSetCountForTesting();
  for (int i = 0; i < 3; i++) Read(readers[i], word);
  EXPECT_EQ(CellSetCountForTesting(), sets_before) << "three concurrent readers fit the inline words";
  EXPECT_TRUE(Cell(ShadowWordFor(word)->load()).is_paired());
  // Each reader reads again: already recorded wherever its cell is.
  for (int i = 0; i < 3; i++) Read(readers[i], word);
  EXPECT_EQ(CellSetCountForTesting(), sets_before);

  uptr other = Alloc(8, 8);
  for (int i = 0; i < 4; i++) Read(readers[i], other);
  EXPECT_EQ(CellSetCountForTesting(), sets_before + 1) << "a fourth cell needs a set";

  GoroutineState* writer = Go(Root());
  g_options.suppress_equal_stacks = false;
  Write(writer, word);
  u64 inline_races = TakeRaces();
  Write(writer, other);
  u64 set_races = TakeRaces();
  g_options.suppress_equal_stacks = true;
  EXPECT_EQ(inline_races, 3u) << "a reader kept in the secondary or tertiary word was missed";
  EXPECT_EQ(set_races, 4u);

  OnMalloc(word, 8);
  OnMalloc(other, 8);
  EXPECT_EQ(CellSetCountForTesting(), sets_before);
}

// Page-copy shape: a page written by one goroutine, then read and written
// again as ranges by goroutines ordered after it (a lock handed over). Every
// word's earlier cells are ordered before the new access, so the access path
// updates them without the general race check; nothing may be reported, no
// set made, and an unordered writer must still race with the first writer
// and the last reader of the header word, and a reader with the last writer.
TEST_F(CoreNoEvictionTest, OrderedPageCopiesStayInlineAndUnorderedAccessesStillRace) {
  constexpr uptr kPage = 512;
  uptr page = Alloc(kPage, 8);
  uptr lock_addr = Alloc(8);
  GoroutineState* owner = Go(Root());
  AccessRange(owner, page, kPage, /*is_write=*/true, /*is_atomic=*/false, NewPc());
  Release(owner, lock_addr);
  uptr sets_before = CellSetCountForTesting();
  GoroutineState* previous = owner;
  for (int round = 0; round < 6; round++) {
    GoroutineState* g = Go(previous);  // ordered after everything `previous` did
    Acquire(g, lock_addr);
    AccessRange(g, page, kPage, /*is_write=*/false, /*is_atomic=*/false, NewPc());   // read: keeps the writes
    AccessRange(g, page + 8, kPage - 16, /*is_write=*/true, /*is_atomic=*/false, NewPc());  // shift: replaces
    for (uptr b = 0; b < 8; b++) Read(g, page + b);  // byte reads of the header
    Release(g, lock_addr);
    previous = g;
  }
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
  EXPECT_EQ(CellSetCountForTesting(), sets_before) << "ordered copies never need more than the inline words";

  GoroutineState* stranger = Go(Root());  // ordered after none of them
  g_options.suppress_equal_stacks = false;
  Write(stranger, page + 3);  // the owner wrote it and the last round read it: two races
  EXPECT_EQ(TakeRaces(), 2u);
  Read(Go(Root()), page + 64);  // the last round wrote it: a race
  EXPECT_EQ(TakeRaces(), 1u);
  g_options.suppress_equal_stacks = true;
}

TEST_F(CoreNoEvictionTest, EveryWordOfARangeKeepsItsFirstAccess) {
  // 64 words each get an early unordered write by `early`, then dozens of
  // ordered readers per word; a late writer not ordered after `early` must
  // race on every one of the 64 words (one report per single-word access).
  constexpr int kWords = 64;
  uptr base = Alloc(kWords * 8, 8);
  uptr readers_done = Alloc(8);
  GoroutineState* early = Go(Root());
  for (int w = 0; w < kWords; w++) Write(early, base + 8 * w + 3);
  GoroutineState* late = Go(Root());
  for (int i = 0; i < 30; i++) {
    GoroutineState* r = Go(Root());
    for (int w = 0; w < kWords; w++) Read(r, base + 8 * w + (i % 3 == 0 ? 0 : 5));
    ReleaseMerge(r, readers_done);
  }
  EXPECT_EQ(TakeRaces(), 0u);
  Acquire(late, readers_done);
  for (int w = 0; w < kWords; w++) Read(late, base + 8 * w + 3);
  EXPECT_EQ(TakeRaces(), static_cast<u64>(kWords));
}

TEST_F(CoreNoEvictionTest, CellSetsShrinkBackWhenTheWordIsCollapsed) {
  // Once every concurrent cell is subsumed by one ordered write, the word
  // returns to a single direct cell and its set is recycled.
  uptr x = Alloc(8);
  uptr done = Alloc(8);
  uptr sets_before = CellSetCountForTesting();
  for (int i = 0; i < 50; i++) {
    GoroutineState* g = Go(Root());
    Read(g, x);
    ReleaseMerge(g, done);
  }
  EXPECT_GT(CellSetCountForTesting(), sets_before);
  GoroutineState* writer = Go(Root());
  Acquire(writer, done);
  Write(writer, x);
  EXPECT_EQ(TakeRaces(), 0u);
  EXPECT_EQ(CellSetCountForTesting(), sets_before);
}

// A word read by far more concurrent goroutines than there are slots (slots
// get reused): its cells must stay bounded (this once needed 16k cells and
// killed the Go program), while a writer unordered with the readers is still
// reported.
TEST_F(CoreNoEvictionTest, ThousandsOfReadersStayBoundedAndAWriterStillRaces) {
  uptr shared = Alloc(8);
  uptr bytes_before = CellSetBytesInUseForTesting();
  constexpr int kReaders = 20000;
  std::vector<GoroutineState*> readers;
  for (int i = 0; i < kReaders; i++) {
    GoroutineState* r = Go(Root());
    Read(r, shared);
    readers.push_back(r);
    if (readers.size() == 2000) {  // 2000 alive at a time, then they end
      for (GoroutineState* g : readers) End(g);
      readers.clear();
    }
  }
  uptr grown = CellSetBytesInUseForTesting() - bytes_before;
  EXPECT_LT(grown, uptr{256} << 10) << "a read-shared word kept a cell per reader";
  Write(Go(Root()), shared);
  EXPECT_EQ(TakeRaces(), 1u) << "the writer raced with every reader, yet nothing was reported";
}

}  // namespace
}  // namespace racert::core_test

