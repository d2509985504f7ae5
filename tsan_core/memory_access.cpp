#include "tsan_core/memory_access.h"

#include "base/check.h"
#include "shadow/shadow_word.h"
#include "tsan_core/access_rules.h"
#include "tsan_core/byte_accumulator.h"
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
  bool innermost_in_event = false;  // RecordAccessHistory's

  void RecordOnce() {
    if (recorded) return;
    RecordAccessHistory(g, addr, size, is_write, is_atomic, pc, innermost_in_event);
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

// The race-free outcome computed for one word of a range access, kept for
// the range's next words: those very often hold exactly the same cells (a
// page written or read whole by one earlier access), and the same cells give
// the same outcome, which TryRepeatInlineUpdate (shadow/shadow_word.h) then
// publishes without the rules. Remembered only when the rules accepted the
// cells (none covered the access, none races with it) and every cell is dead
// or ordered before the access: no cell can then have pending bytes (a
// question whose answer reads another goroutine's accumulator and may change
// from word to word). Lives for one range access: its AccessState, the
// goroutine's clock included, does not change meanwhile.
class RangeOutcomeMemo {
 public:
  void Remember(const u64* cells, u32 count, u8 mask, const u64* out, InlineRewrite rewrite) {
    RACERT_DCHECK(count >= 1 && count <= kMaxInlineCells && rewrite.count >= 1 && rewrite.count <= kMaxInlineCells + 1);
    mask_ = mask;
    count_ = count;
    for (u32 i = 0; i < count; i++) cells_[i] = cells[i];
    for (u32 i = 0; i < rewrite.count; i++) out_[i] = out[i];
    rewrite_ = rewrite;
  }
  void Forget() { count_ = 0; }

  // Whether the word whose primary held `observed` starts with the same
  // cell, accessed in the same bytes: the remembered outcome is then likely
  // to be its own (TryRepeat).
  RACERT_ALWAYS_INLINE bool MayApply(u64 observed, u8 mask) const {
    return count_ != 0 && mask == mask_ && Cell(observed).WithPaired(false).raw() == cells_[0];
  }
  // Publishes the remembered outcome in that word if it holds exactly the
  // remembered cells. False, with the word unchanged, otherwise.
  RACERT_ALWAYS_INLINE bool TryRepeat(const ShadowWords& words, u64 observed) const {
    return TryRepeatInlineUpdate(words, observed, cells_, count_, out_, rewrite_.count, rewrite_.mine);
  }

 private:
  u8 mask_ = 0;
  u32 count_ = 0;  // 0: nothing remembered
  u64 cells_[kMaxInlineCells];
  InlineRewrite rewrite_{0, 0};
  u64 out_[kMaxInlineCells + 1];
};

// The access's rules and history as the shadow word protocol's race-free
// tier (TryUpdateInlineWord in shadow/shadow_word.h) takes them: the rules'
// outcome when no recorded cell races with the access. Cells of other
// goroutines that may have bytes pending in the word are collected in
// `candidates` from the cells the outcome is computed from. `memo`, for the
// words of a range access (null otherwise), is given each outcome the
// range's next words may repeat (RangeOutcomeMemo).
struct RecordWithoutRace {
  const AccessState& a;
  PendingHistory* history;
  PendingCandidates* candidates;  // other goroutines' cells that may have bytes pending
  RangeOutcomeMemo* memo;

  u64 key() const { return a.key; }
  u32* set_position() const { return &history->g->cell_set_position; }
  AccessBits bits() const { return a.bits; }
  void BeforeChange() { history->RecordOnce(); }
  InlineRewrite RewriteWithoutRace(const u64* cells, u32 count, u64* out) {
    u32 out_count;
    u32 mine;
    candidates->Clear();
    bool all_ordered = true;  // every cell dead or ordered before the access
    auto accept_concurrent = [&](Cell c) {
      all_ordered = false;
      candidates->AddIfConcurrentMayHavePendingBytes(c, a);
      return true;
    };
    if (!ApplyAccessWithoutRace(cells, count, a, out, &out_count, &mine, accept_concurrent)) return {0, 0};
    if (memo) {
      if (count != 0 && all_ordered) {
        memo->Remember(cells, count, a.bits.mask, out, {out_count, mine});
      } else {
        memo->Forget();
      }
    }
    return {out_count, mine};
  }
};

// The race rules and the access's history, as the shadow word protocol's
// general entry point (UpdateShadowWord) takes them.
// The finding is that of the rewrite that was published: each rewrite starts
// it afresh, and a word left unchanged (already recorded after a retry)
// clears it.
struct CheckAndRecord : RecordWithoutRace {
  RaceFinding* finding;
  bool committed;

  u32 Rewrite(u64* cells, u32* count) {
    finding->count = 0;
    candidates->Collect(cells, *count, a);
    return ApplyAccess(cells, count, a, finding);
  }
  void Commit() { committed = true; }
  void MakeRoom(u64* cells, u32* count) { MakeRoomInFullWord(cells, count); }
};

// The rules for a plain read that finds, in an explicit cell set, its
// goroutine's read of the same bytes from an earlier epoch
// (TryReplaceOwnCellInSet in shadow/shadow_word.h): that cell is replaced by
// the read's, as the race rules would (a read subsumes an earlier read of
// its bytes that is ordered before it), provided no cell can race with the
// read or hide pending bytes from it: only reads and writes ordered before
// it (of the current generation: the general path drops dead writes). A
// cell with the read's own key (the goroutine read other bytes in this
// epoch) is the general path's, which merges into it.
struct ReplaceOwnEarlierRead {
  const AccessState& a;
  PendingHistory* history;

  u64 key() const { return a.key; }
  AccessBits bits() const { return a.bits; }
  u32* set_position() const { return &history->g->cell_set_position; }
  void BeforeChange() { history->RecordOnce(); }
  SetCellVerdict Classify(Cell c) const {
    RACERT_DCHECK(!a.bits.is_write && !a.bits.is_atomic);
    if (c.key() == a.key) return SetCellVerdict::kRefuse;
    const bool live = c.generation() == a.generation;
    if (live && c.sid() == a.sid && a.owns_key_slot && !c.is_atomic() && c.write_mask() == 0 &&
        c.read_mask() == a.bits.mask && c.epoch() >= a.own_first && c.epoch() < a.own_last) {
      return SetCellVerdict::kReplace;  // the goroutine's own earlier read of these bytes
    }
    // Reads, live or dead, never race with a read, nor can they hide pending
    // bytes from it (byte_accumulator.h, rule 4); writes must be live and
    // ordered before it (a dead one is the general path's to drop).
    if (c.write_mask() == 0 || (live && OrderedBefore(c, a))) return SetCellVerdict::kKeep;
    return SetCellVerdict::kRefuse;
  }
  u64 ReplacementCell() const { return MergeIntoOwnCell(Cell(a.key), a.bits); }
};

// Checks and records one word's access; `finding` (empty on entry) gets the
// racing accesses found.
// Then, if the word held cells of goroutines that may be accumulating bytes
// there, checks those bytes too (tsan_core/byte_accumulator.h, rule 2).
void ApplyToWord(uptr word_addr, const AccessState& a, RaceFinding* finding, PendingHistory* history) {
  RACERT_DCHECK(finding->count == 0 && (word_addr & 7) == 0);
  PendingCandidates candidates;
  CheckAndRecord rules{{a, history, &candidates, /*memo=*/nullptr}, finding, false};
  UpdateShadowWord(WordsAt(word_addr), rules);
  if (!rules.committed) {
    finding->count = 0;
    return;
  }
  if (RACERT_UNLIKELY(candidates.any())) CheckPendingOfOthers(word_addr, candidates, a, finding);
}

// The tier between "alone in the word" and the general path: a word of inline
// cells none of which races with the access (all ordered before it, or not
// conflicting): the shape of a page copied again after a lock was taken, of a
// word read once more in a new epoch. Returns false, with the word unchanged,
// whenever the general path must do it. `observed` is a value of the primary
// word. Cells of other goroutines that may have bytes pending in the word are
// left in `candidates`, for the caller to check once the word is published.
RACERT_ALWAYS_INLINE bool UpdateWordWithoutRace(uptr word_addr, u64 observed, const AccessState& a,
                                                PendingHistory* history, PendingCandidates* candidates,
                                                RangeOutcomeMemo* memo) {
  RecordWithoutRace rules{a, history, candidates, memo};
  return TryUpdateInlineWord(WordsAt(word_addr), observed, rules);
}

// One word's access, race-free tier first (inline), else the general path;
// then the pending bytes of other goroutines' accumulators, if the word may
// hold any. `finding` (empty on entry) gets the racing accesses found.
// `memo`: see RecordWithoutRace.
RACERT_ALWAYS_INLINE void CheckAndRecordWord(uptr word_addr, u64 observed, const AccessState& a,
                                             RaceFinding* finding, PendingHistory* history, RangeOutcomeMemo* memo) {
  PendingCandidates candidates;
  if (!UpdateWordWithoutRace(word_addr, observed, a, history, &candidates, memo)) {
    ApplyToWord(word_addr, a, finding, history);
  } else if (RACERT_UNLIKELY(candidates.any())) {
    CheckPendingOfOthers(word_addr, candidates, a, finding);
  }
}

// Reports the access's races. The first racing access is reported; if that
// pair duplicates an earlier report, the next racing access is tried, so a
// distinct pair hidden behind a duplicate is still reported. With
// suppress_equal_stacks=0 there are no duplicates and every racing access
// found is reported. A suppressed pair ends it, as it does for the official
// runtime. Returns whether anything was printed.
// `restored_key`: 0 for an access happening now (its stack is the
// goroutine's current one); else the key the goroutine recorded it under,
// for accumulated bytes checked later (their stack comes from its history).
bool ReportFinding(GoroutineState* g, uptr word_addr, const RaceFinding& finding, uptr addr, uptr size,
                   AccessBits bits, uptr pc, u64 restored_key = 0) {
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
    race.current_restored_key = restored_key;
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

// The rules for publishing a goroutine's accumulated bytes of one kind: the
// race check and merge of ApplyAccess, but only while the goroutine's own
// cell is still in the word. If it is gone, the memory was freed and reused
// (or a racing access reported and dropped it): the bytes belonged to it,
// and the word is left as it is (byte_accumulator.h, rule 3).
struct PublishAccumulated {
  const AccessState& a;
  RaceFinding* finding;
  bool committed;
  u32* position;  // the goroutine's cell_set_position

  u64 key() const { return a.key; }
  AccessBits bits() const { return a.bits; }
  u32* set_position() const { return position; }
  void BeforeChange() {}  // every byte's event was recorded when announced
  u32 Rewrite(u64* cells, u32* count) {
    finding->count = 0;
    for (u32 i = 0; i < *count; i++) {
      if (Cell(cells[i]).key() == a.key) return ApplyAccess(cells, count, a, finding);
    }
    return 0;  // the cells as they are (rewritten unchanged)
  }
  void Commit() { committed = true; }
  void MakeRoom(u64* cells, u32* count) { MakeRoomInFullWord(cells, count); }
};

void PublishAccumulatedBytes(GoroutineState* g, uptr word_addr, AccessBits bits) {
  if (bits.mask == 0) return;
  AccessState a = MakeAccessState(g, g->plain_key, bits);
  RaceFinding finding;
  PublishAccumulated rules{a, &finding, false, &g->cell_set_position};
  UpdateShadowWord(WordsAt(word_addr), rules);
  if (!rules.committed || !finding.found()) return;
  // Reported as the access it was, with its stack from the history.
  uptr first = word_addr + static_cast<uptr>(__builtin_ctz(finding.racing[0].conflict_mask));
  ReportFinding(g, word_addr, finding, first, 1, bits, /*pc=*/0, /*restored_key=*/g->plain_key);
}

}  // namespace

void ResolveAccumulated(GoroutineState* g) {
  uptr word_addr = g->acc_word;
  Cell pending = PendingPart(Cell(g->acc_published), g->acc_value);
  g->acc_word = 0;
  PublishAccumulatedBytes(g, word_addr, AccessBits{pending.write_mask(), true, false});
  PublishAccumulatedBytes(g, word_addr, AccessBits{pending.read_mask(), false, false});
  // Cleared only now: a goroutine that changed the word meanwhile may still
  // be reading what was pending (then both check it; reports deduplicate).
  g->acc->state.store(0, std::memory_order_relaxed);
}

namespace {

// Whether every cell of the word but the goroutine's own, its primary value
// `primary`, is ordered before the access `a`: then nothing recorded there
// can race with the goroutine's further bytes of this epoch, and nobody else
// has bytes pending there that could (byte_accumulator.h, rule 6). An answer
// from extra cells newer than `primary` is harmless: they came with a change
// of the primary, so the goroutine's next byte finds the word changed and
// accumulates nothing there.
bool OtherCellsOrderedBefore(uptr word_addr, u64 primary, const AccessState& a) {
  u64 cells[kMaxInlineCells];
  u32 count;
  if (!ReadInlineCellsAt(WordsAt(word_addr), primary, cells, &count)) return false;
  for (u32 i = 1; i < count; i++) {
    if (!OrderedBefore(Cell(cells[i]), a)) return false;
  }
  return true;
}

// Tier 5 of AccessByte (memory_access.h), the slow path of a 1-byte plain
// access whose shadow word did not already record it. `history_recorded`: the
// access's history event was already added. g does not accumulate in this
// word: AccessByteInAccumulatedWord published its bytes there first.
void AccessByteSlow(GoroutineState* g, uptr addr, bool is_write, uptr pc, bool history_recorded) {
  constexpr uptr size = 1;
  const uptr word_addr = addr & ~uptr{7};
  RACERT_DCHECK(g->acc_word != word_addr);
  AccessBits bits{static_cast<u8>(1u << (addr & 7)), is_write, false};
  PendingHistory history{g, addr, size, bits.is_write, bits.is_atomic, pc, history_recorded};
  AccessState a = MakeAccessState(g, g->plain_key, bits);
  RaceFinding finding;
  std::atomic<u64>* word = ShadowWordFor(addr);
  CheckAndRecordWord(word_addr, word->load(std::memory_order_relaxed), a, &finding, &history, /*memo=*/nullptr);
  if (RACERT_UNLIKELY(finding.found())) {
    ReportFinding(g, word_addr, finding, addr, size, bits, pc);
    return;
  }
  // The shape this path sees most is the first byte of a word that holds
  // other cells besides the new one: a buffer the goroutine filled before
  // its last synchronization and fills again, bytes another goroutine wrote
  // before handing them over. If the word's primary is now the goroutine's
  // own cell, its next bytes there accumulate (byte_accumulator.h) instead
  // of each taking the word's lock.
  if (g->acc) {
    const u64 now = word->load(std::memory_order_acquire);
    if (Cell(now).key() == g->plain_key && OtherCellsOrderedBefore(word_addr, now, a)) {
      StartAccumulating(g, word_addr, now);
    }
  }
}

// The rules of AccessByte's race-free tier for words of inline cells
// (AccessByteInlineCells): RecordWithoutRace's outcome, except that a word
// where another goroutine may have bytes pending is refused (the general
// path checks those bytes), so nothing is left to do once the word is
// published. Also learns whether every other cell is ordered before the
// access, and which primary value the publish stores, so that the bytes that
// follow can accumulate (byte_accumulator.h, rule 6) without the word being
// read again.
struct ByteRecordWithoutRace {
  const AccessState& a;
  GoroutineState* g;
  uptr addr;
  uptr pc;
  bool* history_recorded;
  u64 published = 0;           // the primary value the publish stores
  bool others_ordered = false;  // every cell but the accessor's is ordered before it

  u64 key() const { return a.key; }
  AccessBits bits() const { return a.bits; }
  void BeforeChange() {
    if (*history_recorded) return;
    RecordAccessHistory(g, addr, 1, a.bits.is_write, /*is_atomic=*/false, pc, /*innermost_in_event=*/false);
    *history_recorded = true;
  }
  InlineRewrite RewriteWithoutRace(const u64* cells, u32 count, u64* out) {
    u32 out_count;
    u32 mine;
    others_ordered = true;  // the accessor's own cells always are
    auto accept_concurrent = [&](Cell c) {
      others_ordered = false;
      return !ConcurrentCellMayHavePendingBytes(c, a);
    };
    if (!ApplyAccessWithoutRace(cells, count, a, out, &out_count, &mine, accept_concurrent)) return {0, 0};
    published = Cell(out[mine]).WithPaired(out_count > 1).raw();
    return {out_count, mine};
  }
};

// Tier 4b of AccessByte: a word of inline cells none of which races with the
// access, and where nobody else may have bytes pending: the shape of fields
// handed from goroutine to goroutine (a pipeline's items, a request's state),
// where each access finds the previous owner's cells, ordered before it.
// The race-free tier of the general path, without the state the general path
// builds for races and other goroutines' pending bytes. Returns false, with
// the word unchanged, if the general path must do it; *history_recorded then
// says whether the access's history event was added.
RACERT_NOINLINE bool AccessByteInlineCells(GoroutineState* g, uptr addr, bool is_write, uptr pc, u64 observed,
                                           bool* history_recorded) {
  const uptr word_addr = addr & ~uptr{7};
  const AccessState a = MakeAccessState(g, g->plain_key, AccessBits{static_cast<u8>(1u << (addr & 7)), is_write, false});
  ByteRecordWithoutRace rules{a, g, addr, pc, history_recorded};
  if (!TryUpdateInlineWord(WordsAt(word_addr), observed, rules)) return false;
  if (g->acc && rules.others_ordered &&
      ShadowWordFor(word_addr)->load(std::memory_order_acquire) == rules.published) {
    StartAccumulating(g, word_addr, rules.published);
  }
  return true;
}

// Tier 4c of AccessByte: a read whose goroutine's read of the same byte from
// an earlier epoch is in an explicit cell set, which nothing in the set races
// with (ReplaceOwnEarlierRead): that cell is replaced in place. Returns false,
// with the word unchanged, if the general path must do it.
RACERT_NOINLINE bool ReadByteReplacingEarlierRead(GoroutineState* g, uptr addr, uptr pc, u64 observed) {
  const AccessBits bits{static_cast<u8>(1u << (addr & 7)), false, false};
  const AccessState a = MakeAccessState(g, g->plain_key, bits);
  PendingHistory history{g, addr, 1, false, false, pc, false};
  ReplaceOwnEarlierRead rules{a, &history};
  return TryReplaceOwnCellInSet(WordsAt(addr & ~uptr{7}), observed, rules);
}

// Tiers 3 to 5 of AccessByte (memory_access.h).
RACERT_ALWAYS_INLINE void AccessByteNotAccumulated(GoroutineState* g, uptr addr, bool is_write, uptr pc,
                                                   u64 observed) {
  const AccessBits bits{static_cast<u8>(1u << (addr & 7)), is_write, false};
  std::atomic<u64>* word = ShadowWordFor(addr);
  bool history_recorded = false;
  if (RACERT_UNLIKELY(Cell(observed).is_locked())) {
    observed = LoadUnlocked(word, observed);
    if (Cell(observed).Covers(g->plain_key, bits)) return;
  }
  if (Cell(observed).is_handle()) {
    if (CellSetWordRecords(word, observed, g->plain_key, bits, &g->cell_set_position)) return;
    if (!is_write && ReadByteReplacingEarlierRead(g, addr, pc, observed)) return;
  } else if (u64 desired = AloneInWordUpdate(observed, g->plain_key, bits, OwnedEpochsFrom(g, g->plain_key))) {
    // The event goes in before the cell is published, so that a goroutine
    // racing with this access can already restore its stack.
    history_recorded = g->history.TryAddByteAccessOnSameStack(g->call_stack.size(), g->stable_depth, addr, is_write, pc);
    if (RACERT_LIKELY(history_recorded) &&
        RACERT_LIKELY(word->compare_exchange_strong(observed, desired, std::memory_order_acq_rel,
                                                    std::memory_order_relaxed))) {
      if (g->acc) StartAccumulating(g, addr & ~uptr{7}, desired);
      return;
    }
  } else if (!Cell(observed).is_locked() && AccessByteInlineCells(g, addr, is_write, pc, observed, &history_recorded)) {
    return;
  }
  AccessByteSlow(g, addr, is_write, pc, history_recorded);
}

}  // namespace

void AccessByteInAccumulatedWord(GoroutineState* g, uptr addr, bool is_write, uptr pc) {
  RACERT_DCHECK(g->acc_word == (addr & ~uptr{7}));
  ResolveAccumulated(g);
  AccessByteNotAccumulated(g, addr, is_write, pc, ShadowWordFor(addr)->load(std::memory_order_relaxed));
}

void ReadByteNotAccumulated(GoroutineState* g, uptr addr, uptr pc, u64 observed) {
  AccessByteNotAccumulated(g, addr, false, pc, observed);
}

void WriteByteNotAccumulated(GoroutineState* g, uptr addr, uptr pc, u64 observed) {
  AccessByteNotAccumulated(g, addr, true, pc, observed);
}

namespace {

// [addr, addr + size) from the word at from_word (one of its words) on.
void AccessRangeWithKey(GoroutineState* g, uptr addr, uptr size, uptr from_word, bool is_write, bool is_atomic,
                        uptr pc, u64 key, PendingHistory* history) {
  if (size == 0) return;
  uptr end = addr + size;
  RACERT_DCHECK((from_word & 7) == 0 && from_word >= (addr & ~uptr{7}) && from_word < end);
  bool reported = false;
  // The access as the rules see it, built once: only the byte mask changes
  // from word to word.
  AccessState a = MakeAccessState(g, key, AccessBits{0, is_write, is_atomic});
  RangeOutcomeMemo memo;
  for (uptr word_addr = from_word; word_addr < end; word_addr += 8) {
    AccessBits bits{MaskForWord(word_addr, addr, end), is_write, is_atomic};
    std::atomic<u64>* word = ShadowWordFor(word_addr);
    u64 observed = word->load(std::memory_order_relaxed);
    if (RACERT_UNLIKELY(Cell(observed).is_locked())) observed = LoadUnlocked(word, observed);
    // The same cells as a word before it (a page written whole by one
    // earlier access): that word's outcome.
    if (memo.MayApply(observed, bits.mask)) {
      history->RecordOnce();
      if (memo.TryRepeat(WordsAt(word_addr), observed)) continue;
    }
    if (WordValueRecords(word, observed, key, bits, &g->cell_set_position)) continue;
    // Older cells of g's own go to the rules below, which the memo then
    // repeats over the words after this one: cheaper than taking them here
    // word by word (a buffer copied again after each lock: 23% more
    // instructions in this function that way).
    if (u64 desired = AloneInWordUpdate(observed, key, bits, kNoOwnedEpochs)) {
      history->RecordOnce();
      if (word->compare_exchange_strong(observed, desired, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        continue;
      }
    }
    a.bits = bits;
    if (!is_write && !is_atomic && Cell(observed).is_handle()) {
      ReplaceOwnEarlierRead rules{a, history};
      if (TryReplaceOwnCellInSet(WordsAt(word_addr), observed, rules)) continue;
    }
    // One report per access: Go reports a racing range once. Words after the
    // reported one keep their racing cells for later accesses to report.
    RaceFinding finding;
    finding.keep_racing = reported;
    // The last word's outcome has no word after it to repeat in (the only
    // word of every atomic access).
    RangeOutcomeMemo* const for_next = word_addr + 8 < end ? &memo : nullptr;
    CheckAndRecordWord(word_addr, observed, a, &finding, history, for_next);
    if (RACERT_UNLIKELY(finding.found()) && !reported) {
      reported = ReportFinding(g, word_addr, finding, addr, size, bits, pc);
    }
  }
}

}  // namespace

void AccessRange(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc) {
  if (size == 0) return;
  // First the words that already record the access (a struct copied again
  // in the same epoch, a table entry read by many goroutines): loads only,
  // none of the state the general path builds. The word g accumulates in
  // goes to the general path, which publishes its pending bytes first:
  // those checks look only at published cells.
  const uptr end = addr + size;
  const u64 key = is_atomic ? g->atomic_key : g->plain_key;
  uptr word_addr = addr & ~uptr{7};
  for (; word_addr < end && word_addr != g->acc_word; word_addr += 8) {
    const AccessBits bits{MaskForWord(word_addr, addr, end), is_write, is_atomic};
    const std::atomic<u64>* word = ShadowWordFor(word_addr);
    const u64 observed = word->load(std::memory_order_relaxed);
    if (!WordValueRecords(word, observed, key, bits, &g->cell_set_position)) break;
  }
  if (word_addr >= end) return;
  FlushAccumulated(g);
  PendingHistory history{g, addr, size, is_write, is_atomic, pc, false};
  AccessRangeWithKey(g, addr, size, word_addr, is_write, is_atomic, pc, key, &history);
}

void RecordAccessHistory(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc,
                         bool innermost_in_event) {
  if (size == 1 && !is_atomic && !innermost_in_event &&
      g->history.TryAddByteAccessOnSameStack(g->call_stack.size(), g->stable_depth, addr, is_write, pc)) {
    return;
  }
  g->history.AddAccess(g->call_stack, &g->stable_depth, addr, size, is_write, is_atomic, pc, innermost_in_event);
}

void AtomicAccess(GoroutineState* g, uptr addr, uptr size, bool is_write, uptr pc, u64 key_at_access,
                  bool history_recorded) {
  FlushAccumulated(g);
  PendingHistory history{g, addr, size, is_write, true, pc, history_recorded, /*innermost_in_event=*/true};
  AccessRangeWithKey(g, addr, size, addr & ~uptr{7}, is_write, true, pc, key_at_access, &history);
}

void ResetShadowRange(uptr addr, uptr size) { ClearShadowWords(addr, size); }

}  // namespace racert
