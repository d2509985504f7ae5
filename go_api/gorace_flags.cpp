#include "go_api/gorace_flags.h"

#include "tsan_core/history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "base/fatal.h"
#include "base/flag_parser.h"
#include "base/format.h"
#include "base/internal_alloc.h"
#include "base/read_file.h"
#include "base/suppressions.h"
#include "base/syscalls.h"
#include "go_api/version.h"
#include "tsan_core/race_report.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"

namespace racert::go_api {
namespace {

// Options the adapter applies itself (the core never sees them).
struct AdapterFlags {
  const char* suppressions;
  bool log_exe_name;
  const char* log_suffix;
  bool abort_on_error;
  bool disable_coredump;
  bool help;
  bool suppress_equal_addresses;  // an older official option; no effect
};
AdapterFlags adapter;

// Storage for the official options that mean nothing for a Go program under
// racert: parsed (so a bad value is reported as the official runtime would),
// never read.
bool ignored_bool;
s64 ignored_int;
const char* ignored_string;

// Every option of the official runtime's GORACE=help=1 list that racert
// accepts without effect, with the kind of its value. README.md ("GORACE
// options") says why each is meaningless for Go programs under racert.
struct IgnoredOption {
  const char* name;
  FlagKind kind;
};
constexpr IgnoredOption kIgnoredOptions[] = {
    {"enable_annotations", FlagKind::kBool}, {"report_thread_leaks", FlagKind::kBool},
    {"report_destroy_locked", FlagKind::kBool}, {"report_mutex_bugs", FlagKind::kBool},
    {"report_signal_unsafe", FlagKind::kBool}, {"force_seq_cst_atomics", FlagKind::kBool},
    {"force_background_thread", FlagKind::kBool}, {"profile_memory", FlagKind::kString},
    {"flush_memory_ms", FlagKind::kInt}, {"flush_symbolizer_ms", FlagKind::kInt},
    {"memory_limit_mb", FlagKind::kInt}, {"stop_on_start", FlagKind::kBool},
    {"running_on_valgrind", FlagKind::kBool}, {"io_sync", FlagKind::kInt},
    {"die_after_fork", FlagKind::kBool}, {"ignore_interceptors_accesses", FlagKind::kBool},
    {"ignore_noninstrumented_modules", FlagKind::kBool}, {"shared_ptr_interceptor", FlagKind::kBool},
    {"second_deadlock_stack", FlagKind::kBool}, {"symbolize", FlagKind::kBool},
    {"external_symbolizer_path", FlagKind::kString}, {"allow_addr2line", FlagKind::kBool},
    {"fast_unwind_on_check", FlagKind::kBool}, {"fast_unwind_on_fatal", FlagKind::kBool},
    {"fast_unwind_on_malloc", FlagKind::kBool}, {"handle_ioctl", FlagKind::kBool},
    {"malloc_context_size", FlagKind::kInt}, {"log_to_syslog", FlagKind::kBool},
    {"strip_env", FlagKind::kBool}, {"verify_interceptors", FlagKind::kBool},
    {"detect_leaks", FlagKind::kBool}, {"leak_check_at_exit", FlagKind::kBool},
    {"allocator_may_return_null", FlagKind::kBool}, {"print_summary", FlagKind::kBool},
    {"print_module_map", FlagKind::kInt}, {"check_printf", FlagKind::kBool},
    {"handle_segv", FlagKind::kInt}, {"handle_sigbus", FlagKind::kInt},
    {"handle_abort", FlagKind::kInt}, {"handle_sigill", FlagKind::kInt},
    {"handle_sigtrap", FlagKind::kInt}, {"handle_sigfpe", FlagKind::kInt},
    {"allow_user_segv_handler", FlagKind::kBool}, {"use_sigaltstack", FlagKind::kBool},
    {"detect_deadlocks", FlagKind::kBool}, {"clear_shadow_mmap_threshold", FlagKind::kInt},
    {"color", FlagKind::kString}, {"legacy_pthread_cond", FlagKind::kBool},
    {"intercept_tls_get_addr", FlagKind::kBool}, {"mmap_limit_mb", FlagKind::kInt},
    {"hard_rss_limit_mb", FlagKind::kInt}, {"soft_rss_limit_mb", FlagKind::kInt},
    {"max_allocation_size_mb", FlagKind::kInt}, {"heap_profile", FlagKind::kBool},
    {"allocator_release_to_os_interval_ms", FlagKind::kInt}, {"can_use_proc_maps_statm", FlagKind::kBool},
    {"coverage", FlagKind::kBool}, {"coverage_dir", FlagKind::kString},
    {"cov_8bit_counters_out", FlagKind::kString}, {"cov_pcs_out", FlagKind::kString},
    {"full_address_space", FlagKind::kBool}, {"use_madv_dontdump", FlagKind::kBool},
    {"symbolize_inline_frames", FlagKind::kBool}, {"demangle", FlagKind::kBool},
    {"symbolize_vs_style", FlagKind::kBool}, {"dedup_token_length", FlagKind::kInt},
    {"stack_trace_format", FlagKind::kString}, {"compress_stack_depot", FlagKind::kInt},
    {"no_huge_pages_for_shadow", FlagKind::kBool}, {"strict_string_checks", FlagKind::kBool},
    {"intercept_strstr", FlagKind::kBool}, {"intercept_strspn", FlagKind::kBool},
    {"intercept_strtok", FlagKind::kBool}, {"intercept_strpbrk", FlagKind::kBool},
    {"intercept_strcmp", FlagKind::kBool}, {"intercept_strlen", FlagKind::kBool},
    {"intercept_strndup", FlagKind::kBool}, {"intercept_strchr", FlagKind::kBool},
    {"intercept_memcmp", FlagKind::kBool}, {"strict_memcmp", FlagKind::kBool},
    {"intercept_memmem", FlagKind::kBool}, {"intercept_intrin", FlagKind::kBool},
    {"intercept_stat", FlagKind::kBool}, {"intercept_send", FlagKind::kBool},
    {"decorate_proc_maps", FlagKind::kBool}, {"suppress_equal_pcs", FlagKind::kBool},
    {"print_cmdline", FlagKind::kBool}, {"html_cov_report", FlagKind::kBool},
    {"sancov_path", FlagKind::kString}, {"dump_instruction_bytes", FlagKind::kBool},
    {"dump_registers", FlagKind::kBool}, {"detect_write_exec", FlagKind::kBool},
    {"test_only_emulate_no_memorymap", FlagKind::kBool},
};
constexpr uptr kIgnoredCount = sizeof(kIgnoredOptions) / sizeof(kIgnoredOptions[0]);

// Included option files may include others; this bounds a file including itself.
constexpr int kMaxIncludeDepth = 8;

struct IncludeContext {
  bool must_exist;
};
bool IncludeOptionsFile(const char* value, void* context, char* error, uptr error_size);
IncludeContext include_required{true};
IncludeContext include_optional{false};
const FlagCallback include_callback{IncludeOptionsFile, &include_required};
const FlagCallback include_if_exists_callback{IncludeOptionsFile, &include_optional};

constexpr uptr kMaxFlags = 48 + kIgnoredCount;
FlagDescriptor all_flags[kMaxFlags];
uptr all_flag_count;
uptr shown_flag_count;  // the first ones, listed one by one by help=1
int include_depth;

void DescribeFlags() {
  RuntimeOptions& o = g_options;
  FlagDescriptor* out = all_flags;
  uptr n = 0;
  out[n++] = {"exitcode", FlagKind::kInt, &o.exitcode, "exit status when races were found"};
  out[n++] = {"halt_on_error", FlagKind::kBool, &o.halt_on_error, "exit after the first race report"};
  out[n++] = {"abort_on_error", FlagKind::kBool, &adapter.abort_on_error,
              "end the program with SIGABRT instead of an exit status where the runtime stops it "
              "(halt_on_error, unusable options or suppressions)"};
  out[n++] = {"atexit_sleep_ms", FlagKind::kInt, &o.atexit_sleep_ms,
              "milliseconds to sleep at exit while other goroutines run, so their races are caught"};
  out[n++] = {"report_bugs", FlagKind::kBool, &o.report_bugs,
              "report races; 0 reports and counts none (the program exits as if there were none)"};
  out[n++] = {"suppressions", FlagKind::kString, &adapter.suppressions,
              "file of race:PATTERN / race_top:PATTERN lines; matching races are neither reported nor counted"};
  out[n++] = {"print_suppressions", FlagKind::kBool, &o.print_suppressions,
              "at exit, print how often each suppression matched"};
  out[n++] = {"strip_path_prefix", FlagKind::kString, &o.strip_path_prefix,
              "remove everything up to and including this substring from file names in reports"};
  out[n++] = {"log_path", FlagKind::kString, &o.log_path,
              "write reports to <log_path>.<pid> instead of stderr (\"stdout\" and \"stderr\" are special)"};
  out[n++] = {"log_exe_name", FlagKind::kBool, &adapter.log_exe_name,
              "with log_path: name the file <log_path>.<executable name>.<pid>"};
  out[n++] = {"log_suffix", FlagKind::kString, &adapter.log_suffix,
              "with log_path: append this to the file name, e.g. \".txt\""};
  out[n++] = {"json_path", FlagKind::kString, &o.json_path,
              "also write each report as one JSON line to <json_path>.<pid> (\"stdout\"/\"stderr\" special)"};
  out[n++] = {"history_size", FlagKind::kInt, &o.history_size,
              "access history kept to restore previous stacks: 2^history_size MiB per goroutine, 2^history_size x 64 MiB in total (0..7)"};
  out[n++] = {"suppress_equal_stacks", FlagKind::kBool, &o.suppress_equal_stacks,
              "report a race only once per pair of stacks"};
  out[n++] = {"report_atomic_races", FlagKind::kBool, &o.report_atomic_races,
              "report races between atomic and plain accesses"};
  out[n++] = {"print_full_thread_history", FlagKind::kBool, &o.print_full_thread_history,
              "also print where the racing goroutines' ancestors were created, up to the main goroutine"};
  out[n++] = {"disable_coredump", FlagKind::kBool, &adapter.disable_coredump,
              "set the soft core file size limit to 0 at start"};
  out[n++] = {"include", FlagKind::kCallback, const_cast<FlagCallback*>(&include_callback),
              "read more options from this file (%b: executable name, %d: its directory, %p: pid)"};
  out[n++] = {"include_if_exists", FlagKind::kCallback, const_cast<FlagCallback*>(&include_if_exists_callback),
              "like include, but a missing file is not an error"};
  out[n++] = {"verbosity", FlagKind::kInt, &o.verbosity, "1: print a banner at startup"};
  out[n++] = {"help", FlagKind::kBool, &adapter.help, "print this list of options"};
  shown_flag_count = n;
  out[n++] = {"suppress_equal_addresses", FlagKind::kBool, &adapter.suppress_equal_addresses,
              "accepted for compatibility; racert reports each earlier access once anyway"};
  for (const IgnoredOption& option : kIgnoredOptions) {
    void* storage = option.kind == FlagKind::kBool  ? static_cast<void*>(&ignored_bool)
                    : option.kind == FlagKind::kInt ? static_cast<void*>(&ignored_int)
                                                    : static_cast<void*>(&ignored_string);
    out[n++] = {option.name, option.kind, storage, "accepted for compatibility; no effect"};
  }
  all_flag_count = n;
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

// The exit for unusable options: the exit code and abort_on_error as parsed
// so far, as the official runtime does.
[[noreturn]] void ExitForBadOptions() {
  SetAbortOnError(adapter.abort_on_error);
  ExitForError(static_cast<int>(g_options.exitcode));
}

// The executable's path, its last component and its directory.
struct ExecutableNames {
  char path[4096];
  const char* base;  // into path
  char directory[4096];
};

void GetExecutableNames(ExecutableNames* names) {
  ExecutablePath(names->path, sizeof(names->path));
  const char* slash = nullptr;
  for (const char* p = names->path; *p; p++) {
    if (*p == '/') slash = p;
  }
  names->base = slash ? slash + 1 : names->path;
  uptr dir_length = slash ? static_cast<uptr>(slash - names->path) : 0;
  __builtin_memcpy(names->directory, names->path, dir_length);
  names->directory[dir_length] = '\0';
}

// include's file name: %b becomes the executable's name, %d its directory,
// %p the pid; any other '%' stays as it is.
void ExpandIncludePath(const char* value, TextBuffer* out) {
  ExecutableNames* names = static_cast<ExecutableNames*>(InternalAlloc(sizeof(ExecutableNames)));
  GetExecutableNames(names);
  for (const char* p = value; *p; p++) {
    if (p[0] == '%' && p[1] == 'b') {
      out->Append(names->base);
      p++;
    } else if (p[0] == '%' && p[1] == 'd') {
      out->Append(names->directory);
      p++;
    } else if (p[0] == '%' && p[1] == 'p') {
      out->AppendF("%d", static_cast<int>(SysGetpid()));
      p++;
    } else {
      out->AppendChar(*p);
    }
  }
  InternalFree(names, sizeof(ExecutableNames));
}

bool IncludeOptionsFile(const char* value, void* context, char* error, uptr error_size) {
  const IncludeContext* include = static_cast<const IncludeContext*>(context);
  TextBuffer path;
  ExpandIncludePath(value, &path);
  if (include_depth >= kMaxIncludeDepth) {
    Format(error, error_size, "options file '%s' is included more than %d levels deep", path.data(),
           kMaxIncludeDepth);
    return false;
  }
  TextBuffer text;
  int error_number = ReadWholeFile(path.data(), &text);
  if (error_number == ENOENT && !include->must_exist) return true;
  if (error_number != 0) {
    char scratch[32];
    Format(error, error_size, "cannot read options file '%s': %s", path.data(),
           DescribeErrno(error_number, scratch, sizeof(scratch)));
    return false;
  }
  FlagParseResult* nested = static_cast<FlagParseResult*>(InternalAlloc(sizeof(FlagParseResult)));
  include_depth++;
  bool ok = ParseFlags(text.data(), all_flags, all_flag_count, nested);
  include_depth--;
  if (!ok) {
    Format(error, error_size, "in options file '%s': %s", path.data(), nested->error);
  } else {
    for (uptr i = 0; i < nested->unknown_count; i++) {
      Say("racert: warning: unknown GORACE option '%s' in %s ignored\n", nested->unknown[i], path.data());
    }
    if (nested->unknown_dropped > 0) Say("racert: warning: more unknown GORACE options in %s ignored\n", path.data());
  }
  InternalFree(nested, sizeof(FlagParseResult));
  return ok;
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

// Opens the destination named by a log_path-style option: <path>.<pid>, or
// <path>.<exe>.<pid><suffix> when `exe_name` or `suffix` are given. Returns
// the fd, or `fallback_fd` after one warning if the file cannot be opened: a
// report must never be lost because of a bad path. The opened file's name is
// handed to `remember_name` (for the warning if writing to it fails later).
int OpenDestination(const char* option, const char* path, int fallback_fd, void (*remember_name)(const char*),
                    const char* exe_name = nullptr, const char* suffix = nullptr) {
  if (StringsEqual(path, "stderr")) return 2;
  if (StringsEqual(path, "stdout")) return 1;
  char file[4096];
  uptr n = exe_name ? Format(file, sizeof(file), "%s.%s.%d%s", path, exe_name, static_cast<int>(SysGetpid()),
                             suffix ? suffix : "")
                    : Format(file, sizeof(file), "%s.%d%s", path, static_cast<int>(SysGetpid()), suffix ? suffix : "");
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
  remember_name(file);
  return static_cast<int>(fd);
}

// A message about the suppressions file, to where reports go (as the
// official runtime writes its own), then the exit for unusable options.
[[noreturn]] void SuppressionsFailed(const TextBuffer& message) {
  WriteReportText(message.data(), message.length());
  ExitForBadOptions();
}

// GORACE suppressions=FILE: read, parse, hand to the core. A relative name is
// looked up in the current directory, then next to the executable, as the
// official runtime does. Any problem stops the program.
void LoadSuppressions(const char* name) {
  TextBuffer text;
  TextBuffer used_path;
  used_path.Append(name);
  int error_number = ReadWholeFile(name, &text);
  TextBuffer tried_next_to_executable;
  if (error_number == ENOENT && name[0] != '/') {
    ExecutableNames* names = static_cast<ExecutableNames*>(InternalAlloc(sizeof(ExecutableNames)));
    GetExecutableNames(names);
    if (names->directory[0] != '\0') {
      tried_next_to_executable.AppendF("%s/%s", names->directory, name);
      text.Clear();
      int second = ReadWholeFile(tried_next_to_executable.data(), &text);
      if (second != ENOENT) {
        error_number = second;
        used_path.Clear();
        used_path.Append(tried_next_to_executable.data());
      }
    }
    InternalFree(names, sizeof(ExecutableNames));
  }
  if (error_number != 0) {
    char scratch[32];
    TextBuffer message;
    message.AppendF("racert: error: cannot read the suppressions file '%s' (GORACE suppressions=%s): %s",
                    used_path.data(), name, DescribeErrno(error_number, scratch, sizeof(scratch)));
    if (tried_next_to_executable.length() > 0 && error_number == ENOENT) {
      message.AppendF("; also not found at %s", tried_next_to_executable.data());
    }
    message.Append("\n");
    SuppressionsFailed(message);
  }
  SuppressionList* list = static_cast<SuppressionList*>(InternalAlloc(sizeof(SuppressionList)));
  new (list) SuppressionList();
  SuppressionParseError error{};
  if (!list->Parse(text.data(), text.length(), &error)) {
    TextBuffer message;
    message.AppendF("racert: error: suppressions file %s, line %u (\"%s\"): %s\n", used_path.data(), error.line,
                    error.text, error.reason);
    SuppressionsFailed(message);
  }
  SetRaceSuppressions(list);
}

}  // namespace

void ApplyGoraceOrDie() {
  SetDefaultOptions(&g_options);
  DescribeFlags();
  const char* gorace = getenv("GORACE");
  FlagParseResult result;
  if (!ParseFlags(gorace, all_flags, all_flag_count, &result)) {
    Say("racert: error: malformed GORACE=\"%s\": %s\n", gorace ? gorace : "", result.error);
    ExitForBadOptions();
  }
  if (g_options.history_size < 0 || g_options.history_size > kMaxHistorySize) {
    char value[32];
    char limit[32];
    Format(value, sizeof(value), "%lld", static_cast<long long>(g_options.history_size));
    Format(limit, sizeof(limit), "%lld", static_cast<long long>(kMaxHistorySize));
    Say("racert: error: malformed GORACE: history_size=%s is out of range (must be 0..%s)\n", value, limit);
    ExitForBadOptions();
  }
  for (uptr i = 0; i < result.unknown_count; i++) {
    Say("racert: warning: unknown GORACE option '%s' ignored\n", result.unknown[i]);
  }
  if (result.unknown_dropped > 0) Say("racert: warning: more unknown GORACE options ignored%s\n", "");

  SetFatalExitCode(static_cast<int>(g_options.exitcode));
  SetAbortOnError(adapter.abort_on_error);
  if (adapter.disable_coredump) SysDisableCoreDumps();
  if (g_options.log_path && g_options.log_path[0]) {
    ExecutableNames* names = nullptr;
    if (adapter.log_exe_name) {
      names = static_cast<ExecutableNames*>(InternalAlloc(sizeof(ExecutableNames)));
      GetExecutableNames(names);
    }
    SetReportFd(OpenDestination("log_path", g_options.log_path, 2, SetReportFileName, names ? names->base : nullptr,
                                adapter.log_suffix));
    if (names) InternalFree(names, sizeof(ExecutableNames));
  }
  if (g_options.json_path && g_options.json_path[0]) {
    SetJsonFd(OpenDestination("json_path", g_options.json_path, -1, SetJsonFileName));
  }
  if (adapter.suppressions && adapter.suppressions[0]) LoadSuppressions(adapter.suppressions);
  if (adapter.help) {
    TextBuffer help;
    help.Append("Available GORACE options (racert):\n");
    AppendFlagHelp(&help, all_flags, shown_flag_count);
    help.Append("Accepted for compatibility with the official runtime, without effect (see README.md):\n");
    for (uptr i = shown_flag_count; i < all_flag_count; i++) {
      help.AppendF("\t%s\n", all_flags[i].name);
    }
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
