// A random concurrent program for the core stress test: goroutines (one OS
// thread each) that access a few words, lock mutexes, release and acquire on
// channel-like sync objects, use atomics, and start and join goroutines.
//
// A program is data, generated from one seed, so a failing program can be
// run again by its seed; the schedule it gets is the OS's and differs from
// run to run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace racert::stress {

enum class OpKind : uint8_t {
  kRead,            // plain access of `size` bytes at `offset` (1 byte: __tsan_read, else a range)
  kWrite,
  kAtomicLoad,      // `size` 4 or 8, aligned, at `offset`
  kAtomicStore,
  kAtomicAdd,
  kAtomicCas,       // succeeds or fails as the value happens to be
  kLock,            // mutex `object`
  kUnlock,
  kRelease,         // on channel-like sync object `object`: S = T
  kReleaseMerge,    // S = max(S, T)
  kAcquire,         // T = max(T, S)
  kReleaseAcquire,  // T = max(T, S), S = the old T
  kSpawn,           // start goroutine `object`
  kJoin,            // wait until goroutine `object` ended, then acquire its end
  kPause,           // spin or yield, to vary the interleaving
};

struct Op {
  OpKind kind;
  // Sync ops only: run inside an ignore-sync region (Go's race.Disable), so
  // the core must make no edge.
  bool ignored = false;
  uint32_t object = 0;  // mutex, channel or goroutine index; pause length
  uint32_t offset = 0;  // byte offset of a data access in the program's data
  uint32_t size = 0;    // bytes of a data access
};

struct GoroutineProgram {
  int parent = -1;  // -1: the program's root, started by the driver
  std::vector<Op> ops;
};

struct Program {
  uint64_t seed = 0;
  uint32_t data_words = 0;  // the data: data_words 8-byte words
  uint32_t mutexes = 0;
  uint32_t channels = 0;
  std::vector<GoroutineProgram> goroutines;  // [0] is the root

  size_t OpCount() const;
};

struct GeneratorLimits {
  uint32_t max_goroutines = 12;
  uint32_t max_ops = 30;  // per goroutine, pauses not counted
  // Joins only after a goroutine's last spawn, so every goroutine of the
  // program can start before any has to end (with Execute's hold_ms).
  bool late_joins = false;
};

Program GenerateProgram(uint64_t seed, const GeneratorLimits& limits);

// One line per op, for a failing program's printout.
std::string DescribeProgram(const Program& program);
const char* OpName(OpKind kind);
bool IsDataAccess(OpKind kind);
bool IsAtomic(OpKind kind);

}  // namespace racert::stress
