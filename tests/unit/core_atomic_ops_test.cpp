// The atomic operation protocol (tsan_core/atomic_ops.h): which operations
// acquire and release, the access each records, the caller's frame around
// it, and ignore-sync, driven through the core without Go's argument frames.
#include <atomic>
#include <thread>
#include <vector>

#include "shadow/shadow_map.h"
#include "tests/unit/core_test_support.h"
#include "tsan_core/atomic_ops.h"

namespace racert::core_test {
namespace {

struct FakeHardware {
  int calls = 0;
  bool succeeds = true;
  static bool Run(void* self) {
    auto* hw = static_cast<FakeHardware*>(self);
    hw->calls++;
    return hw->succeeds;
  }
};

class CoreAtomicOpsTest : public CoreTest {
 protected:
  // One 8-byte atomic operation at a fresh pair of pcs; returns how often the
  // hardware operation ran.
  int Op(GoroutineState* g, uptr addr, AtomicSemantics semantics, bool succeeds = true) {
    FakeHardware hw;
    hw.succeeds = succeeds;
    AtomicOperation(g, AtomicCall{addr, 8, semantics, FakeHardware::Run, &hw}, NewPc(), NewPc());
    return hw.calls;
  }

  // a writes x, then does `semantics` on an atomic; b loads the atomic and
  // writes x. Returns the races reported: 0 if the operation released.
  u64 RacesAcrossHandoff(AtomicSemantics semantics, bool succeeds) {
    uptr x = Alloc(8), atom = Alloc(8);
    GoroutineState* a = Go(Root());
    GoroutineState* b = Go(Root());
    Write(a, x);
    EXPECT_EQ(Op(a, atom, semantics, succeeds), 1);
    EXPECT_GE(Op(b, atom, AtomicSemantics::kLoad), 1);  // a load may run twice (sync_ops.cpp)
    Write(b, x);
    return TakeRaces();
  }
};

TEST_F(CoreAtomicOpsTest, StoreThenLoadOrdersPlainAccesses) {
  EXPECT_EQ(RacesAcrossHandoff(AtomicSemantics::kStore, /*succeeds=*/true), 0u);
}

TEST_F(CoreAtomicOpsTest, FailedCompareExchangeDoesNotRelease) {
  EXPECT_EQ(RacesAcrossHandoff(AtomicSemantics::kCompareExchange, /*succeeds=*/false), 1u);
}

TEST_F(CoreAtomicOpsTest, SuccessfulCompareExchangeReleases) {
  EXPECT_EQ(RacesAcrossHandoff(AtomicSemantics::kCompareExchange, /*succeeds=*/true), 0u);
}

TEST_F(CoreAtomicOpsTest, TheAccessIsRecordedAndRacesWithAPlainOne) {
  uptr atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  uptr caller_pc = NewPc(), pc = NewPc();
  FakeHardware hw;
  FuncEnter(a, NewPc());  // reports leave out the outermost frame (Go's goexit)
  AtomicOperation(a, AtomicCall{atom, 8, AtomicSemantics::kReadModifyWrite, FakeHardware::Run, &hw}, caller_pc, pc);
  FuncExit(a);
  Read(b, atom);
  EXPECT_EQ(TakeRaces(), 1u);
  std::string report = TakeReports();
  EXPECT_NE(report.find(FakeFrameText(pc) + FakeFrameText(caller_pc)), std::string::npos)
      << "the atomic's stack is its pc inside the caller's frame:\n"
      << report;
}

TEST_F(CoreAtomicOpsTest, TheCallersFrameIsPoppedAgain) {
  uptr atom = Alloc(8);
  GoroutineState* a = Go(Root());
  uptr depth = a->call_stack.size();
  Op(a, atom, AtomicSemantics::kStore);
  Op(a, atom, AtomicSemantics::kLoad);
  EXPECT_EQ(a->call_stack.size(), depth);
}

TEST_F(CoreAtomicOpsTest, WhileIgnoringSyncOnlyTheHardwareOperationRuns) {
  uptr x = Alloc(8), atom = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  Write(a, x);
  IgnoreSyncBegin(a);
  EXPECT_EQ(Op(a, atom, AtomicSemantics::kStore), 1);
  IgnoreSyncEnd(a);
  Op(b, atom, AtomicSemantics::kLoad);
  Write(b, x);
  EXPECT_EQ(TakeRaces(), 1u) << "no release while ignoring sync";
  Write(b, atom);
  EXPECT_EQ(TakeRaces(), 0u) << "no access recorded while ignoring sync";
}

TEST_F(CoreAtomicOpsTest, AnUnpairedIgnoreSyncEndIsIgnored) {
  GoroutineState* a = Go(Root());
  IgnoreSyncEnd(a);
  EXPECT_FALSE(IgnoringSync(a));
  IgnoreSyncBegin(a);
  EXPECT_TRUE(IgnoringSync(a));
  IgnoreSyncEnd(a);
  EXPECT_FALSE(IgnoringSync(a));
}

// A word loaded atomically by many goroutines keeps a large cell set of
// atomic cells only; then an atomic access rewrites only its own slot's cells (UpdateCellSetForAtomic in shadow/shadow_word.h).
// Each loader here loads in several epochs (a release on a private address
// in between), so its newer load replaces its older one in place; a plain
// write must still race with exactly the loads it is not ordered after.
class CoreAtomicSetTest : public CoreAtomicOpsTest {
 protected:
  static constexpr int kLoaders = 24;  // more than kMinCellsForAtomicRun
  static constexpr int kRounds = 4;

  struct Loaders {
    uptr atom;
    std::vector<GoroutineState*> goroutines;
    std::vector<uptr> handoffs;  // loader i releases its last load here
  };

  Loaders LoadFromManyGoroutines() {
    Loaders l{Alloc(8), {}, {}};
    for (int i = 0; i < kLoaders; i++) {
      l.goroutines.push_back(Go(Root()));
      l.handoffs.push_back(Alloc(8));
    }
    for (int round = 0; round < kRounds; round++) {
      for (int i = 0; i < kLoaders; i++) {
        Op(l.goroutines[i], l.atom, AtomicSemantics::kLoad);
        Release(l.goroutines[i], l.handoffs[i]);
      }
    }
    EXPECT_TRUE(Cell(ShadowWordFor(l.atom)->load()).is_handle()) << "24 concurrent loaders need a cell set";
    return l;
  }

  // A fresh goroutine that acquires every loader's hand-off but `skipped`
  // (-1: none skipped) and then writes the atomic word plainly.
  void WriteAfterAllBut(const Loaders& l, int skipped) {
    GoroutineState* w = Go(Root());
    for (int i = 0; i < kLoaders; i++) {
      if (i != skipped) Acquire(w, l.handoffs[i]);
    }
    Write(w, l.atom);
  }
};

TEST_F(CoreAtomicSetTest, APlainWriteRacesWithTheOneLoadItIsNotOrderedAfter) {
  for (int skipped : {0, 5, kLoaders - 1}) {
    Loaders l = LoadFromManyGoroutines();
    WriteAfterAllBut(l, skipped);
    EXPECT_EQ(TakeRaces(), 1u) << "loader " << skipped;
    std::string report = TakeReports();
    std::string previous = PreviousAccessHeading("read", l.atom, l.goroutines[skipped]);
    EXPECT_NE(report.find(previous), std::string::npos) << "expected \"" << previous << "\" in\n" << report;
  }
}

TEST_F(CoreAtomicSetTest, APlainWriteOrderedAfterEveryLoadDoesNotRace) {
  Loaders l = LoadFromManyGoroutines();
  WriteAfterAllBut(l, /*skipped=*/-1);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// An atomic access leaves other slots' cells that it orders and subsumes in
// place; such a leftover is a real earlier access, and a goroutine ordered
// after it must not race with it.
TEST_F(CoreAtomicSetTest, CellsAnAtomicWriteLeftInPlaceStayOrdered) {
  Loaders l = LoadFromManyGoroutines();
  GoroutineState* rmw = Go(Root());
  for (int i = 0; i < kLoaders; i++) Acquire(rmw, l.handoffs[i]);
  Op(rmw, l.atom, AtomicSemantics::kReadModifyWrite);  // orders every load before it
  uptr handoff = Alloc(8);
  Release(rmw, handoff);
  GoroutineState* w = Go(Root());
  Acquire(w, handoff);
  Write(w, l.atom);
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// Real hardware operations on a u64, for two threads at once.
struct RealAtomic {
  u64* word;
  u64 value;  // stored, or loaded
  // Lingers after the store, inside the sync object's lock, so that a
  // concurrent load sees the new value before the store's release is
  // recorded more often than the real instruction would let it.
  static bool Store(void* self) {
    auto* op = static_cast<RealAtomic*>(self);
    __atomic_store_n(op->word, op->value, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2000; i++) __asm__ volatile("pause");
    return true;
  }
  static bool Load(void* self) {
    auto* op = static_cast<RealAtomic*>(self);
    op->value = __atomic_load_n(op->word, __ATOMIC_SEQ_CST);
    return true;
  }
};

// A writer and a reader take turns over `rounds` rounds: the writer writes
// the round's data word and stores `round` into flag_of(round); the reader
// spins on lock-free loads of that flag until it sees the value, then reads
// the data. With `free_flags` the reader frees the flag after each round (as
// Go's GC would) and zeroes it for its next turn. Returns the races reported:
// any is false.
class CoreLockFreeLoadTest : public CoreAtomicOpsTest {
 protected:
  template <typename FlagOf>
  u64 RacesOverStoreLoadRounds(u64 rounds, FlagOf flag_of, bool free_flags);
};

template <typename FlagOf>
u64 CoreLockFreeLoadTest::RacesOverStoreLoadRounds(u64 rounds, FlagOf flag_of, bool free_flags) {
  std::vector<uptr> data;
  for (u64 i = 0; i < rounds; i++) data.push_back(Alloc(8));
  GoroutineState* writer = Go(Root());
  GoroutineState* reader = Go(Root());
  // Outside the detector: the writer starts a round only once the reader
  // finished the previous one, so the reader is spinning when the store
  // comes, holding the previous store's release.
  std::atomic<u64> reader_done{0};
  std::thread writing([&] {
    for (u64 round = 1; round <= rounds; round++) {
      while (reader_done.load() < round - 1) std::this_thread::yield();
      Write(writer, data[round - 1]);
      RealAtomic store{flag_of(round), round};
      uptr flag_addr = reinterpret_cast<uptr>(flag_of(round));
      AtomicOperation(writer, AtomicCall{flag_addr, 8, AtomicSemantics::kStore, RealAtomic::Store, &store}, 1, 2);
    }
  });
  std::thread reading([&] {
    for (u64 round = 1; round <= rounds; round++) {
      RealAtomic load{flag_of(round), 0};
      uptr flag_addr = reinterpret_cast<uptr>(flag_of(round));
      do {
        AtomicOperation(reader, AtomicCall{flag_addr, 8, AtomicSemantics::kLoad, RealAtomic::Load, &load}, 3, 4);
      } while (load.value < round);
      Read(reader, data[round - 1]);
      if (free_flags) {
        OnFree(flag_addr, 8);
        *flag_of(round) = 0;
      }
      reader_done.store(round);
    }
  });
  writing.join();
  reading.join();
  return TakeRaces();
}

// A load whose acquire would change nothing takes no lock (sync_ops.cpp): it
// must never pair a value with the stamp of an earlier store. Here each
// round's store publishes a fresh write to one flag; the reader, which knows
// every earlier store, waits for this round's value: a value paired with the
// previous round's stamp would skip the acquire and report a false race.
TEST_F(CoreLockFreeLoadTest, LockFreeLoadNeverPairsANewValueWithAnOldRelease) {
  u64* flag = reinterpret_cast<u64*>(AllocReal(8));
  EXPECT_EQ(RacesOverStoreLoadRounds(3000, [flag](u64) { return flag; }, /*free_flags=*/false), 0u)
      << TakeReports();
}

// The same where every store is the first release at its address (the flag
// is freed after each round and 16 pages take turns): the lock-free load
// looks while the store creates the sync object. A load that sees the
// store's value must still acquire its release.
TEST_F(CoreLockFreeLoadTest, LockFreeLoadOfAFreshPageNeverMissesTheFirstRelease) {
  constexpr uptr kPage = 4096;
  constexpr u64 kPages = 16;
  std::vector<u64*> flags;
  for (u64 i = 0; i < kPages; i++) flags.push_back(reinterpret_cast<u64*>(AllocReal(8, kPage)));
  auto flag_of = [&flags](u64 round) { return flags[(round - 1) % kPages]; };
  EXPECT_EQ(RacesOverStoreLoadRounds(3000, flag_of, /*free_flags=*/true), 0u) << TakeReports();
}

}  // namespace
}  // namespace racert::core_test
