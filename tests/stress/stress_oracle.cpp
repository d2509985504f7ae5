#include "tests/stress/stress_oracle.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>

namespace racert::stress {

bool Truth::HappensBefore(const WordAccess& a, const WordAccess& b) const {
  if (a.goroutine == b.goroutine) return a.op_index < b.op_index;
  return clocks[b.clock][a.goroutine] >= clocks[a.clock][a.goroutine];
}

bool Truth::Race(const WordAccess& a, const WordAccess& b) const {
  if (a.goroutine == b.goroutine || !(a.mask & b.mask)) return false;
  if (!a.is_write && !b.is_write) return false;
  if (a.is_atomic && b.is_atomic) return false;
  return !HappensBefore(a, b) && !HappensBefore(b, a);
}

namespace {

using Clock = std::vector<uint32_t>;

void Join(Clock* into, const Clock& from) {
  for (size_t i = 0; i < into->size(); i++) (*into)[i] = std::max((*into)[i], from[i]);
}

// Replays the synchronizing events in sequence order, each goroutine's plain
// accesses in between, keeping every goroutine's clock and every sync
// object's clock.
class Replay {
 public:
  Replay(const Program& program, const ExecutionLog& log)
      : program_(program), log_(log), n_(static_cast<uint32_t>(program.goroutines.size())),
        clock_(n_, Clock(n_, 0)), started_(n_, false), cursor_(n_, 0), snapshot_(n_, kNone) {
    truth_.words.resize(program.data_words);
    clock_[0][0] = 1;  // the root: started by the driver, knows nothing of the program
    started_[0] = true;
  }

  Truth Run() {
    std::vector<std::tuple<uint64_t, uint32_t, size_t>> order;  // (seq, goroutine, event)
    for (uint32_t g = 0; g < n_; g++) {
      const std::vector<Event>& events = log_.goroutines[g].events;
      for (size_t i = 0; i < events.size(); i++) {
        if (events[i].seq) order.emplace_back(events[i].seq, g, i);
      }
    }
    std::sort(order.begin(), order.end());
    for (const auto& [seq, g, i] : order) {
      StampPlainAccessesUpTo(g, i);
      Apply(g, log_.goroutines[g].events[i]);
      cursor_[g] = i + 1;
    }
    for (uint32_t g = 0; g < n_; g++) StampPlainAccessesUpTo(g, log_.goroutines[g].events.size());
    truth_.sync_events = order.size();
    CountRacyPairs();
    return std::move(truth_);
  }

 private:
  static constexpr uint32_t kNone = ~0u;

  void Changed(uint32_t g) { snapshot_[g] = kNone; }

  uint32_t Snapshot(uint32_t g) {
    if (snapshot_[g] == kNone) {
      snapshot_[g] = static_cast<uint32_t>(truth_.clocks.size());
      truth_.clocks.push_back(clock_[g]);
    }
    return snapshot_[g];
  }

  void StampPlainAccessesUpTo(uint32_t g, size_t end) {
    const std::vector<Event>& events = log_.goroutines[g].events;
    for (size_t i = cursor_[g]; i < end; i++) {
      if (!started_[g]) Fail("an access of a goroutine before its start", g);
      if (!events[i].seq) Stamp(g, events[i]);
    }
    cursor_[g] = std::max(cursor_[g], end);
  }

  // Records the access of data op `event` in every word it touches.
  void Stamp(uint32_t g, const Event& event) {
    const Op& op = program_.goroutines[g].ops[event.op_index];
    bool atomic = IsAtomic(op.kind);
    bool write = op.kind == OpKind::kWrite || (atomic && op.kind != OpKind::kAtomicLoad);
    bool multi_word = op.offset / 8 != (op.offset + op.size - 1) / 8;
    for (uint32_t byte = op.offset; byte < op.offset + op.size;) {
      uint32_t word = byte / 8, end = std::min(op.offset + op.size, word * 8 + 8);
      uint8_t mask = static_cast<uint8_t>(((1u << (end - word * 8)) - 1) & ~((1u << (byte - word * 8)) - 1));
      truth_.words[word].push_back(WordAccess{g, event.op_index, word, mask, multi_word, write, atomic, Snapshot(g)});
      byte = end;
    }
  }

  Clock& Sync(uint64_t addr) {
    auto it = sync_.find(addr);
    if (it == sync_.end()) it = sync_.emplace(addr, Clock(n_, 0)).first;
    return it->second;
  }

  void Acquire(uint32_t g, uint64_t addr) {
    auto it = sync_.find(addr);
    if (it != sync_.end()) Join(&clock_[g], it->second);
    Changed(g);
  }
  void NewEpoch(uint32_t g) {
    clock_[g][g]++;
    Changed(g);
  }
  void Release(uint32_t g, uint64_t addr) {
    Sync(addr) = clock_[g];
    NewEpoch(g);
  }
  void ReleaseMerge(uint32_t g, uint64_t addr) {
    Join(&Sync(addr), clock_[g]);
    NewEpoch(g);
  }
  void ReleaseAcquire(uint32_t g, uint64_t addr) {
    Clock before = clock_[g];
    Clock& sync = Sync(addr);
    Join(&clock_[g], sync);
    sync = before;
    NewEpoch(g);
  }

  void ApplyAtomic(uint32_t g, const Event& event) {
    OpKind kind = program_.goroutines[g].ops[event.op_index].kind;
    bool rmw = kind == OpKind::kAtomicAdd || (kind == OpKind::kAtomicCas && event.succeeded);
    if (kind != OpKind::kAtomicStore) Acquire(g, event.sync_addr);
    Stamp(g, event);
    if (kind == OpKind::kAtomicStore) Release(g, event.sync_addr);
    if (rmw) ReleaseMerge(g, event.sync_addr);
  }

  void Apply(uint32_t g, const Event& event) {
    if (!started_[g]) Fail("a sync event of a goroutine before its start", g);
    if (event.is_end) return ReleaseMerge(g, event.sync_addr);
    if (event.ignored) return;
    switch (event.kind) {
      case OpKind::kLock:
      case OpKind::kAcquire:
      case OpKind::kJoin: return Acquire(g, event.sync_addr);
      case OpKind::kUnlock:
      case OpKind::kRelease: return Release(g, event.sync_addr);
      case OpKind::kReleaseMerge: return ReleaseMerge(g, event.sync_addr);
      case OpKind::kReleaseAcquire: return ReleaseAcquire(g, event.sync_addr);
      case OpKind::kSpawn: {
        uint32_t child = program_.goroutines[g].ops[event.op_index].object;
        clock_[child] = clock_[g];
        clock_[child][child] = 1;
        started_[child] = true;
        return NewEpoch(g);
      }
      default: return ApplyAtomic(g, event);
    }
  }

  void CountRacyPairs() {
    truth_.racy_pairs_per_word.assign(truth_.words.size(), 0);
    for (size_t w = 0; w < truth_.words.size(); w++) {
      const std::vector<WordAccess>& accesses = truth_.words[w];
      for (size_t i = 0; i < accesses.size(); i++) {
        for (size_t j = i + 1; j < accesses.size(); j++) {
          if (truth_.Race(accesses[i], accesses[j])) truth_.racy_pairs_per_word[w]++;
        }
      }
      truth_.racy_pairs += truth_.racy_pairs_per_word[w];
    }
  }

  [[noreturn]] void Fail(const char* what, uint32_t g) {
    fprintf(stderr, "stress: inconsistent execution log (program 0x%016llx, g%u): %s\n",
            static_cast<unsigned long long>(program_.seed), g, what);
    abort();
  }

  const Program& program_;
  const ExecutionLog& log_;
  uint32_t n_;
  std::vector<Clock> clock_;
  std::vector<bool> started_;
  std::vector<size_t> cursor_;
  std::vector<uint32_t> snapshot_;
  std::map<uint64_t, Clock> sync_;
  Truth truth_;
};

}  // namespace

Truth ComputeTruth(const Program& program, const ExecutionLog& log) {
  return Replay(program, log).Run();
}

}  // namespace racert::stress
