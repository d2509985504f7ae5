// Fixed-width integer names used across racert. No libc or libstdc++ headers
// beyond the freestanding ones: the object must not depend on their runtime.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace racert {

using uptr = uintptr_t;
using sptr = intptr_t;
using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using s32 = int32_t;
using s64 = int64_t;

#define RACERT_ALWAYS_INLINE inline __attribute__((always_inline))
#define RACERT_NOINLINE __attribute__((noinline))
#define RACERT_LIKELY(x) __builtin_expect(!!(x), 1)
#define RACERT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RACERT_EXPORT extern "C" __attribute__((visibility("default")))

}  // namespace racert
