// The shadow word protocol: how the cells recorded for one 8-byte
// application word are stored and changed concurrently. The race rules
// themselves are not here: the caller supplies them (see `WordRules` below).
//
// States of the primary word (shadow/shadow_cell.h has the encoding):
//   0                   nothing recorded
//   a cell              one cell
//   a cell, paired      two or three cells: the second is in the secondary
//                       word; if that one has its kMoreBit, a third is in the
//                       tertiary word (which only low-range words have)
//   a CellSet handle    more than the inline words hold (shadow/cell_set.h)
//   kLockedWord         one thread is rewriting a paired word
// The accessor's own cell always goes to the primary word, where the
// inline hot path looks.
//
// Concurrency contract:
//   - empty or one cell -> one cell: compare-and-swap of the primary;
//   - anything that writes the secondary or tertiary word (a word going to
//     two or three cells, a paired word changing): the primary is locked
//     (compare-and-swap to kLockedWord), those words written, then the
//     primary published with a release store. Whoever reads them holds the
//     primary locked, or read a paired primary with acquire (then the words
//     it reads are the ones published with it, or later ones);
//   - a CellSet is changed only with the primary locked (compare-and-swap
//     from its handle to kLockedWord), and so is the handle replaced (growing,
//     or shrinking back to inline cells): whoever locked the word owns the
//     set it referred to until the primary is stored again;
//   - lock-free readers only ever trust a positive "already recorded" answer
//     (AlreadyRecordedElsewhere), which cannot be invalidated: a goroutine's
//     cell for its current epoch is removed only by its own later accesses;
//   - the race-free entry point (TryUpdateInlineWord) computes its outcome
//     from inline cells read without the lock, and publishes it only with a
//     compare-and-swap from the primary value it read (one cell, unpaired
//     before), or with the primary locked and the extra words found as read;
//     the fourth (TryRepeatInlineUpdate) publishes the same way an outcome
//     computed for identical cells of another word.
// Nothing here allocates except CellSetAllocate, and nothing blocks except
// the short lock state (spins, then yields).
#pragma once

#include <atomic>

#include "base/atomic_ref.h"
#include "base/check.h"
#include "base/types.h"
#include "shadow/cell_set.h"
#include "shadow/shadow_cell.h"
#include "shadow/shadow_map.h"

namespace racert {

// What UpdateShadowWord needs from its caller (a concept, kept informal):
//
//   u64 key() const;             the accessor's cell key
//   AccessBits bits() const;     the access in cell form
//   void BeforeChange();         called before the first change is published
//                                (the history event of the access)
//   u32 Rewrite(u64* cells, u32* count);
//                                the rules: rewrite cells[0..*count) for the
//                                access (room for one more), return the index
//                                of the accessor's cell. May be called again
//                                from scratch when the word changed meanwhile.
//                                Keeping the cells' order and appending a new
//                                cell keeps a cell set sorted cheaply (any
//                                other order is correct, only slower);
//   void Commit();               the last Rewrite is the one that was published
//   void MakeRoom(u64* cells, u32* count);
//                                a set at kCellSetMaxCapacity is full: shed
//                                at least one cell
//   u32* set_position();         where the accessor's cell was last found in
//                                a cell set (CellSetFindCovering's hint)
//
// Updates the word's shadow for one access.
// The word's inline words: `tertiary` is null where the word has none.
constexpr u32 kMaxInlineCells = 3;
struct ShadowWords {
  std::atomic<u64>* primary;
  std::atomic<u64>* secondary;
  std::atomic<u64>* tertiary;

  u32 inline_capacity() const { return tertiary ? 3 : 2; }
  // The word holding inline cell i (1 <= i < inline_capacity()).
  std::atomic<u64>* extra(u32 i) const { return i == 1 ? secondary : tertiary; }
};

template <typename WordRules>
void UpdateShadowWord(const ShadowWords& words, WordRules& rules);

// The second entry point, for an access path's race-free tier: the word is
// changed only if it holds inline cells and the caller's rules accept them
// as they are, read without taking the word first. What it needs from its
// caller (a concept, kept informal):
//
//   u64 key() const;             as for UpdateShadowWord
//   AccessBits bits() const;
//   void BeforeChange();
//   InlineRewrite RewriteWithoutRace(const u64* cells, u32 count, u64* out);
//                                the rules' outcome for cells[0..count): the
//                                new cells in out[0..result.count) (room for
//                                count + 1) and the index of the accessor's
//                                cell, or a count of 0 to refuse (the rules
//                                must see the word under UpdateShadowWord)
//
// `observed` is a value read from the primary word. Returns true if the
// access is recorded in the word (now, or already was); false, with the word
// unchanged, if UpdateShadowWord must do it: a cell set or the locked state,
// a refusal, more cells than the inline words hold, or a word that changed
// meanwhile. Inline: it is the hot path of range accesses.
template <typename InlineRules>
RACERT_ALWAYS_INLINE bool TryUpdateInlineWord(const ShadowWords& words, u64 observed, InlineRules& rules);

// The third entry point, for a read that finds its goroutine's read of the
// same bytes from an earlier epoch in an explicit cell set (a word read by a
// few goroutines, each in a new epoch every time: readers under a RWMutex,
// a lookup table between releases): the word is locked, every cell
// classified by the caller's rules, and that one cell rewritten in place. It
// leaves exactly the cells the general path would, but for cells of other
// slots that the read makes redundant (reads ordered before it), which stay:
// a kept cell records an access that did happen, so it can only ever be
// reported in a true race, and the next general rewrite drops them. What it
// needs from its caller (a concept, kept informal):
//
//   u64 key() const;             as for UpdateShadowWord
//   AccessBits bits() const;
//   u32* set_position() const;
//   void BeforeChange();
//   SetCellVerdict Classify(Cell c) const;
//                                kReplace for the accessor's earlier read that
//                                the access supersedes, kKeep for a cell the
//                                access leaves as it is and cannot race with,
//                                kRefuse for anything else (a cell that may
//                                race, a dead write): the general path must
//                                see the word. Every cell of another slot
//                                without write bits must be kKeep: the
//                                protocol shows the rules only the set's one
//                                write cell and the accessor's slot's cells
//                                when the set knows where its writes are
//                                (CellSet::lone_write)
//   u64 ReplacementCell() const;  the accessor's cell for the access
//
// `observed` is a value read from the primary word. Returns true if the
// access is recorded; false, with the word unchanged, if UpdateShadowWord
// must do it: not an explicit set, one of more than kMaxRefreshedSetCells
// cells that does not know where its writes are, a refusal, no cell to
// replace (or more than one), or a word that changed meanwhile.
enum class SetCellVerdict { kKeep, kReplace, kRefuse };
constexpr u32 kMaxRefreshedSetCells = 32;
template <typename RefreshRules>
bool TryReplaceOwnCellInSet(const ShadowWords& words, u64 observed, RefreshRules& rules);

// The fourth entry point, for the words of a range access after the first:
// publishes an outcome the caller's rules computed (through
// TryUpdateInlineWord) for another word that held exactly the inline cells
// cells[0..count) (as ReadInlineCellsAt gives them), if this word holds them
// too. The rules' outcome depends on the cells and the access alone, so it
// is this word's outcome as well; the caller must know that none of those
// cells covered the access and that none can have pending bytes elsewhere.
// `observed` is a value read from the primary word. Returns false, with the
// word unchanged, if the word holds other cells (or changed meanwhile), or
// the outcome does not fit its inline words.
RACERT_ALWAYS_INLINE bool TryRepeatInlineUpdate(const ShadowWords& words, u64 observed, const u64* cells, u32 count,
                                                const u64* out, u32 out_count, u32 mine);

// What RewriteWithoutRace returns: a value, not out-parameters, so that the
// inlined caller keeps both in registers.
struct InlineRewrite {
  u32 count;  // cells written; 0: refused
  u32 mine;   // the index of the accessor's cell among them
};

// The summary of the read set whose handle was just read from `primary`
// (ReadSetSummary). It is stored before the handle is published (release):
// at least as new as the handle read.
RACERT_ALWAYS_INLINE u64 ReadSetSummaryOf(const std::atomic<u64>* primary) {
  std::atomic_thread_fence(std::memory_order_acquire);
  return SecondaryWordOfPrimary(primary)->load(std::memory_order_relaxed);
}

// A value of the primary that is not kLockedWord, `observed` if it is not.
// The lock is held for a few dozen instructions (a set's rewrite: a walk of
// its cells); waiting for it lets the access paths take their cheap tiers
// on what the holder publishes, where going on to the general path would
// queue every reader of a contended word behind the walk. Yields if the
// holder's thread seems to have been preempted rather than spin through its
// time slice.
u64 LoadUnlocked(const std::atomic<u64>* primary, u64 observed);

// Whether a word whose primary value `observed` is a cell-set handle already
// records the access (the lock-free check: a hit is trusted only if the word
// still refers to the set afterwards). For the access paths' inline tiers:
// the shape of a word read by many goroutines between writes, where every
// read of it ends here. `position`: the accessor's CellSetFindCovering hint.
RACERT_ALWAYS_INLINE bool CellSetWordRecords(const std::atomic<u64>* primary, u64 observed, u64 key,
                                             AccessBits bits, u32* position) {
  RACERT_DCHECK(Cell(observed).is_handle());
  const CellSet* set = CellSetFromHandle(Cell(observed).handle());
  bool found;
  if (Cell(observed).is_read_set_handle()) {
    found = ReadSetSummaryCovers(ReadSetSummaryOf(primary), key, bits) || ReadSetCovers(set, key, bits);
  } else {
    found = CellSetFindCovering(set, Cell(observed).published_count(), key, bits, position);
  }
  return found && primary->load(std::memory_order_acquire) == observed;
}

// Whether the primary value `observed` already records the access, by the
// loads-only checks: the accessor's own cell covers it, or the cell set the
// value refers to does (CellSetWordRecords). The range path's first look at
// each word.
RACERT_ALWAYS_INLINE bool WordValueRecords(const std::atomic<u64>* primary, u64 observed, u64 key, AccessBits bits,
                                           u32* position) {
  return Cell(observed).Covers(key, bits) ||
         (Cell(observed).is_handle() && CellSetWordRecords(primary, observed, key, bits, position));
}

// Lock-free: the inline cells of a word whose primary held `observed` (a
// direct cell or 0, loaded in any order), into cells[0..*count) (room for
// kMaxInlineCells; the primary's first, without its paired bit; none for an
// empty word). The extra cells are at least as new as `observed`; newer ones
// come with a change of the primary, which the caller's compare-and-swap or
// next look at the word catches. False if the word holds no direct cells (a
// cell set, the locked state) or no longer holds `observed`.
inline bool ReadInlineCellsAt(const ShadowWords& words, u64 observed, u64* cells, u32* count);

// CellSetWordRecords with the first look only: an explicit set's cell at
// `position` (CellSetCoversAt), a read set's summary. For AccessByte's
// inline part, which must stay free of callee-saved registers.
RACERT_ALWAYS_INLINE bool CellSetWordRecordsAt(const std::atomic<u64>* primary, u64 observed, u64 key,
                                               AccessBits bits, u32 position) {
  RACERT_DCHECK(Cell(observed).is_handle());
  const bool found =
      Cell(observed).is_read_set_handle()
          ? ReadSetSummaryCovers(ReadSetSummaryOf(primary), key, bits)
          : CellSetCoversAt(CellSetFromHandle(Cell(observed).handle()), Cell(observed).published_count(), position,
                            key, bits);
  return found && primary->load(std::memory_order_acquire) == observed;
}

// Forgets every access recorded for [addr, addr + size) and recycles the
// cell sets of those words. Only for memory no goroutine can reach (being
// allocated or freed): plain stores, no protocol.
void ClearShadowWords(uptr addr, uptr size);

// ---- Implementation ---------------------------------------------------------

namespace shadow_word {

// In a secondary cell, the bit that is `paired` in a primary cell: a third
// cell is in the tertiary word.
constexpr u64 kMoreBit = Cell::kPairedBit;

// Reads the paired word's extra cells into cells[1..]; returns how many cells
// the word holds. The primary must be locked, or have been read paired with
// acquire (then a stale answer is caught by the caller's compare-and-swap).
inline u32 ReadInlineExtras(const ShadowWords& words, u64* cells) {
  u64 second = words.secondary->load(std::memory_order_relaxed);
  cells[1] = second & ~kMoreBit;
  if ((second & kMoreBit) == 0 || words.tertiary == nullptr) return 2;
  cells[2] = words.tertiary->load(std::memory_order_relaxed);
  return 3;
}

// What the n-th extra word (1: secondary) of a word of `count` cells holds
// for `cell`: every extra word but the last one says that another follows.
constexpr u64 ExtraWordValue(u64 cell, u32 n, u32 count) { return cell | (n + 1 < count ? kMoreBit : 0); }

// The primary word's value for a word left with at most inline_capacity()
// cells (the accessor's at `mine`). The others go to the secondary (and
// tertiary) word first; the caller then publishes the returned value with a
// release store. `held[0..held_count)`, when given, are the cells the word
// holds (as ReadInlineExtras gives them, the primary's first), read with the
// primary locked: an extra word that already holds its new value is not
// written again. A word whose other cells stay as they are (a field read
// by one goroutine after another, each read replacing the one before and the
// writer's cell kept) then leaves its secondary line shared in every core's
// cache instead of taking it from them.
inline u64 PrepareInlineCells(const u64* cells, u32 count, u32 mine, const ShadowWords& words,
                              const u64* held = nullptr, u32 held_count = 0) {
  if (count == 1) return cells[0];
  u32 n = 0;
  for (u32 i = 0; i < count; i++) {
    if (i == mine) continue;
    n++;
    const u64 value = ExtraWordValue(cells[i], n, count);
    if (n < held_count && value == ExtraWordValue(held[n], n, held_count)) continue;
    words.extra(n)->store(value, std::memory_order_relaxed);
  }
  return Cell(cells[mine]).WithPaired(true).raw();
}

// The primary word's value for a word whose cells are now the read set
// `handle`; stores the set's summary in the secondary word first (the caller
// then publishes the returned value with a release store).
inline u64 PrepareReadSet(const ShadowWords& words, u32 handle, const ReadSetBefore& before = {}) {
  words.secondary->store(ReadSetSummary(CellSetFromHandle(handle), before), std::memory_order_relaxed);
  return Cell::MakeReadSetHandle(handle).raw();
}

// Moves cells[0..count) to a new explicit set; returns the primary's new value.
inline u64 SpillToExplicitSet(const u64* cells, u32 count) {
  u32 handle = CellSetAllocate(count);
  CellSet* set = CellSetFromHandle(handle);
  for (u32 i = 0; i < count; i++) set->cells[i] = cells[i];
  SortCellsBySlot(set->cells, count);
  set->count = static_cast<u16>(count);
  set->may_hold_plain = AnyPlainCell(set->cells, count);
  set->lone_write = LoneWriteOf(set->cells, count);
  return Cell::MakeHandle(handle, count).raw();
}

// The longest run of one slot's cells that an atomic access rewrites on its
// own (UpdateCellSetForAtomic); longer runs go through the whole set, which
// also drops what the access makes redundant in other slots' runs.
constexpr u32 kMaxAtomicRun = 4;
// Sets with fewer cells are rewritten whole by atomic accesses too: their
// walk is short, and it keeps them shrinking back to inline cells once the
// goroutines that hit them are ordered (a mutex no longer contended).
constexpr u32 kMinCellsForAtomicRun = 16;

// An atomic access to a set whose cells are all atomic: no cell can race
// with it (atomic accesses never race with each other), so the rules need
// only see the accessor's own slot's cells, where its cell goes and where
// the cells it merges with or subsumes are. Cells of other slots that the
// access orders and subsumes stay: a kept cell records an access that did
// happen, so it can only ever be reported in a true race; the next rewrite
// of the whole set drops them. This spares a word hit by atomics from many
// goroutines (a contended mutex's state, a counter) a walk of every slot's
// cell under its lock at each operation. The word is locked. Returns false,
// with the set unchanged, if the whole set must be rewritten: the run is
// too long, or the set is full.
template <typename WordRules>
bool UpdateCellSetForAtomic(CellSet* set, WordRules& rules) {
  const u32 count = set->count;
  u32* position = rules.set_position();
  u32 begin;
  u32 end;
  FindSlotRun(set->cells, count, Cell(rules.key()).sid(), *position, &begin, &end);
  u32 n = end - begin;
  if (n > kMaxAtomicRun) return false;
  u64 run[kMaxAtomicRun + 1];
  for (u32 i = 0; i < n; i++) run[i] = set->cells[begin + i];
  u32 mine = rules.Rewrite(run, &n);
  const u32 new_count = count - (end - begin) + n;
  if (new_count > set->capacity()) return false;
  ReplaceCellRun(set->cells, count, begin, end, run, n);
  set->count = static_cast<u16>(new_count);
  set->lone_write = kWriteCellsUnknown;  // not worth a walk here: only reads of plain sets ask
  *position = begin + mine;
  return true;
}

// Moves more cells than the inline words hold to a new set (a read set if
// they have its form); returns the primary's new value.
inline u64 SpillToCellSet(const ShadowWords& words, const u64* cells, u32 count) {
  if (u32 handle = StoreAsReadSet(0, cells, count)) return PrepareReadSet(words, handle);
  return SpillToExplicitSet(cells, count);
}

// Whether the access is already recorded in the extra inline words or the
// cell set, checked without locking. A stale read can only make us miss the
// shortcut, or, after the word was freed and reused, skip recording an access
// to memory that was reallocated under it.
inline bool AlreadyRecordedElsewhere(const ShadowWords& words, Cell current, u64 key, AccessBits bits,
                                     u32* set_position) {
  if (current.is_paired()) {
    u64 cells[kMaxInlineCells];
    u32 count = ReadInlineExtras(words, cells);
    for (u32 i = 1; i < count; i++) {
      if (Cell(cells[i]).Covers(key, bits)) return true;
    }
    return false;
  }
  return current.is_handle() && CellSetWordRecords(words.primary, current.raw(), key, bits, set_position);
}

// UpdateCellSet for a word holding a read set, which the caller locked: the
// rules see the set's cells as an explicit set would hold them, and the
// result is stored back in the compact form if it still has it (in place,
// the same handle), else as inline cells or an explicit set.
template <typename WordRules>
void UpdateReadSet(const ShadowWords& words, u32 handle, CellSet* set, WordRules& rules) {
  // The word is locked: its secondary holds this set's summary. The new
  // summary starts from it if the set that follows (this one or another)
  // keeps its snapshot and read mask.
  const ReadSetBefore before = ReadSetBeforeChange(set, words.secondary->load(std::memory_order_relaxed));
  if (!rules.bits().is_write && !ReadSetMapHasKey(set, rules.key())) {
    // A read races with none of the map's reads, so the rules need to see
    // only the extras (and the accessor's own cell, which is not in the map:
    // a rule that merges into it must see it). The map's reads that the read
    // subsumes (those ordered before it) are kept: a later access ordered
    // after this read is ordered after them too (clocks only grow), so one
    // that is not ordered after one of them truly races with it, and a
    // report of that pair is true (docs/design-core.md, "Read sets").
    u64 extras[kReadSetMaxExtras + 1];
    u32 count = ReadSetExtras(set, extras);
    rules.Rewrite(extras, &count);
    if (ReadSetReplaceExtras(set, extras, count)) {
      rules.Commit();
      words.primary->store(PrepareReadSet(words, handle, before), std::memory_order_release);
      return;
    }
  }
  u64 cells[kReadSetMaxCells + 1];  // room for one more
  u32 count = ReadSetCells(set, cells);
  u32 mine = rules.Rewrite(cells, &count);
  rules.Commit();
  u64 desired;
  if (count <= words.inline_capacity()) {
    desired = PrepareInlineCells(cells, count, mine, words);
    CellSetFree(handle);
  } else if (u32 read_set = StoreAsReadSet(handle, cells, count)) {
    if (read_set != handle) CellSetFree(handle);
    desired = PrepareReadSet(words, read_set, before);
  } else {
    CellSetFree(handle);
    desired = SpillToExplicitSet(cells, count);
  }
  words.primary->store(desired, std::memory_order_release);
}

// Makes room in a locked word's explicit set for the cell one more access may
// add: a full set at the largest capacity sheds a cell (the rules'
// MakeRoom; *made_room says so), a full smaller one moves to a set twice its
// size. Returns the set to rewrite; *handle is its handle (its lone_write is
// set again by PrepareRewrittenSet, which follows the rewrite). Nobody can
// reach a set the word leaves for an update: the word is locked, and will
// refer to the new one.
template <typename WordRules>
CellSet* MakeRoomInSet(CellSet* set, u32* handle, WordRules& rules, bool* made_room) {
  *made_room = false;
  if (RACERT_UNLIKELY(set->count + 1u > set->capacity() && set->capacity() == kCellSetMaxCapacity)) {
    *made_room = true;
    u32 count = set->count;
    rules.MakeRoom(set->cells, &count);
    RACERT_CHECK_MSG(count < set->count, "a full cell set must shed a cell (%u cells)", count);
    set->count = static_cast<u16>(count);
  }
  if (set->count + 1u <= set->capacity()) return set;
  u32 bigger_handle = CellSetAllocate(set->capacity() * 2);
  CellSet* bigger = CellSetFromHandle(bigger_handle);
  for (u32 i = 0; i < set->count; i++) bigger->cells[i] = set->cells[i];
  bigger->count = set->count;
  bigger->may_hold_plain = set->may_hold_plain;
  CellSetFree(*handle);
  *handle = bigger_handle;
  return bigger;
}

// The primary value that publishes a locked word's explicit set after the
// rules rewrote it to `set->count` cells, the accessor's at `mine`: the set
// itself (back in slot order), its compact read-set form, or inline cells
// (then the set is recycled and the extra words are written here, before the
// caller publishes the primary). `made_room`: MakeRoomInSet shed a cell.
inline u64 PrepareRewrittenSet(const ShadowWords& words, u32 handle, CellSet* set, u32 mine, bool made_room,
                               bool after_read) {
  const u32 count = set->count;
  if (count <= words.inline_capacity()) {
    const u64 desired = PrepareInlineCells(set->cells, count, mine, words);
    CellSetFree(handle);
    return desired;
  }
  // Tried after reads only, and at every fourth count: the form is checked
  // over every cell, and words whose readers' epochs keep moving (readers
  // under a RWMutex) would pay it at each access for nothing.
  if (after_read && count % 4 == 0) {
    if (u32 read_set = StoreAsReadSet(0, set->cells, count)) {
      // Reads of the same bytes, but for a few: to the compact form.
      CellSetFree(handle);
      return PrepareReadSet(words, read_set);
    }
  }
  // Back in slot order (cell_set.h). The race rules keep the order of the
  // cells they keep and append the accessor's cell if none had its key, so
  // only that one can be out of place; making room may move any.
  if (RACERT_UNLIKELY(made_room)) {
    SortCellsBySlot(set->cells, count);
  } else if (mine == count - 1) {
    PlaceLastCellBySlot(set->cells, count);
  }
  set->lone_write = LoneWriteOf(set->cells, count);
  return Cell::MakeHandle(handle, count).raw();
}

// Applies the access to a word that holds a CellSet handle. Returns false if
// the word changed under us (the caller retries from the top).
//
// The set is changed with the primary word locked, as the inline words are:
// one compare-and-swap takes the word (and with it the set it referred to),
// one release store gives it back, with the same handle, a bigger set's, or
// inline cells when few enough are left.
template <typename WordRules>
bool UpdateCellSet(const ShadowWords& words, u64 observed, WordRules& rules) {
  std::atomic<u64>* primary = words.primary;
  if (!primary->compare_exchange_weak(observed, Cell::kLockedWord, std::memory_order_acquire)) return false;
  u32 handle = Cell(observed).handle();
  CellSet* set = CellSetFromHandle(handle);
  if (CellSetIsReadSet(set)) {
    UpdateReadSet(words, handle, set, rules);
    return true;
  }
  if (rules.bits().is_atomic && !set->may_hold_plain && set->count >= kMinCellsForAtomicRun &&
      UpdateCellSetForAtomic(set, rules)) {
    rules.Commit();
    primary->store(Cell::MakeHandle(handle, set->count).raw(), std::memory_order_release);
    return true;
  }
  bool made_room;
  set = MakeRoomInSet(set, &handle, rules, &made_room);
  u32 count = set->count;
  u32 mine = rules.Rewrite(set->cells, &count);
  rules.Commit();
  set->count = static_cast<u16>(count);
  // A plain access's own cell is plain; after an atomic one, plain cells may
  // have been subsumed: looked for again only if there were some.
  set->may_hold_plain = !rules.bits().is_atomic || (set->may_hold_plain && AnyPlainCell(set->cells, count));
  primary->store(PrepareRewrittenSet(words, handle, set, mine, made_room, !rules.bits().is_write),
                 std::memory_order_release);
  return true;
}

// Publishes `out` (at most inline_capacity() cells, the accessor's at
// `mine`) in place of the inline cells[0..count) read from the primary value
// `observed` without the lock: one compare-and-swap for one cell in an
// unpaired word, else under the lock state, after checking that the extra
// words still hold what was read (they change only under the lock, so the
// outcome computed from them stands). False, with the word unchanged, if it
// changed meanwhile.
RACERT_ALWAYS_INLINE bool PublishInlineCells(const ShadowWords& words, u64 observed, const u64* cells, u32 count,
                                             const u64* out, u32 out_count, u32 mine) {
  RACERT_DCHECK(out_count >= 1 && out_count <= words.inline_capacity() && mine < out_count);
  const bool was_paired = Cell(observed).is_paired();
  if (!was_paired && out_count == 1) {
    return words.primary->compare_exchange_strong(observed, out[0], std::memory_order_acq_rel,
                                                  std::memory_order_relaxed);
  }
  if (!words.primary->compare_exchange_strong(observed, Cell::kLockedWord, std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
    return false;
  }
  if (was_paired) {
    u64 now[kMaxInlineCells];
    bool same = ReadInlineExtras(words, now) == count;
    for (u32 i = 1; same && i < count; i++) same = now[i] == cells[i];
    if (!same) {
      words.primary->store(observed, std::memory_order_release);
      return false;
    }
  }
  // Paired, the word holds cells[0..count) (checked above); else one cell.
  const u32 held_count = was_paired ? count : 0;
  words.primary->store(PrepareInlineCells(out, out_count, mine, words, cells, held_count), std::memory_order_release);
  return true;
}

}  // namespace shadow_word

inline bool ReadInlineCellsAt(const ShadowWords& words, u64 observed, u64* cells, u32* count) {
  const Cell current(observed);
  if (current.is_handle() || current.is_locked()) return false;
  cells[0] = current.WithPaired(false).raw();
  *count = observed ? 1 : 0;
  if (!current.is_paired()) return true;
  // The acquire load orders the extras' loads after the primary value they
  // go with, whatever order `observed` was loaded in.
  if (words.primary->load(std::memory_order_acquire) != observed) return false;
  *count = shadow_word::ReadInlineExtras(words, cells);
  return true;
}

template <typename InlineRules>
RACERT_ALWAYS_INLINE bool TryUpdateInlineWord(const ShadowWords& words, u64 observed, InlineRules& rules) {
  using namespace shadow_word;
  u64 cells[kMaxInlineCells];
  u32 count;
  if (!ReadInlineCellsAt(words, observed, cells, &count)) return false;
  // Already recorded in an extra word: nothing to change (as in
  // AlreadyRecordedElsewhere, a positive answer stays true).
  for (u32 i = 1; i < count; i++) {
    if (Cell(cells[i]).Covers(rules.key(), rules.bits())) return true;
  }
  u64 out[kMaxInlineCells + 1];
  const InlineRewrite rewrite = rules.RewriteWithoutRace(cells, count, out);
  if (rewrite.count == 0 || rewrite.count > words.inline_capacity()) return false;
  rules.BeforeChange();
  return PublishInlineCells(words, observed, cells, count, out, rewrite.count, rewrite.mine);
}

RACERT_ALWAYS_INLINE bool TryRepeatInlineUpdate(const ShadowWords& words, u64 observed, const u64* cells, u32 count,
                                                const u64* out, u32 out_count, u32 mine) {
  const Cell current(observed);
  // The primary is the first cell, and paired exactly when there are more;
  // PublishInlineCells checks the extra words under the lock.
  if (count == 0 || current.is_handle() || current.is_locked() || current.WithPaired(false).raw() != cells[0] ||
      current.is_paired() != (count > 1) || out_count > words.inline_capacity()) {
    return false;
  }
  return shadow_word::PublishInlineCells(words, observed, cells, count, out, out_count, mine);
}

namespace shadow_word {

// Folds one verdict into the index of the cell to replace among `count`
// (count: none yet). False if the set must go to the general path: a
// refusal, or a second cell to replace.
inline bool TakeVerdict(SetCellVerdict verdict, u32 i, u32 count, u32* replaced) {
  if (verdict == SetCellVerdict::kKeep) return true;
  if (verdict == SetCellVerdict::kRefuse || *replaced != count) return false;
  *replaced = i;
  return true;
}

// TryReplaceOwnCellInSet's search, in a set whose word is locked: the index
// of the one cell to replace, or set->count if the general path must see
// the word. Where the set knows its only write cell, the rules see that cell
// and the accessor's slot's run, every other cell being a read of another
// slot (kKeep by the rules' contract); else, in small sets, every cell.
template <typename RefreshRules>
u32 FindCellToReplace(const CellSet* set, const RefreshRules& rules) {
  const u32 count = set->count;
  u32 replaced = count;
  const u32 lone_write = set->lone_write;
  if (lone_write == kWriteCellsUnknown) {
    if (count > kMaxRefreshedSetCells) return count;
    for (u32 i = 0; i < count; i++) {
      if (!TakeVerdict(rules.Classify(Cell(set->cells[i])), i, count, &replaced)) return count;
    }
    return replaced;
  }
  RACERT_DCHECK(lone_write == LoneWriteOf(set->cells, count));
  u32 begin;
  u32 end;
  FindSlotRun(set->cells, count, Cell(rules.key()).sid(), *rules.set_position(), &begin, &end);
  for (u32 i = begin; i < end; i++) {
    if (!TakeVerdict(rules.Classify(Cell(set->cells[i])), i, count, &replaced)) return count;
  }
  if (lone_write != kNoWriteCell && (lone_write < begin || lone_write >= end) &&
      rules.Classify(Cell(set->cells[lone_write])) != SetCellVerdict::kKeep) {
    return count;
  }
#if defined(RACERT_DEBUG)
  for (u32 i = 0; i < count; i++) {
    RACERT_DCHECK((i >= begin && i < end) || i == lone_write ||
                  rules.Classify(Cell(set->cells[i])) == SetCellVerdict::kKeep);
  }
#endif
  return replaced;
}

}  // namespace shadow_word

template <typename RefreshRules>
bool TryReplaceOwnCellInSet(const ShadowWords& words, u64 observed, RefreshRules& rules) {
  const Cell handle_cell(observed);
  if (!handle_cell.is_handle() || handle_cell.is_read_set_handle()) return false;
  std::atomic<u64>* primary = words.primary;
  if (!primary->compare_exchange_strong(observed, Cell::kLockedWord, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
    return false;
  }
  // The word is ours, and with it the set: its count is the one the handle
  // published (both change only under the lock).
  CellSet* set = CellSetFromHandle(handle_cell.handle());
  RACERT_DCHECK(Cell::MakeHandle(handle_cell.handle(), set->count).raw() == handle_cell.raw());
  const u32 replaced = shadow_word::FindCellToReplace(set, rules);
  if (replaced == set->count) {
    primary->store(observed, std::memory_order_release);
    return false;
  }
  rules.BeforeChange();
  // The same slot as the cell it replaces: the set stays sorted by slot. A
  // read replaces a read: where the set's writes are does not change.
  const u64 replacement = rules.ReplacementCell();
  RACERT_DCHECK(Cell(set->cells[replaced]).sid() == Cell(rules.key()).sid());
  RACERT_DCHECK(Cell(set->cells[replaced]).write_mask() == 0 && Cell(replacement).write_mask() == 0);
  RelaxedStore(set->cells[replaced], replacement);  // lock-free readers look at it
  if (!Cell(replacement).is_atomic()) set->may_hold_plain = true;
  *rules.set_position() = replaced;
  primary->store(observed, std::memory_order_release);
  return true;
}

template <typename WordRules>
void UpdateShadowWord(const ShadowWords& words, WordRules& rules) {
  using namespace shadow_word;
  std::atomic<u64>* primary = words.primary;
  const u64 key = rules.key();
  const AccessBits bits = rules.bits();
  for (;;) {
    u64 observed = primary->load(std::memory_order_acquire);
    if (Cell(observed).is_locked()) {
      LoadUnlocked(primary, observed);
      continue;  // loaded again with acquire
    }
    Cell current(observed);
    if (current.Covers(key, bits)) return;
    if (AlreadyRecordedElsewhere(words, current, key, bits, rules.set_position())) return;
    rules.BeforeChange();
    if (current.is_handle()) {
      if (UpdateCellSet(words, observed, rules)) return;
      continue;
    }
    u64 cells[kMaxInlineCells + 1] = {current.WithPaired(false).raw()};  // inline cells and the new one
    u32 count = observed ? 1 : 0;
    bool was_paired = current.is_paired();
    if (was_paired) {
      // Take the word before reading the extra words: they are only stable
      // while the primary is locked.
      if (!primary->compare_exchange_weak(observed, Cell::kLockedWord, std::memory_order_acquire)) continue;
      count = ReadInlineExtras(words, cells);
    }
    u32 mine = rules.Rewrite(cells, &count);
    if (count <= 1 && !was_paired) {
      if (!primary->compare_exchange_strong(observed, cells[0], std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
        continue;
      }
    } else {
      if (!was_paired && !primary->compare_exchange_strong(observed, Cell::kLockedWord, std::memory_order_acquire)) {
        continue;
      }
      // The word is ours until the primary is stored below.
      u64 desired = count <= words.inline_capacity() ? PrepareInlineCells(cells, count, mine, words)
                                                     : SpillToCellSet(words, cells, count);
      primary->store(desired, std::memory_order_release);
    }
    rules.Commit();
    return;
  }
}

}  // namespace racert
