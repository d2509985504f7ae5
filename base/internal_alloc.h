// The runtime's own heap, independent of libc malloc and of the Go heap.
//
// Contract:
//   * InternalAlloc never returns null (Fatal when the kernel refuses memory),
//     returns memory that is zeroed and 16-byte aligned. Size 0 is allowed and
//     yields a unique, freeable block. Only the requested `size` bytes are
//     guaranteed zero, not the slack up to the block size.
//   * InternalFree must be given the same size that was passed to
//     InternalAlloc (the allocator keeps no per-block header). Null is ignored.
//   * Thread-safe; no per-thread state (goroutines migrate between threads).
//
// Small blocks (<= 64 KiB) come from size classes: 16 B, then powers of two and
// the halfway points between them (32, 48, 64, 96, 128, 192, ... 49152, 65536;
// 24 is skipped to keep every block 16-byte aligned). Each class carves blocks
// out of slabs of at least 64 KiB mapped from the kernel and keeps freed
// blocks on a lock-protected free list; slabs are never returned to the OS.
// Larger blocks are mapped and unmapped individually.
//
// This is off the hot path by design: correctness and low overhead, not speed.
#pragma once

// <new> is a freestanding header; only its inline placement form is used.
#include <new>

#include "base/types.h"

namespace racert {

void* InternalAlloc(uptr size);
void InternalFree(void* p, uptr size);

// For tests only (no runtime code calls them):
// Bytes currently handed out to callers, counted at block granularity (the
// size-class size, or the page-rounded size for large blocks).
uptr InternalAllocatedBytesForTesting();
// Bytes currently mapped from the kernel by the allocator (slabs plus large
// blocks).
uptr InternalMappedBytesForTesting();
// The block size actually reserved for a request of `size` bytes.
uptr InternalAllocBlockSizeForTesting(uptr size);

// Constructs a T in InternalAlloc memory (which is already zeroed).
template <typename T, typename... A>
T* InternalNew(A&&... args) {
  void* memory = InternalAlloc(sizeof(T));
  return ::new (memory) T(static_cast<A&&>(args)...);
}

// Destroys and frees an object made by InternalNew. Null is ignored.
template <typename T>
void InternalDelete(T* p) {
  if (p == nullptr) return;
  p->~T();
  InternalFree(p, sizeof(T));
}

}  // namespace racert
