// Invariant checks that stay on in release builds.
//
//   RACERT_CHECK(cond)                 Fatal with file:line and the expression
//   RACERT_CHECK_MSG(cond, fmt, ...)   the same plus a printf-style explanation
//   RACERT_DCHECK(cond)                checked only when RACERT_DEBUG is defined;
//                                      otherwise the expression is not evaluated
//                                      (but still compiled, so it cannot rot)
//
// The failure paths are out-of-line so a check costs one predicted branch.
#pragma once

#include "base/types.h"

namespace racert {

[[noreturn]] RACERT_NOINLINE void CheckFailed(const char* file, int line, const char* expression);
[[noreturn]] RACERT_NOINLINE void CheckFailedMsg(const char* file, int line, const char* expression,
                                                 const char* format, ...)
    __attribute__((format(printf, 4, 5)));

}  // namespace racert

#define RACERT_CHECK(cond)                                          \
  do {                                                              \
    if (RACERT_UNLIKELY(!(cond))) {                                 \
      ::racert::CheckFailed(__FILE__, __LINE__, #cond);             \
    }                                                               \
  } while (0)

#define RACERT_CHECK_MSG(cond, ...)                                 \
  do {                                                              \
    if (RACERT_UNLIKELY(!(cond))) {                                 \
      ::racert::CheckFailedMsg(__FILE__, __LINE__, #cond, __VA_ARGS__); \
    }                                                               \
  } while (0)

#if defined(RACERT_DEBUG)
#define RACERT_DCHECK(cond) RACERT_CHECK(cond)
#else
#define RACERT_DCHECK(cond)       \
  do {                            \
    if (false) (void)(cond);      \
  } while (0)
#endif
