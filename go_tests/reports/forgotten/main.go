// Command forgotten races with a goroutine that finished long ago: after the
// finisher goroutine writes `a` and exits, `count` (default 3000) other
// goroutines are started and finish, far more than the race runtime keeps
// finished goroutines for reports, and enough to reuse every goroutine slot.
// Then the main goroutine writes `a`.
//
// Nothing here synchronizes the main goroutine with any of them (it waits
// through runtime.NumGoroutine, which the race detector does not see), so
// the race is real and must be reported, even if the earlier goroutine can
// no longer be named.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

var a int

//go:noinline
func finisherWrite() {
	a = 1 // LINE:finisher_write
}

//go:noinline
func mainWrite() {
	a = 2 // LINE:main_write
}

// waitFor waits until no goroutine but the baseline ones is left.
func waitFor(baseline int) {
	for runtime.NumGoroutine() > baseline {
		runtime.Gosched()
	}
}

func main() {
	count := 3000
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "forgotten: bad count:", os.Args[1])
			os.Exit(2)
		}
		count = n
	}
	baseline := runtime.NumGoroutine()
	go finisherWrite()
	waitFor(baseline)
	results := make([]int, count)
	for i := 0; i < count; i++ {
		go func(i int) { results[i] = i }(i)
		if i%100 == 99 {
			waitFor(baseline) // at most 100 alive at once
		}
	}
	waitFor(baseline)
	mainWrite() // LINE:main_calls_write
	fmt.Printf("forgotten: %d goroutines finished in between\n", count)
}
