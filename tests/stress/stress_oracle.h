// The ground truth of one execution: vector clocks computed offline from the
// recorded order of synchronizing events, with exactly the detector's
// semantics (Go's race model as the core implements it):
//   goroutine start  the child starts with the parent's clock
//   acquire          T = max(T, S)
//   release          S = T
//   release-merge    S = max(S, T)
//   release-acquire  T' = max(T, S), S = T (the old T)
//   mutex            lock acquires, unlock releases
//   atomics          load acquires; store releases (S = T); add and a
//                    successful compare-and-swap acquire and release-merge;
//                    a failed one acquires. The access sits between the two
//                    halves. A compare-and-swap counts as a write either way.
//   ignore-sync      the op makes no edge
// and every release starts a new epoch of its goroutine. Two accesses race
// when they share a byte, one writes, not both are atomic, and neither
// happens before the other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/stress/stress_exec.h"
#include "tests/stress/stress_program.h"

namespace racert::stress {

// One access's part in one 8-byte word.
struct WordAccess {
  uint32_t goroutine;
  uint32_t op_index;
  uint32_t word;     // index in the program's data
  uint8_t mask;      // bytes of the word it touches
  bool multi_word;   // the access touches other words too
  bool is_write;
  bool is_atomic;
  uint32_t clock;    // index of its clock snapshot in Truth::clocks
};

struct Truth {
  std::vector<std::vector<uint32_t>> clocks;  // vector clocks, one entry per goroutine
  std::vector<std::vector<WordAccess>> words;  // accesses per data word, program order per goroutine
  std::vector<uint32_t> racy_pairs_per_word;
  uint64_t racy_pairs = 0;
  uint64_t sync_events = 0;

  bool HappensBefore(const WordAccess& a, const WordAccess& b) const;
  bool Race(const WordAccess& a, const WordAccess& b) const;
};

Truth ComputeTruth(const Program& program, const ExecutionLog& log);

}  // namespace racert::stress
