// Atomic loads and stores of memory that is not declared std::atomic: words
// that are also read or written plainly under a lock, or that lie in raw
// arena memory (cell-set cells, history event words, the stack store's
// tables). Each call is one std::atomic_ref access with the order its name
// says; the plain accesses of the same memory stay plain.
//
// Helpers rather than std::atomic_ref at each site because most of these
// loads read through const pointers, and std::atomic_ref<const T> only comes
// with C++26 (a load does not write, so the helpers drop the const).
//
// Plain `inline`, not RACERT_ALWAYS_INLINE: they inline anyway, and forcing
// them changed GCC's inlining of their callers on the access path.
#pragma once

#include <atomic>
#include <type_traits>

#include "base/types.h"

namespace racert {

// Lock-free and at most a word: each access compiles to a plain instruction,
// never to a libatomic call (which the object cannot link).
template <typename T>
constexpr bool kWordAtomic = std::atomic_ref<T>::is_always_lock_free && sizeof(T) <= 8;

template <typename T>
inline T RelaxedLoad(const T& object) {
  static_assert(kWordAtomic<T>);
  return std::atomic_ref<T>(const_cast<T&>(object)).load(std::memory_order_relaxed);
}

template <typename T>
inline T AcquireLoad(const T& object) {
  static_assert(kWordAtomic<T>);
  return std::atomic_ref<T>(const_cast<T&>(object)).load(std::memory_order_acquire);
}

// std::type_identity_t: the value takes the object's type (a literal 0 or a
// narrower integer converts as in an assignment).
template <typename T>
inline void RelaxedStore(T& object, std::type_identity_t<T> value) {
  static_assert(kWordAtomic<T>);
  std::atomic_ref<T>(object).store(value, std::memory_order_relaxed);
}

template <typename T>
inline void ReleaseStore(T& object, std::type_identity_t<T> value) {
  static_assert(kWordAtomic<T>);
  std::atomic_ref<T>(object).store(value, std::memory_order_release);
}

}  // namespace racert
