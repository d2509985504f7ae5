// The shadow word protocol (shadow/shadow_word.h) on its own, with simple
// stand-in rules instead of the race rules: which words hold a word's cells
// as it goes from one cell to the three inline ones (primary, secondary,
// tertiary), on to a cell set and back, and that no cell is lost
// when threads change one word at the same time.
#include "tests/unit/core_test_support.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "shadow/cell_set.h"
#include "shadow/shadow_map.h"
#include "shadow/shadow_word.h"
#include "tsan_core/access_rules.h"

namespace racert::core_test {
namespace {

constexpr Generation kGen = 1;

// Atomic reads: the stand-in rules treat every cell alike, and plain reads
// of distinct slots could be stored as a read set instead of an explicit
// set (shadow/cell_set.h), depending on the epoch snapshot earlier tests of
// the process left current. These tests are about the inline words and
// explicit sets.
u64 KeyOf(Sid sid, Epoch epoch) { return CellKey(sid, epoch, kGen, /*is_atomic=*/true); }

// Stand-in rules. A read of byte 0 by the key's goroutine; `drop` says which
// of the recorded cells the access makes redundant (the race rules'
// "ordered before and subsumed"), and the accessor's cell is merged or added.
struct StandInRules {
  enum class Drop { kNothing, kOwnOlder, kEverythingElse, kOneSid };
  u64 k;
  Drop drop = Drop::kNothing;
  Sid drop_sid = 0;
  int changes = 0;     // BeforeChange calls
  bool committed = false;
  bool found_own = false;  // the committed rewrite found the accessor's cell

  u64 key() const { return k; }
  AccessBits bits() const { return AccessBits{1, /*is_write=*/false, /*is_atomic=*/true}; }
  void BeforeChange() { changes++; }
  u32 Rewrite(u64* cells, u32* count) {
    u32 out = 0;
    u32 mine = ~0u;
    found_own = false;
    for (u32 i = 0; i < *count; i++) {
      Cell c(cells[i]);
      if (c.key() == k) {
        found_own = true;
        mine = out;
        cells[out++] = c.WithMasks(c.write_mask(), c.read_mask() | 1).raw();
        continue;
      }
      bool same_sid = c.sid() == Cell(k).sid();
      if (drop == Drop::kEverythingElse) continue;
      if (drop == Drop::kOwnOlder && same_sid && c.epoch() < Cell(k).epoch()) continue;
      if (drop == Drop::kOneSid && c.sid() == drop_sid) continue;
      cells[out++] = c.raw();
    }
    if (mine == ~0u) {
      mine = out;
      cells[out++] = Cell(k).WithMasks(0, 1).raw();
    }
    *count = out;
    return mine;
  }
  void Commit() { committed = true; }
  void MakeRoom(u64* cells, u32* count) { MakeRoomInFullWord(cells, count); }
  u32 position = 0;
  u32* set_position() { return &position; }
  // For TryUpdateInlineWord: the same rewrite, unless told to refuse;
  // `meanwhile` runs first (another thread's change, made deterministic).
  bool refuse = false;
  std::function<void()> meanwhile = {};
  InlineRewrite RewriteWithoutRace(const u64* cells, u32 count, u64* out) {
    if (meanwhile) meanwhile();
    if (refuse) return {0, 0};
    for (u32 i = 0; i < count; i++) out[i] = cells[i];
    u32 mine = Rewrite(out, &count);
    return {count, mine};
  }
};

ShadowWords WordsFor(uptr addr) { return ShadowWords{ShadowWordFor(addr), SecondaryWordFor(addr), TertiaryWordFor(addr)}; }
// The same word as a high-range word would be: no tertiary word.
ShadowWords TwoWordsFor(uptr addr) { return ShadowWords{ShadowWordFor(addr), SecondaryWordFor(addr), nullptr}; }

StandInRules Access(const ShadowWords& words, u64 key, StandInRules::Drop drop = StandInRules::Drop::kNothing,
                    Sid drop_sid = 0) {
  StandInRules rules{key, drop, drop_sid};
  UpdateShadowWord(words, rules);
  return rules;
}

// The race-free entry point, with `observed` read just before; `done` is
// its answer.
struct InlineTry {
  bool done;
  StandInRules rules;
};
InlineTry TryInline(const ShadowWords& words, u64 key, StandInRules::Drop drop = StandInRules::Drop::kNothing,
                    Sid drop_sid = 0, bool refuse = false) {
  StandInRules rules{key, drop, drop_sid};
  rules.refuse = refuse;
  bool done = TryUpdateInlineWord(words, words.primary->load(), rules);
  return InlineTry{done, rules};
}

// The word's cells, sorted; only while nobody changes the word.
std::vector<u64> CellsOf(const ShadowWords& words) {
  Cell primary(words.primary->load());
  std::vector<u64> cells;
  if (primary.empty()) return cells;
  if (primary.is_handle()) {
    const CellSet* set = CellSetFromHandle(primary.handle());
    if (primary.is_read_set_handle()) {
      u64 expanded[kReadSetMaxCells];
      cells.assign(expanded, expanded + ReadSetCells(set, expanded));
    } else {
      cells.assign(set->cells, set->cells + set->count);
    }
  } else {
    u64 inline_cells[kMaxInlineCells];
    u32 count = primary.is_paired() ? shadow_word::ReadInlineExtras(words, inline_cells) : 1;
    inline_cells[0] = primary.WithPaired(false).raw();
    cells.assign(inline_cells, inline_cells + count);
  }
  std::sort(cells.begin(), cells.end());
  return cells;
}

std::vector<u64> ReadCells(std::vector<u64> keys) {
  for (u64& k : keys) k = Cell(k).WithMasks(0, 1).raw();
  std::sort(keys.begin(), keys.end());
  return keys;
}

class ShadowWordTest : public CoreTest {};

// Slots 1, 2 and 3 read an empty word in turn, through the general entry
// point or the race-free one: each new cell is kept inline, with the newest
// accessor's cell in the primary word, and no set is taken. Returns the keys.
std::vector<u64> AddThreeCells(const ShadowWords& words, bool race_free_entry) {
  uptr sets_before = CellSetCountForTesting();
  std::vector<u64> keys;
  for (Sid sid = 1; sid <= 3; sid++) {
    keys.push_back(KeyOf(sid, 10));
    StandInRules r{keys.back()};
    if (race_free_entry) {
      EXPECT_TRUE(TryUpdateInlineWord(words, words.primary->load(), r));
    } else {
      UpdateShadowWord(words, r);
      EXPECT_TRUE(r.committed);
    }
    EXPECT_EQ(r.changes, 1);
    EXPECT_EQ(CellsOf(words), ReadCells(keys)) << "after " << int(sid) << " cells";
    EXPECT_EQ(CellSetCountForTesting(), sets_before) << "no set for " << int(sid) << " cells";
    Cell primary(words.primary->load());
    EXPECT_EQ(primary.key(), keys.back()) << "the newest accessor's cell is the primary";
    EXPECT_EQ(primary.is_paired(), sid >= 2);
  }
  return keys;
}

TEST_F(ShadowWordTest, LowRangeWordsHaveThreeInlineWordsAndHighRangeWordsTwo) {
  uptr word = Alloc(8, 8);
  ASSERT_EQ(WordsFor(word).inline_capacity(), 3u);
  EXPECT_EQ(reinterpret_cast<uptr>(TertiaryWordFor(word)), word + kTertiaryOffset);
  EXPECT_EQ(TertiaryWordFor(kAppHighBegin), nullptr);
  EXPECT_EQ(TwoWordsFor(word).inline_capacity(), 2u);
}

// One to three cells: each new one is kept inline, chained by the kMoreBit
// of the secondary word, with the newest accessor's cell in the primary word.
TEST_F(ShadowWordTest, UpToThreeCellsStayInlineChainedByTheMoreBit) {
  uptr word = Alloc(8, 8);
  ShadowWords words = WordsFor(word);
  std::vector<u64> keys = AddThreeCells(words, /*race_free_entry=*/false);
  EXPECT_TRUE(words.secondary->load() & shadow_word::kMoreBit);
  EXPECT_FALSE(words.tertiary->load() & shadow_word::kMoreBit);

  // Every one of the three is found where it is, without a change.
  for (u64 k : keys) EXPECT_EQ(Access(words, k).changes, 0) << "cell of slot " << int(Cell(k).sid());
  EXPECT_EQ(CellsOf(words), ReadCells(keys));
  ClearShadowWords(word, 8);
}

// A fourth cell moves the word to a set; when the word is back to three
// cells it returns to the inline words and the set is recycled.
TEST_F(ShadowWordTest, AFourthCellSpillsToASetAndThreeComeBackInline) {
  uptr word = Alloc(8, 8);
  ShadowWords words = WordsFor(word);
  uptr sets_before = CellSetCountForTesting();
  std::vector<u64> keys;
  for (Sid sid = 1; sid <= 4; sid++) {
    keys.push_back(KeyOf(sid, 7));
    Access(words, keys.back());
  }
  EXPECT_TRUE(Cell(words.primary->load()).is_handle());
  EXPECT_EQ(CellSetCountForTesting(), sets_before + 1);
  EXPECT_EQ(CellsOf(words), ReadCells(keys));
  for (u64 k : keys) EXPECT_EQ(Access(words, k).changes, 0) << "found in the set";

  // Slot 6 reads and makes slots 1 and 2 redundant: 3 cells, inline again.
  u64 k6 = KeyOf(6, 7);
  StandInRules r = Access(words, k6, StandInRules::Drop::kOneSid, 1);
  EXPECT_TRUE(Cell(words.primary->load()).is_handle()) << "4 cells are still a set";
  r = Access(words, KeyOf(6, 8), StandInRules::Drop::kOneSid, 2);
  EXPECT_TRUE(r.committed);
  std::vector<u64> expected = {keys[2], keys[3], k6, KeyOf(6, 8)};
  EXPECT_EQ(CellsOf(words), ReadCells(expected)) << "one cell per slot-epoch";
  Access(words, KeyOf(6, 9), StandInRules::Drop::kOwnOlder);
  expected = {keys[2], keys[3], KeyOf(6, 9)};
  EXPECT_EQ(CellsOf(words), ReadCells(expected));
  Cell primary(words.primary->load());
  EXPECT_TRUE(primary.is_paired() && !primary.is_handle()) << "three cells are inline again";
  EXPECT_EQ(primary.key(), KeyOf(6, 9));
  EXPECT_EQ(CellSetCountForTesting(), sets_before) << "the set was recycled";
  ClearShadowWords(word, 8);
}

// A word of three inline cells collapses to one when an access makes the
// other two redundant (a writer after the readers); three to two, too.
TEST_F(ShadowWordTest, ThreeInlineCellsCollapseToOneOrToTwo) {
  uptr word = Alloc(8, 8);
  ShadowWords words = WordsFor(word);
  for (Sid sid = 1; sid <= 3; sid++) Access(words, KeyOf(sid, 3));
  u64 writer = KeyOf(9, 3);
  StandInRules r = Access(words, writer, StandInRules::Drop::kEverythingElse);
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(CellsOf(words), ReadCells({writer}));
  EXPECT_FALSE(Cell(words.primary->load()).is_paired());

  for (Sid sid = 1; sid <= 2; sid++) Access(words, KeyOf(sid, 4));  // 3 cells again
  Access(words, KeyOf(1, 5), StandInRules::Drop::kOwnOlder);        // still 3
  EXPECT_EQ(CellsOf(words), ReadCells({writer, KeyOf(2, 4), KeyOf(1, 5)}));
  Access(words, KeyOf(2, 5), StandInRules::Drop::kOneSid, 9);  // drops the writer: 3
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(2, 4), KeyOf(1, 5), KeyOf(2, 5)}));
  EXPECT_FALSE(words.tertiary->load() & shadow_word::kMoreBit) << "three cells end at the tertiary word";
  Access(words, KeyOf(1, 6), StandInRules::Drop::kOneSid, 2);  // drops slot 2's two cells: 2
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(1, 5), KeyOf(1, 6)}));
  EXPECT_FALSE(words.secondary->load() & shadow_word::kMoreBit) << "two cells end at the secondary word";
  ClearShadowWords(word, 8);
}

// A word without a tertiary word (the high range) keeps two cells inline
// and spills the third, whatever the tertiary address holds.
TEST_F(ShadowWordTest, WordsWithTwoInlineWordsSpillTheThirdCell) {
  uptr word = Alloc(8, 8);
  ShadowWords words = TwoWordsFor(word);
  uptr sets_before = CellSetCountForTesting();
  // Garbage in the word this word must not use.
  reinterpret_cast<std::atomic<u64>*>(word + kTertiaryOffset)->store(KeyOf(77, 1) | 1);
  Access(words, KeyOf(1, 1));
  Access(words, KeyOf(2, 1));
  EXPECT_FALSE(words.secondary->load() & shadow_word::kMoreBit);
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(1, 1), KeyOf(2, 1)}));
  EXPECT_EQ(CellSetCountForTesting(), sets_before);
  Access(words, KeyOf(3, 1));
  EXPECT_TRUE(Cell(words.primary->load()).is_handle());
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(1, 1), KeyOf(2, 1), KeyOf(3, 1)}));
  Access(words, KeyOf(3, 2), StandInRules::Drop::kOneSid, 3);  // back to 2 cells: inline
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(1, 1), KeyOf(2, 1), KeyOf(3, 2)}));
  Access(words, KeyOf(2, 2), StandInRules::Drop::kOneSid, 1);
  Access(words, KeyOf(2, 3), StandInRules::Drop::kOwnOlder);
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(3, 2), KeyOf(2, 3)}));
  EXPECT_FALSE(Cell(words.primary->load()).is_handle());
  EXPECT_EQ(CellSetCountForTesting(), sets_before);
  reinterpret_cast<std::atomic<u64>*>(word + kTertiaryOffset)->store(0);
  ClearShadowWords(word, 8);
}

// The race-free entry point keeps a word's cells exactly where the general
// one does, up to the inline words' capacity; beyond it, on a set, on a
// locked word or when the rules refuse, it leaves the word as it was and
// says so, without announcing a change.
TEST_F(ShadowWordTest, TheInlineEntryPointRecordsInlineCellsAndRefusesTheRest) {
  uptr word = Alloc(8, 8);
  ShadowWords words = WordsFor(word);
  uptr sets_before = CellSetCountForTesting();
  std::vector<u64> keys = AddThreeCells(words, /*race_free_entry=*/true);
  // Found in an extra word: done, nothing changed.
  InlineTry found = TryInline(words, keys[0]);
  EXPECT_TRUE(found.done);
  EXPECT_EQ(found.rules.changes, 0);

  // A fourth cell needs a set; a refusal stays a refusal.
  u64 before = words.primary->load();
  for (bool refuse : {false, true}) {
    InlineTry t = TryInline(words, KeyOf(4, 10), StandInRules::Drop::kNothing, 0, refuse);
    EXPECT_FALSE(t.done) << "refuse=" << refuse;
    EXPECT_EQ(t.rules.changes, 0);
    EXPECT_EQ(words.primary->load(), before);
    EXPECT_EQ(CellsOf(words), ReadCells(keys));
  }

  // A change since `observed` was read: refused, the word as it is now.
  StandInRules stale{KeyOf(5, 10), StandInRules::Drop::kEverythingElse};
  u64 observed = words.primary->load();
  Access(words, KeyOf(1, 11), StandInRules::Drop::kOwnOlder);
  u64 now = words.primary->load();
  EXPECT_FALSE(TryUpdateInlineWord(words, observed, stale));
  EXPECT_EQ(words.primary->load(), now);
  // Another thread takes the word while the outcome is computed, rewrites an
  // extra word and publishes the same primary value again: caught under the
  // lock state, the word given back as that thread left it.
  std::vector<u64> expected = CellsOf(words);
  std::erase(expected, words.tertiary->load());
  expected.push_back(Cell(KeyOf(3, 12)).WithMasks(0, 1).raw());
  std::sort(expected.begin(), expected.end());
  StandInRules aba{KeyOf(5, 10), StandInRules::Drop::kOneSid, 2};
  aba.meanwhile = [&] {
    u64 expected = now;
    ASSERT_TRUE(words.primary->compare_exchange_strong(expected, Cell::kLockedWord));
    words.tertiary->store(Cell(KeyOf(3, 12)).WithMasks(0, 1).raw());
    words.primary->store(now);
  };
  EXPECT_FALSE(TryUpdateInlineWord(words, now, aba));
  EXPECT_EQ(words.primary->load(), now) << "the same primary value";
  EXPECT_EQ(CellsOf(words), expected);

  // Three cells to one, then to two, through the inline entry point alone.
  EXPECT_TRUE(TryInline(words, KeyOf(9, 1), StandInRules::Drop::kEverythingElse).done);
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(9, 1)}));
  EXPECT_FALSE(Cell(words.primary->load()).is_paired());
  EXPECT_TRUE(TryInline(words, KeyOf(2, 2)).done);
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(9, 1), KeyOf(2, 2)}));

  // A set, and the locked state: refused, untouched.
  Access(words, KeyOf(3, 2));
  Access(words, KeyOf(4, 2));
  u64 handle = words.primary->load();
  ASSERT_TRUE(Cell(handle).is_handle());
  EXPECT_FALSE(TryInline(words, KeyOf(5, 2)).done);
  EXPECT_EQ(words.primary->load(), handle);
  words.primary->store(Cell::kLockedWord);
  EXPECT_FALSE(TryInline(words, KeyOf(5, 2)).done);
  EXPECT_EQ(words.primary->load(), Cell::kLockedWord);
  words.primary->store(handle);
  ClearShadowWords(word, 8);
  EXPECT_EQ(CellSetCountForTesting(), sets_before);
}

// Without a tertiary word, the third cell is already too many for the inline
// entry point.
TEST_F(ShadowWordTest, TheInlineEntryPointKeepsTwoCellsWhereThereAreTwoWords) {
  uptr word = Alloc(8, 8);
  ShadowWords words = TwoWordsFor(word);
  EXPECT_TRUE(TryInline(words, KeyOf(1, 1)).done);
  EXPECT_TRUE(TryInline(words, KeyOf(2, 1)).done);
  EXPECT_EQ(CellsOf(words), ReadCells({KeyOf(1, 1), KeyOf(2, 1)}));
  u64 before = words.primary->load();
  EXPECT_FALSE(TryInline(words, KeyOf(3, 1)).done);
  EXPECT_EQ(words.primary->load(), before);
  EXPECT_EQ(words.tertiary, nullptr);
  ClearShadowWords(word, 8);
}

// Threads change one word at once: readers each replace their own cell with
// one of a new epoch (through either entry point) and check right after that
// it is recorded, while a
// writer now and then makes every other cell redundant. The word keeps going
// between one cell, the three inline ones and a set. No reader's cell may
// ever be missing unless a collapse ran meanwhile, and at the end every cell
// is there and every set recycled.
TEST_F(ShadowWordTest, ConcurrentReadersAndACollapsingWriterLoseNoCell) {
  constexpr int kReaders = 4;  // with the writer: up to five cells
  constexpr Epoch kRounds = 20000;
  uptr word = Alloc(8, 8);
  ShadowWords words = WordsFor(word);
  uptr sets_before = CellSetCountForTesting();
  std::atomic<u64> collapses{0};  // odd while a collapse is under way
  std::atomic<bool> writer_done{false};
  constexpr u64 kCollapses = 1000;
  Epoch last_epoch[kReaders] = {};
  std::atomic<int> lost{0};
  std::atomic<int> seen_inline_three{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kReaders; t++) {
    threads.emplace_back([&, t] {
      Sid sid = static_cast<Sid>(t + 1);
      ready++;
      while (ready.load() < kReaders + 1) {
      }
      // At least kRounds, and for as long as the writer runs.
      for (Epoch e = 1; e <= kRounds || !writer_done.load(); e++) {
        last_epoch[t] = e;
        u64 before = collapses.load();
        // Every other round through the race-free entry point, as a range
        // access does, and the general one if it refuses.
        if (e % 2 == 0 || !TryInline(words, KeyOf(sid, e), StandInRules::Drop::kOwnOlder).done) {
          Access(words, KeyOf(sid, e), StandInRules::Drop::kOwnOlder);
        }
        StandInRules check = Access(words, KeyOf(sid, e));
        u64 after = collapses.load();
        // Changed without finding its own cell: it was lost, unless a
        // collapse may have removed it in between.
        if (check.committed && !check.found_own && before == after && (before & 1) == 0) lost++;
        Cell primary(words.primary->load());
        if (primary.is_paired() && (words.secondary->load() & shadow_word::kMoreBit)) seen_inline_three++;
      }
    });
  }
  threads.emplace_back([&] {
    ready++;
    while (ready.load() < kReaders + 1) {
    }
    Epoch e = 1;
    while (collapses.load() < 2 * kCollapses) {
      collapses++;
      Access(words, KeyOf(100, e++), StandInRules::Drop::kEverythingElse);
      collapses++;
      for (int i = 0; i < 200; i++) __builtin_ia32_pause();
    }
    writer_done.store(true);
  });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(lost.load(), 0) << "a reader's cell vanished without a collapse";
  EXPECT_EQ(collapses.load(), 2 * kCollapses);
  std::printf("collapses %llu, three inline cells seen %d times\n", static_cast<unsigned long long>(collapses.load() / 2),
              seen_inline_three.load());

  // Quiet now: each reader's newest cell, then the writer's, all present.
  std::vector<u64> expected;
  for (int t = 0; t < kReaders; t++) {
    expected.push_back(KeyOf(static_cast<Sid>(t + 1), last_epoch[t] + 1));
    Access(words, expected.back(), StandInRules::Drop::kOwnOlder);
  }
  std::vector<u64> cells = CellsOf(words);
  for (u64 k : expected) {
    EXPECT_TRUE(std::count(cells.begin(), cells.end(), Cell(k).WithMasks(0, 1).raw()) == 1)
        << "slot " << int(Cell(k).sid());
  }
  Access(words, KeyOf(100, 1u << 30), StandInRules::Drop::kEverythingElse);
  EXPECT_EQ(CellsOf(words).size(), 1u);
  EXPECT_EQ(CellSetCountForTesting(), sets_before) << "every set a collapse or a shrink left behind is recycled";
  ClearShadowWords(word, 8);
}

}  // namespace
}  // namespace racert::core_test
