// GORACE suppressions, report_bugs and print_full_thread_history in the core:
// which stacks suppressions look at, that suppressed races count nowhere, and
// the print_suppressions summary.
#include "tests/unit/core_test_support.h"

#include <string>

#include "base/internal_alloc.h"
#include "base/suppressions.h"
#include "tsan_core/runtime_options.h"

namespace racert::core_test {
namespace {

class CoreSuppressionTest : public CoreTest {
 protected:
  // Installs a suppression list parsed from `text` (removed in TearDown).
  void Suppress(const std::string& text) {
    list_ = static_cast<SuppressionList*>(InternalAlloc(sizeof(SuppressionList)));
    new (list_) SuppressionList();
    SuppressionParseError error{};
    ASSERT_TRUE(list_->Parse(text.data(), text.size(), &error)) << error.reason;
    SetRaceSuppressions(list_);
  }
  void TearDown() override {
    SetRaceSuppressions(nullptr);
    if (list_) {
      list_->~SuppressionList();
      InternalFree(list_, sizeof(SuppressionList));
    }
    g_options.report_bugs = true;
    g_options.print_full_thread_history = false;
    CoreTest::TearDown();
  }
  // Two goroutines of Root() racing on a fresh word: a writes in f_a at
  // pc_a, then b writes in f_b at pc_b (the current access). Returns the
  // number of reports printed.
  struct Pcs {
    uptr go_a, go_b, f_a, f_b, a, b;
  };
  u64 Race(const Pcs& pcs) {
    uptr x = Alloc(8);
    GoroutineState* ga = GoAt(Root(), pcs.go_a);
    GoroutineState* gb = GoAt(Root(), pcs.go_b);
    FuncEnter(ga, NewPc());  // the outermost frame, dropped from printed stacks
    FuncEnter(ga, pcs.f_a);
    AccessByte(ga, x, true, pcs.a);
    FuncExit(ga);
    FuncExit(ga);
    FuncEnter(gb, NewPc());
    FuncEnter(gb, pcs.f_b);
    AccessByte(gb, x, true, pcs.b);
    FuncExit(gb);
    FuncExit(gb);
    return TakeRaces();
  }
  static Pcs NewPcs() { return Pcs{NewPc(), NewPc(), NewPc(), NewPc(), NewPc(), NewPc()}; }
  static std::string Name(uptr pc) { return FakeFunctionName(pc); }

  SuppressionList* list_ = nullptr;
};

TEST_F(CoreSuppressionTest, AnyFrameOfEitherAccessStackSuppressesWithRace) {
  for (int which = 0; which < 4; which++) {
    Pcs pcs = NewPcs();
    uptr target = which == 0 ? pcs.b : which == 1 ? pcs.f_b : which == 2 ? pcs.a : pcs.f_a;
    Suppress("race:" + Name(target) + "\n");
    u64 before = ReportCount();
    EXPECT_EQ(Race(pcs), 0u) << "frame " << which;
    EXPECT_EQ(ReportCount(), before) << "a suppressed race is not counted";
    EXPECT_EQ(TakeReports(), "") << "and prints nothing";
    EXPECT_EQ((*list_)[0].hits, 1u);
    SetRaceSuppressions(nullptr);
  }
}

TEST_F(CoreSuppressionTest, CreationStacksAreNotMatched) {
  Pcs pcs = NewPcs();
  Suppress("race:" + Name(pcs.go_a) + "\nrace:" + Name(pcs.go_b) + "\n");
  EXPECT_EQ(Race(pcs), 1u);
  EXPECT_EQ((*list_)[0].hits + (*list_)[1].hits, 0u);
}

TEST_F(CoreSuppressionTest, RaceTopLooksAtTheInnermostFrameOnly) {
  Pcs pcs = NewPcs();
  Suppress("race_top:" + Name(pcs.f_b) + "\nrace_top:" + Name(pcs.f_a) + "\n");
  EXPECT_EQ(Race(pcs), 1u) << "f_a and f_b are not the top frames";
  SetRaceSuppressions(nullptr);
  Pcs more = NewPcs();
  Suppress("race_top:" + Name(more.a) + "\n");
  EXPECT_EQ(Race(more), 0u) << "the previous access's top frame";
}

TEST_F(CoreSuppressionTest, FileNamesArePatternsToo) {
  Pcs pcs = NewPcs();
  Suppress("race:^file.go$\n");
  EXPECT_EQ(Race(pcs), 0u);
}

TEST_F(CoreSuppressionTest, FirstMatchInStackOrderGetsTheHitAndTheSummaryListsFileOrder) {
  Pcs pcs = NewPcs();
  // The current access (b) is looked at first, innermost frame first.
  Suppress("race:" + Name(pcs.a) + "\nrace:" + Name(pcs.f_b) + "\nrace:never\n");
  EXPECT_EQ(Race(pcs), 0u);
  EXPECT_EQ((*list_)[0].hits, 0u);
  EXPECT_EQ((*list_)[1].hits, 1u);
  Pcs again = NewPcs();
  again.a = pcs.a;
  EXPECT_EQ(Race(again), 0u);
  EXPECT_EQ((*list_)[0].hits, 1u);
  TakeReports();
  PrintMatchedSuppressions();
  std::string summary = TakeReports();
  std::string header = "racert: Matched 2 suppressions (pid=";
  ASSERT_EQ(summary.compare(0, header.size(), header), 0) << summary;
  std::string lines = summary.substr(summary.find("):\n") + 3);
  EXPECT_EQ(lines, "1 race:" + Name(pcs.a) + "\n1 race:" + Name(pcs.f_b) + "\n");
}

TEST_F(CoreSuppressionTest, NothingMatchedPrintsNothing) {
  Suppress("race:never\n");
  EXPECT_EQ(Race(NewPcs()), 1u);
  TakeReports();
  PrintMatchedSuppressions();
  EXPECT_EQ(TakeReports(), "");
}

TEST_F(CoreSuppressionTest, SuppressedRacesDoNotReachTheExitStatus) {
  Pcs pcs = NewPcs();
  Suppress("race:" + Name(pcs.b) + "\n");
  u64 before = ReportCount();
  EXPECT_EQ(Race(pcs), 0u);
  EXPECT_EQ(ReportCount(), before);
}

TEST_F(CoreSuppressionTest, ReportBugsOffReportsAndCountsNothing) {
  g_options.report_bugs = false;
  u64 before = ReportCount();
  EXPECT_EQ(Race(NewPcs()), 0u);
  EXPECT_EQ(ReportCount(), before);
  EXPECT_EQ(TakeReports(), "");
  g_options.report_bugs = true;
  EXPECT_EQ(Race(NewPcs()), 1u);
}

TEST_F(CoreSuppressionTest, FullThreadHistoryListsAncestorsBreadthFirstUpToMain) {
  // Root -> p -> {a1 -> a, b}; a races with b. Ancestors: a1 (a's starter),
  // p (b's starter, and a1's), Root (p's starter); main is never listed.
  uptr pc_p = NewPc(), pc_a1 = NewPc(), pc_a = NewPc(), pc_b = NewPc();
  GoroutineState* p = GoAt(Root(), pc_p);
  GoroutineState* a1 = GoAt(p, pc_a1);
  GoroutineState* b = GoAt(p, pc_b);
  GoroutineState* a = GoAt(a1, pc_a);
  End(a1);
  uptr x = Alloc(8);
  uptr pc_wb = NewPc(), pc_wa = NewPc();
  AccessByte(b, x, true, pc_wb);
  g_options.print_full_thread_history = true;
  TakeReports();
  AccessByte(a, x, true, pc_wa);
  ASSERT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  auto block = [](GoroutineState* g, const char* state, uptr pc) {
    return "\nGoroutine " + std::to_string(g->number) + " (" + state + ") created at:\n" + FakeFrameText(pc);
  };
  std::string expected_tail = block(a, "running", pc_a) + block(b, "running", pc_b) + block(a1, "finished", pc_a1) +
                              block(p, "running", pc_p);
  size_t first_block = report.find("\nGoroutine ");
  ASSERT_NE(first_block, std::string::npos) << report;
  std::string blocks = report.substr(first_block);
  // Root was started by main: its creation block comes last.
  ASSERT_EQ(blocks.compare(0, expected_tail.size(), expected_tail), 0) << report;
  std::string root_header = "\nGoroutine " + std::to_string(Root()->number) + " (running) created at:\n";
  EXPECT_EQ(blocks.find(root_header), expected_tail.size()) << report;
  EXPECT_EQ(CountOccurrences(report, "created at:"), 5u) << report;
  EXPECT_EQ(report.find("Goroutine 1 "), std::string::npos) << report;

  g_options.print_full_thread_history = false;
  uptr y = Alloc(8);
  AccessByte(b, y, true, NewPc());
  AccessByte(a, y, true, NewPc());
  ASSERT_EQ(TakeRaces(), 1u);
  EXPECT_EQ(CountOccurrences(TakeReports(), "created at:"), 2u) << "off: only the racing goroutines";
}

}  // namespace
}  // namespace racert::core_test
