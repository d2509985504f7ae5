#include "tests/stress/stress_exec.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "base/types.h"
#include "tsan_core/goroutine.h"

extern "C" {
void __tsan_go_start(void* parent, void** thr, void* pc);
void __tsan_go_end(void* thr);
void __tsan_read(void* thr, racert::uptr addr, racert::uptr pc);
void __tsan_write(void* thr, racert::uptr addr, racert::uptr pc);
void __tsan_read_range(void* thr, racert::uptr addr, racert::uptr size, racert::uptr pc);
void __tsan_write_range(void* thr, racert::uptr addr, racert::uptr size, racert::uptr pc);
void __tsan_acquire(void* thr, void* addr);
void __tsan_release(void* thr, void* addr);
void __tsan_release_merge(void* thr, void* addr);
void __tsan_release_acquire(void* thr, void* addr);
void __tsan_go_ignore_sync_begin(void* thr);
void __tsan_go_ignore_sync_end(void* thr);
#define RACERT_STRESS_ATOMIC(width)                                                                 \
  void __tsan_go_atomic##width##_load(void*, racert::uptr, racert::uptr, racert::u8*);             \
  void __tsan_go_atomic##width##_store(void*, racert::uptr, racert::uptr, racert::u8*);            \
  void __tsan_go_atomic##width##_fetch_add(void*, racert::uptr, racert::uptr, racert::u8*);        \
  void __tsan_go_atomic##width##_compare_exchange(void*, racert::uptr, racert::uptr, racert::u8*);
RACERT_STRESS_ATOMIC(32)
RACERT_STRESS_ATOMIC(64)
#undef RACERT_STRESS_ATOMIC
}

namespace racert::stress {

namespace {
constexpr uint64_t kPcBase = 0x500000;
}

uint64_t OpPc(uint32_t goroutine, uint32_t op) { return kPcBase + (uint64_t{goroutine} << 16) + (uint64_t{op} << 4) + 0x10; }

bool PcToOp(uint64_t pc, uint32_t* goroutine, uint32_t* op) {
  if (pc < kPcBase + 0x10 || ((pc - kPcBase - 0x10) & 0xf)) return false;
  uint64_t rel = pc - kPcBase - 0x10;
  *goroutine = static_cast<uint32_t>(rel >> 16);
  *op = static_cast<uint32_t>((rel & 0xffff) >> 4);
  return true;
}

namespace {

// Shared state of one execution. Each sync object has a mutex the stress
// holds around the core call and the sequence number, so the numbers order
// the core's operations on that object as the core saw them.
struct Execution {
  const Program& program;
  const Arena& arena;
  std::atomic<uint64_t> next_seq{1};
  std::unique_ptr<std::mutex[]> mutexes;        // the program's mutexes themselves
  std::unique_ptr<std::mutex[]> channel_locks;  // one per channel-like object
  std::unique_ptr<std::mutex[]> atomic_locks;   // one per 4-byte atomic address
  std::vector<void*> thr;                       // GoroutineState* per goroutine
  std::vector<std::thread> threads;
  std::vector<bool> joined_by_parent;           // the parent has a join op for it
  std::atomic<size_t> finished{0};              // goroutines past their last step
  std::atomic<size_t> started{0};               // goroutines started so far
  uint32_t hold_ms = 0;
  ExecutionLog log;

  Execution(const Program& p, const Arena& a)
      : program(p),
        arena(a),
        mutexes(new std::mutex[p.mutexes]),
        channel_locks(new std::mutex[p.channels]),
        atomic_locks(new std::mutex[p.data_words * 2]),
        thr(p.goroutines.size()),
        threads(p.goroutines.size()),
        joined_by_parent(p.goroutines.size()),
        log{std::vector<GoroutineLog>(p.goroutines.size())} {
    for (const GoroutineProgram& g : p.goroutines) {
      for (const Op& op : g.ops) {
        if (op.kind == OpKind::kJoin) joined_by_parent[op.object] = true;
      }
    }
  }

  uint64_t Seq() { return next_seq.fetch_add(1, std::memory_order_relaxed); }
};

void RunGoroutine(Execution* ex, uint32_t g);

void Pause(uint32_t length) {
  if (length < 8) {
    sched_yield();
    return;
  }
  for (uint32_t i = 0; i < length * 16; i++) asm volatile("" ::: "memory");
}

void PlainAccess(void* thr, const Op& op, uint64_t addr, uint64_t pc) {
  bool write = op.kind == OpKind::kWrite;
  if (op.size == 1) {
    (write ? __tsan_write : __tsan_read)(thr, addr, pc);
  } else {
    (write ? __tsan_write_range : __tsan_read_range)(thr, addr, op.size, pc);
  }
}

// One atomic op through Go's entry points: the frame holds the address,
// then the inputs, then the results (go_api/go_abi.h).
template <typename T>
bool AtomicCall(void* thr, OpKind kind, uint64_t addr, uint64_t pc) {
  alignas(8) u8 frame[32] = {};
  *reinterpret_cast<T**>(frame) = reinterpret_cast<T*>(addr);
  constexpr bool k64 = sizeof(T) == 8;
  uptr cpc = pc + 8;
  switch (kind) {
    case OpKind::kAtomicLoad:
      (k64 ? __tsan_go_atomic64_load : __tsan_go_atomic32_load)(thr, cpc, pc, frame);
      return false;
    case OpKind::kAtomicStore:
      *reinterpret_cast<T*>(frame + 8) = static_cast<T>(pc);
      (k64 ? __tsan_go_atomic64_store : __tsan_go_atomic32_store)(thr, cpc, pc, frame);
      return true;
    case OpKind::kAtomicAdd:
      *reinterpret_cast<T*>(frame + 8) = 1;
      (k64 ? __tsan_go_atomic64_fetch_add : __tsan_go_atomic32_fetch_add)(thr, cpc, pc, frame);
      return true;
    default: {
      // Expect the current value half of the time, so both outcomes happen.
      T now = __atomic_load_n(reinterpret_cast<T*>(addr), __ATOMIC_SEQ_CST);
      *reinterpret_cast<T*>(frame + 8) = (pc & 0x20) ? now : static_cast<T>(now + 1);
      *reinterpret_cast<T*>(frame + 8 + sizeof(T)) = static_cast<T>(now + 7);
      (k64 ? __tsan_go_atomic64_compare_exchange : __tsan_go_atomic32_compare_exchange)(thr, cpc, pc, frame);
      return frame[k64 ? 24 : 16] != 0;
    }
  }
}

void RunAtomic(Execution* ex, uint32_t g, const Op& op, Event* event) {
  uint64_t addr = ex->arena.DataAddr(op.offset);
  uint64_t pc = OpPc(g, event->op_index);
  std::lock_guard<std::mutex> lock(ex->atomic_locks[op.offset / 4]);
  event->seq = ex->Seq();
  event->sync_addr = addr;
  event->succeeded = op.size == 8 ? AtomicCall<u64>(ex->thr[g], op.kind, addr, pc)
                                  : AtomicCall<u32>(ex->thr[g], op.kind, addr, pc);
}

void ChannelCall(void* thr, OpKind kind, void* addr) {
  switch (kind) {
    case OpKind::kRelease: __tsan_release(thr, addr); break;
    case OpKind::kReleaseMerge: __tsan_release_merge(thr, addr); break;
    case OpKind::kAcquire: __tsan_acquire(thr, addr); break;
    default: __tsan_release_acquire(thr, addr); break;
  }
}

void RunChannelOp(Execution* ex, uint32_t g, const Op& op, Event* event) {
  void* thr = ex->thr[g];
  event->sync_addr = ex->arena.ChannelAddr(op.object);
  std::lock_guard<std::mutex> lock(ex->channel_locks[op.object]);
  event->seq = ex->Seq();
  if (op.ignored) __tsan_go_ignore_sync_begin(thr);
  ChannelCall(thr, op.kind, reinterpret_cast<void*>(event->sync_addr));
  if (op.ignored) __tsan_go_ignore_sync_end(thr);
}

// Go's sync.Mutex: acquire once the lock is held, release before letting go.
void RunMutexOp(Execution* ex, uint32_t g, const Op& op, Event* event) {
  void* addr = reinterpret_cast<void*>(ex->arena.MutexAddr(op.object));
  event->sync_addr = ex->arena.MutexAddr(op.object);
  if (op.kind == OpKind::kLock) {
    ex->mutexes[op.object].lock();
    event->seq = ex->Seq();
    __tsan_acquire(ex->thr[g], addr);
  } else {
    event->seq = ex->Seq();
    __tsan_release(ex->thr[g], addr);
    ex->mutexes[op.object].unlock();
  }
}

void RunSpawn(Execution* ex, uint32_t g, const Op& op, Event* event) {
  uint32_t child = op.object;
  event->seq = ex->Seq();  // before the child exists, so before all of its events
  void* child_thr = nullptr;
  __tsan_go_start(ex->thr[g], &child_thr, reinterpret_cast<void*>(OpPc(g, event->op_index)));
  ex->thr[child] = child_thr;
  ex->log.goroutines[child].number = static_cast<GoroutineState*>(child_thr)->number;
  ex->started.fetch_add(1, std::memory_order_relaxed);
  ex->threads[child] = std::thread(RunGoroutine, ex, child);
}

// Go's WaitGroup.Wait after the child's Done: the wait is real (the thread
// ended), the edge is an acquire of what the child released at its end.
void RunJoin(Execution* ex, uint32_t g, const Op& op, Event* event) {
  ex->threads[op.object].join();
  event->sync_addr = ex->arena.EndAddr(op.object);
  event->seq = ex->Seq();
  __tsan_acquire(ex->thr[g], reinterpret_cast<void*>(event->sync_addr));
}

void RunOp(Execution* ex, uint32_t g, const Op& op, Event* event) {
  switch (op.kind) {
    case OpKind::kRead:
    case OpKind::kWrite:
      PlainAccess(ex->thr[g], op, ex->arena.DataAddr(op.offset), OpPc(g, event->op_index));
      break;
    case OpKind::kAtomicLoad:
    case OpKind::kAtomicStore:
    case OpKind::kAtomicAdd:
    case OpKind::kAtomicCas: RunAtomic(ex, g, op, event); break;
    case OpKind::kLock:
    case OpKind::kUnlock: RunMutexOp(ex, g, op, event); break;
    case OpKind::kRelease:
    case OpKind::kReleaseMerge:
    case OpKind::kAcquire:
    case OpKind::kReleaseAcquire: RunChannelOp(ex, g, op, event); break;
    case OpKind::kSpawn: RunSpawn(ex, g, op, event); break;
    case OpKind::kJoin: RunJoin(ex, g, op, event); break;
    case OpKind::kPause: Pause(op.object); break;
  }
}

// Real time only: the core is not told, so no edge comes of it.
void HoldUntilAllStarted(Execution* ex) {
  if (!ex->hold_ms) return;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ex->hold_ms);
  while (ex->started.load(std::memory_order_relaxed) < ex->threads.size() &&
         std::chrono::steady_clock::now() < until) {
    sched_yield();
  }
}

void RunGoroutine(Execution* ex, uint32_t g) {
  const std::vector<Op>& ops = ex->program.goroutines[g].ops;
  std::vector<Event>& events = ex->log.goroutines[g].events;
  events.reserve(ops.size() + 1);
  for (uint32_t i = 0; i < ops.size(); i++) {
    Event event{ops[i].kind, ops[i].ignored};
    event.op_index = i;
    RunOp(ex, g, ops[i], &event);
    if (ops[i].kind != OpKind::kPause) events.push_back(event);
  }
  HoldUntilAllStarted(ex);
  // Go's WaitGroup.Done: a merging release on the goroutine's end object.
  Event end{OpKind::kReleaseMerge};
  end.is_end = true;
  end.sync_addr = ex->arena.EndAddr(g);
  end.seq = ex->Seq();
  __tsan_release_merge(ex->thr[g], reinterpret_cast<void*>(end.sync_addr));
  events.push_back(end);
  __tsan_go_end(ex->thr[g]);
  ex->finished.fetch_add(1, std::memory_order_release);
}

}  // namespace

ExecutionLog Execute(const Program& program, void* driver, const Arena& arena, uint32_t hold_ms) {
  Execution ex(program, arena);
  ex.hold_ms = hold_ms;
  ex.started = 1;  // the root
  void* root = nullptr;
  __tsan_go_start(driver, &root, reinterpret_cast<void*>(OpPc(0, 0xfff)));
  ex.thr[0] = root;
  ex.log.goroutines[0].number = static_cast<GoroutineState*>(root)->number;
  ex.threads[0] = std::thread(RunGoroutine, &ex, 0u);
  // Every thread object is stored by its parent before the parent finishes;
  // once all have finished, join those no parent joins.
  while (ex.finished.load(std::memory_order_acquire) < ex.threads.size()) sched_yield();
  for (size_t g = 0; g < ex.threads.size(); g++) {
    if (!ex.joined_by_parent[g]) ex.threads[g].join();
  }
  return std::move(ex.log);
}

}  // namespace racert::stress
