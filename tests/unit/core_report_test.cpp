// Race reports: the exact text Go's tooling expects (docs/go-race-abi-notes.md §13.1),
// previous stacks restored from the history, deduplication and the summary.
#include "tests/unit/core_test_support.h"

#include <string>
#include <vector>

#include "tsan_core/history.h"
#include "tsan_core/runtime_options.h"

namespace racert::core_test {
namespace {

class CoreReportTest : public CoreTest {
 protected:
  static std::string Frames(std::initializer_list<uptr> innermost_first) {
    std::string text;
    for (uptr pc : innermost_first) text += FakeFrameText(pc);
    return text;
  }
  static std::string Number(const GoroutineState* g) { return std::to_string(g->number); }
};

constexpr char kRule[] = "==================\n";

TEST_F(CoreReportTest, MainGoroutineHasReportNumberOne) {
  EXPECT_EQ(Runtime().init_context->number, 0u);
  EXPECT_EQ(Main()->number, 1u);
  EXPECT_GT(Root()->number, 1u);
}

TEST_F(CoreReportTest, FullReportMatchesGoByteForByte) {
  GoroutineState* m = Main();
  uptr x = Alloc(8);
  uptr pc_main_outer = NewPc(), pc_go = NewPc(), pc_main_f = NewPc(), pc_read = NewPc();
  uptr pc_g_outer = NewPc(), pc_g_f = NewPc(), pc_write = NewPc();

  FuncEnter(m, pc_main_outer);  // like runtime.main: dropped from printed stacks
  GoroutineState* g = GoAt(m, pc_go);
  FuncEnter(m, pc_main_f);
  AccessByte(m, x, /*is_write=*/false, pc_read);
  FuncExit(m);
  FuncExit(m);

  FuncEnter(g, pc_g_outer);  // like goexit
  FuncEnter(g, pc_g_f);
  TakeReports();
  AccessByte(g, x, /*is_write=*/true, pc_write);
  FuncExit(g);
  FuncExit(g);
  ASSERT_EQ(TakeRaces(), 1u);

  std::string expected = std::string(kRule) + "WARNING: DATA RACE\n" +
                         "Write at " + GoAddress(x) + " by goroutine " + Number(g) + ":\n" +
                         Frames({pc_write, pc_g_f}) +
                         "\nPrevious read at " + GoAddress(x) + " by main goroutine:\n" +
                         Frames({pc_read, pc_main_f}) +
                         "\nGoroutine " + Number(g) + " (running) created at:\n" +
                         Frames({pc_go}) +
                         kRule;
  EXPECT_EQ(TakeReports(), expected);
}

TEST_F(CoreReportTest, TwoGoroutinesBothCreationStacksCurrentFirstAndFinishedState) {
  uptr x = Alloc(8);
  uptr pc_go_a = NewPc(), pc_go_b = NewPc(), pc_write = NewPc(), pc_b_outer = NewPc(), pc_read = NewPc();
  GoroutineState* a = GoAt(Root(), pc_go_a);
  GoroutineState* b = GoAt(Root(), pc_go_b);
  AccessByte(a, x, true, pc_write);  // a single frame is printed as is
  std::string a_number = Number(a);
  End(a);
  FuncEnter(b, pc_b_outer);
  TakeReports();
  AccessByte(b, x, false, pc_read);
  FuncExit(b);
  ASSERT_EQ(TakeRaces(), 1u);

  std::string expected = std::string(kRule) + "WARNING: DATA RACE\n" +
                         "Read at " + GoAddress(x) + " by goroutine " + Number(b) + ":\n" +
                         Frames({pc_read}) +
                         "\nPrevious write at " + GoAddress(x) + " by goroutine " + a_number + ":\n" +
                         Frames({pc_write}) +
                         "\nGoroutine " + Number(b) + " (running) created at:\n" + Frames({pc_go_b}) +
                         "\nGoroutine " + a_number + " (finished) created at:\n" + Frames({pc_go_a}) +
                         kRule;
  EXPECT_EQ(TakeReports(), expected);
}

TEST_F(CoreReportTest, CreationStackIsTheParentsStackPlusTheGoStatement) {
  uptr x = Alloc(8);
  GoroutineState* parent = Go(Root());
  uptr pc_p_outer = NewPc(), pc_p_f = NewPc(), pc_p_g = NewPc(), pc_go = NewPc();
  FuncEnter(parent, pc_p_outer);
  FuncEnter(parent, pc_p_f);
  FuncEnter(parent, pc_p_g);
  GoroutineState* child = GoAt(parent, pc_go);
  FuncExit(parent);
  FuncExit(parent);
  FuncExit(parent);
  GoroutineState* other = Go(parent);
  Write(other, x);
  TakeReports();
  Write(child, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  std::string creation = "\nGoroutine " + Number(child) + " (running) created at:\n" + Frames({pc_go, pc_p_g, pc_p_f});
  EXPECT_NE(report.find(creation), std::string::npos) << report;
}

TEST_F(CoreReportTest, PreviousStackIsTheStackAtThatAccessNotTheCurrentOne) {
  // The history replays call events lazily: a frame popped and replaced
  // before the access must not show up, frames entered after it neither.
  uptr x = Alloc(8), y = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr p1 = NewPc(), p2 = NewPc(), p3 = NewPc(), p4 = NewPc(), p5 = NewPc(), pc_w = NewPc(), pc_y = NewPc();
  FuncEnter(a, p1);
  FuncEnter(a, p2);
  AccessByte(a, y, true, pc_y);
  FuncExit(a);
  FuncEnter(a, p3);
  FuncEnter(a, p4);
  AccessByte(a, x, true, pc_w);
  FuncEnter(a, p5);  // later calls are not part of the previous stack
  TakeReports();
  Write(b, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  std::string previous = "\nPrevious write at " + GoAddress(x) + " by goroutine " + Number(a) + ":\n" +
                         Frames({pc_w, p4, p3}) + "\n";
  EXPECT_NE(report.find(previous), std::string::npos) << report;
  FuncExit(a);
  FuncExit(a);
  FuncExit(a);
  FuncExit(a);
}

TEST_F(CoreReportTest, PreviousStackOfADeepFirstAccessIsComplete) {
  // The very first access of a goroutine, 40 calls deep (Go programs reach
  // such depths routinely: recursion, middleware chains).
  constexpr int kDepth = 40;
  uptr x = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  std::vector<uptr> frames;
  for (int i = 0; i < kDepth; i++) {
    frames.push_back(NewPc());
    FuncEnter(a, frames.back());
  }
  uptr pc_w = NewPc();
  AccessByte(a, x, true, pc_w);
  TakeReports();
  Write(b, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string expected = "\nPrevious write at " + GoAddress(x) + " by goroutine " + Number(a) + ":\n" +
                         FakeFrameText(pc_w);
  for (int i = kDepth - 1; i >= 1; i--) expected += FakeFrameText(frames[i]);  // outermost dropped
  std::string report = TakeReports();
  EXPECT_NE(report.find(expected + "\n"), std::string::npos) << report;
  for (int i = 0; i < kDepth; i++) FuncExit(a);
}

TEST_F(CoreReportTest, PreviousStackOfAnAccessMadeLongAgoIsRestored) {
  uptr x = Alloc(8);
  uptr others = Alloc(8 * 10000, 8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr p_outer = NewPc(), p_f = NewPc(), pc_w = NewPc();
  FuncEnter(a, p_outer);
  FuncEnter(a, p_f);
  AccessByte(a, x, true, pc_w);
  FuncExit(a);
  // Since then: 100k calls, one in ten doing an access to another address.
  uptr p_loop = NewPc(), p_inner = NewPc(), pc_loop_access = NewPc();
  int accesses = 0;
  for (int i = 0; i < 100000; i++) {
    FuncEnter(a, p_loop + (i % 4) * 0x10);
    if (i % 10 == 0) {
      FuncEnter(a, p_inner);
      AccessByte(a, others + 8 * accesses++, true, pc_loop_access);
      FuncExit(a);
    }
    FuncExit(a);
  }
  ASSERT_EQ(accesses, 10000);
  FuncExit(a);
  TakeReports();
  Write(b, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  std::string previous = "\nPrevious write at " + GoAddress(x) + " by goroutine " + Number(a) + ":\n" +
                         Frames({pc_w, p_f}) + "\n";
  EXPECT_NE(report.find(previous), std::string::npos) << report;
}

// A loop filling a buffer byte by byte records one history event per word
// (later bytes are merged into it): each byte must still be reported at its
// own address with the loop's stack. (A reported cell is dropped, so each
// probe is in its own word.)
TEST_F(CoreReportTest, ByteLoopPreviousAccessesKeepTheirOwnAddressAndStack) {
  uptr buf = Alloc(64);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr p_outer = NewPc(), p_fill = NewPc(), pc_store = NewPc();
  FuncEnter(a, p_outer);  // the outermost frame is not printed (goexit)
  FuncEnter(a, p_fill);
  for (uptr i = 0; i < 64; i++) AccessByte(a, buf + i, true, pc_store);
  FuncExit(a);
  for (uptr i : {uptr{0}, uptr{13}, uptr{23}, uptr{63}}) {
    TakeReports();
    Read(b, buf + i);
    ASSERT_EQ(TakeRaces(), 1u) << i;
    std::string report = TakeReports();
    std::string previous = "\nPrevious write at " + GoAddress(buf + i) + " by goroutine " + Number(a) + ":\n" +
                           Frames({pc_store, p_fill}) + "\n";
    EXPECT_NE(report.find(previous), std::string::npos) << report;
  }
}

// Bytes of one word written from different pcs, or from the same pc under a
// different stack or in another epoch, are separate events: each is restored
// with its own stack.
TEST_F(CoreReportTest, BytesOfOneWordFromDifferentPlacesKeepTheirOwnStacks) {
  uptr p_outer = NewPc(), p_f = NewPc(), p_g = NewPc();
  uptr pc_first = NewPc(), pc_second = NewPc(), pc_shared = NewPc(), p_h = NewPc(), pc_other = NewPc();
  struct Expectation {
    uptr byte;
    std::vector<uptr> frames;
  };
  const Expectation expectations[] = {{0, {pc_first, p_f}},  {1, {pc_second, p_f}}, {2, {pc_shared, p_f}},
                                      {3, {pc_shared, p_g}}, {4, {pc_shared, p_f}},  {5, {pc_shared, p_f}},
                                      {6, {pc_shared, p_f}}};
  for (const Expectation& e : expectations) {
    uptr x = Alloc(8);
    uptr sync = Alloc(8);
    uptr other = Alloc(8);
    GoroutineState* a = Go(Root());
    GoroutineState* b = Go(Root());
    FuncEnter(a, p_outer);
    FuncEnter(a, p_f);
    AccessByte(a, x + 0, true, pc_first);
    AccessByte(a, x + 1, true, pc_second);  // same stack, other pc
    AccessByte(a, x + 2, true, pc_shared);
    FuncExit(a);
    FuncEnter(a, p_g);
    AccessByte(a, x + 3, true, pc_shared);  // same pc, other stack
    FuncExit(a);
    FuncEnter(a, p_f);
    AccessByte(a, x + 4, true, pc_shared);  // back under p_f, after another event
    Release(a, sync);                       // a new epoch
    AccessByte(a, x + 5, true, pc_shared);  // same pc and stack, next epoch
    FuncEnter(a, p_h);
    AccessByte(a, other, true, pc_other);   // recorded one frame deeper
    FuncExit(a);
    AccessByte(a, x + 6, true, pc_shared);  // the trace must pop p_h first
    FuncExit(a);
    TakeReports();
    Read(b, x + e.byte);
    ASSERT_EQ(TakeRaces(), 1u) << e.byte;
    std::string report = TakeReports();
    std::string frames;
    for (uptr pc : e.frames) frames += FakeFrameText(pc);
    std::string previous =
        "\nPrevious write at " + GoAddress(x + e.byte) + " by goroutine " + Number(a) + ":\n" + frames + "\n";
    EXPECT_NE(report.find(previous), std::string::npos) << "byte " << e.byte << "\n" << report;
  }
}

TEST_F(CoreReportTest, RaceIsStillReportedWhenTheHistoryWindowLostThePreviousStack) {
  uptr saved_window = History::WindowWordsForTesting();
  History::SetWindowWords(64);  // the minimum: two small chunks
  uptr x = Alloc(8);
  uptr others = Alloc(8 * 5000, 8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr pc_w = NewPc(), pc_loop = NewPc();
  AccessByte(a, x, true, pc_w);
  for (int i = 0; i < 5000; i++) AccessByte(a, others + 8 * i, true, pc_loop);
  TakeReports();
  Write(b, x);
  u64 races = TakeRaces();
  std::string report = TakeReports();
  History::SetWindowWords(saved_window);
  EXPECT_EQ(races, 1u) << "racert reports the race even without the previous stack";
  std::string previous = "\nPrevious write at " + GoAddress(x) + " by goroutine " + Number(a) +
                         ":\n  [failed to restore the stack]\n";
  EXPECT_NE(report.find(previous), std::string::npos) << report;
}

TEST_F(CoreReportTest, FailedToRestoreAppearsOnlyForTrulyUnknownStacks) {
  // A goroutine started without a parent (Go's timer contexts) has no
  // creation stack; everything else in this report is known.
  uptr x = Alloc(8);
  uptr pc_go_a = NewPc();
  GoroutineState* a = GoAt(Root(), pc_go_a);
  GoroutineState* orphan = GoAt(nullptr, NewPc());
  Write(a, x);
  TakeReports();
  Write(orphan, x);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_EQ(CountOccurrences(report, "[failed to restore the stack]"), 1u) << report;
  EXPECT_NE(report.find("\nGoroutine " + Number(orphan) + " (running) created at:\n  [failed to restore the stack]\n"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("\nGoroutine " + Number(a) + " (running) created at:\n" + Frames({pc_go_a})),
            std::string::npos)
      << report;
}

// Each line prints where its own access starts within the racing word (the
// official runtime's cells keep each access's offset): the range covers the
// whole word from its start; the earlier write starts at byte 13.
TEST_F(CoreReportTest, RangeReportNamesWhereEachAccessStartsInTheWord) {
  uptr base = Alloc(32, 8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, base + 13);
  Write(a, base + 14);
  TakeReports();
  AccessRange(b, base + 2, 30, /*is_write=*/false, /*is_atomic=*/false, NewPc());
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Read at " + GoAddress(base + 8) + " by goroutine " + Number(b) + ":\n"), std::string::npos)
      << report;
  EXPECT_NE(report.find(PreviousAccessHeading("write", base + 13, a) + "\n"), std::string::npos) << report;
}

TEST_F(CoreReportTest, AtomicAccessesPrintAsPlainReadsAndWrites) {
  uptr x = Alloc(8, 8), y = Alloc(8, 8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  AccessRange(a, x, 8, /*is_write=*/true, /*is_atomic=*/true, NewPc());
  TakeReports();
  Read(b, x);
  AccessRange(b, y, 4, /*is_write=*/false, /*is_atomic=*/true, NewPc());
  Write(a, y);
  ASSERT_EQ(TakeRaces(), 2u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Read at " + GoAddress(x)), std::string::npos) << report;
  EXPECT_NE(report.find("Previous write at " + GoAddress(x)), std::string::npos) << report;
  EXPECT_NE(report.find("Write at " + GoAddress(y)), std::string::npos) << report;
  EXPECT_NE(report.find("Previous read at " + GoAddress(y)), std::string::npos) << report;
  EXPECT_EQ(report.find("tomic"), std::string::npos) << report;
}

// A plain and an atomic access of the same bytes in one epoch are two cells;
// each report's previous stack is the access of its own kind, whichever came
// first in the history (the core stress test found the atomic cell reported
// with the plain write's stack: program seed 0x71c18690ee42c90b).
TEST_F(CoreReportTest, PreviousStackOfAnAtomicCellIsTheAtomicAccessNotAPlainOneOfTheSameEpoch) {
  uptr x = Alloc(8, 8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr pc_plain = NewPc(), pc_atomic = NewPc();
  FuncEnter(a, NewPc());  // reports leave out the outermost frame
  AccessRange(a, x, 8, /*is_write=*/true, /*is_atomic=*/false, pc_plain);
  AccessRange(a, x, 8, /*is_write=*/true, /*is_atomic=*/true, pc_atomic);
  TakeReports();
  Read(b, x);  // races with both; the newer cell, the atomic one, is reported
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Previous write at " + GoAddress(x) + " by goroutine " + Number(a) + ":\n" +
                        FakeFrameText(pc_atomic)),
            std::string::npos)
      << report;
  FuncExit(a);
}

TEST_F(CoreReportTest, PreviousStackOfAPlainCellIsThePlainAccessNotAnAtomicOneOfTheSameEpoch) {
  uptr x = Alloc(8, 8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr pc_atomic = NewPc(), pc_plain = NewPc();
  FuncEnter(a, NewPc());
  AccessRange(a, x, 8, /*is_write=*/true, /*is_atomic=*/true, pc_atomic);
  AccessRange(a, x, 8, /*is_write=*/true, /*is_atomic=*/false, pc_plain);
  TakeReports();
  AccessRange(b, x, 8, /*is_write=*/false, /*is_atomic=*/true, NewPc());  // races with the plain write only
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Previous write at " + GoAddress(x) + " by goroutine " + Number(a) + ":\n" +
                        FakeFrameText(pc_plain)),
            std::string::npos)
      << report;
  FuncExit(a);
}

// When both stacks are restored from histories (an owner's pending bytes
// published into a changed word) and both cells hold several of the
// conflicting bytes, the two restored accesses must share a byte: each is
// looked up for the same one, not each for the first of its own events.
// The core stress test found the owner's byte 1 paired with the other's byte
// 2 (program seed 0x733b37b7975ab382).
TEST_F(CoreReportTest, BothRestoredStacksAreOfAccessesToTheSameByte) {
  uptr buf = Alloc(8, 8);
  GoroutineState* owner = Go(Root());
  GoroutineState* other = Go(Root());
  uptr p1 = NewPc(), p2 = NewPc(), pa = NewPc(), pb = NewPc();
  FuncEnter(owner, NewPc());
  FuncEnter(other, NewPc());
  // Histories: the owner wrote byte 1 then byte 2, the other byte 2 then
  // byte 1, each in one epoch (the shadow races they make are not this test's).
  AccessRange(owner, buf + 1, 1, /*is_write=*/true, /*is_atomic=*/false, p1);
  AccessRange(owner, buf + 2, 1, /*is_write=*/true, /*is_atomic=*/false, p2);
  AccessRange(other, buf + 2, 1, /*is_write=*/true, /*is_atomic=*/false, pa);
  AccessRange(other, buf + 1, 1, /*is_write=*/true, /*is_atomic=*/false, pb);
  TakeRaces();
  TakeReports();
  DetectedRace race{};
  race.word_addr = buf;
  race.conflict_mask = 0b110;
  race.addr = buf + 1;
  race.size = 1;
  race.is_write = true;
  race.pc = NewPc();
  race.previous = Cell(Cell(other->plain_key).WithMasks(0b110, 0).raw());
  race.previous_is_write = true;
  race.current_restored_key = owner->plain_key;
  ASSERT_EQ(ReportRace(owner, race), ReportOutcome::kPrinted);
  std::string report = TakeReports();
  EXPECT_NE(report.find("Write at " + GoAddress(buf + 1) + " by goroutine " + Number(owner) + ":\n" +
                        FakeFrameText(p1)),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("Previous write at " + GoAddress(buf + 1) + " by goroutine " + Number(other) + ":\n" +
                        FakeFrameText(pb)),
            std::string::npos)
      << report;
  FuncExit(owner);
  FuncExit(other);
}

TEST_F(CoreReportTest, EqualStackPairsAreReportedOnceWhenSuppressed) {
  ASSERT_TRUE(g_options.suppress_equal_stacks) << "the default";
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr pc_a = NewPc(), pc_b = NewPc();
  uptr x1 = Alloc(8), x2 = Alloc(8), x3 = Alloc(8), x4 = Alloc(8);
  AccessByte(a, x1, true, pc_a);
  AccessByte(b, x1, true, pc_b);
  EXPECT_EQ(TakeRaces(), 1u);
  AccessByte(a, x2, true, pc_a);
  AccessByte(b, x2, true, pc_b);
  EXPECT_EQ(TakeRaces(), 0u) << "same pair of stacks";
  AccessByte(b, x3, true, pc_b);
  AccessByte(a, x3, true, pc_a);
  EXPECT_EQ(TakeRaces(), 0u) << "same pair in the other order";
  g_options.suppress_equal_stacks = false;
  AccessByte(a, x4, true, pc_a);
  AccessByte(b, x4, true, pc_b);
  u64 unsuppressed = TakeRaces();
  g_options.suppress_equal_stacks = true;
  EXPECT_EQ(unsuppressed, 1u);
  EXPECT_EQ(CountOccurrences(TakeReports(), "WARNING: DATA RACE"), 2u) << "suppressed reports print nothing";
}

// A write that races with two earlier reads, the newest of which pairs with
// it exactly as an earlier report did: the other, distinct pair is reported
// instead of nothing.
TEST_F(CoreReportTest, DistinctPairBehindADuplicateIsReported) {
  GoroutineState* w = Go(Root());
  GoroutineState* a = Go(Root());
  GoroutineState* c = Go(Root());
  uptr pc_w = NewPc(), pc_a = NewPc(), pc_c = NewPc();
  uptr y = Alloc(8), x = Alloc(8);
  AccessByte(c, y, false, pc_c);
  AccessByte(w, y, true, pc_w);
  ASSERT_EQ(TakeRaces(), 1u) << "W-C on y";
  AccessByte(a, x, false, pc_a);
  AccessByte(c, x, false, pc_c);  // the newest reader: checked first
  TakeReports();
  AccessByte(w, x, true, pc_w);
  EXPECT_EQ(TakeRaces(), 1u) << "W-A on x hides behind the duplicate W-C";
  std::string report = TakeReports();
  EXPECT_NE(report.find("Previous read at " + GoAddress(x) + " by goroutine " + Number(a) + ":"), std::string::npos)
      << report;
}

// Without duplicate suppression every racing pair an access finds is reported.
TEST_F(CoreReportTest, EveryRacingPairIsReportedWhenEqualStacksAreNotSuppressed) {
  GoroutineState* w = Go(Root());
  GoroutineState* readers[3] = {Go(Root()), Go(Root()), Go(Root())};
  uptr x = Alloc(8);
  for (GoroutineState* r : readers) Read(r, x);
  g_options.suppress_equal_stacks = false;
  Write(w, x);
  u64 races = TakeRaces();
  g_options.suppress_equal_stacks = true;
  EXPECT_EQ(races, 3u);
  std::string report = TakeReports();
  for (GoroutineState* r : readers) {
    EXPECT_NE(report.find("by goroutine " + Number(r) + ":"), std::string::npos) << report;
  }
}

TEST_F(CoreReportTest, StripPathPrefixIsApplied) {
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr x = Alloc(8);
  uptr pc_a = NewPc();
  Write(a, x);
  g_options.strip_path_prefix = "fil";
  TakeReports();
  AccessByte(b, x, true, pc_a);
  g_options.strip_path_prefix = "";
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_EQ(report.find("file.go"), std::string::npos) << report;
  EXPECT_NE(report.find("      e.go:" + std::to_string(pc_a & 0xffff) + " +0x0\n"), std::string::npos) << report;
}

TEST_F(CoreReportTest, EveryReportIsCountedAndPrintedBeforeTheAccessReturns) {
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  for (int i = 0; i < 5; i++) {
    uptr x = Alloc(8);
    Write(a, x);
    u64 before = ReportCount();
    Write(b, x);
    EXPECT_EQ(ReportCount(), before + 1);
    EXPECT_EQ(CountOccurrences(TakeReports(), "WARNING: DATA RACE"), 1u);
  }
}

TEST_F(CoreReportTest, FinalizeRuntimePrintsTheSummaryAndReturnsTheExitCode) {
  uptr x = Alloc(8);
  Write(Go(Root()), x);
  Write(Go(Root()), x);
  ASSERT_EQ(TakeRaces(), 1u);
  TakeReports();
  u64 total = ReportCount();
  int status = FinalizeRuntime();
  EXPECT_EQ(status, g_options.exitcode);
  EXPECT_EQ(status, 66);
  EXPECT_EQ(TakeReports(), "Found " + std::to_string(total) + " data race(s)\n");
  EXPECT_EQ(ReportCount(), total);
}

}  // namespace
}  // namespace racert::core_test
