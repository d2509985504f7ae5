// Options of the detector core. The Go adapter fills them from GORACE at
// init (go_api/gorace_flags.cpp); the core only reads them.
#pragma once

#include "base/types.h"

namespace racert {

struct RuntimeOptions {
  s64 exitcode;               // exit status when races were found (and for halt_on_error)
  bool halt_on_error;         // exit right after the first report
  s64 atexit_sleep_ms;        // sleep at exit while other goroutines are alive
  const char* strip_path_prefix;
  s64 history_size;           // history window scale: 2^history_size MiB per goroutine
  bool suppress_equal_stacks; // report each pair of stacks once
  bool report_atomic_races;
  s64 verbosity;
  const char* log_path;       // nullptr: stderr
  const char* json_path;      // nullptr: no JSON reports
  bool report_bugs;           // false: races are neither reported nor counted
  bool print_suppressions;    // print the suppressions that matched, at exit
  bool print_full_thread_history;  // creation blocks for the goroutines' ancestors too
};

extern RuntimeOptions g_options;

// Sets the defaults (the object runs no constructors, so this is explicit).
void SetDefaultOptions(RuntimeOptions* options);

}  // namespace racert
