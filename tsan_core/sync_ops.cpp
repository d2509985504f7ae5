#include "tsan_core/sync_ops.h"

#include "tsan_core/slot_pool.h"
#include "tsan_core/sync_table.h"

namespace racert {
namespace {

enum class Edge { kAcquire, kRelease, kReleaseMerge, kReleaseAcquire, kAcquireRelease };

struct EdgeRequest {
  GoroutineState* g;
  Edge edge;
  bool released;  // whether g's epoch must advance
};

// What g learns about its own slot cannot go into clock[own slot], which is
// g's own epoch: it is knowledge of the slot's earlier owners (see
// GoroutineState::slot_inherited_epoch). Call before joining `source` into g.
void LearnAboutOwnSlot(GoroutineState* g, const SyncClock& source) {
  Epoch seen = source.Get(g->sid);
  if (seen > g->slot_inherited_epoch) g->slot_inherited_epoch = seen;
}

// Whether g already knows everything a clock stamped `stamp` holds, without
// reading the clock: the clock is exactly one release's (sid, epoch), and g
// knows that epoch through the goroutine that made it. If sid's current
// owner started at or before that epoch, every epoch of sid from there on is
// that one goroutine's, so knowing any of them means knowing its clock at the
// release (a goroutine's clock only grows). If the slot changed hands since,
// g's entry may come from the later owner: no shortcut. Nor across a reset:
// g's clock and the stamp must be of one generation, and so must the owner's
// first epoch it is compared with.
bool AlreadyKnows(const GoroutineState* g, ReleaseStamp stamp) {
  if (!stamp.names_a_release() || stamp.generation != g->clock_generation) return false;
  return g->clock.Get(stamp.sid) >= stamp.epoch && SlotOwnedSince(stamp.sid, stamp.generation, stamp.epoch);
}

// The stamp of a clock that is now exactly g's (before its epoch advances).
// g holds its slot, so its clock is of the current generation.
ReleaseStamp StampOf(const GoroutineState* g) { return ReleaseStamp{g->sid, g->clock_generation, g->epoch}; }

// S = T for a sync clock that g's clock is being released to. When S's stamp
// names g's own release at an epoch from clock_joined_at on, S is g's clock
// at that release (a stamp is replaced whenever S changes) and g's clock has
// changed since only in g's own entry (AdvanceEpoch): then only that entry is
// copied. A goroutine releasing repeatedly with no acquire in between that
// taught it anything (a mutex's Unlock and the atomic on its state word, an
// atomic counter added to in a loop) copies 4 bytes instead of up to 1 KiB.
void ReleaseInto(GoroutineState* g, SyncVar* var) {
  ReleaseStamp stamp = var->stamp();
  if (stamp.names_a_release() && stamp.sid == g->sid && stamp.generation == g->clock_generation &&
      stamp.epoch >= g->clock_joined_at) {
    var->clock.CopyEntry(g->clock, g->sid);
  } else {
    var->clock.CopyFrom(g->clock);
  }
}

// g's clock gained entries besides its own: releases from g's current epoch
// on carry them (or, with `after_this_release`, from its next epoch on: the
// join of a release-acquire comes after the copy it releases).
void NoteClockJoined(GoroutineState* g, bool after_this_release = false) {
  g->clock_joined_at = g->epoch + (after_this_release ? 1 : 0);
}

void ApplyEdge(SyncVar* var, void* arg) {
  EdgeRequest* request = static_cast<EdgeRequest*>(arg);
  if (!var) return;  // acquiring where nothing was released
  GoroutineState* g = request->g;
  VectorClock& mine = g->clock;
  SyncClock& sync = var->clock;
  // Acquires of a clock g already has (a mutex relocked by its last holder,
  // an RWMutex's reader side while no writer came, an atomic loaded again)
  // are the common case: skip their 1 KiB joins.
  bool known = AlreadyKnows(g, var->stamp());
  switch (request->edge) {
    case Edge::kAcquire:
      if (known) break;
      LearnAboutOwnSlot(g, sync);
      sync.JoinInto(&mine);
      NoteClockJoined(g);
      break;
    case Edge::kRelease:
      ReleaseInto(g, var);
      var->set_stamp(StampOf(g));
      request->released = true;
      break;
    case Edge::kReleaseMerge:
      // max(S, T) is T itself when T already holds S.
      if (known) {
        ReleaseInto(g, var);
        var->set_stamp(StampOf(g));
      } else {
        sync.Join(mine);
        var->set_stamp(ReleaseStamp{});
      }
      request->released = true;
      break;
    case Edge::kReleaseAcquire:
    case Edge::kAcquireRelease:
      // With nothing to learn both are a release. Otherwise release-acquire
      // leaves S the old T and g's join takes effect after this release;
      // acquire-release leaves S = T = the join.
      if (known) {
        ReleaseInto(g, var);
      } else {
        LearnAboutOwnSlot(g, sync);
        bool swap = request->edge == Edge::kReleaseAcquire;
        if (swap) {
          sync.SwapJoin(&mine);
        } else {
          sync.JoinBoth(&mine);
        }
        NoteClockJoined(g, /*after_this_release=*/swap);
      }
      var->set_stamp(StampOf(g));  // S is g's clock at this release either way
      request->released = true;
      break;
  }
}

void Synchronize(GoroutineState* g, uptr addr, Edge edge) {
  if (IgnoringSync(g)) return;
  LockOwnSlot(g);
  EdgeRequest request{g, edge, false};
  // Acquires never create a sync object.
  WithSyncVar(addr, /*create=*/edge != Edge::kAcquire, ApplyEdge, &request);
  if (request.released) AdvanceEpoch(g);
  UnlockOwnSlot(g);
  ResetIfRequested();
}

struct AtomicRequest {
  EdgeRequest edge;
  AtomicSemantics semantics;
  bool (*operation)(void*);
  void* operation_arg;
  bool succeeded;
};

void ApplyAtomic(SyncVar* var, void* arg) {
  AtomicRequest* request = static_cast<AtomicRequest*>(arg);
  request->succeeded = request->operation(request->operation_arg);
  switch (request->semantics) {
    case AtomicSemantics::kLoad:
      request->edge.edge = Edge::kAcquire;
      break;
    case AtomicSemantics::kStore:
      request->edge.edge = Edge::kRelease;
      break;
    case AtomicSemantics::kReadModifyWrite:
      request->edge.edge = Edge::kAcquireRelease;
      break;
    case AtomicSemantics::kCompareExchange:
      request->edge.edge = request->succeeded ? Edge::kAcquireRelease : Edge::kAcquire;
      break;
  }
  ApplyEdge(var, &request->edge);
}

}  // namespace

bool AtomicSynchronize(GoroutineState* g, uptr addr, AtomicSemantics semantics, bool (*operation)(void*), void* arg,
                       u64* key_before_release) {
  if (IgnoringSync(g)) {
    *key_before_release = g->atomic_key;
    return operation(arg);
  }
  if (semantics == AtomicSemantics::kLoad) {
    // A load whose acquire changes nothing, argued as for
    // AcquireChangesNothing (below); the value and the stamp are from one
    // moment (PeekReleaseStamp), so the value read is one whose release g
    // already knows, and the locked path run at that moment would do the
    // same. Otherwise the load runs again under the lock.
    bool loaded = false;
    ReleaseStamp stamp;
    StampPeek peek = PeekReleaseStamp(addr, &stamp, operation, arg, &loaded);
    if (peek == StampPeek::kNone || (peek == StampPeek::kFound && AlreadyKnows(g, stamp))) {
      *key_before_release = g->atomic_key;
      return loaded;
    }
  }
  LockOwnSlot(g);
  *key_before_release = g->atomic_key;
  AtomicRequest request{{g, Edge::kAcquire, false}, semantics, operation, arg, false};
  // A load never creates a sync object; everything else may release, and
  // may write the variable.
  bool writes = semantics != AtomicSemantics::kLoad;
  WithSyncVar(addr, /*create=*/writes, ApplyAtomic, &request, /*writes_memory=*/writes);
  if (request.edge.released) AdvanceEpoch(g);
  UnlockOwnSlot(g);
  ResetIfRequested();
  return request.succeeded;
}

namespace {

// An acquire whose sync object holds nothing g does not know (no release
// there yet, or a stamped clock g already knows) changes nothing: not g's
// clock, nor its epoch, key or slot. Such an acquire is decided from the
// stamp alone, read without any lock (PeekReleaseStamp); the locked path would
// decide the same had it run at the moment the stamp was read, which lies
// within this call. Every release the program ordered before this acquire
// had finished before the call (its bucket unlocked), so it is seen; a
// release still in progress is concurrent with the acquire and may as well
// come after it. Skipping the slot lock skips three things that only matter
// for an acquire that changes g's clock: publishing accumulated bytes (their
// check uses g's clock, which stays as it was), noticing a taken slot (g
// keeps its old key until its next synchronization, as it would until this
// one) and a pending reset (the next synchronization runs it). A reset in
// between is caught by the generations AlreadyKnows compares.
bool AcquireChangesNothing(const GoroutineState* g, uptr addr) {
  ReleaseStamp stamp;
  switch (PeekReleaseStamp(addr, &stamp)) {
    case StampPeek::kNone:
      return true;
    case StampPeek::kFound:
      return AlreadyKnows(g, stamp);
    case StampPeek::kBusy:
      return false;
  }
  return false;
}

}  // namespace

void Acquire(GoroutineState* g, uptr addr) {
  if (IgnoringSync(g) || AcquireChangesNothing(g, addr)) return;
  Synchronize(g, addr, Edge::kAcquire);
}
void Release(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kRelease); }
void ReleaseMerge(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kReleaseMerge); }
void ReleaseAcquire(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kReleaseAcquire); }

void AcquireEverything(GoroutineState* g) {
  if (IgnoringSync(g)) return;
  LockOwnSlot(g);
  AcquireAllSlots(g);
  UnlockOwnSlot(g);
  ResetIfRequested();
}

}  // namespace racert
