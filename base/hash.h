// Non-cryptographic hashing for runtime hash tables (stack dedup and the
// like). Deterministic within and across runs; not resistant to adversarial
// inputs, which the runtime never hashes.
#pragma once

#include "base/types.h"

namespace racert {

// A bijective 64-bit mixer: xor-shifts fold high bits down, odd-constant
// multiplications spread low bits up. Every input bit affects every output
// bit with probability close to 1/2 (tested in base_hash_test).
inline u64 MixHash64(u64 x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return x;
}

// Hashes `size` bytes. Reads whole 8-byte words (unaligned loads through
// memcpy), folds each into the state with a multiply and a mix, and mixes the
// length in so inputs that differ only by trailing zero bytes differ.
inline u64 HashBytes(const void* data, uptr size, u64 seed = 0) {
  constexpr u64 kWordMultiplier = 0x9e3779b97f4a7c15ull;  // odd, well-spread bits
  const u8* bytes = static_cast<const u8*>(data);
  u64 state = MixHash64(seed ^ (size * kWordMultiplier));
  uptr offset = 0;
  for (; offset + 8 <= size; offset += 8) {
    u64 word;
    __builtin_memcpy(&word, bytes + offset, 8);
    state = MixHash64(state ^ (word * kWordMultiplier));
  }
  if (offset < size) {
    u64 tail = 0;
    for (uptr i = 0; offset + i < size; i++) tail |= static_cast<u64>(bytes[offset + i]) << (8 * i);
    state = MixHash64(state ^ (tail * kWordMultiplier) ^ 0xff);
  }
  return MixHash64(state);
}

}  // namespace racert
