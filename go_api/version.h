// racert's version, printed with GORACE=verbosity=1 and by the racert tool.
// The one source is the VERSION file at the repository root: build_syso.sh
// and CMakeLists.txt pass its line as RACERT_VERSION_STRING, and the racert
// tool reads the file itself (tools/racert_cli/__init__.py).
#pragma once

#ifndef RACERT_VERSION_STRING
#error "RACERT_VERSION_STRING is not defined: build with build_syso.sh or CMake (they read VERSION)"
#endif

namespace racert::go_api {
inline constexpr const char* kRacertVersion = RACERT_VERSION_STRING;
}  // namespace racert::go_api
