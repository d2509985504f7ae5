#include "tsan_core/runtime_options.h"

#include "base/fatal.h"

namespace racert {

RuntimeOptions g_options;

void SetDefaultOptions(RuntimeOptions* options) {
  options->exitcode = kDefaultExitCode;
  options->halt_on_error = false;
  options->atexit_sleep_ms = 1000;
  options->strip_path_prefix = "";
  options->history_size = 0;
  options->suppress_equal_stacks = true;
  options->report_atomic_races = true;
  options->verbosity = 0;
  options->log_path = nullptr;
  options->json_path = nullptr;
  options->report_bugs = true;
  options->print_suppressions = false;
  options->print_full_thread_history = false;
}

}  // namespace racert
