// Command lost_history races on an access whose history has been pushed out
// of the worker goroutine's history window by a large amount of later work.
//
// The worker writes *x (firstWrite), then makes `passes` passes over a heap
// array of `words` 8-byte words, releasing a mutex after each pass. The
// release starts a new epoch, so every write of the next pass changes the
// shadow again and is recorded: passes×words history events of 16 bytes (an
// address word and a pc), far beyond the default 1 MiB window (GORACE
// history_size=0). Then the main
// goroutine writes *x. The race must still be reported, with the previous
// access's goroutine and "[failed to restore the stack]".
//
// Usage: lost_history [words [passes]] (defaults 1048576 and 4: 64 MiB of
// events). passes=0 leaves the history intact, as a control.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
)

var phase int32

// See deep_history: a flag the race detector does not see.
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
func churn(words, passes int) int {
	big := make([]int64, words)
	var mu sync.Mutex
	for p := 0; p < passes; p++ {
		for i := range big {
			big[i] = int64(p)
		}
		mu.Lock()
		mu.Unlock() // a release: the next pass runs in a new epoch
	}
	return len(big) * passes
}

//go:noinline
func worker(x *int, words, passes int, hold chan struct{}) {
	firstWrite(x) // LINE:worker_calls_first_write
	written := churn(words, passes)
	fmt.Printf("lost_history: %d writes after the first access\n", written)
	setPhase(1)
	<-hold
}

//go:noinline
func secondWrite(x *int) {
	*x = 2 // LINE:second_write
}

func argument(index, fallback int) int {
	if len(os.Args) <= index {
		return fallback
	}
	n, err := strconv.Atoi(os.Args[index])
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "lost_history: bad argument %q\n", os.Args[index])
		os.Exit(2)
	}
	return n
}

func main() {
	words, passes := argument(1, 1<<20), argument(2, 4)
	x := new(int)
	hold := make(chan struct{})
	go worker(x, words, passes, hold) // LINE:main_go_worker
	for getPhase() != 1 {
		runtime.Gosched()
	}
	secondWrite(x) // LINE:main_calls_second_write
	close(hold)
}
