// Fatal errors: print one line to stderr and end the whole process.
//
// Safe to call from any thread at any time, including with runtime locks held:
// it formats into a stack buffer, writes with a raw syscall and exits with
// exit_group (no atexit handlers, no unwinding, no heap).
#pragma once

#include "base/types.h"

namespace racert {

// Writes "racert: FATAL: <message>\n" to fd 2 and exits with the configured
// code. Messages longer than about 1 KiB are truncated.
[[noreturn]] void Fatal(const char* format, ...) __attribute__((format(printf, 1, 2)));

// The exit status of a program that had races or a fatal error, unless GORACE
// exitcode says otherwise (Go's race runtime default).
constexpr int kDefaultExitCode = 66;

// The exit status Fatal uses; kDefaultExitCode until changed (GORACE exitcode).
void SetFatalExitCode(int code);
int FatalExitCode();

// GORACE abort_on_error: every way the runtime ends a program because of an
// error (Fatal, halt_on_error, unusable options or suppressions) ends it with
// SIGABRT instead of an exit status.
void SetAbortOnError(bool abort);
bool AbortOnError();
// Ends the process with `code`, or with SIGABRT under abort_on_error.
[[noreturn]] void ExitForError(int code);

// Writes to fd 2, retrying partial writes; errors are ignored (there is
// nowhere left to report them).
void WriteToStderr(const char* data, uptr size);

}  // namespace racert
