#include "go_api/gorace_flags.h"

#include <fcntl.h>
#include <stdlib.h>

#include "base/fatal.h"
#include "base/flag_parser.h"
#include "base/format.h"
#include "base/syscalls.h"
#include "go_api/version.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"

namespace racert::go_api {
namespace {

// The startup error status: the official runtime exits 66 on bad options.
constexpr int kBadOptionsExitCode = 66;

// Flags that only exist so that GORACE strings written for the official
// runtime keep working; they change nothing in racert.
struct CompatibilityFlags {
  bool suppress_equal_addresses;
  bool log_exe_name;
  const char* log_suffix;
  bool help;
};
CompatibilityFlags compat;

uptr DescribeFlags(FlagDescriptor* out) {
  RuntimeOptions& o = g_options;
  uptr n = 0;
  out[n++] = {"exitcode", FlagKind::kInt, &o.exitcode, "exit status when races were found"};
  out[n++] = {"halt_on_error", FlagKind::kBool, &o.halt_on_error, "exit after the first race report"};
  out[n++] = {"atexit_sleep_ms", FlagKind::kInt, &o.atexit_sleep_ms,
              "milliseconds to sleep at exit while other goroutines run, so their races are caught"};
  out[n++] = {"strip_path_prefix", FlagKind::kString, &o.strip_path_prefix,
              "remove everything up to and including this substring from file names in reports"};
  out[n++] = {"log_path", FlagKind::kString, &o.log_path,
              "write reports to <log_path>.<pid> instead of stderr (\"stdout\" and \"stderr\" are special)"};
  out[n++] = {"json_path", FlagKind::kString, &o.json_path,
              "also write each report as one JSON line to <json_path>.<pid> (\"stdout\"/\"stderr\" special)"};
  out[n++] = {"history_size", FlagKind::kInt, &o.history_size,
              "access history kept to restore previous stacks: 2^history_size MiB per goroutine, 2^history_size x 64 MiB in total (0..7)"};
  out[n++] = {"suppress_equal_stacks", FlagKind::kBool, &o.suppress_equal_stacks,
              "report a race only once per pair of stacks"};
  out[n++] = {"report_atomic_races", FlagKind::kBool, &o.report_atomic_races,
              "report races between atomic and plain accesses"};
  out[n++] = {"verbosity", FlagKind::kInt, &o.verbosity, "1: print a banner at startup"};
  out[n++] = {"suppress_equal_addresses", FlagKind::kBool, &compat.suppress_equal_addresses,
              "accepted for compatibility; racert reports each earlier access once anyway"};
  out[n++] = {"log_exe_name", FlagKind::kBool, &compat.log_exe_name, "accepted for compatibility; no effect"};
  out[n++] = {"log_suffix", FlagKind::kString, &compat.log_suffix, "accepted for compatibility; no effect"};
  out[n++] = {"help", FlagKind::kBool, &compat.help, "print this list of options"};
  return n;
}

bool StringsEqual(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

// Writes a message built from `format` and two strings to stderr, however
// long they are (a GORACE value can be arbitrarily long).
void Say(const char* format, const char* a, const char* b = "") {
  TextBuffer line;
  line.AppendF(format, a, b);
  WriteToStderr(line.data(), line.length());
}

// Creates the missing parent directories of `path` (like mkdir -p).
void CreateParentDirectories(const char* path) {
  char buffer[4096];
  uptr n = Format(buffer, sizeof(buffer), "%s", path);
  if (n >= sizeof(buffer)) return;
  for (uptr i = 1; i < n; i++) {
    if (buffer[i] != '/') continue;
    buffer[i] = '\0';
    SysMkdir(buffer, 0755);  // EEXIST and friends are fine; open reports real failures
    buffer[i] = '/';
  }
}

// Opens the destination named by a log_path-style option. Returns the fd, or
// `fallback_fd` after one warning if the file cannot be opened: a report must
// never be lost because of a bad path.
int OpenDestination(const char* option, const char* path, int fallback_fd) {
  if (StringsEqual(path, "stderr")) return 2;
  if (StringsEqual(path, "stdout")) return 1;
  char file[4096];
  uptr n = Format(file, sizeof(file), "%s.%d", path, static_cast<int>(SysGetpid()));
  if (n >= sizeof(file)) {
    Say("racert: warning: GORACE %s is too long; writing to stderr instead\n", option);
    return fallback_fd;
  }
  CreateParentDirectories(file);
  // O_APPEND: whole-report writes stay whole even if another descriptor (say
  // json_path naming the same file as log_path) writes to the file too.
  sptr fd = SysOpen(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (SysFailed(fd)) {
    char line[4300];
    uptr len = Format(line, sizeof(line), "racert: warning: cannot open %s=%s (%s, errno %d); writing to stderr instead\n",
                      option, path, file, SysErrno(fd));
    WriteToStderr(line, len < sizeof(line) ? len : sizeof(line) - 1);
    return fallback_fd;
  }
  return static_cast<int>(fd);
}

}  // namespace

void ApplyGoraceOrDie() {
  SetDefaultOptions(&g_options);
  FlagDescriptor flags[32];
  uptr count = DescribeFlags(flags);
  const char* gorace = getenv("GORACE");
  FlagParseResult result;
  if (!ParseFlags(gorace, flags, count, &result)) {
    Say("racert: error: malformed GORACE=\"%s\": %s\n", gorace ? gorace : "", result.error);
    SysExitGroup(kBadOptionsExitCode);
  }
  if (g_options.history_size < 0 || g_options.history_size > 7) {
    char value[32];
    Format(value, sizeof(value), "%lld", static_cast<long long>(g_options.history_size));
    Say("racert: error: malformed GORACE: history_size=%s is out of range (must be 0..7)\n", value);
    SysExitGroup(kBadOptionsExitCode);
  }
  for (uptr i = 0; i < result.unknown_count; i++) {
    Say("racert: warning: unknown GORACE option '%s' ignored\n", result.unknown[i]);
  }
  if (result.unknown_dropped > 0) Say("racert: warning: more unknown GORACE options ignored%s\n", "");

  SetFatalExitCode(static_cast<int>(g_options.exitcode));
  if (g_options.log_path && g_options.log_path[0]) SetReportFd(OpenDestination("log_path", g_options.log_path, 2));
  if (g_options.json_path && g_options.json_path[0]) {
    SetJsonFd(OpenDestination("json_path", g_options.json_path, -1));
  }
  if (compat.help) {
    TextBuffer help;
    help.Append("Available GORACE options (racert):\n");
    AppendFlagHelp(&help, flags, count);
    WriteToStderr(help.data(), help.length());
  }
  if (g_options.verbosity >= 1) {
    char banner[128];
    uptr n = Format(banner, sizeof(banner), "***** Running under racert %s (pid %d) *****\n", kRacertVersion,
                    static_cast<int>(SysGetpid()));
    WriteToStderr(banner, n);
  }
}

}  // namespace racert::go_api
