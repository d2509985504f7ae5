#include "tests/stress/stress_program.h"

#include <cstdio>
#include <deque>

#include "tests/stress/stress_random.h"

namespace racert::stress {

size_t Program::OpCount() const {
  size_t n = 0;
  for (const GoroutineProgram& g : goroutines) n += g.ops.size();
  return n;
}

const char* OpName(OpKind kind) {
  switch (kind) {
    case OpKind::kRead: return "read";
    case OpKind::kWrite: return "write";
    case OpKind::kAtomicLoad: return "atomic-load";
    case OpKind::kAtomicStore: return "atomic-store";
    case OpKind::kAtomicAdd: return "atomic-add";
    case OpKind::kAtomicCas: return "atomic-cas";
    case OpKind::kLock: return "lock";
    case OpKind::kUnlock: return "unlock";
    case OpKind::kRelease: return "release";
    case OpKind::kReleaseMerge: return "release-merge";
    case OpKind::kAcquire: return "acquire";
    case OpKind::kReleaseAcquire: return "release-acquire";
    case OpKind::kSpawn: return "spawn";
    case OpKind::kJoin: return "join";
    case OpKind::kPause: return "pause";
  }
  return "?";
}

bool IsAtomic(OpKind kind) {
  return kind == OpKind::kAtomicLoad || kind == OpKind::kAtomicStore || kind == OpKind::kAtomicAdd ||
         kind == OpKind::kAtomicCas;
}

bool IsDataAccess(OpKind kind) { return kind == OpKind::kRead || kind == OpKind::kWrite || IsAtomic(kind); }

namespace {

// Builds one program: goroutine bodies are generated breadth first, each
// child when its parent's body is done, so spawn indices are known.
class Generator {
 public:
  Generator(uint64_t seed, const GeneratorLimits& limits) : rng_(seed), limits_(limits) {
    program_.seed = seed;
    // Few words and objects, so that accesses collide and sync objects are shared.
    program_.data_words = 1 + rng_.Below(4);
    program_.mutexes = 1 + rng_.Below(3);
    program_.channels = 1 + rng_.Below(3);
    max_goroutines_ = 1 + rng_.Below(limits.max_goroutines);
  }

  Program Run() {
    // One program in eight is a lookup table read by a crowd (LookupCrowd).
    if (max_goroutines_ >= 9 && rng_.Below(8) == 0) return LookupCrowd();
    program_.goroutines.push_back(GoroutineProgram{});
    std::deque<int> pending{0};
    while (!pending.empty()) {
      int g = pending.front();
      pending.pop_front();
      for (int child : Body(g)) pending.push_back(child);
    }
    return program_;
  }

 private:
  Op DataAccess() {
    uint32_t bytes = program_.data_words * 8;
    Op op{rng_.Below(2) ? OpKind::kWrite : OpKind::kRead};
    switch (rng_.Below(5)) {
      case 0: op.size = 1; op.offset = rng_.Below(bytes); break;
      case 1: op.size = 2; op.offset = rng_.Below(bytes / 2) * 2; break;
      case 2: op.size = 4; op.offset = rng_.Below(bytes / 4) * 4; break;
      case 3: op.size = 8; op.offset = rng_.Below(bytes / 8) * 8; break;
      default:  // a range of any length and alignment, possibly over words
        op.offset = rng_.Below(bytes);
        op.size = 1 + rng_.Below(bytes - op.offset);
    }
    return op;
  }

  // A byte loop (what Go's instrumentation makes of a loop over a byte
  // slice): 1-byte accesses of one kind to consecutive bytes, the shape the
  // core accumulates privately while a goroutine is alone in a word.
  void ByteLoop(std::vector<Op>* ops) {
    uint32_t bytes = program_.data_words * 8;
    Op op{rng_.Below(2) ? OpKind::kWrite : OpKind::kRead};
    op.size = 1;
    uint32_t start = rng_.Below(bytes), length = 2 + rng_.Below(15);
    for (uint32_t b = start; b < bytes && b < start + length; b++) {
      op.offset = b;
      ops->push_back(op);
    }
  }

  // Reads of every data word, whole and in order: a lookup in a shared
  // table. Goroutines doing it between synchronizations give words many
  // readers with the same bytes and epochs, the shape the core stores as a
  // compact read set (shadow/cell_set.h), which random sizes and offsets
  // almost never make.
  void TableRead(std::vector<Op>* ops) {
    for (uint32_t w = 0; w < program_.data_words; w++) {
      Op op{OpKind::kRead};
      op.size = 8;
      op.offset = w * 8;
      ops->push_back(op);
    }
  }

  Op Atomic() {
    static constexpr OpKind kKinds[] = {OpKind::kAtomicLoad, OpKind::kAtomicStore, OpKind::kAtomicAdd,
                                        OpKind::kAtomicCas};
    Op op{kKinds[rng_.Below(4)]};
    op.size = rng_.Below(2) ? 8 : 4;
    op.offset = rng_.Below(program_.data_words * 8 / op.size) * op.size;
    return op;
  }

  Op ChannelOp() {
    static constexpr OpKind kKinds[] = {OpKind::kRelease, OpKind::kReleaseMerge, OpKind::kAcquire,
                                        OpKind::kAcquire, OpKind::kReleaseAcquire};
    Op op{kKinds[rng_.Below(5)]};
    op.object = rng_.Below(program_.channels);
    op.ignored = rng_.Below(10) == 0;
    return op;
  }

  // The root writes the table, starts 8 or more readers (the most a
  // program may have) that each look it up a few times with little else in
  // between (now and then a write of their own, a channel operation, or an
  // atomic), and joins some of them: the shape of a table read by many
  // goroutines between writes.
  Program LookupCrowd() {
    program_.goroutines.push_back(GoroutineProgram{});
    std::vector<Op> root;
    for (uint32_t w = 0; w < program_.data_words; w++) root.push_back(Op{OpKind::kWrite, false, 0, w * 8, 8});
    uint32_t readers = max_goroutines_ - 1;
    for (uint32_t r = 0; r < readers; r++) {
      int child = static_cast<int>(program_.goroutines.size());
      std::vector<Op> ops;
      for (uint32_t round = 1 + rng_.Below(4); round > 0; round--) {
        TableRead(&ops);
        uint32_t pick = rng_.Below(100);
        if (pick < 8) {
          ops.push_back(DataAccess());
        } else if (pick < 16) {
          ops.push_back(ChannelOp());
        } else if (pick < 20) {
          ops.push_back(Atomic());
        } else {
          ops.push_back(Op{OpKind::kPause, false, rng_.Below(64)});
        }
      }
      program_.goroutines.push_back(GoroutineProgram{0, std::move(ops)});
      root.push_back(Op{OpKind::kSpawn, false, static_cast<uint32_t>(child)});
    }
    if (rng_.Below(2)) root.push_back(DataAccess());  // the root may race with its readers too
    for (uint32_t r = 0; r < readers; r++) {
      if (rng_.Below(2)) root.push_back(Op{OpKind::kJoin, false, r + 1});
    }
    program_.goroutines[0].ops = std::move(root);
    return program_;
  }

  // Generates goroutine g's body; returns the goroutines it starts.
  std::vector<int> Body(int g) {
    std::vector<Op> ops;
    std::vector<int> children, unjoined;
    int held = -1;  // at most one mutex at a time, never held across a join: no deadlock
    uint32_t count = 1 + rng_.Below(limits_.max_ops);
    for (uint32_t i = 0; i < count; i++) {
      uint32_t pick = rng_.Below(100);
      if (pick < 26) {
        ops.push_back(DataAccess());
      } else if (pick < 32) {
        TableRead(&ops);
      } else if (pick < 40) {
        ByteLoop(&ops);
      } else if (pick < 52) {
        ops.push_back(Atomic());
      } else if (pick < 64) {
        if (held < 0) {
          held = static_cast<int>(rng_.Below(program_.mutexes));
          ops.push_back(Op{OpKind::kLock, false, static_cast<uint32_t>(held)});
        } else {
          ops.push_back(Op{OpKind::kUnlock, false, static_cast<uint32_t>(held)});
          held = -1;
        }
      } else if (pick < 79) {
        ops.push_back(ChannelOp());
      } else if (pick < 87 && program_.goroutines.size() < max_goroutines_) {
        int child = static_cast<int>(program_.goroutines.size());
        program_.goroutines.push_back(GoroutineProgram{g, {}});
        ops.push_back(Op{OpKind::kSpawn, false, static_cast<uint32_t>(child)});
        children.push_back(child);
        unjoined.push_back(child);
      } else if (pick < 93 && held < 0 && !unjoined.empty() && !limits_.late_joins) {
        size_t k = rng_.Below(static_cast<uint32_t>(unjoined.size()));
        ops.push_back(Op{OpKind::kJoin, false, static_cast<uint32_t>(unjoined[k])});
        unjoined.erase(unjoined.begin() + static_cast<long>(k));
      } else {
        ops.push_back(Op{OpKind::kPause, false, rng_.Below(64)});
      }
    }
    if (held >= 0) ops.push_back(Op{OpKind::kUnlock, false, static_cast<uint32_t>(held)});
    for (int child : unjoined) {
      if (rng_.Below(2)) ops.push_back(Op{OpKind::kJoin, false, static_cast<uint32_t>(child)});
    }
    program_.goroutines[static_cast<size_t>(g)].ops = std::move(ops);
    return children;
  }

  Random rng_;
  GeneratorLimits limits_;
  Program program_;
  uint32_t max_goroutines_;
};

}  // namespace

Program GenerateProgram(uint64_t seed, const GeneratorLimits& limits) { return Generator(seed, limits).Run(); }

std::string DescribeProgram(const Program& program) {
  std::string out;
  char line[160];
  snprintf(line, sizeof(line), "program seed 0x%016llx: %u data words, %u mutexes, %u channels, %zu goroutines\n",
           static_cast<unsigned long long>(program.seed), program.data_words, program.mutexes, program.channels,
           program.goroutines.size());
  out += line;
  for (size_t g = 0; g < program.goroutines.size(); g++) {
    snprintf(line, sizeof(line), " g%zu (parent g%d):\n", g, program.goroutines[g].parent);
    out += line;
    for (size_t i = 0; i < program.goroutines[g].ops.size(); i++) {
      const Op& op = program.goroutines[g].ops[i];
      if (IsDataAccess(op.kind)) {
        snprintf(line, sizeof(line), "  %zu %s [%u, +%u)\n", i, OpName(op.kind), op.offset, op.size);
      } else {
        snprintf(line, sizeof(line), "  %zu %s %u%s\n", i, OpName(op.kind), op.object, op.ignored ? " (ignored)" : "");
      }
      out += line;
    }
  }
  return out;
}

}  // namespace racert::stress
