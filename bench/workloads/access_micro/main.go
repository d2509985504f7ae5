// Workload access_micro: the cost of single memory accesses, phase by phase.
//
// One goroutine, no synchronization, four timed phases:
//
//	fill   fresh 4 KiB heap buffers written byte by byte (1-byte stores to
//	       memory just handed out by the allocator; a ring of recent buffers
//	       stays reachable so each one really lives on the heap)
//	load   sequential 8-byte loads over a long-lived 1 MiB []uint64
//	store  sequential 8-byte stores over the same slice
//	rmw    8-byte read-modify-write (s[i] += x) over the same slice
//
// Each phase runs `repetitions` times, accessesPerRep accesses of its kind each
// time (for rmw: that many elements, each one load and one store), timed by the
// program's own monotonic clock. The fastest repetition counts: it is the one
// least disturbed by other processes on a shared machine. In a -race build
// each access is a call into the race runtime, so the difference between
// runtimes per access is the runtime's own cost on its fast path;
// scripts/bench_micro.py compares the variants.
//
// Output: one "checksum" line on stdout that depends only on the constants
// below, and one informational line on stderr, nanoseconds per access of the
// fastest repetition of each phase:
//
//	access_micro ns_per_access fill=1.234 load=0.567 store=0.890 rmw=1.234 accesses=8388608
package main

import (
	"fmt"
	"os"
	"time"

	"racert/bench/internal/workload"
)

const (
	repetitions      = 8       // each phase runs this many times
	accessesPerRep   = 1 << 23 // accesses per repetition
	accessesPerPhase = repetitions * accessesPerRep
	bufferBytes      = 4096
	ringSize         = 16
	sliceWords       = 1 << 17 // 1 MiB
)

var ring [ringSize][]byte // keeps the latest buffers reachable (forces heap allocation)

func fill() uint64 {
	var sum uint64
	for n := 0; n < accessesPerRep/bufferBytes; n++ {
		b := make([]byte, bufferBytes)
		x := byte(n)
		for i := range b {
			b[i] = x
			x += 7
		}
		ring[n%ringSize] = b
		sum += uint64(b[n%bufferBytes])
	}
	return sum
}

func load(s []uint64) uint64 {
	var sum uint64
	for pass := 0; pass < accessesPerRep/len(s); pass++ {
		for i := range s {
			sum += s[i]
		}
	}
	return sum
}

func store(s []uint64) uint64 {
	for pass := 0; pass < accessesPerRep/len(s); pass++ {
		x := uint64(pass) * 0x9e3779b97f4a7c15
		for i := range s {
			s[i] = x
			x += 3
		}
	}
	return s[0] ^ s[len(s)-1]
}

func rmw(s []uint64) uint64 {
	for pass := 0; pass < accessesPerRep/len(s); pass++ {
		x := uint64(pass) | 1
		for i := range s {
			s[i] += x
		}
	}
	return s[1] ^ s[len(s)/2]
}

func main() {
	s := make([]uint64, sliceWords)
	for i := range s {
		s[i] = uint64(i) * 2654435761
	}

	var checksum uint64
	var ns [4]float64
	phases := []func() uint64{
		fill,
		func() uint64 { return load(s) },
		func() uint64 { return store(s) },
		func() uint64 { return rmw(s) },
	}
	for p, phase := range phases {
		fastest := time.Duration(1<<63 - 1)
		for r := 0; r < repetitions; r++ {
			start := time.Now()
			checksum = checksum*31 + phase()
			fastest = min(fastest, time.Since(start))
		}
		ns[p] = float64(fastest.Nanoseconds()) / accessesPerRep
	}
	for _, b := range ring {
		checksum += uint64(len(b))
	}

	workload.PrintChecksum(checksum)
	fmt.Fprintf(os.Stderr, "access_micro ns_per_access fill=%.3f load=%.3f store=%.3f rmw=%.3f accesses=%d\n",
		ns[0], ns[1], ns[2], ns[3], accessesPerRep)
}
