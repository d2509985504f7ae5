// Compares the core's reports of one execution with the ground truth:
//   - every report names a true race: its current access is the op its pc
//     names, and the goroutine it names as previous made an access of the
//     reported kind to the reported byte that races with it (the very op,
//     when the previous stack was restored);
//   - every word with a racing pair has a report, with one exception that
//     Go's rule "one report per access" makes: a range over several words
//     reports on its first racing word only. So a word all of whose racing
//     pairs involve such a range may instead be covered by a report of one
//     of those ranges on another word. A pair of two accesses within the word
//     always needs a report on it: the later of the two finds the earlier.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/stress/stress_exec.h"
#include "tests/stress/stress_oracle.h"

namespace racert::stress {

struct ReportedAccess {
  bool is_write = false;
  bool is_atomic = false;
  bool restored = false;       // the stack (and so the pc) is known
  bool known = false;          // the goroutine is known
  uint64_t pc = 0;             // innermost pc: the access's
  uint64_t goroutine = 0;      // report number
};

struct Report {
  uint64_t addr = 0;           // in the racing word
  ReportedAccess current, previous;
  std::string json;
};

// Parses one JSON line of GORACE json_path's format (README,
// "Machine-readable reports"); false if it is not one.
bool ParseReport(const std::string& line, Report* out);

struct CheckOutcome {
  uint64_t reports = 0;
  uint64_t racy_words = 0;
  uint64_t false_reports = 0;
  uint64_t lost_words = 0;     // racing words without a report
  std::string detail;          // what was wrong, for the failure message
};

CheckOutcome CheckReports(const Program& program, const ExecutionLog& log, const Truth& truth, const Arena& arena,
                          const std::vector<Report>& reports);

}  // namespace racert::stress
