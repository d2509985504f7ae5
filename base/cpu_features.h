// What the processor offers beyond the x86-64 baseline the object is built
// for. The object must run on every amd64 machine Go supports, so wider
// instructions are used only in functions compiled for them and chosen at
// run time from these answers.
#pragma once

#include "base/types.h"

namespace racert {

// Whether AVX2 instructions can be used: the CPU has them and the kernel
// saves the YMM state. Computed on first call, then one relaxed load.
bool CpuHasAvx2();

}  // namespace racert
