// Runs a stress program against the core through its C entry points (the
// calls Go's runtime makes), one OS thread per goroutine, and records what
// happened: each goroutine's events in program order, and for every
// synchronizing event a global sequence number taken under the sync object's
// own lock (the lock the stress holds around the core call), so the order of
// operations on each sync object is known exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "tests/stress/stress_program.h"

namespace racert::stress {

struct Event {
  OpKind kind;
  bool ignored = false;    // sync op inside an ignore-sync region
  bool succeeded = false;  // compare-and-swap result
  bool is_end = false;     // the goroutine's final release on its end object
  uint32_t op_index = 0;   // index in the goroutine's ops (unset for the end event)
  uint64_t seq = 0;        // global order of synchronizing events; 0 for plain accesses
  uint64_t sync_addr = 0;  // the sync object the event operates on
};

struct GoroutineLog {
  uint64_t number = 0;  // the core's report number for this goroutine
  std::vector<Event> events;
};

struct ExecutionLog {
  std::vector<GoroutineLog> goroutines;
};

// Where a program's memory lives: data words first, then sync objects. All of
// it is real memory inside the shadowed range, so atomics can run on it.
struct Arena {
  uint64_t base;
  uint64_t size;
  uint64_t DataAddr(uint32_t offset) const { return base + offset; }
  uint64_t MutexAddr(uint32_t i) const { return base + 1024 + 8 * i; }
  uint64_t ChannelAddr(uint32_t i) const { return base + 2048 + 8 * i; }
  uint64_t EndAddr(uint32_t goroutine) const { return base + 4096 + 8 * goroutine; }
};
constexpr uint32_t kMaxGoroutines = 500;
constexpr uint64_t kArenaSize = 4096 + 8 * kMaxGoroutines;

// The pc the stress passes for op `op` of goroutine `goroutine`, and back.
uint64_t OpPc(uint32_t goroutine, uint32_t op);
bool PcToOp(uint64_t pc, uint32_t* goroutine, uint32_t* op);

// Runs `program` with its root started by `driver` (a GoroutineState*) and
// returns when every goroutine has ended. Memory: `arena`, which the caller
// frees in the core afterwards. With hold_ms > 0, a goroutine done with its
// steps waits, for at most that long and without telling the core, until
// every goroutine of the program has started: then nearly all are alive at
// once, and programs of more than 256 goroutines make the core take slots
// from live goroutines.
ExecutionLog Execute(const Program& program, void* driver, const Arena& arena, uint32_t hold_ms);

}  // namespace racert::stress
