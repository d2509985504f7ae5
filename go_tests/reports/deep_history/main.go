// Command deep_history races on an access made long before the race is
// detected, to check that the previous access's full stack is restored.
//
// The worker goroutine writes *x four calls deep (level1 → level2 → level3 →
// firstWrite), then, before the main goroutine's conflicting write, makes
// callsPerIteration×iterations = 100 000 non-inlined calls in iterations =
// 10 000 loop iterations; the innermost call of each iteration writes a new
// element of a heap slice, so the history also records 10 000 accesses at a
// different stack depth in between. The worker prints what it did, then
// tells main to go on through a flag that the race detector does not see
// (norace functions), so that no happens-before edge hides the race.
package main

import (
	"fmt"
	"runtime"
)

const (
	iterations        = 10000
	callsPerIteration = 10
)

var (
	calls int                       // non-inlined calls made by the worker after its first write
	trail = make([]int, iterations) // one element written per iteration
	phase int32
)

// setPhase and getPhase pass a flag between goroutines without telling the
// race detector: a plain store and load in functions it does not instrument.
//
//go:norace
//go:noinline
func setPhase(v int32) { phase = v }

//go:norace
//go:noinline
func getPhase() int32 { return phase }

//go:noinline
func firstWrite(x *int) {
	*x = 1 // LINE:first_write
}

//go:noinline
func level3(x *int) {
	firstWrite(x) // LINE:level3_calls
}

//go:noinline
func level2(x *int) {
	level3(x) // LINE:level2_calls
}

//go:noinline
func level1(x *int) {
	level2(x) // LINE:level1_calls
}

// descend makes `depth` nested calls (itself included) and writes one trail
// element at the bottom.
//
//go:noinline
func descend(depth, iteration int) {
	calls++
	if depth == 1 {
		trail[iteration] = iteration
		return
	}
	descend(depth-1, iteration)
}

//go:noinline
func worker(x *int, hold chan struct{}) {
	level1(x) // LINE:worker_calls_level1
	loops := 0
	for i := 0; i < iterations; i++ {
		descend(callsPerIteration, i)
		loops++
	}
	fmt.Printf("deep_history: calls=%d iterations=%d\n", calls, loops)
	setPhase(1)
	<-hold
}

//go:noinline
func secondWrite(x *int) {
	*x = 2 // LINE:second_write
}

func main() {
	x := new(int)
	hold := make(chan struct{})
	go worker(x, hold) // LINE:main_go_worker
	for getPhase() != 1 {
		runtime.Gosched()
	}
	secondWrite(x) // LINE:main_calls_second_write
	close(hold)
}
