// Workload atomic_fanout: shared counters hammered with sync/atomic.
//
// A fan-out of goroutines updates a handful of shared words with atomic Add,
// Load and CompareAndSwap (both the typed atomics and the package functions).
// In race builds every atomic goes through the detector, which must perform
// the operation and record its synchronization, so this measures the atomic
// path under real contention on the same cache lines.
//
// Determinism: Adds and successful CASes commute, so the final counter values
// are fixed; loaded values vary between runs and only feed a check whose
// outcome is fixed (a counter never goes backwards).
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"fmt"
	"os"
	"sync/atomic"

	"racert/bench/internal/workload"
)

const (
	fanout        = 16
	opsPerWorker  = 200_000
	casEveryNth   = 4 // one CAS-loop increment per this many iterations
	loadEveryNth  = 2
	maxCandidates = 1 << 20
)

var (
	hits      atomic.Int64
	weighted  atomic.Uint64
	casTicket atomic.Int64
	highWater atomic.Uint64
	flags     uint32 // updated with the function-style API
)

// casIncrement is the classic retry loop: each success adds exactly one.
func casIncrement(v *atomic.Int64) {
	for {
		old := v.Load()
		if v.CompareAndSwap(old, old+1) {
			return
		}
	}
}

// raiseTo makes highWater the maximum of all candidates offered.
func raiseTo(candidate uint64) {
	for {
		old := highWater.Load()
		if candidate <= old || highWater.CompareAndSwap(old, candidate) {
			return
		}
	}
}

func worker(id int, backwards *atomic.Int64) {
	var lastSeen int64
	for i := 0; i < opsPerWorker; i++ {
		hits.Add(1)
		weighted.Add(uint64(id*opsPerWorker + i))
		atomic.AddUint32(&flags, uint32(i&3))
		if i%casEveryNth == 0 {
			casIncrement(&casTicket)
		}
		if i%loadEveryNth == 0 {
			seen := hits.Load()
			if seen < lastSeen {
				backwards.Add(1)
			}
			lastSeen = seen
		}
		raiseTo(uint64((id*7919 + i*104729) % maxCandidates))
	}
}

func main() {
	var backwards atomic.Int64
	workload.Parallel(fanout, func(id int) { worker(id, &backwards) })

	if backwards.Load() != 0 {
		fmt.Fprintln(os.Stderr, "atomic counter went backwards")
		os.Exit(1)
	}
	checksum := uint64(hits.Load())*1_000_003 ^ weighted.Load()
	checksum = checksum*31 + uint64(casTicket.Load())
	checksum = checksum*31 + highWater.Load()
	checksum = checksum*31 + uint64(atomic.LoadUint32(&flags))
	workload.PrintChecksum(checksum)
}
