// racert_stress: runs random concurrent programs against the core for a
// while, from many OS threads at once, and checks every execution against its
// ground truth (tests/stress/stress_oracle.h): no report may be false, and
// every word with a race must be reported. Not part of ctest; run it as
//
//   cmake --build build/cmake --target stress          # the default duration
//   build/cmake/racert_stress --seconds 600 [--seed S] [--max-goroutines N]
//   build/cmake/racert_stress --program SEED --repeat 200   # one program again
//
// Options that provoke the core's documented limits, where a lost race is
// counted as excused instead of failing (false reports still fail):
//   --slot-pressure  the driver does not learn every slot between programs, so
//                    slots get handed over without knowledge of their accesses
//   --max-epoch N    a small epoch limit, so epoch resets happen
//   --hold-ms N      goroutines wait (up to N ms, unseen by the core) for all
//                    of their program to start; with --max-goroutines over
//                    256, slots are taken from live goroutines
//
// Exit status: 0 when every check held, 1 on the first failure (after
// printing the program, its seed and what was wrong), 2 on bad arguments.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "go_api/go_abi.h"
#include "tests/stress/stress_check.h"
#include "tests/stress/stress_exec.h"
#include "tests/stress/stress_oracle.h"
#include "tests/stress/stress_program.h"
#include "tests/stress/stress_random.h"
#include "tsan_core/race_report.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/slot_pool.h"
#include "tsan_core/symbolizer.h"

extern "C" {
void __tsan_init(void** thr, void** proc, racert::go_abi::Callback callback);
void __tsan_map_shadow(racert::uptr addr, racert::uptr size);
void __tsan_go_start(void* parent, void** thr, void* pc);
void __tsan_free(racert::uptr p, racert::uptr size);
void __tsan_finalizer_goroutine(void* thr);
}

namespace racert::stress {
namespace {

// Inside Go's heap window, where the core keeps shadow; real memory, so that
// atomics can run on it.
constexpr uptr kHeapBase = uptr{0xc000000000};
constexpr uptr kShadowedSize = uptr{256} << 20;
constexpr uptr kMemorySize = uptr{1} << 20;

struct Options {
  double seconds = 180;
  uint64_t seed = 0;
  bool seed_given = false;
  uint64_t program = 0;  // --program: run this program seed only
  bool one_program = false;
  uint64_t repeat = 100;
  GeneratorLimits limits;
  bool slot_pressure = false;
  uint64_t max_epoch = 0;
  uint32_t hold_ms = 0;
};

struct Figures {
  uint64_t programs = 0, goroutines = 0, ops = 0, word_accesses = 0, sync_events = 0;
  uint64_t racy_pairs = 0, racy_words = 0, reports = 0, lost_excused = 0, programs_excused = 0;
};

void Usage() {
  fprintf(stderr,
          "usage: racert_stress [--seconds S] [--seed N] [--max-goroutines N] [--max-ops N]\n"
          "                     [--program SEED [--repeat N]] [--slot-pressure] [--max-epoch N]\n"
          "                     [--hold-ms N]\n");
}

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    auto value = [&]() { return strtoull(argv[++i], nullptr, 0); };
    if (arg == "--seconds" && has_value) o->seconds = strtod(argv[++i], nullptr);
    else if (arg == "--seed" && has_value) o->seed = value(), o->seed_given = true;
    else if (arg == "--program" && has_value) o->program = value(), o->one_program = true;
    else if (arg == "--repeat" && has_value) o->repeat = value();
    else if (arg == "--max-goroutines" && has_value) o->limits.max_goroutines = static_cast<uint32_t>(value());
    else if (arg == "--max-ops" && has_value) o->limits.max_ops = static_cast<uint32_t>(value());
    else if (arg == "--max-epoch" && has_value) o->max_epoch = value();
    else if (arg == "--hold-ms" && has_value) o->hold_ms = static_cast<uint32_t>(value());
    else if (arg == "--slot-pressure") o->slot_pressure = true;
    else return false;
  }
  o->limits.late_joins = o->hold_ms > 0;
  return o->limits.max_goroutines >= 1 && o->limits.max_goroutines <= kMaxGoroutines && o->limits.max_ops >= 1 &&
         o->limits.max_ops <= 255;
}

uptr Symbolize(uptr pc, CodeFrame* frames, uptr max_frames) {
  if (max_frames == 0) return 0;
  frames[0] = CodeFrame{"stress_op", "stress.go", pc & 0xffff, 0};
  return 1;
}

// Go's callback; the core asks it for code symbols only.
void GoCallback(uptr command, void* context) {
  if (command != go_abi::kSymbolizeCode) return;
  auto* ctx = static_cast<go_abi::SymbolizeCodeContext*>(context);
  ctx->func = "stress_op";
  ctx->file = "stress.go";
  ctx->line = ctx->pc & 0xffff;
  ctx->offset = 0;
  ctx->resolved = 1;
}

// Starts the core as Go does and returns the driver goroutine, which starts
// every program's root. Reports: text to /dev/null, JSON lines to `json_fd`.
void* StartCore(int* json_fd) {
  unsetenv("GORACE");
  void* init_context = nullptr;
  void* proc = nullptr;
  __tsan_init(&init_context, &proc, GoCallback);
  g_options.atexit_sleep_ms = 0;
  g_options.suppress_equal_stacks = false;  // every racing pair found is printed
  __tsan_map_shadow(kHeapBase, kShadowedSize);
  void* memory = mmap(reinterpret_cast<void*>(kHeapBase), kMemorySize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (memory != reinterpret_cast<void*>(kHeapBase)) {
    perror("stress: mmap of the program memory");
    exit(1);
  }
  SetCodeSymbolizer(Symbolize);
  SetReportFd(open("/dev/null", O_WRONLY));
  *json_fd = memfd_create("racert-stress-json", 0);
  SetJsonFd(*json_fd);
  void* driver = nullptr;
  __tsan_go_start(init_context, &driver, reinterpret_cast<void*>(uptr{0x4ff000}));
  return driver;
}

// The JSON lines written since the last call; empties the file.
std::vector<Report> TakeReports(int fd) {
  struct stat st;
  std::string text;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    text.resize(static_cast<size_t>(st.st_size));
    ssize_t n = pread(fd, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) perror("stress: resetting the JSON file");
  std::vector<Report> reports;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    Report report;
    if (!ParseReport(text.substr(start, end - start), &report)) {
      fprintf(stderr, "stress: unparsable report line: %s\n", text.substr(start, end - start).c_str());
      exit(1);
    }
    reports.push_back(report);
    start = end + 1;
  }
  return reports;
}

struct Limits {
  HandOverCounts hand_overs;
  u64 resets;
};
Limits LimitsNow() { return Limits{SlotHandOverCountsForTesting(), ResetCountForTesting()}; }

// Whether the core's documented limits (a hand-over without knowledge, a
// steal, an epoch reset) came into play between `before` and now.
bool LimitsHit(const Limits& before) {
  Limits now = LimitsNow();
  return now.hand_overs.unknown_reuse != before.hand_overs.unknown_reuse ||
         now.hand_overs.steal != before.hand_overs.steal || now.resets != before.resets;
}

class Stress {
 public:
  explicit Stress(const Options& options) : options_(options) {
    driver_ = StartCore(&json_fd_);
    if (options.max_epoch) SetMaxEpochForTesting(static_cast<Epoch>(options.max_epoch));
  }

  // Runs one program once and checks it; false on a failure (printed).
  bool RunOne(uint64_t seed) {
    Program program = GenerateProgram(seed, options_.limits);
    Arena arena{kHeapBase, kArenaSize};
    Limits before = LimitsNow();
    u64 counted_before = ReportCount();
    ExecutionLog log = Execute(program, driver_, arena, options_.hold_ms);
    std::vector<Report> reports = TakeReports(json_fd_);
    bool excused = LimitsHit(before);
    // The program's memory and sync objects go, as Go's would when freed; the
    // driver learns every slot so the next root's slots are exact hand-overs.
    __tsan_free(arena.base, arena.size);
    if (!options_.slot_pressure) __tsan_finalizer_goroutine(driver_);
    Truth truth = ComputeTruth(program, log);
    CheckOutcome outcome = CheckReports(program, log, truth, arena, reports);
    Count(program, truth, outcome, excused);
    bool counted = ReportCount() - counted_before == reports.size();
    if (outcome.false_reports == 0 && (outcome.lost_words == 0 || excused) && counted) return true;
    fprintf(stderr, "\nstress: FAILED: program seed 0x%016" PRIx64 ": %" PRIu64 " false report(s), %" PRIu64
            " racing word(s) without a report%s%s\n%s%s",
            seed, outcome.false_reports, outcome.lost_words, excused ? " (a documented limit was hit)" : "",
            counted ? "" : ", and the report count differs from the JSON lines", outcome.detail.c_str(),
            DescribeProgram(program).c_str());
    fprintf(stderr, "rerun: racert_stress --program 0x%016" PRIx64 "%s\n", seed, Flags().c_str());
    return false;
  }

  void PrintFigures(const char* label, double seconds) const {
    HandOverCounts h = SlotHandOverCountsForTesting();
    printf("%s %.0fs: %" PRIu64 " programs, %" PRIu64 " goroutines, %" PRIu64 " ops, %" PRIu64
           " word accesses, %" PRIu64 " sync events; %" PRIu64 " racing pairs on %" PRIu64
           " racing words, %" PRIu64 " reports, all true, every racing word reported",
           label, seconds, f_.programs, f_.goroutines, f_.ops, f_.word_accesses, f_.sync_events, f_.racy_pairs,
           f_.racy_words, f_.reports);
    if (f_.programs_excused) {
      printf(" except %" PRIu64 " word(s) in %" PRIu64 " program(s) where a documented limit was hit",
             f_.lost_excused, f_.programs_excused);
    }
    printf("; slot hand-overs: %" PRIu64 " exact, %" PRIu64 " fresh, %" PRIu64 " unknown, %" PRIu64
           " steals; %" PRIu64 " epoch resets\n",
           h.exact, h.fresh, h.unknown_reuse, h.steal, ResetCountForTesting());
    fflush(stdout);
  }

 private:
  void Count(const Program& program, const Truth& truth, const CheckOutcome& outcome, bool excused) {
    f_.programs++;
    f_.goroutines += program.goroutines.size();
    f_.ops += program.OpCount();
    for (const auto& word : truth.words) f_.word_accesses += word.size();
    f_.sync_events += truth.sync_events;
    f_.racy_pairs += truth.racy_pairs;
    f_.racy_words += outcome.racy_words;
    f_.reports += outcome.reports;
    if (excused && outcome.lost_words) {
      f_.lost_excused += outcome.lost_words;
      f_.programs_excused++;
    }
  }

  std::string Flags() const {
    char text[160];
    snprintf(text, sizeof(text), " --max-goroutines %u --max-ops %u%s", options_.limits.max_goroutines,
             options_.limits.max_ops, options_.slot_pressure ? " --slot-pressure" : "");
    std::string flags = text;
    if (options_.max_epoch) flags += " --max-epoch " + std::to_string(options_.max_epoch);
    if (options_.hold_ms) flags += " --hold-ms " + std::to_string(options_.hold_ms);
    return flags;
  }

  Options options_;
  void* driver_;
  int json_fd_ = -1;
  Figures f_;
};

int Main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) {
    Usage();
    return 2;
  }
  if (!options.seed_given) options.seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  Stress stress(options);
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&]() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  if (options.one_program) {
    printf("racert_stress: program 0x%016" PRIx64 ", %" PRIu64 " runs\n", options.program, options.repeat);
    for (uint64_t i = 0; i < options.repeat; i++) {
      if (!stress.RunOne(options.program)) return 1;
    }
    stress.PrintFigures("done in", elapsed());
    return 0;
  }
  printf("racert_stress: seed 0x%016" PRIx64 " (--seed to repeat the programs), %.0f seconds\n", options.seed,
         options.seconds);
  fflush(stdout);
  Random seeds(options.seed);
  double next_progress = 30;
  while (elapsed() < options.seconds) {
    if (!stress.RunOne(seeds.Next())) return 1;
    if (elapsed() >= next_progress) {
      stress.PrintFigures("after", elapsed());
      next_progress += 30;
    }
  }
  stress.PrintFigures("done in", elapsed());
  return 0;
}

}  // namespace
}  // namespace racert::stress

int main(int argc, char** argv) { return racert::stress::Main(argc, argv); }
