#include "tsan_core/slot_pool.h"

#include "base/check.h"
#include "shadow/shadow_map.h"
#include "tsan_core/byte_accumulator.h"
#include "tsan_core/goroutine_registry.h"
#include "tsan_core/sync_table.h"

namespace racert {

std::atomic<u32> g_slot_high_water;

namespace {

// Owners remembered per slot: each attach (start, re-attach after a steal) is
// an entry, and an access older than the slot's last kJournalSize owners is
// reported as by an unknown goroutine.
constexpr unsigned kJournalSize = 128;

struct JournalEntry {
  Epoch first_epoch;  // the owner's first epoch on this slot
  // Epochs start again from 0 after a reset, while goroutines that have not
  // synchronized since still check (and race with) older cells: an epoch
  // names an owner only together with its generation. A generation value
  // comes back only once no cell and no goroutine of its earlier turn is
  // left (ResetIfRequested), and a slot's entries of its new turn are newer
  // in the ring than those of the old one: the newest match is the owner.
  Generation generation;
  SlotOwnerRecord owner;
};

struct Slot {
  alignas(64) SpinMutex mutex;
  // Written under mutex. Read without it by the owner's LockOwnSlot: only
  // the goroutine itself ever sets it to itself, so a goroutine that reads
  // another value has lost the slot for good.
  std::atomic<GoroutineState*> owner;
  // Last epoch issued. Written only under mutex (IssueEpoch); AcquireAllSlots
  // reads it without: epochs only grow within a generation, and any value
  // read was issued before the read.
  std::atomic<Epoch> epoch;
  // The current owner's first epoch and the generation it belongs to
  // (OwnerSince); written under mutex, read without it by every acquire
  // that finds a stamp of this slot: on a line of its own, written only
  // when the slot changes hands, so those readers do not take the owner's
  // mutex line away from it. 0 after a reset: generation 0 is never
  // current, so it matches no stamp.
  alignas(64) std::atomic<u64> owner_since;
  // No cell of an earlier owner names an epoch of this slot above this one:
  // the newest epoch its finished owners recorded an access under
  // (History::LastAccessEpoch), or, once the slot was taken from a live
  // owner that may still access under its old key, the slot's epoch at that
  // moment. When the slot is freed, its current owner's newest is folded in
  // and the result copied to the free list. Guarded by the pool mutex.
  Epoch accessed_up_to;
  u32 journal_count;      // total entries ever written (ring index = count % size)
  JournalEntry journal[kJournalSize];
};

// A freed slot and its accessed_up_to (copied when it was freed), side by
// side so that looking for a known slot reads one small array, not one
// cache line of each Slot.
struct FreeSlot {
  Sid sid;
  Epoch accessed_up_to;
};

// Sets of generation values, one bit per value.
constexpr u64 GenerationBit(Generation gen) { return u64{1} << (gen & kGenerationMask); }
constexpr u64 kNotAGeneration = GenerationBit(0);  // a handle's generation, no key's
static_assert(kGenerationMask == 63, "one bit per generation value in a u64");

struct SlotPool {
  SpinMutex mutex;                       // guards the free list and the steal hand
  FreeSlot free_slots[kSlotCount];       // [0, free_count): freed slots, oldest first
  u32 free_count;
  Sid steal_hand;                        // next victim; wraps after the last slot
  u32 never_used;                        // slots [never_used, kSlotCount) were never handed out
  Slot slots[kSlotCount];
  std::atomic<u8> generation;            // 0 until the first attach sets it to 1
  // Bit v: generation value v may appear in a shadow cell or in a live
  // goroutine's keys or clock, so it must not become current (see
  // ResetIfRequested). Bit 0 is set once a reset wrote it: 0 is never a
  // generation. Changed only by a reset; read through GenerationsInUse,
  // for which 0 (the pool is zero-initialized: a default here would move the
  // whole pool from .bss to .data) means the first generation's set.
  u64 generations_in_use;
  // Bit v: value v became current while live goroutines still carried it
  // (every value was carried), so conflicts in it may be false and are not
  // reported (GenerationIsTrusted). Written only by a reset.
  std::atomic<u64> untrusted_generations;
  std::atomic<u64> shadow_clears;        // resets that cleared all shadow
  std::atomic<bool> reset_requested;
  std::atomic<u64> reset_count;
  Epoch max_epoch;                       // 0 means the default
  HandOverCounts hand_overs;             // guarded by mutex
};
constinit SlotPool pool{};
static_assert(kSlotCount == 1u << (8 * sizeof(Sid)), "steal_hand wraps exactly at the slot count");

constexpr Epoch kDefaultMaxEpoch = 0xfffffff0u;

// Slot::owner_since: a first epoch with its generation, in one word.
constexpr u64 OwnerSince(Generation generation, Epoch first) { return (u64{generation} << 32) | first; }

Epoch MaxEpoch() { return pool.max_epoch ? pool.max_epoch : kDefaultMaxEpoch; }

// The generations in use (SlotPool::generations_in_use). Pool mutex held.
u64 GenerationsInUse() {
  return pool.generations_in_use != 0 ? pool.generations_in_use : kNotAGeneration | GenerationBit(1);
}

Generation LoadGeneration() {
  u8 gen = pool.generation.load(std::memory_order_acquire);
  if (RACERT_UNLIKELY(gen == 0)) {
    u8 expected = 0;
    pool.generation.compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
    gen = pool.generation.load(std::memory_order_acquire);
  }
  return gen;
}

// The slot's next epoch. Slot mutex held.
Epoch IssueEpoch(Slot& slot) {
  Epoch next = slot.epoch.load(std::memory_order_relaxed) + 1;
  slot.epoch.store(next, std::memory_order_relaxed);
  return next;
}

void RecordOwner(Slot& slot, GoroutineState* g) {
  JournalEntry& entry = slot.journal[slot.journal_count % kJournalSize];
  entry.first_epoch = slot.epoch.load(std::memory_order_relaxed);
  entry.generation = LoadGeneration();
  entry.owner = SlotOwnerRecord{g->number, g->creation_stack};
  slot.journal_count++;
}

// The free slot whose every recorded access g already knows, oldest freed
// first, as an index into free_slots; free_count if there is none. A slot
// handed over that way keeps every clock's knowledge of it a prefix of its
// epoch line: whoever learns g's epochs later also learns, truly, everything
// before them (docs/design-slot-identity.md). Pool mutex held.
u32 FindFreeSlotKnownTo(const GoroutineState* g) {
  // A clock of an older generation is dropped when g attaches: it knows nothing.
  bool clock_valid = g->clock_generation == LoadGeneration();
  for (u32 i = 0; i < pool.free_count; i++) {
    const FreeSlot& free = pool.free_slots[i];
    Epoch known = clock_valid ? g->clock.Get(free.sid) : 0;
    if (free.accessed_up_to <= known) return i;
  }
  return pool.free_count;
}

Sid RemoveFreeSlot(u32 index) {
  Sid sid = pool.free_slots[index].sid;
  for (u32 i = index + 1; i < pool.free_count; i++) pool.free_slots[i - 1] = pool.free_slots[i];
  pool.free_count--;
  return sid;
}

// Chooses g's slot, in order of preference:
//   1. a freed slot whose every recorded access g already knows: an exact
//      hand-over (worker pools, waves of goroutines started after a Wait);
//   2. a never-used slot;
//   3. the freed slot that has rested longest;
//   4. a slot taken from a live owner, in round robin.
// 3 and 4 hand over a slot whose earlier accesses g may not know; whoever
// learns g's epochs then also covers those (the limit the header describes),
// so they come last. Pool mutex held.
Sid ChooseSlotLocked(const GoroutineState* g) {
  u32 known = FindFreeSlotKnownTo(g);
  if (known < pool.free_count) {
    pool.hand_overs.exact++;
    return RemoveFreeSlot(known);
  }
  if (pool.never_used < kSlotCount) {
    pool.hand_overs.fresh++;
    Sid sid = static_cast<Sid>(pool.never_used++);  // < kSlotCount, checked above
    if (g_slot_high_water.load(std::memory_order_relaxed) < pool.never_used) {
      g_slot_high_water.store(pool.never_used, std::memory_order_relaxed);
    }
    return sid;
  }
  if (pool.free_count > 0) {
    pool.hand_overs.unknown_reuse++;
    return RemoveFreeSlot(0);
  }
  // Every slot is owned: take one from its owner (TakeSlotLocked).
  pool.hand_overs.steal++;
  return pool.steal_hand++;
}

// Gives g a slot and returns it locked, owned by g. Pool mutex held.
Sid TakeSlotLocked(GoroutineState* g) {
  Sid sid = ChooseSlotLocked(g);
  Slot& slot = pool.slots[sid];
  slot.mutex.Lock();
  if (slot.owner.load(std::memory_order_relaxed) != nullptr) {
    // Taken from a live owner. It notices at its next sync operation (the
    // slot's owner is no longer itself); until then it may still record
    // accesses under its current epoch, at most the slot's epoch now that
    // its lock is held here.
    slot.accessed_up_to = slot.epoch.load(std::memory_order_relaxed);
  }
  slot.owner.store(g, std::memory_order_relaxed);
  return sid;
}

void AttachLocked(GoroutineState* g, Sid sid) {
  Slot& slot = pool.slots[sid];
  // A slot is held, so no reset can run now: the generation is stable.
  Generation gen = LoadGeneration();
  if (g->clock_generation != gen) {
    g->clock.Reset();
    g->clock_generation = gen;
  }
  Epoch first = IssueEpoch(slot);
  g->sid = sid;
  g->has_slot = true;
  g->epoch = first;
  g->slot_first_epoch = first;
  slot.owner_since.store(OwnerSince(gen, first), std::memory_order_relaxed);
  g->slot_inherited_epoch = g->clock.Get(sid);
  g->clock.Set(sid, first);
  g->clock_joined_at = first;  // a new own entry, or a dropped clock
  RecordOwner(slot, g);
  RefreshKeys(g);
  ClaimAccumulator(g);
  g->history.AddEpoch(sid, first);
  if (first >= MaxEpoch()) pool.reset_requested.store(true, std::memory_order_relaxed);
}

}  // namespace

void RefreshKeys(GoroutineState* g) {
  Generation gen = LoadGeneration();
  Sid sid = g->sid;
  g->plain_key = CellKey(sid, g->epoch, gen, /*is_atomic=*/false);
  g->atomic_key = CellKey(sid, g->epoch, gen, /*is_atomic=*/true);
  g->clock_data = g->clock.data();
  PublishAccumulatorKey(g);
}

void LockOwnSlot(GoroutineState* g) {
  // Accumulated bytes are published under the key they were made with,
  // before a synchronization can change it (tsan_core/byte_accumulator.h).
  FlushAccumulated(g);
  if (RACERT_LIKELY(g->has_slot)) {
    Slot& slot = pool.slots[g->sid];
    // A slot taken from g (more goroutines than slots: at most every
    // resumption) is recognized without its mutex, whose line the thief has.
    if (RACERT_LIKELY(slot.owner.load(std::memory_order_relaxed) == g)) {
      slot.mutex.Lock();
      if (RACERT_LIKELY(slot.owner.load(std::memory_order_relaxed) == g)) {
        // A slot taken over from a goroutine that still held its accumulator
        // gets it once that one gave it up.
        if (RACERT_UNLIKELY(!g->acc)) ClaimAccumulator(g);
        return;
      }
      slot.mutex.Unlock();
    }
    ReleaseAccumulator(g);  // the slot is someone else's now
  }
  Sid sid;
  {
    SpinMutexLock lock(&pool.mutex);
    sid = TakeSlotLocked(g);
  }
  AttachLocked(g, sid);
}

void UnlockOwnSlot(GoroutineState* g) { pool.slots[g->sid].mutex.Unlock(); }

void AdvanceEpoch(GoroutineState* g) {
  Slot& slot = pool.slots[g->sid];
  g->epoch = IssueEpoch(slot);
  g->clock.Set(g->sid, g->epoch);
  RefreshKeys(g);
  g->history.AddEpoch(g->sid, g->epoch);
  if (RACERT_UNLIKELY(g->epoch >= MaxEpoch())) pool.reset_requested.store(true, std::memory_order_relaxed);
}

void DetachSlot(GoroutineState* g) {
  FlushAccumulated(g);
  ReleaseAccumulator(g);
  if (!g->has_slot) return;
  SpinMutexLock pool_lock(&pool.mutex);
  Slot& slot = pool.slots[g->sid];
  SpinMutexLock slot_lock(&slot.mutex);
  if (slot.owner.load(std::memory_order_relaxed) != g) return;  // already taken by someone else
  slot.owner.store(nullptr, std::memory_order_relaxed);
  Epoch last_access = g->history.LastAccessEpoch();
  if (slot.accessed_up_to < last_access) slot.accessed_up_to = last_access;
  pool.free_slots[pool.free_count++] = FreeSlot{g->sid, slot.accessed_up_to};
  g->has_slot = false;
}

void AcquireAllSlots(GoroutineState* g) {
  unsigned n = g_slot_high_water.load(std::memory_order_relaxed);
  for (unsigned s = 0; s < n; s++) {
    // Reading other slots' epochs without their locks is fine: epochs only
    // grow, and any value read was issued before this point.
    Epoch e = pool.slots[s].epoch.load(std::memory_order_relaxed);
    Sid sid = static_cast<Sid>(s);  // s < high water <= kSlotCount
    if (sid == g->sid) {
      // Everything before now, including the slot's earlier owners.
      if (g->slot_inherited_epoch < e) g->slot_inherited_epoch = e;
      continue;
    }
    if (g->clock.Get(sid) < e) g->clock.Set(sid, e);
  }
  g->clock_joined_at = g->epoch;  // see GoroutineState::clock_joined_at
}

bool SlotOwnedSince(Sid sid, Generation generation, Epoch epoch) {
  u64 since = pool.slots[sid].owner_since.load(std::memory_order_relaxed);
  return (since >> 32) == generation && static_cast<Epoch>(since) <= epoch;
}

bool FindSlotOwner(Sid sid, Epoch epoch, Generation generation, SlotOwnerRecord* out) {
  Slot& slot = pool.slots[sid];
  SpinMutexLock lock(&slot.mutex);
  u32 count = slot.journal_count;
  u32 oldest = count > kJournalSize ? count - kJournalSize : 0;
  // Newest first: the owner is the latest one of that generation that
  // started at or before epoch.
  for (u32 i = count; i > oldest; i--) {
    const JournalEntry& entry = slot.journal[(i - 1) % kJournalSize];
    if (entry.generation == generation && entry.first_epoch <= epoch) {
      *out = entry.owner;
      return true;
    }
  }
  return false;
}

namespace {

// The first generation value after `current`, in the order 1, 2, ..., 63, 1,
// ..., that is not in `in_use` and is not `current` itself (a reset always
// changes the generation); 0 if there is none.
Generation NextFreeGeneration(Generation current, u64 in_use) {
  for (unsigned step = 1; step < kGenerationMask; step++) {
    Generation candidate = static_cast<Generation>((current - 1 + step) % kGenerationMask + 1);
    if ((in_use & GenerationBit(candidate)) == 0) return candidate;
  }
  return 0;
}

// Adds the generation values g carries: its clock's, and its keys' (with
// which it stamps cells, also accumulated bytes it publishes later). Both
// change only under g's slot mutex, and a reset holds every slot mutex.
void AddCarriedGenerations(const GoroutineState* g, void* arg) {
  *static_cast<u64*>(arg) |= GenerationBit(g->clock_generation) | GenerationBit(Cell(g->plain_key).generation()) |
                             GenerationBit(Cell(g->atomic_key).generation());
}

// The generation the reset that holds every lock moves to, clearing all
// shadow first if it must. A goroutine that has not synchronized since a
// reset keeps the keys and clock of its generation: it still stamps cells
// with it, and compares cells of it with that clock. So a value may become
// current only while no shadow cell and no live goroutine carries it: cells
// of it would look current to clocks that do not cover them (a race
// reported with an access ordered before it), and a goroutine carrying it
// would keep its old clock at its next attach as if it were of the new turn.
// Cells of a value not current are dead to every goroutine but those still
// carrying it, which only compare them among themselves, with clocks of that
// value's turn.
//
// generations_in_use holds every value that may be carried: the values made
// current since the last shadow clear, and those live goroutines carried at
// that clear (they may stamp cells after it, which stay). The next value
// not in it becomes current. When none is left, all shadow is cleared, and
// what is in use afterwards is what live goroutines carry now plus the new
// value, which is one of the others. Every value a goroutine carries is in
// use until a clear finds no goroutine carrying it, so it never becomes
// current while carried: a goroutine's values change only when it attaches
// (to the current generation) or is started (with its parent's clock, of
// the current generation: the parent holds its slot), and the current value
// is in use anyway. The walk comes before the clear: a goroutine that
// finishes after the walk was seen by it, and one that finished before did
// all its accesses before the clear (its unlinking, under the registry
// lock, comes after them).
//
// If every value is carried (goroutines that have not synchronized across
// as many resets as there are values hold them all), one is made current
// anyway; conflicts in it are then not reported until a later clear finds it
// carried by no goroutine (GenerationIsTrusted). Missing races is allowed;
// inventing them is not.
Generation ChooseNextGenerationLocked(Generation current) {
  const u64 in_use = GenerationsInUse();
  Generation next = NextFreeGeneration(current, in_use);
  if (next != 0) {
    pool.generations_in_use = in_use | GenerationBit(next);
    return next;
  }
  u64 carried = kNotAGeneration;
  ForEachLiveGoroutine(AddCarriedGenerations, &carried);
  ClearAllShadow();
  pool.shadow_clears.fetch_add(1, std::memory_order_relaxed);
  // An untrusted value stays so while goroutines of its turn may still
  // report with it.
  u64 untrusted = pool.untrusted_generations.load(std::memory_order_relaxed) & carried;
  next = NextFreeGeneration(current, carried);
  if (next == 0) {
    next = NextFreeGeneration(current, kNotAGeneration);
    untrusted |= GenerationBit(next);
  }
  // Set before the generation is published: whoever attaches in it sees it.
  pool.untrusted_generations.store(untrusted, std::memory_order_release);
  pool.generations_in_use = carried | GenerationBit(next);
  return next;
}

}  // namespace

void ResetIfRequested() {
  if (RACERT_LIKELY(!pool.reset_requested.load(std::memory_order_relaxed))) return;
  SpinMutexLock pool_lock(&pool.mutex);
  if (!pool.reset_requested.load(std::memory_order_relaxed)) return;
  for (unsigned s = 0; s < kSlotCount; s++) pool.slots[s].mutex.Lock();
  // A new generation makes every existing cell read as empty to goroutines
  // that attach from now on (ChooseNextGenerationLocked: which value).
  pool.generation.store(ChooseNextGenerationLocked(LoadGeneration()), std::memory_order_release);
  // Goroutine clocks are dropped lazily (see GoroutineState::clock_generation);
  // sync clocks can be cleared now: every sync operation holds a slot.
  ResetAllSyncClocks();
  pool.free_count = 0;
  for (unsigned s = 0; s < kSlotCount; s++) {
    Slot& slot = pool.slots[s];
    slot.owner.store(nullptr, std::memory_order_relaxed);  // owners re-attach (and refresh keys) at their next sync
    slot.epoch.store(0, std::memory_order_relaxed);
    slot.owner_since.store(0, std::memory_order_relaxed);
    // Journals keep the older generations' owners: cells of those can still
    // race, also after a shadow clear (JournalEntry).
    slot.accessed_up_to = 0;
    if (s < pool.never_used) pool.free_slots[pool.free_count++] = FreeSlot{static_cast<Sid>(s), 0};
  }
  pool.reset_requested.store(false, std::memory_order_relaxed);
  pool.reset_count.fetch_add(1, std::memory_order_relaxed);
  for (unsigned s = kSlotCount; s > 0; s--) pool.slots[s - 1].mutex.Unlock();
}

bool GenerationIsTrusted(Generation generation) {
  return (pool.untrusted_generations.load(std::memory_order_acquire) & GenerationBit(generation)) == 0;
}

HandOverCounts SlotHandOverCountsForTesting() {
  SpinMutexLock lock(&pool.mutex);
  return pool.hand_overs;
}

void SetMaxEpochForTesting(Epoch max_epoch) { pool.max_epoch = max_epoch; }
u64 ResetCountForTesting() { return pool.reset_count.load(std::memory_order_relaxed); }
u64 ShadowClearCountForTesting() { return pool.shadow_clears.load(std::memory_order_relaxed); }
bool NextResetClearsShadowForTesting() {
  SpinMutexLock lock(&pool.mutex);  // a reset holds it
  return NextFreeGeneration(LoadGeneration(), GenerationsInUse()) == 0;
}
u64 UntrustedGenerationsForTesting() { return pool.untrusted_generations.load(std::memory_order_relaxed); }
Generation CurrentGenerationForTesting() { return LoadGeneration(); }
u32 UnownedSlotCountForTesting() {
  SpinMutexLock lock(&pool.mutex);
  return (kSlotCount - pool.never_used) + pool.free_count;
}

}  // namespace racert
