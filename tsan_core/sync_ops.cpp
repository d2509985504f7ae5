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
void LearnAboutOwnSlot(GoroutineState* g, const VectorClock& source) {
  Epoch seen = source.Get(static_cast<Sid>(g->sid));
  if (seen > g->slot_inherited_epoch) g->slot_inherited_epoch = seen;
}

void ApplyEdge(SyncVar* var, void* arg) {
  EdgeRequest* request = static_cast<EdgeRequest*>(arg);
  if (!var) return;  // acquiring where nothing was released
  GoroutineState* g = request->g;
  VectorClock& mine = g->clock;
  VectorClock& sync = var->clock;
  switch (request->edge) {
    case Edge::kAcquire:
      LearnAboutOwnSlot(g, sync);
      mine.Join(sync);
      break;
    case Edge::kRelease:
      sync.CopyFrom(mine);
      request->released = true;
      break;
    case Edge::kReleaseMerge:
      sync.Join(mine);
      request->released = true;
      break;
    case Edge::kReleaseAcquire:
      LearnAboutOwnSlot(g, sync);
      sync.SwapJoin(&mine);
      request->released = true;
      break;
    case Edge::kAcquireRelease:
      LearnAboutOwnSlot(g, sync);
      mine.Join(sync);
      sync.CopyFrom(mine);
      request->released = true;
      break;
  }
}

void Synchronize(GoroutineState* g, uptr addr, Edge edge) {
  if (g->ignore_sync_depth > 0) return;
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

bool AtomicSynchronize(GoroutineState* g, uptr addr, AtomicSemantics semantics, bool (*operation)(void*), void* arg) {
  if (g->ignore_sync_depth > 0) return operation(arg);
  LockOwnSlot(g);
  AtomicRequest request{{g, Edge::kAcquire, false}, semantics, operation, arg, false};
  // A load never creates a sync object; everything else may release.
  WithSyncVar(addr, /*create=*/semantics != AtomicSemantics::kLoad, ApplyAtomic, &request);
  if (request.edge.released) AdvanceEpoch(g);
  UnlockOwnSlot(g);
  ResetIfRequested();
  return request.succeeded;
}

void Acquire(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kAcquire); }
void Release(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kRelease); }
void ReleaseMerge(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kReleaseMerge); }
void ReleaseAcquire(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kReleaseAcquire); }
void AcquireRelease(GoroutineState* g, uptr addr) { Synchronize(g, addr, Edge::kAcquireRelease); }

void AcquireEverything(GoroutineState* g) {
  if (g->ignore_sync_depth > 0) return;
  LockOwnSlot(g);
  AcquireAllSlots(g);
  UnlockOwnSlot(g);
  ResetIfRequested();
}

}  // namespace racert
