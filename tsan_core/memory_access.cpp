#include "tsan_core/memory_access.h"

#include "base/check.h"
#include "shadow/cell_set.h"
#include "tsan_core/race_report.h"
#include "tsan_core/slot_pool.h"

namespace racert {

AccessOptions g_access_options = {/*report_atomic_races=*/true};

namespace {

// Everything ApplyAccess needs to know about the access and its goroutine.
struct AccessState {
  u64 key;              // the goroutine's cell key for this kind of access
  Sid sid;
  Generation generation;
  const Epoch* clock;
  AccessBits bits;
  // Ownership of `sid` (see GoroutineState). When `owns_key_slot` is false the
  // key names a slot the goroutine has left; the clock then says everything.
  bool owns_key_slot;
  Epoch own_first;      // first epoch of this goroutine on sid
  Epoch own_last;       // the key's epoch
  Epoch inherited;      // what it knew of sid's earlier owners
};

// Whether the access recorded in `c` happens before the current access.
bool OrderedBefore(Cell c, const AccessState& a) {
  if (c.sid() != a.sid || !a.owns_key_slot) return a.clock[c.sid()] >= c.epoch();
  Epoch e = c.epoch();
  if (e >= a.own_first) return e <= a.own_last;  // own, or a later owner's if we are stale
  return e <= a.inherited;                        // an earlier owner's
}

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
    g->history.AddAccess(g->call_stack, &g->stable_depth, addr, size, is_write, is_atomic, pc);
    recorded = true;
  }
};

struct RaceFinding {
  bool found;
  Cell cell;
  u8 conflict_mask;
  bool previous_is_write;
};

u8 ConflictingBytes(Cell c, AccessBits bits) {
  return (bits.is_write ? c.any_mask() : c.write_mask()) & bits.mask;
}

// A word read by thousands of concurrent goroutines keeps a read cell for
// each, and slots are shared over time by many goroutines, so nothing else
// bounds it. Past this many cells, read cells of one slot with the same bytes
// are folded into the newest (FoldSameSlotReads).
constexpr u32 kCompactionThreshold = 64;

// Folds read-only cells that have the same slot, atomicity, generation and
// read mask into the one with the highest epoch. For any goroutine on another
// slot this loses nothing: if its clock is below the older epoch it is below
// the newer one too, and the newer cell conflicts on the same bytes. What is
// lost is the slot's current owner racing with an earlier owner's read (the
// slot-reuse limit documented in slot_pool.h). Keeps at most one read cell
// per (slot, atomicity, mask), so a word stays far below the set capacity.
// Returns the new index of cells[mine].
u32 FoldSameSlotReads(u64* cells, u32* count, u32 mine) {
  u32 n = *count;
  for (u32 i = 0; i < n; i++) {
    Cell ci(cells[i]);
    if (ci.empty() || ci.write_mask() != 0) continue;
    for (u32 j = i + 1; j < n; j++) {
      Cell cj(cells[j]);
      if (cj.empty() || cj.write_mask() != 0 || cj.sid() != ci.sid() || cj.is_atomic() != ci.is_atomic() ||
          cj.generation() != ci.generation() || cj.read_mask() != ci.read_mask()) {
        continue;
      }
      // Keep the newer cell at i, drop j.
      if (cj.epoch() > ci.epoch()) {
        cells[i] = cj.raw();
        ci = cj;
        if (mine == j) mine = i;
      } else if (mine == j) {
        mine = i;
      }
      cells[j] = 0;
    }
  }
  u32 out = 0;
  u32 new_mine = 0;
  for (u32 i = 0; i < n; i++) {
    if (cells[i] == 0) continue;
    if (i == mine) new_mine = out;
    cells[out++] = cells[i];
  }
  *count = out;
  return new_mine;
}

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

// Rewrites cells[0..*count) to account for one more access, and reports in
// `finding` the first recorded access that races with it. Needs room for
// *count + 1 cells. Returns the index of the cell that now records the access.
//
// Rules (per byte, FastTrack-style):
//  - cells from another generation are dead (a reset happened);
//  - a cell not ordered before the access that conflicts with it is a race;
//    it is dropped once reported, so the same earlier access reports once;
//  - a cell ordered before the access loses the bytes the access subsumes: a
//    write subsumes earlier reads and writes of its bytes, a read earlier
//    reads; an atomic access never subsumes a plain one (a later atomic
//    access would not conflict with it, the plain one would);
//  - the access itself is merged into the cell with the same key, if any.
u32 ApplyAccess(u64* cells, u32* count, const AccessState& a, RaceFinding* finding) {
  const u8 m = a.bits.mask;
  u32 out = 0;
  u32 mine = 0;
  bool merged = false;
  for (u32 i = 0; i < *count; i++) {
    Cell c(cells[i]);
    if (c.generation() != a.generation) continue;
    bool ordered = OrderedBefore(c, a);
    if (!ordered) {
      bool reportable = g_access_options.report_atomic_races || (!a.bits.is_atomic && !c.is_atomic());
      if (!finding->found && reportable && c.ConflictsWith(a.bits)) {
        finding->found = true;
        finding->cell = c;
        finding->conflict_mask = ConflictingBytes(c, a.bits);
        finding->previous_is_write = (c.write_mask() & m) != 0;
        continue;
      }
      cells[out++] = c.raw();
      continue;
    }
    u8 writes = c.write_mask();
    u8 reads = c.read_mask();
    if (!(a.bits.is_atomic && !c.is_atomic())) {
      reads &= ~m;
      if (a.bits.is_write) writes &= ~m;
    }
    if (c.key() == a.key) {
      if (a.bits.is_write) writes |= m; else if ((writes & m) != m) reads |= m;
      merged = true;
      mine = out;
    }
    if ((writes | reads) == 0) continue;
    cells[out++] = c.WithMasks(writes, reads).raw();
  }
  if (!merged) {
    mine = out;
    cells[out++] = Cell(a.key).WithMasks(a.bits.is_write ? m : 0, a.bits.is_write ? 0 : m).raw();
  }
  *count = out;
  if (RACERT_UNLIKELY(out > kCompactionThreshold)) mine = FoldSameSlotReads(cells, count, mine);
  return mine;
}

AccessState MakeAccessState(GoroutineState* g, u64 key, AccessBits bits) {
  Cell k(key);
  bool owns = g->sid == k.sid();
  return AccessState{key, k.sid(), k.generation(), g->clock_data, bits,
                     owns, g->slot_first_epoch, k.epoch(), g->slot_inherited_epoch};
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
    u64 desired = set->cells[mine];
    if (count == 2) {
      secondary->store(set->cells[1 - mine], std::memory_order_relaxed);
      desired = Cell(desired).WithPaired(true).raw();
    }
    word->store(desired, std::memory_order_release);
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
  for (;;) {
    u64 observed = word->load(std::memory_order_acquire);
    Cell current(observed);
    if (current.Covers(a.key, a.bits)) return;
    if (current.is_locked()) {
      __builtin_ia32_pause();
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
      u64 desired;
      if (count == 1) {
        desired = cells[0];
      } else if (count == 2) {
        secondary->store(cells[1 - mine], std::memory_order_relaxed);
        desired = Cell(cells[mine]).WithPaired(true).raw();
      } else {
        desired = SpillToCellSet(cells, count);
      }
      word->store(desired, std::memory_order_release);
    }
    *finding = attempt;
    return;
  }
}

void ReportFinding(GoroutineState* g, uptr word_addr, const RaceFinding& finding, uptr addr, uptr size,
                   AccessBits bits, uptr pc) {
  DetectedRace race;
  race.word_addr = word_addr;
  race.conflict_mask = finding.conflict_mask;
  race.addr = addr;
  race.size = size;
  race.is_write = bits.is_write;
  race.is_atomic = bits.is_atomic;
  race.pc = pc;
  race.previous = finding.cell;
  race.previous_is_write = finding.previous_is_write;
  ReportRace(g, race);
}

u8 MaskForWord(uptr word_addr, uptr begin, uptr end) {
  uptr lo = begin > word_addr ? begin - word_addr : 0;
  uptr hi = end < word_addr + 8 ? end - word_addr : 8;
  return static_cast<u8>(((1u << hi) - 1) & ~((1u << lo) - 1));
}

}  // namespace

void AccessWordSlow(GoroutineState* g, uptr addr, uptr size, AccessBits bits, uptr pc) {
  PendingHistory history{g, addr, size, bits.is_write, bits.is_atomic, pc, false};
  AccessState a = MakeAccessState(g, g->plain_key, bits);
  RaceFinding finding{};
  ApplyToWord(ShadowWordFor(addr), SecondaryWordFor(addr), a, &finding, &history);
  if (RACERT_UNLIKELY(finding.found)) ReportFinding(g, addr & ~uptr{7}, finding, addr, size, bits, pc);
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
    if (Cell(word->load(std::memory_order_relaxed)).Covers(key, bits)) continue;
    AccessState a = MakeAccessState(g, key, bits);
    RaceFinding finding{};
    ApplyToWord(word, SecondaryWordFor(word_addr), a, &finding, history);
    // One report per access: Go reports a racing range once.
    if (RACERT_UNLIKELY(finding.found) && !reported) {
      reported = true;
      ReportFinding(g, word_addr, finding, addr, size, bits, pc);
    }
  }
}

}  // namespace

void AccessRange(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc) {
  PendingHistory history{g, addr, size, is_write, is_atomic, pc, false};
  AccessRangeWithKey(g, addr, size, is_write, is_atomic, pc, is_atomic ? g->atomic_key : g->plain_key, &history);
}

void RecordAccessHistory(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc) {
  g->history.AddAccess(g->call_stack, &g->stable_depth, addr, size, is_write, is_atomic, pc);
}

void AtomicAccess(GoroutineState* g, uptr addr, uptr size, bool is_write, uptr pc, u64 key_at_access) {
  PendingHistory history{g, addr, size, is_write, true, pc, /*recorded=*/true};
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
