// The identity every recorded access is stamped with: the slot of the
// goroutine that made it, the slot's epoch at the time, and the reset
// generation. The core issues them (tsan_core/slot_pool.h: slots, epochs,
// resets) and indexes clocks by slot (tsan_core/vector_clock.h); the shadow
// stores them in cells (shadow/shadow_cell.h, which fixes the bits each
// takes there). Here so that both see one vocabulary without the core's
// headers depending on the cell encoding.
#pragma once

#include "base/types.h"

namespace racert {

using Sid = u8;         // a slot id: 0 .. kSlotCount - 1
using Epoch = u32;      // a slot's logical time; 0 is never issued
using Generation = u8;  // the reset generation; 0 is never valid

constexpr unsigned kSlotCount = 256;
static_assert(kSlotCount == 1u << (8 * sizeof(Sid)), "every Sid value names a slot, and every slot has one");

}  // namespace racert
