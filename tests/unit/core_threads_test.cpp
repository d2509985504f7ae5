// Real OS threads driving the core at once, as Go's Ms do: the shadow
// protocol (compare-and-swap of a word, the paired-word lock state, cell sets,
// sync objects) must neither invent races under properly locked access nor
// lose a real one. The other core tests run goroutines one at a time.
#include "tests/unit/core_test_support.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "tsan_core/runtime_options.h"

namespace racert::core_test {
namespace {

class CoreThreadsTest : public CoreTest {};

constexpr int kThreads = 4;

// Every access to the shared words happens under a real mutex, mirrored to
// the core as acquire/release on the mutex's address; readers also read a
// read-only table concurrently. Nothing may be reported.
TEST_F(CoreThreadsTest, LockedSharedWordsAndConcurrentReadersNeverRace) {
  constexpr int kWords = 16;
  constexpr int kRounds = 20000;
  uptr shared = Alloc(8 * kWords, 8);
  uptr table = Alloc(8 * kWords, 8);
  uptr lock_addr = Alloc(8);
  GoroutineState* parent = Go(Root());
  for (int w = 0; w < kWords; w++) Write(parent, table + 8 * w);  // before the threads start
  std::vector<GoroutineState*> goroutines;
  for (int t = 0; t < kThreads; t++) goroutines.push_back(Go(parent));
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      GoroutineState* g = goroutines[t];
      uptr pc_read = NewPc(), pc_write = NewPc(), pc_table = NewPc();
      for (int i = 0; i < kRounds; i++) {
        int w = (i * 7 + t) % kWords;
        AccessByte(g, table + 8 * ((i + t) % kWords) + (i % 8), /*is_write=*/false, pc_table);
        std::lock_guard<std::mutex> hold(mutex);
        Acquire(g, lock_addr);
        AccessByte(g, shared + 8 * w + (i % 8), /*is_write=*/false, pc_read);
        AccessRange(g, shared + 8 * w, 8, /*is_write=*/true, /*is_atomic=*/false, pc_write);
        Release(g, lock_addr);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(TakeRaces(), 0u) << TakeReports();
}

// Unsynchronized writers on one word at the same time: a race must be
// reported, whichever thread wins each compare-and-swap.
TEST_F(CoreThreadsTest, ConcurrentUnsynchronizedWritersAreReported) {
  uptr shared = Alloc(8);
  GoroutineState* parent = Go(Root());
  std::vector<GoroutineState*> goroutines;
  for (int t = 0; t < kThreads; t++) goroutines.push_back(Go(parent));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      while (!go.load()) {
      }
      uptr pc = NewPc();
      for (int i = 0; i < 1000; i++) AccessByte(goroutines[t], shared + (i % 8), /*is_write=*/true, pc);
    });
  }
  go.store(true);
  for (std::thread& thread : threads) thread.join();
  EXPECT_GE(TakeRaces(), 1u);
}

// Many threads reading one word in new epochs (each round releases), the
// pattern of RWMutex readers: it goes through paired words and cell sets
// under contention. Then an unordered writer races with them.
TEST_F(CoreThreadsTest, ContendedReadersThenAnUnorderedWriter) {
  uptr shared = Alloc(8);
  uptr sync = Alloc(8 * kThreads, 8);
  GoroutineState* parent = Go(Root());
  Write(parent, shared);
  std::vector<GoroutineState*> goroutines;
  for (int t = 0; t < kThreads; t++) goroutines.push_back(Go(parent));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      GoroutineState* g = goroutines[t];
      uptr pc = NewPc();
      for (int i = 0; i < 20000; i++) {
        AccessByte(g, shared, /*is_write=*/false, pc);
        Release(g, sync + 8 * t);  // a new epoch for the next read
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(TakeRaces(), 0u) << "reads never race with reads:\n" << TakeReports();
  Write(Go(Root()), shared);
  EXPECT_EQ(TakeRaces(), 1u);
}

}  // namespace
}  // namespace racert::core_test
