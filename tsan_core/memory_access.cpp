#include "tsan_core/memory_access.h"

#include "base/check.h"
#include "shadow/shadow_word.h"
#include "tsan_core/access_rules.h"
#include "tsan_core/race_report.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/slot_pool.h"

namespace racert {

AccessOptions g_access_options = {/*report_atomic_races=*/true};

namespace {

// The history event of an access, recorded once, just before the access is
// published in the shadow (so that a goroutine racing with it can already
// restore its stack), and not at all if the shadow already had it.
struct PendingHistory {
  GoroutineState* g;
  uptr addr;
  uptr size;
  bool is_write;
  bool is_atomic;
  uptr pc;
  bool recorded;

  void RecordOnce() {
    if (recorded) return;
    RecordAccessHistory(g, addr, size, is_write, is_atomic, pc);
    recorded = true;
  }
};

// The shadow words of the word at word_addr.
RACERT_ALWAYS_INLINE ShadowWords WordsAt(uptr word_addr) {
  return ShadowWords{ShadowWordFor(word_addr), SecondaryWordFor(word_addr), TertiaryWordFor(word_addr)};
}

AccessState MakeAccessState(GoroutineState* g, u64 key, AccessBits bits) {
  Cell k(key);
  bool owns = g->has_slot && g->sid == k.sid();
  return AccessState{key,  k.sid(), k.generation(),        g->clock_data,          bits,
                     owns, g->slot_first_epoch, k.epoch(), g->slot_inherited_epoch, g_access_options.report_atomic_races};
}

// The race rules and the access's history, as the shadow word protocol
// (shadow/shadow_word.h) takes them.
// The finding is that of the rewrite that was published: each rewrite starts
// it afresh, and a word left unchanged (already recorded after a retry)
// clears it.
struct CheckAndRecord {
  const AccessState& a;
  PendingHistory* history;
  RaceFinding* finding;
  bool committed;

  u64 key() const { return a.key; }
  AccessBits bits() const { return a.bits; }
  void BeforeChange() { history->RecordOnce(); }
  u32 Rewrite(u64* cells, u32* count) {
    finding->count = 0;
    return ApplyAccess(cells, count, a, finding);
  }
  void Commit() { committed = true; }
  void MakeRoom(u64* cells, u32* count) { MakeRoomInFullWord(cells, count); }
};

// Checks and records one word's access; `finding` (empty on entry) gets the
// racing accesses found.
void ApplyToWord(uptr word_addr, const AccessState& a, RaceFinding* finding, PendingHistory* history) {
  RACERT_DCHECK(finding->count == 0);
  CheckAndRecord rules{a, history, finding, false};
  UpdateShadowWord(WordsAt(word_addr), rules);
  if (!rules.committed) finding->count = 0;
}

// The tier between "alone in the word" and the general path: a word of inline
// cells none of which races with the access (all ordered before it, or not
// conflicting): the shape of a page copied again after a lock was taken, of a
// word read once more in a new epoch. The rules' outcome is computed from the
// observed value (and the extra words, read without the lock first), and
// published with one compare-and-swap for a single cell, or under the lock
// state after checking that the extra words still hold what was read.
// Returns false, with the word unchanged, whenever the general path must do
// it: a cell set or the locked state, a cell that conflicts without being
// ordered before the access, more cells than the inline words hold, or a word
// that changed meanwhile. `observed` is a value of the primary word.
RACERT_ALWAYS_INLINE bool UpdateWordWithoutRace(uptr word_addr, u64 observed, const AccessState& a,
                                                PendingHistory* history) {
  Cell current(observed);
  if (current.is_handle() || current.is_locked()) return false;
  ShadowWords words = WordsAt(word_addr);
  u64 cells[kMaxInlineCells] = {current.WithPaired(false).raw()};
  u32 count = observed ? 1 : 0;
  if (current.is_paired()) {
    // Extra words at least as new as the primary value they go with.
    if (words.primary->load(std::memory_order_acquire) != observed) return false;
    count = shadow_word::ReadInlineExtras(words, cells);
    // Already recorded in an extra word: nothing to change (as in
    // AlreadyRecordedElsewhere, a positive answer stays true).
    for (u32 i = 1; i < count; i++) {
      if (Cell(cells[i]).Covers(a.key, a.bits)) return true;
    }
  }
  u64 out[kMaxInlineCells + 1];
  u32 out_count;
  u32 mine = 0;
  if (!ApplyAccessWithoutRace(cells, count, a, out, &out_count, &mine)) return false;
  if (out_count > words.inline_capacity()) return false;
  history->RecordOnce();
  if (!current.is_paired() && out_count == 1) {
    return words.primary->compare_exchange_strong(observed, out[0], std::memory_order_acq_rel,
                                                  std::memory_order_relaxed);
  }
  if (!words.primary->compare_exchange_strong(observed, Cell::kLockedWord, std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
    return false;
  }
  if (current.is_paired()) {
    // The extra words change only under the lock: if they still hold what
    // was read, the outcome computed from them stands.
    u64 now[kMaxInlineCells];
    bool same = shadow_word::ReadInlineExtras(words, now) == count;
    for (u32 i = 1; same && i < count; i++) same = now[i] == cells[i];
    if (!same) {
      words.primary->store(observed, std::memory_order_release);
      return false;
    }
  }
  words.primary->store(shadow_word::PrepareInlineCells(out, out_count, mine, words), std::memory_order_release);
  return true;
}

// Reports the access's races. The first racing access is reported; if that
// pair duplicates an earlier report, the next racing access is tried, so a
// distinct pair hidden behind a duplicate is still reported. With
// suppress_equal_stacks=0 there are no duplicates and every racing access
// found is reported. A suppressed pair ends it, as it does for the official
// runtime. Returns whether anything was printed.
bool ReportFinding(GoroutineState* g, uptr word_addr, const RaceFinding& finding, uptr addr, uptr size,
                   AccessBits bits, uptr pc) {
  bool printed = false;
  for (u32 i = 0; i < finding.count; i++) {
    const RacingAccess& racing = finding.racing[i];
    DetectedRace race;
    race.word_addr = word_addr;
    race.conflict_mask = racing.conflict_mask;
    race.addr = addr;
    race.size = size;
    race.is_write = bits.is_write;
    race.is_atomic = bits.is_atomic;
    race.pc = pc;
    race.previous = racing.cell;
    race.previous_is_write = racing.previous_is_write;
    ReportOutcome outcome = ReportRace(g, race);
    if (outcome == ReportOutcome::kSuppressed) break;
    if (outcome == ReportOutcome::kPrinted) {
      printed = true;
      if (g_options.suppress_equal_stacks) break;
    }
  }
  return printed;
}

u8 MaskForWord(uptr word_addr, uptr begin, uptr end) {
  uptr lo = begin > word_addr ? begin - word_addr : 0;
  uptr hi = end < word_addr + 8 ? end - word_addr : 8;
  return static_cast<u8>(((1u << hi) - 1) & ~((1u << lo) - 1));
}

}  // namespace

void AccessByteSlow(GoroutineState* g, uptr addr, bool is_write, uptr pc, bool history_recorded) {
  constexpr uptr size = 1;
  AccessBits bits{static_cast<u8>(1u << (addr & 7)), is_write, false};
  PendingHistory history{g, addr, size, bits.is_write, bits.is_atomic, pc, history_recorded};
  AccessState a = MakeAccessState(g, g->plain_key, bits);
  std::atomic<u64>* word = ShadowWordFor(addr);
  if (UpdateWordWithoutRace(addr & ~uptr{7}, word->load(std::memory_order_relaxed), a, &history)) return;
  RaceFinding finding;
  ApplyToWord(addr, a, &finding, &history);
  if (RACERT_UNLIKELY(finding.found())) ReportFinding(g, addr & ~uptr{7}, finding, addr, size, bits, pc);
}

namespace {

void AccessRangeWithKey(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc, u64 key,
                        PendingHistory* history) {
  if (size == 0) return;
  uptr end = addr + size;
  bool reported = false;
  // The access as the rules see it, built once: only the byte mask changes
  // from word to word.
  AccessState a = MakeAccessState(g, key, AccessBits{0, is_write, is_atomic});
  for (uptr word_addr = addr & ~uptr{7}; word_addr < end; word_addr += 8) {
    AccessBits bits{MaskForWord(word_addr, addr, end), is_write, is_atomic};
    std::atomic<u64>* word = ShadowWordFor(word_addr);
    u64 observed = word->load(std::memory_order_relaxed);
    if (Cell(observed).Covers(key, bits)) continue;
    if (u64 desired = AloneInWordUpdate(observed, key, bits)) {
      history->RecordOnce();
      if (word->compare_exchange_strong(observed, desired, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        continue;
      }
    }
    a.bits = bits;
    if (UpdateWordWithoutRace(word_addr, observed, a, history)) continue;
    RaceFinding finding;
    ApplyToWord(word_addr, a, &finding, history);
    // One report per access: Go reports a racing range once.
    if (RACERT_UNLIKELY(finding.found()) && !reported) {
      reported = ReportFinding(g, word_addr, finding, addr, size, bits, pc);
    }
  }
}

}  // namespace

void AccessRange(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc) {
  PendingHistory history{g, addr, size, is_write, is_atomic, pc, false};
  AccessRangeWithKey(g, addr, size, is_write, is_atomic, pc, is_atomic ? g->atomic_key : g->plain_key, &history);
}

void RecordAccessHistory(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc) {
  if (size == 1 && !is_atomic &&
      g->history.TryAddByteAccessOnSameStack(g->call_stack.size(), g->stable_depth, addr, is_write, pc)) {
    return;
  }
  g->history.AddAccess(g->call_stack, &g->stable_depth, addr, size, is_write, is_atomic, pc);
}

void AtomicAccess(GoroutineState* g, uptr addr, uptr size, bool is_write, uptr pc, u64 key_at_access,
                  bool history_recorded) {
  PendingHistory history{g, addr, size, is_write, true, pc, history_recorded};
  AccessRangeWithKey(g, addr, size, is_write, true, pc, key_at_access, &history);
}

void ResetShadowRange(uptr addr, uptr size) { ClearShadowWords(addr, size); }

}  // namespace racert
