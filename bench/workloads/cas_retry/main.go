// Workload cas_retry: a compare-and-swap retry loop on one shared word.
//
// 16 goroutines add to a float64 gauge stored as its bit pattern in one
// atomic.Uint64, the way metrics libraries implement a float Add: Load the
// word, compute the new sum with math.Float64frombits/Float64bits, and
// CompareAndSwap, retrying from the Load when another goroutine got in first.
// A second word, a plain uint64 counter updated with the function-style API,
// sees the same loop. Every iteration is an atomic load and an atomic CAS on
// a single contended cache line, so this is the race runtime's atomic path
// with every goroutine synchronizing on the same address.
//
// Determinism: every delta is a small multiple of 1/4 and the total stays far
// below 2^53, so each float sum is exact and the final value does not depend
// on the order the additions happened in. How many retries there were varies
// from run to run and is not part of the checksum.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"fmt"
	"math"
	"os"
	"sync/atomic"

	"racert/bench/internal/workload"
)

const (
	goroutines  = 16
	addsPerGoro = 400_000
)

type gauge struct{ bits atomic.Uint64 }

func (g *gauge) add(delta float64) (retries int) {
	for {
		old := g.bits.Load()
		updated := math.Float64bits(math.Float64frombits(old) + delta)
		if g.bits.CompareAndSwap(old, updated) {
			return retries
		}
		retries++
	}
}

func (g *gauge) value() float64 { return math.Float64frombits(g.bits.Load()) }

var (
	latency gauge
	events  uint64 // only touched through sync/atomic functions
)

func addEvents(n uint64) (retries int) {
	for {
		old := atomic.LoadUint64(&events)
		if atomic.CompareAndSwapUint64(&events, old, old+n) {
			return retries
		}
		retries++
	}
}

func worker(id int, retries *atomic.Int64) {
	r := 0
	for i := 0; i < addsPerGoro; i++ {
		// Quarter steps from 0.25 to 4.0: exactly representable.
		r += latency.add(float64((id*31+i)%16+1) * 0.25)
		if i%4 == 0 {
			r += addEvents(uint64(id + 1))
		}
	}
	retries.Add(int64(r))
}

func main() {
	var retries atomic.Int64
	workload.Parallel(goroutines, func(id int) { worker(id, &retries) })

	var want float64
	for id := 0; id < goroutines; id++ {
		for i := 0; i < addsPerGoro; i++ {
			want += float64((id*31+i)%16+1) * 0.25
		}
	}
	if latency.value() != want {
		fmt.Fprintf(os.Stderr, "cas_retry: gauge %v, want %v\n", latency.value(), want)
		os.Exit(1)
	}
	checksum := math.Float64bits(latency.value())*31 + atomic.LoadUint64(&events)
	workload.PrintChecksum(checksum)
}
