#include "tsan_core/memory_access.h"

#include "base/check.h"
#include "base/syscalls.h"
#include "shadow/cell_set.h"
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

// A set at the largest capacity is full: fold same-slot reads, and if that
// frees nothing, drop the oldest read cell. This is the one place racert
// forgets an access to make room; it needs more than kCellSetMaxCapacity
// distinct cells on one word (thousands of goroutines reading different byte
// patterns of it), far beyond anything the folding leaves in practice.
void MakeRoomInFullSet(CellSet* set) {
  u32 count = set->count;
  FoldSameSlotReads(set->cells, &count, 0);
  if (count == set->count) {
    u32 oldest = count;
    for (u32 i = 0; i < count; i++) {
      Cell c(set->cells[i]);
      if (c.write_mask() == 0 && (oldest == count || c.epoch() < Cell(set->cells[oldest]).epoch())) oldest = i;
    }
    if (oldest == count) oldest = 0;  // only writes: drop the first one
    set->cells[oldest] = set->cells[count - 1];
    count--;
  }
  set->count = static_cast<u16>(count);
}

AccessState MakeAccessState(GoroutineState* g, u64 key, AccessBits bits) {
  Cell k(key);
  bool owns = g->sid == k.sid();
  return AccessState{key,  k.sid(), k.generation(),        g->clock_data,          bits,
                     owns, g->slot_first_epoch, k.epoch(), g->slot_inherited_epoch, g_access_options.report_atomic_races};
}

// The primary word's value for a word left with one or two cells (the
// accessor's at `mine`). For two, the other cell goes to the secondary word
// first; the caller then publishes the returned value with a release store,
// which is what makes the secondary visible to whoever locks the word next.
u64 PrepareInlineCells(const u64* cells, u32 count, u32 mine, std::atomic<u64>* secondary) {
  if (count == 1) return cells[0];
  secondary->store(cells[1 - mine], std::memory_order_relaxed);
  return Cell(cells[mine]).WithPaired(true).raw();
}

// Applies the access to a word that holds a CellSet handle. Returns false if
// the word changed under us (retry from the top).
bool ApplyToCellSet(std::atomic<u64>* word, std::atomic<u64>* secondary, u64 observed, const AccessState& a,
                    RaceFinding* finding) {
  u32 handle = Cell(observed).handle();
  CellSet* set = CellSetFromHandle(handle);
  set->mutex.Lock();
  if (word->load(std::memory_order_acquire) != observed) {
    set->mutex.Unlock();
    return false;
  }
  if (RACERT_UNLIKELY(set->count + 1u > set->capacity() && set->capacity() == kCellSetMaxCapacity)) {
    MakeRoomInFullSet(set);
  }
  if (set->count + 1u > set->capacity()) {
    // Grow: move the cells to a bigger set and repoint the word while still
    // holding the old set's lock, so nobody can update the old copy.
    u32 bigger_handle = CellSetAllocate(set->capacity() * 2);
    CellSet* bigger = CellSetFromHandle(bigger_handle);
    bigger->mutex.Lock();
    for (u32 i = 0; i < set->count; i++) bigger->cells[i] = set->cells[i];
    bigger->count = set->count;
    word->store(Cell::MakeHandle(bigger_handle).raw(), std::memory_order_release);
    CellSetFree(handle);
    set->mutex.Unlock();
    set = bigger;
    handle = bigger_handle;
  }
  u32 count = set->count;
  u32 mine = ApplyAccess(set->cells, &count, a, finding);
  set->count = static_cast<u16>(count);
  if (count <= 2) {
    // Back to one or two cells: store them inline and recycle the set. The
    // secondary is written before the paired primary is published.
    word->store(PrepareInlineCells(set->cells, count, mine, secondary), std::memory_order_release);
    CellSetFree(handle);
  }
  set->mutex.Unlock();
  return true;
}

// Moves a word that needs three or more cells to a new CellSet and returns
// the primary word's new value.
u64 SpillToCellSet(const u64* cells, u32 count) {
  u32 handle = CellSetAllocate(count);
  CellSet* set = CellSetFromHandle(handle);
  for (u32 i = 0; i < count; i++) set->cells[i] = cells[i];
  set->count = static_cast<u16>(count);
  return Cell::MakeHandle(handle).raw();
}

// Whether the access is already recorded in the secondary word or the cell
// set, checked without locking. Sound because a goroutine's cell for its
// current epoch can only be removed by its own later accesses: nobody else can
// be ordered after an epoch that has not ended. A stale read can only make us
// miss the shortcut, or, after the word was freed and reused, skip recording
// an access to memory that was reallocated under it.
bool AlreadyRecordedElsewhere(std::atomic<u64>* word, std::atomic<u64>* secondary, Cell current, const AccessState& a) {
  if (current.is_paired()) {
    return Cell(secondary->load(std::memory_order_relaxed)).Covers(a.key, a.bits);
  }
  if (!current.is_handle()) return false;
  const CellSet* set = CellSetFromHandle(current.handle());
  u32 count = __atomic_load_n(&set->count, __ATOMIC_RELAXED);
  u32 capacity = set->capacity();
  if (count > capacity) count = capacity;
  for (u32 i = 0; i < count; i++) {
    if (Cell(__atomic_load_n(&set->cells[i], __ATOMIC_RELAXED)).Covers(a.key, a.bits)) {
      // Only trust the answer if the word still refers to this set.
      return word->load(std::memory_order_acquire) == current.raw();
    }
  }
  return false;
}

// Applies the access to a word's primary (and secondary) shadow.
//  - empty or one cell: compute the result and compare-and-swap it in; if
//    the result has two cells, lock the word (CAS to kLockedWord) first and
//    write the secondary before publishing the paired primary;
//  - two cells (paired): lock, apply, publish;
//  - three or more: the CellSet path, under the set's mutex.
// The accessor's own cell always goes to the primary word, where the hot
// path looks.
void ApplyToWord(std::atomic<u64>* word, std::atomic<u64>* secondary, const AccessState& a, RaceFinding* finding,
                 PendingHistory* history) {
  u32 locked_spins = 0;
  for (;;) {
    u64 observed = word->load(std::memory_order_acquire);
    Cell current(observed);
    if (current.Covers(a.key, a.bits)) return;
    if (current.is_locked()) {
      // Held for a few dozen instructions; yield if the holder's thread seems
      // to have been preempted rather than spin through its time slice.
      if (++locked_spins % 128 == 0) SysSchedYield(); else __builtin_ia32_pause();
      continue;
    }
    if (AlreadyRecordedElsewhere(word, secondary, current, a)) return;
    history->RecordOnce();
    if (current.is_handle()) {
      if (ApplyToCellSet(word, secondary, observed, a, finding)) return;
      continue;
    }
    u64 cells[3] = {current.WithPaired(false).raw(), 0, 0};
    u32 count = observed ? 1 : 0;
    bool was_paired = current.is_paired();
    if (was_paired) {
      // Take the word before reading the secondary: it is only stable while
      // the primary is locked.
      if (!word->compare_exchange_weak(observed, Cell::kLockedWord, std::memory_order_acquire)) continue;
      cells[count++] = secondary->load(std::memory_order_relaxed);
    }
    RaceFinding attempt = *finding;
    u32 mine = ApplyAccess(cells, &count, a, &attempt);
    if (count <= 1 && !was_paired) {
      if (!word->compare_exchange_strong(observed, cells[0], std::memory_order_acq_rel, std::memory_order_acquire)) {
        continue;
      }
    } else {
      if (!was_paired && !word->compare_exchange_strong(observed, Cell::kLockedWord, std::memory_order_acquire)) {
        continue;
      }
      // The word is ours until the primary is stored below.
      u64 desired = count <= 2 ? PrepareInlineCells(cells, count, mine, secondary) : SpillToCellSet(cells, count);
      word->store(desired, std::memory_order_release);
    }
    *finding = attempt;
    return;
  }
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

void AccessWordSlow(GoroutineState* g, uptr addr, uptr size, AccessBits bits, uptr pc, bool history_recorded) {
  PendingHistory history{g, addr, size, bits.is_write, bits.is_atomic, pc, history_recorded};
  AccessState a = MakeAccessState(g, g->plain_key, bits);
  RaceFinding finding{};
  ApplyToWord(ShadowWordFor(addr), SecondaryWordFor(addr), a, &finding, &history);
  if (RACERT_UNLIKELY(finding.found())) ReportFinding(g, addr & ~uptr{7}, finding, addr, size, bits, pc);
}

namespace {

void AccessRangeWithKey(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc, u64 key,
                        PendingHistory* history) {
  if (size == 0) return;
  uptr end = addr + size;
  bool reported = false;
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
    AccessState a = MakeAccessState(g, key, bits);
    RaceFinding finding{};
    ApplyToWord(word, SecondaryWordFor(word_addr), a, &finding, history);
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

void ResetShadowRange(uptr addr, uptr size) {
  if (size == 0) return;
  uptr end = addr + size;
  for (uptr word_addr = addr & ~uptr{7}; word_addr < end; word_addr += 8) {
    std::atomic<u64>* word = ShadowWordFor(word_addr);
    // Read first: most fresh memory has no shadow yet, and writing zeros
    // would commit shadow pages for nothing. A plain store suffices: nothing
    // can reference memory that is being (re)allocated, so nobody else is
    // updating its shadow.
    u64 old = word->load(std::memory_order_relaxed);
    if (old == 0) continue;
    word->store(0, std::memory_order_relaxed);
    Cell cell(old);
    if (cell.is_handle()) {
      CellSet* set = CellSetFromHandle(cell.handle());
      set->mutex.Lock();
      CellSetFree(cell.handle());
      set->mutex.Unlock();
    }
  }
}

}  // namespace racert
