#include "base/cpu_features.h"

#include <atomic>
#include <cpuid.h>

namespace racert {
namespace {

enum Answer : u8 { kUnknown = 0, kNo = 1, kYes = 2 };
constinit std::atomic<u8> avx2_answer{kUnknown};

u64 ReadXcr0() {
  u32 eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (u64{edx} << 32) | eax;
}

bool DetectAvx2() {
  u32 eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  constexpr u32 kOsxsave = 1u << 27, kAvx = 1u << 28;
  if ((ecx & (kOsxsave | kAvx)) != (kOsxsave | kAvx)) return false;
  // XMM (bit 1) and YMM (bit 2) state enabled by the kernel.
  if ((ReadXcr0() & 6) != 6) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  constexpr u32 kAvx2 = 1u << 5;
  return (ebx & kAvx2) != 0;
}

}  // namespace

bool CpuHasAvx2() {
  u8 answer = avx2_answer.load(std::memory_order_relaxed);
  if (RACERT_UNLIKELY(answer == kUnknown)) {
    answer = DetectAvx2() ? kYes : kNo;
    avx2_answer.store(answer, std::memory_order_relaxed);
  }
  return answer == kYes;
}

}  // namespace racert
