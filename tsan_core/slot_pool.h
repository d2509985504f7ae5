// Slots: the bounded set of identities (0..255) that goroutines stamp their
// accesses with, and the epochs issued on each.
//
// A goroutine holds a slot while it runs; with more than kSlotCount live
// goroutines, slots are taken from other goroutines in round robin, and the
// loser attaches to a new slot at its next synchronization. A new owner
// continues the slot's epoch sequence. The owner itself tells its own cells
// from earlier and later owners' by epoch range (GoroutineState), so it never
// mistakes their accesses for its own. A goroutine that synchronizes with
// the new owner learns "slot s up to epoch x", which also covers the earlier
// owners' epochs. That is true when the new owner knew every access recorded
// under the slot before it attached (an exact hand-over), and the pool
// prefers such a freed slot. Otherwise (no such slot free, or a slot taken
// from a live owner) races between that goroutine and an earlier owner of s
// can be missed, never invented; never-used slots, then freed ones oldest
// first, come before that (docs/design-slot-identity.md).
// Each slot keeps a journal of its owners, so a cell (sid, epoch) can be
// traced back to the goroutine that made it.
//
// Epoch overflow (after max_epoch releases on one slot) triggers a reset: the
// generation changes, so older cells read as empty to goroutines of the new
// generation; sync clocks are cleared; each goroutine drops its own clock when
// it next attaches (until then it keeps checking old cells with its old,
// consistent clock). Races that straddle a reset are missed; nothing is
// reported falsely. The 6-bit generation takes a value again only when no
// shadow cell and no live goroutine carries it; all shadow is cleared when
// no such value is left (ResetIfRequested in slot_pool.cpp).
//
// Locking: a goroutine performs every synchronization operation that changes
// its clock holding its own slot's mutex (LockOwnSlot); an acquire that
// changes nothing takes no lock (sync_ops.cpp). Order: pool mutex -> slot mutex -> sync
// table bucket. A reset takes the pool mutex and every slot mutex, and then
// the goroutine registry's lock (a leaf) to see what live goroutines carry.
#pragma once

#include <atomic>

#include "base/spin_mutex.h"
#include "base/types.h"
#include "shadow/access_identity.h"
#include "tsan_core/goroutine.h"

namespace racert {

struct SlotOwnerRecord {
  u64 goroutine_number;
  u32 creation_stack;
};

// Attaches `g` to a slot if it has none (or lost it) and returns with that
// slot's mutex held. Every sync operation on g's clock runs between
// LockOwnSlot and UnlockOwnSlot.
void LockOwnSlot(GoroutineState* g);
void UnlockOwnSlot(GoroutineState* g);

// Starts a new epoch for g (after a release, so later accesses are not covered
// by what was released). Requires g's slot to be locked.
void AdvanceEpoch(GoroutineState* g);

// Called once when g ends: gives its slot back.
void DetachSlot(GoroutineState* g);

// The current epoch of every slot, for "acquire everything" (finalizers).
// Requires g's slot to be locked.
void AcquireAllSlots(GoroutineState* g);

// Whether sid's current owner started at or before `epoch` of reset
// generation `generation`: then epochs of sid from `epoch` on are all that
// one goroutine's. Read without the slot's lock (the owner's first epoch
// only grows within a generation), so it may be stale by one hand-over; the
// generation is read in the same load, so an answer is never about an
// owner of another generation.
bool SlotOwnedSince(Sid sid, Generation generation, Epoch epoch);

// Who owned `sid` at `epoch` of reset generation `generation`; false if the
// journal no longer remembers.
bool FindSlotOwner(Sid sid, Epoch epoch, Generation generation, SlotOwnerRecord* out);

// Recomputes g's cached cell keys from its slot, epoch and the generation.
void RefreshKeys(GoroutineState* g);

// Performs a pending reset, if an epoch overflowed. Must be called with no
// slot held; sync operations call it after UnlockOwnSlot.
void ResetIfRequested();

// Whether a race between accesses of reset generation `generation` can be
// reported. False only for a value that became current again while live
// goroutines still carried it from an earlier turn (it happens only when
// they carry every value: goroutines that have not synchronized across that
// many resets), until a shadow clear finds no goroutine carrying it: such a
// race may compare a cell and a clock of different turns. Cells are only
// ever compared with an access of their own generation.
bool GenerationIsTrusted(Generation generation);

// For tests only (no runtime code calls these).
// Lowers the epoch limit so the reset path can be exercised.
void SetMaxEpochForTesting(Epoch max_epoch);
// Resets so far, and the current reset generation.
u64 ResetCountForTesting();
Generation CurrentGenerationForTesting();
// Resets so far that cleared all shadow, and whether the next one will
// (no generation value is left that nothing carries).
u64 ShadowClearCountForTesting();
bool NextResetClearsShadowForTesting();
// The values GenerationIsTrusted refuses, one bit per value.
u64 UntrustedGenerationsForTesting();
// Slots a new goroutine would get without taking one from a live owner
// (never-used and freed ones), whatever earlier tests in the process did.
u32 UnownedSlotCountForTesting();
// How goroutines got their slots so far (see ChooseSlotLocked in
// slot_pool.cpp). `unknown_reuse` and `steal` are the hand-overs after which
// races with the slot's earlier owners can be missed.
struct HandOverCounts {
  u64 exact;          // a freed slot whose every recorded access the new owner knew
  u64 fresh;          // a never-used slot
  u64 unknown_reuse;  // a freed slot with accesses the new owner did not know
  u64 steal;          // taken from a live owner
};
HandOverCounts SlotHandOverCountsForTesting();

}  // namespace racert
