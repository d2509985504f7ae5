// Command kinds produces four races, each in one known order, to check how
// reports name the kind of each access and which address they print:
//
//  1. readAfterWrite: a goroutine writes, then main reads: "Read at" by main,
//     "Previous write at" by the goroutine.
//  2. writeAfterRead: the goroutine reads, then main writes: "Write at",
//     "Previous read at".
//  3. writeAfterAtomicLoad: the goroutine does atomic.LoadInt64, then main
//     writes plainly: an atomic load is reported as a (previous) read.
//  4. rangeAfterScalar: the goroutine writes element 5 of a slice, then main
//     copy()s over the whole slice (one range write by runtime code on main's
//     behalf). Both lines print the address of element 5, the first
//     conflicting byte. The program prints that address and the slice's
//     first as "element5=0x... slice=0x..." before the races.
//
// The goroutine runs all its accesses first and publishes that through a flag
// the race detector does not see, so no happens-before edge hides the races.
package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

var (
	readAfterWrite       int64
	writeAfterRead       int64
	writeAfterAtomicLoad int64
	rangeAfterScalar     = make([]int64, 16)
	source               = make([]int64, 16)
	sink                 int64
	phase                int32
)

//go:norace
//go:noinline
func setPhase(v int32) { phase = v }

//go:norace
//go:noinline
func getPhase() int32 { return phase }

//go:noinline
func goroutineAccesses(hold chan struct{}) {
	readAfterWrite = 1                              // LINE:goroutine_write
	sink = writeAfterRead                           // LINE:goroutine_read
	sink += atomic.LoadInt64(&writeAfterAtomicLoad) // LINE:goroutine_atomic_load
	rangeAfterScalar[5] = 5                         // LINE:goroutine_element_write
	setPhase(1)
	<-hold
}

//go:noinline
func mainAccesses() {
	fmt.Println(readAfterWrite)    // LINE:main_read
	writeAfterRead = 2             // LINE:main_write
	writeAfterAtomicLoad = 3       // LINE:main_write_after_atomic
	copy(rangeAfterScalar, source) // LINE:main_copy
}

func main() {
	fmt.Printf("element5=%p slice=%p\n", &rangeAfterScalar[5], &rangeAfterScalar[0])
	hold := make(chan struct{})
	go goroutineAccesses(hold) // LINE:main_go_accesses
	for getPhase() != 1 {
		runtime.Gosched()
	}
	mainAccesses() // LINE:main_calls_accesses
	close(hold)
}
