#include "tsan_core/byte_accumulator.h"

#include "base/process_fence.h"

namespace racert {
namespace {

constinit AccumulatorEntry entries[kSlotCount] = {};
// Set once at start; claims read it under a slot mutex.
constinit std::atomic<bool> enabled{false};
constinit std::atomic<bool> skip_pending_checks{false};

// Adds `pending` to the finding if it races with `a`.
void AddIfRacing(Cell pending, const AccessState& a, RaceFinding* finding) {
  if (pending.any_mask() == 0 || finding->count == kMaxRacingAccesses) return;
  if (a.bits.is_atomic && !a.report_atomic_races) return;  // pending bytes are plain
  if (!pending.ConflictsWith(a.bits) || OrderedBefore(pending, a)) return;
  u8 conflict = (a.bits.is_write ? pending.any_mask() : pending.write_mask()) & a.bits.mask;
  finding->racing[finding->count++] = RacingAccess{pending, conflict, (pending.write_mask() & a.bits.mask) != 0};
}

}  // namespace

AccumulatorEntry& AccumulatorEntryOf(Sid sid) { return entries[sid]; }

bool EnableByteAccumulation() {
  bool on = ProcessFenceAvailable() || RegisterProcessFence();
  enabled.store(on, std::memory_order_release);
  return on;
}

void SkipPendingChecksForTesting(bool skip) { skip_pending_checks.store(skip, std::memory_order_relaxed); }

void ClaimAccumulator(GoroutineState* g) {
  if (g->acc || !enabled.load(std::memory_order_acquire)) return;
  AccumulatorEntry& entry = entries[g->sid];
  if (entry.claimer.load(std::memory_order_relaxed) != nullptr) return;  // still the slot's previous owner's
  GoroutineState* expected = nullptr;
  if (!entry.claimer.compare_exchange_strong(expected, g, std::memory_order_acq_rel)) return;
  RACERT_DCHECK(entry.state.load(std::memory_order_relaxed) == 0);
  g->acc = &entry;
  g->acc_word = 0;
  PublishAccumulatorKey(g);
}

void ReleaseAccumulator(GoroutineState* g) {
  AccumulatorEntry* entry = g->acc;
  if (!entry) return;
  RACERT_DCHECK(g->acc_word == 0);  // flushed first
  entry->key.store(0, std::memory_order_relaxed);
  entry->state.store(0, std::memory_order_relaxed);
  entry->claimer.store(nullptr, std::memory_order_release);
  g->acc = nullptr;
}

void CheckPendingOfOthers(uptr word_addr, const PendingCandidates& candidates, const AccessState& a,
                          RaceFinding* finding) {
  FenceEveryThread();
  if (RACERT_UNLIKELY(skip_pending_checks.load(std::memory_order_relaxed))) return;
  if (!candidates.overflow) {
    for (u32 i = 0; i < candidates.count; i++) {
      Cell seen(candidates.cells[i]);
      AccumulatorEntry& entry = entries[seen.sid()];
      u64 state = entry.state.load(std::memory_order_acquire);
      // A newer key: the holder moved on, publishing (and checking) first.
      if (AccumulatorStateWord(state) != word_addr || entry.key.load(std::memory_order_acquire) != seen.key()) {
        continue;
      }
      AddIfRacing(PendingPart(seen, state), a, finding);
    }
    return;
  }
  // Too many candidates to list: every entry accumulating in this word, with
  // all its bytes (those the access already found may be found twice; the
  // report deduplicates them).
  for (u32 sid = 0; sid < kSlotCount; sid++) {
    AccumulatorEntry& entry = entries[sid];
    u64 state = entry.state.load(std::memory_order_acquire);
    if (AccumulatorStateWord(state) != word_addr) continue;
    Cell holder(entry.key.load(std::memory_order_acquire));
    if (holder.raw() == 0 || holder.generation() != a.generation) continue;
    if (holder.sid() == a.sid && holder.epoch() == Cell(a.key).epoch()) continue;
    AddIfRacing(PendingPart(holder, state), a, finding);
  }
}

}  // namespace racert
