// GORACE: the options Go users pass to the race runtime through the
// environment, parsed once in __tsan_init (getenv works there; nothing else
// in Go is running yet).
#pragma once

namespace racert::go_api {

// Parses GORACE into the core's options and opens the report destinations.
// A malformed GORACE prints what is wrong and where, then exits with 66:
// running a program with options the user did not get would be worse.
void ApplyGoraceOrDie();

}  // namespace racert::go_api
