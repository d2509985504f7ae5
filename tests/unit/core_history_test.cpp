// The history module alone (tsan_core/history.h): a History is recorded and
// replayed here directly, without the runtime, goroutines or slots; the test
// plays the goroutine's part (call stack, stable depth, epochs).
#include <gtest/gtest.h>

#include <vector>

#include "base/internal_vector.h"
#include "tsan_core/history.h"

namespace racert {
namespace {

constexpr Sid kSid = 3;
constexpr uptr kWord = uptr{0xc000100000};

// A goroutine's shadow call stack as the runtime keeps it (FuncEnter and
// FuncExit in tsan_core/runtime.h), recording into its own History.
class Recorder {
 public:
  Recorder() { history_.AddEpoch(kSid, 1); }
  ~Recorder() { history_.Clear(); }

  void Enter(uptr pc) { stack_.push_back(pc); }
  void Exit() {
    uptr depth = stack_.size();
    stack_.pop_back();
    if (stable_depth_ >= depth) stable_depth_ = depth - 1;
  }
  void SetEpoch(Epoch epoch) { history_.AddEpoch(kSid, epoch); }
  void Access(uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc) {
    history_.AddAccess(stack_, &stable_depth_, addr, size, is_write, is_atomic, pc, /*innermost_in_event=*/false);
  }
  // An atomic operation as the runtime records it: its caller's frame is
  // pushed around the access, and the event carries that frame.
  void Atomic(uptr addr, uptr size, bool is_write, uptr caller_pc, uptr pc) {
    Enter(caller_pc);
    history_.AddAccess(stack_, &stable_depth_, addr, size, is_write, /*is_atomic=*/true, pc,
                       /*innermost_in_event=*/true);
    Exit();
  }
  // A plain byte access as the access path records it: the inline path
  // first, the general one when it declines.
  void Byte(uptr addr, bool is_write, uptr pc) {
    if (!history_.TryAddByteAccessOnSameStack(stack_.size(), stable_depth_, addr, is_write, pc)) {
      Access(addr, 1, is_write, false, pc);
    }
  }

  History& history() { return history_; }

 private:
  History history_{};
  InternalVector<uptr> stack_;
  uptr stable_depth_ = 0;
};

std::vector<uptr> StackOf(const RestoredAccess& restored) {
  return std::vector<uptr>(restored.stack.begin(), restored.stack.end());
}

TEST(HistoryTest, RestoresTheStackAndTheExactAccess) {
  Recorder g;
  g.Enter(0x100);
  g.Enter(0x200);
  g.Access(kWord, 8, /*is_write=*/true, /*is_atomic=*/false, 0x210);
  RestoredAccess out;
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0xff, true, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x100, 0x200, 0x210}));
  EXPECT_EQ(out.addr, kWord);
  EXPECT_EQ(out.size, 8u);
  EXPECT_TRUE(out.is_write);
  EXPECT_FALSE(out.is_atomic);
  EXPECT_EQ(g.history().LastAccessEpoch(), 1u);
}

TEST(HistoryTest, OnlyTheRecordedKindEpochSlotAndBytesMatch) {
  Recorder g;
  g.Access(kWord + 4, 4, /*is_write=*/true, /*is_atomic=*/false, 0x300);
  RestoredAccess out;
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0xf0, /*is_write=*/false, false, &out)) << "a read";
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0xf0, true, /*is_atomic=*/true, &out)) << "an atomic";
  EXPECT_FALSE(g.history().Restore(kSid, 2, kWord, 0xf0, true, false, &out)) << "another epoch";
  EXPECT_FALSE(g.history().Restore(kSid + 1, 1, kWord, 0xf0, true, false, &out)) << "another slot";
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0x0f, true, false, &out)) << "bytes it did not touch";
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord + 8, 0xff, true, false, &out)) << "the next word";
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0x10, true, false, &out));
  EXPECT_EQ(out.addr, kWord + 4);
  EXPECT_EQ(out.size, 4u);
}

TEST(HistoryTest, PlainAndAtomicAccessesOfTheSameBytesInOneEpochKeepTheirOwnStacks) {
  Recorder g;
  g.Access(kWord, 8, true, /*is_atomic=*/false, 0x400);
  g.Access(kWord, 8, true, /*is_atomic=*/true, 0x410);
  RestoredAccess out;
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0xff, true, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x400}));
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0xff, true, true, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x410}));
  EXPECT_TRUE(out.is_atomic);
}

TEST(HistoryTest, EachEpochRestoresItsOwnAccess) {
  Recorder g;
  g.Access(kWord, 8, true, false, 0x500);
  g.SetEpoch(2);
  g.Access(kWord, 8, true, false, 0x510);
  RestoredAccess out;
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0xff, true, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x500}));
  ASSERT_TRUE(g.history().Restore(kSid, 2, kWord, 0xff, true, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x510}));
  EXPECT_EQ(g.history().LastAccessEpoch(), 2u);
}

TEST(HistoryTest, ARangeOverSeveralWordsIsFoundFromEachOfThem) {
  Recorder g;
  g.Access(kWord + 4, 16, /*is_write=*/false, false, 0x600);  // bytes 4..19: three words
  RestoredAccess out;
  for (uptr word : {kWord, kWord + 8, kWord + 16}) {
    ASSERT_TRUE(g.history().Restore(kSid, 1, word, 0xff, false, false, &out)) << std::hex << word;
    EXPECT_EQ(out.addr, kWord + 4);
    EXPECT_EQ(out.size, 16u);
  }
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord + 16, 0xf0, false, false, &out)) << "bytes 20..23";
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0x0f, false, false, &out)) << "bytes 0..3";
}

TEST(HistoryTest, ByteLoopOnOneStackIsOneEventPerWordWithEveryByteAttributed) {
  Recorder g;
  g.Enter(0x700);
  g.Byte(kWord, true, 0x710);  // starts the first chunk through AddAccess
  uptr bytes_after_first = g.history().MemoryBytes();
  for (uptr i = 1; i < 8; i++) g.Byte(kWord + i, true, 0x710);
  g.Byte(kWord + 8, true, 0x720);  // another pc: an event of its own
  EXPECT_EQ(g.history().MemoryBytes(), bytes_after_first) << "merged into the first chunk";
  RestoredAccess out;
  for (uptr i = 0; i < 8; i++) {
    ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, u8(1u << i), true, false, &out)) << i;
    EXPECT_EQ(out.addr, kWord + i);
    EXPECT_EQ(out.size, 1u);
    EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x700, 0x710}));
  }
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord + 8, 0x01, true, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x700, 0x720}));
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0xff, /*is_write=*/false, false, &out)) << "writes only";
}

TEST(HistoryTest, AByteAccessAfterACallChangeTakesTheGeneralPathAndKeepsItsStack) {
  Recorder g;
  g.Enter(0x800);
  g.Enter(0x810);
  g.Byte(kWord, false, 0x811);
  g.Exit();
  g.Enter(0x820);  // same depth, another callee: the inline path must decline
  g.Byte(kWord + 1, false, 0x821);
  g.Exit();
  g.Exit();
  g.Byte(kWord + 2, false, 0x801);
  RestoredAccess out;
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0x01, false, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x800, 0x810, 0x811}));
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0x02, false, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x800, 0x820, 0x821}));
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0x04, false, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x801}));
}

// An access event with the previous access event's pc omits it (one word
// instead of two), so a run of accesses from one place keeps twice as many
// events in the same window; each still restores its own access and pc,
// across a chunk boundary too (a chunk's first event always carries its pc),
// and mixed with byte events and pc changes.
TEST(HistoryTest, EventsRepeatingThePreviousPcTakeOneWordAndRestoreTheirOwnAccess) {
  uptr saved_window = History::WindowWordsForTesting();
  History::SetWindowWords(64);  // a first chunk of 32 words, then one of 64
  constexpr uptr kAccesses = 50;
  for (bool same_pc : {true, false}) {
    Recorder g;
    g.Enter(0x900);
    auto pc_of = [same_pc](uptr i) { return same_pc ? uptr{0x1000} : 0x1000 + i; };
    for (uptr i = 0; i < kAccesses; i++) g.Access(kWord + 8 * i, 8, true, false, pc_of(i));
    RestoredAccess out;
    if (!same_pc) {
      EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0xff, true, false, &out)) << "two words an event: recycled";
      continue;
    }
    for (uptr i = 0; i < kAccesses; i++) {
      ASSERT_TRUE(g.history().Restore(kSid, 1, kWord + 8 * i, 0xff, true, false, &out)) << "access " << i;
      EXPECT_EQ(out.addr, kWord + 8 * i);
      EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x900, pc_of(i)}));
    }
  }
  History::SetWindowWords(saved_window);

  // Byte events and general events share the previous pc; a change of pc
  // is recorded, and the next repeat refers to the new one.
  Recorder g;
  g.Enter(0x700);
  g.Byte(kWord, true, 0x710);
  g.Byte(kWord + 8, true, 0x710);                          // same pc, next word: one word
  g.Access(kWord + 16, 8, false, false, 0x710);            // general event, same pc
  g.Access(kWord + 24, 4, false, /*is_atomic=*/true, 0x720);
  g.Byte(kWord + 32, false, 0x720);                        // repeats the atomic's pc
  g.Byte(kWord + 33, false, 0x720);                        // extends that event
  RestoredAccess out;
  const struct {
    uptr word;
    u8 mask;
    bool is_write;
    bool is_atomic;
    uptr pc;
  } expected[] = {{kWord, 0x01, true, false, 0x710},     {kWord + 8, 0x01, true, false, 0x710},
                  {kWord + 16, 0xff, false, false, 0x710}, {kWord + 24, 0x0f, false, true, 0x720},
                  {kWord + 32, 0x01, false, false, 0x720}, {kWord + 32, 0x02, false, false, 0x720}};
  for (const auto& e : expected) {
    ASSERT_TRUE(g.history().Restore(kSid, 1, e.word, e.mask, e.is_write, e.is_atomic, &out)) << std::hex << e.word;
    EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x700, e.pc})) << std::hex << e.word;
  }
}

// An atomic operation's caller frame travels in its event: the stacks come
// back whole (the caller frame, then the access pc), around explicit sizes
// and across chunks, and the plain accesses between operations keep theirs.
TEST(HistoryTest, AnAtomicsCallerFrameTravelsInItsEvent) {
  Recorder g;
  g.Enter(0x100);
  g.Enter(0x200);
  g.Access(kWord, 8, true, false, 0x210);
  constexpr uptr kRounds = 8;  // past the first chunk
  for (uptr i = 0; i < kRounds; i++) {
    g.SetEpoch(2 + i);
    g.Atomic(kWord + 8, 8, /*is_write=*/true, 0x220 + i, 0x9000);
    g.Access(kWord + 16, 3, /*is_write=*/false, false, 0x230);  // size 3: an explicit size word
    g.Atomic(kWord + 24, 4, /*is_write=*/false, 0x240, 0x9100 + i);
  }
  RestoredAccess out;
  for (uptr i = 0; i < kRounds; i++) {
    const Epoch epoch = static_cast<Epoch>(2 + i);
    ASSERT_TRUE(g.history().Restore(kSid, epoch, kWord + 8, 0xff, true, true, &out)) << i;
    EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x100, 0x200, 0x220 + i, 0x9000}));
    ASSERT_TRUE(g.history().Restore(kSid, epoch, kWord + 16, 0x04, false, false, &out)) << i;
    EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x100, 0x200, 0x230}));
    EXPECT_EQ(out.size, 3u);
    ASSERT_TRUE(g.history().Restore(kSid, epoch, kWord + 24, 0x0f, false, true, &out)) << i;
    EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x100, 0x200, 0x240, 0x9100 + i}));
    EXPECT_FALSE(g.history().Restore(kSid, epoch, kWord + 24, 0x0f, true, true, &out)) << "a read, not a write";
  }
  ASSERT_TRUE(g.history().Restore(kSid, 1, kWord, 0xff, true, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x100, 0x200, 0x210}));
}

TEST(HistoryTest, TheWindowKeepsTheNewestEventsAndBoundsMemory) {
  uptr saved_window = History::WindowWordsForTesting();
  History::SetWindowWords(64);  // the minimum: two chunks of the first size
  EXPECT_EQ(History::WindowWordsForTesting(), 64u);
  {
    Recorder g;
    g.Enter(0x900);
    constexpr uptr kAccesses = 2000;
    for (uptr i = 0; i < kAccesses; i++) g.Access(kWord + 8 * i, 8, true, false, 0x1000 + i);
    RestoredAccess out;
    EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0xff, true, false, &out)) << "the oldest is gone";
    uptr last = kAccesses - 1;
    ASSERT_TRUE(g.history().Restore(kSid, 1, kWord + 8 * last, 0xff, true, false, &out));
    EXPECT_EQ(StackOf(out), (std::vector<uptr>{0x900, 0x1000 + last})) << "the snapshot restores the stack";
    EXPECT_LT(g.history().MemoryBytes(), uptr{4096});
  }
  History::SetWindowWords(saved_window);
}

TEST(HistoryTest, TakenEventsAreRestoredFromTheirNewHolder) {
  Recorder g;
  g.Enter(0xa00);
  g.Access(kWord, 8, true, false, 0xa10);
  History successor{};
  successor.TakeEventsOf(&g.history());
  RestoredAccess out;
  EXPECT_FALSE(g.history().Restore(kSid, 1, kWord, 0xff, true, false, &out));
  EXPECT_EQ(g.history().MemoryBytes(), 0u);
  ASSERT_TRUE(successor.Restore(kSid, 1, kWord, 0xff, true, false, &out));
  EXPECT_EQ(StackOf(out), (std::vector<uptr>{0xa00, 0xa10}));
  successor.Clear();
}

TEST(HistoryTest, ConfigureScalesTheWindowWithHistorySizeAndClampsIt) {
  uptr saved_window = History::WindowWordsForTesting();
  History::Configure(0);
  EXPECT_EQ(History::WindowWordsForTesting(), kHistoryWindowUnit / sizeof(u64));
  History::Configure(3);
  EXPECT_EQ(History::WindowWordsForTesting(), (kHistoryWindowUnit / sizeof(u64)) << 3);
  History::Configure(kMaxHistorySize + 5);
  EXPECT_EQ(History::WindowWordsForTesting(), (kHistoryWindowUnit / sizeof(u64)) << kMaxHistorySize);
  History::Configure(-1);
  EXPECT_EQ(History::WindowWordsForTesting(), kHistoryWindowUnit / sizeof(u64));
  History::SetWindowWords(saved_window);
}

}  // namespace
}  // namespace racert
