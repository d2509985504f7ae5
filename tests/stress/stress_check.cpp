#include "tests/stress/stress_check.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

namespace racert::stress {

namespace {

// The text right after `"key":` at or after `from`, or npos.
size_t ValueOf(const std::string& line, const char* key, size_t from) {
  std::string needle = std::string("\"") + key + "\":";
  size_t at = line.find(needle, from);
  return at == std::string::npos ? at : at + needle.size();
}

bool ParseNumber(const std::string& line, size_t at, uint64_t* out) {
  if (at == std::string::npos || at >= line.size()) return false;
  const char* start = line.c_str() + at;
  if (*start == '"') start++;  // addresses are quoted hex strings
  char* end = nullptr;
  *out = strtoull(start, &end, 0);
  return end != start;
}

bool ParseAccess(const std::string& line, size_t from, ReportedAccess* out) {
  size_t kind = ValueOf(line, "kind", from), atomic = ValueOf(line, "atomic", from);
  size_t restored = ValueOf(line, "stack_restored", from), pcs = ValueOf(line, "pcs", from);
  size_t id = ValueOf(line, "id", ValueOf(line, "goroutine", from));
  if (kind == std::string::npos || atomic == std::string::npos || restored == std::string::npos ||
      pcs == std::string::npos || id == std::string::npos) {
    return false;
  }
  out->is_write = line.compare(kind, 7, "\"write\"") == 0;
  out->is_atomic = line.compare(atomic, 4, "true") == 0;
  out->restored = line.compare(restored, 4, "true") == 0;
  out->pc = 0;
  if (line.compare(pcs, 2, "[]") != 0 && !ParseNumber(line, pcs + 1, &out->pc)) return false;
  out->known = line.compare(id, 4, "null") != 0;
  return !out->known || ParseNumber(line, id, &out->goroutine);
}

}  // namespace

bool ParseReport(const std::string& line, Report* out) {
  out->json = line;
  size_t current = line.find("\"current\":"), previous = line.find("\"previous\":");
  if (current == std::string::npos || previous == std::string::npos || previous < current) return false;
  return ParseNumber(line, ValueOf(line, "address", 0), &out->addr) && ParseAccess(line, current, &out->current) &&
         ParseAccess(line, previous, &out->previous);
}

namespace {

class Checker {
 public:
  Checker(const Program& program, const ExecutionLog& log, const Truth& truth, const Arena& arena)
      : program_(program), log_(log), truth_(truth), arena_(arena) {}

  CheckOutcome Run(const std::vector<Report>& reports) {
    std::vector<bool> reported(truth_.words.size(), false);
    std::set<std::pair<uint32_t, uint32_t>> reporting_ops;  // (goroutine, op)
    for (const Report& report : reports) {
      outcome_.detail += "report: " + Summary(report) + "\n";
      outcome_.reports++;
      uint32_t word = 0, g = 0, op = 0;
      if (!IsTrue(report, &word)) {
        outcome_.false_reports++;
        outcome_.detail += "false report: " + report.json + "\n";
      } else {
        reported[word] = true;
        if (PcToOp(report.current.pc, &g, &op)) reporting_ops.insert({g, op});
      }
    }
    for (size_t w = 0; w < truth_.words.size(); w++) {
      if (!truth_.racy_pairs_per_word[w]) continue;
      outcome_.racy_words++;
      if (!reported[w] && !CoveredByARange(w, reporting_ops)) {
        outcome_.lost_words++;
        outcome_.detail += "lost: word " + std::to_string(w) + " has " + std::to_string(truth_.racy_pairs_per_word[w]) +
                           " racing pair(s) and no report; first: " + FirstRace(w) + "\n";
      }
    }
    return outcome_;
  }

 private:
  const WordAccess* Find(uint32_t word, uint8_t bit, uint32_t g, uint32_t op) const {
    for (const WordAccess& a : truth_.words[word]) {
      if (a.goroutine == g && a.op_index == op && (a.mask & bit)) return &a;
    }
    return nullptr;
  }

  bool Matches(const WordAccess& a, const ReportedAccess& r) const {
    return a.is_write == r.is_write && a.is_atomic == r.is_atomic;
  }

  // Whether the report names a true race; `word` gets the word it is on.
  bool IsTrue(const Report& report, uint32_t* word) const {
    if (report.addr < arena_.base || report.addr >= arena_.base + program_.data_words * 8) return false;
    *word = static_cast<uint32_t>((report.addr - arena_.base) / 8);
    // The report's address is in the racing word but need not be a byte both
    // accesses touch (a range's start); Race() checks the overlap.
    uint8_t bit = 0xff;
    uint32_t g = 0, op = 0;
    if (!PcToOp(report.current.pc, &g, &op) || g >= log_.goroutines.size()) return false;
    if (!report.current.known || report.current.goroutine != log_.goroutines[g].number) return false;
    const WordAccess* current = Find(*word, bit, g, op);
    if (!current || !Matches(*current, report.current)) return false;
    for (const WordAccess& p : truth_.words[*word]) {
      if (!(p.mask & bit) || !Matches(p, report.previous)) continue;
      if (report.previous.known && log_.goroutines[p.goroutine].number != report.previous.goroutine) continue;
      if (report.previous.restored && OpPc(p.goroutine, p.op_index) != report.previous.pc) continue;
      if (truth_.Race(p, *current)) return true;
    }
    return false;
  }

  // The accesses that stand for accesses[x] in the core: itself, or, when
  // earlier accesses of its goroutine in the same epoch and of the same
  // atomicity already recorded all its bytes (a write: as written), those
  // (FastTrack's same-epoch rule: the core skips the repetition, so its races
  // are theirs).
  std::vector<const WordAccess*> StandIns(const std::vector<WordAccess>& accesses, size_t x) const {
    const WordAccess& a = accesses[x];
    uint32_t epoch = truth_.clocks[a.clock][a.goroutine];
    uint8_t recorded = 0;
    std::vector<const WordAccess*> earlier;
    for (size_t y = 0; y < x; y++) {
      const WordAccess& b = accesses[y];
      if (b.goroutine != a.goroutine || b.is_atomic != a.is_atomic) continue;
      if (truth_.clocks[b.clock][b.goroutine] != epoch) continue;
      uint8_t bytes = a.is_write ? (b.is_write ? b.mask : 0) : b.mask;
      if (bytes & a.mask) earlier.push_back(&b);
      recorded |= bytes;
    }
    if ((recorded & a.mask) == a.mask) return earlier;
    return {&a};
  }

  // Whether every racing pair of word w involves an access over several
  // words (itself or through its stand-ins), and one of those reported, on
  // another word: Go's one report per access.
  bool CoveredByARange(size_t w, const std::set<std::pair<uint32_t, uint32_t>>& reporting_ops) const {
    const std::vector<WordAccess>& accesses = truth_.words[w];
    bool covered = false;
    for (size_t i = 0; i < accesses.size(); i++) {
      for (size_t j = i + 1; j < accesses.size(); j++) {
        if (!truth_.Race(accesses[i], accesses[j])) continue;
        bool ranged = false;
        for (size_t x : {i, j}) {
          for (const WordAccess* s : StandIns(accesses, x)) {
            if (!s->multi_word) continue;
            ranged = true;
            covered |= reporting_ops.count({s->goroutine, s->op_index}) != 0;
          }
        }
        if (!ranged) return false;  // two accesses within the word: the later finds the earlier
      }
    }
    return covered;
  }

  std::string Summary(const Report& report) const {
    uint32_t g = 0, op = 0;
    bool named = PcToOp(report.current.pc, &g, &op);
    char text[200];
    snprintf(text, sizeof(text), "byte %lld by g%d op %d (%s%s), previous %s%s by report number %lld%s",
             static_cast<long long>(report.addr - arena_.base), named ? static_cast<int>(g) : -1,
             named ? static_cast<int>(op) : -1, report.current.is_atomic ? "atomic " : "",
             report.current.is_write ? "write" : "read", report.previous.is_atomic ? "atomic " : "",
             report.previous.is_write ? "write" : "read",
             report.previous.known ? static_cast<long long>(report.previous.goroutine) : -1LL,
             report.previous.restored ? "" : " (stack not restored)");
    std::string out = text;
    if (report.previous.restored && PcToOp(report.previous.pc, &g, &op)) {
      out += " at g" + std::to_string(g) + " op " + std::to_string(op);
    }
    return out;
  }

  std::string Describe(const WordAccess& a) const {
    char text[96];
    snprintf(text, sizeof(text), "g%u op %u (%s%s, mask 0x%02x)", a.goroutine, a.op_index,
             a.is_atomic ? "atomic " : "", a.is_write ? "write" : "read", a.mask);
    return text;
  }

  std::string FirstRace(size_t w) const {
    const std::vector<WordAccess>& accesses = truth_.words[w];
    for (size_t i = 0; i < accesses.size(); i++) {
      for (size_t j = i + 1; j < accesses.size(); j++) {
        if (truth_.Race(accesses[i], accesses[j])) return Describe(accesses[i]) + " vs " + Describe(accesses[j]);
      }
    }
    return "?";
  }

  const Program& program_;
  const ExecutionLog& log_;
  const Truth& truth_;
  const Arena& arena_;
  CheckOutcome outcome_;
};

}  // namespace

CheckOutcome CheckReports(const Program& program, const ExecutionLog& log, const Truth& truth, const Arena& arena,
                          const std::vector<Report>& reports) {
  return Checker(program, log, truth, arena).Run(reports);
}

}  // namespace racert::stress
