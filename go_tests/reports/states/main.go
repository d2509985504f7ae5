// Command states produces two races whose reports must describe the
// goroutines involved correctly:
//
//  1. on a: the goroutine started by startFinisher writes a and exits; only
//     after it has finished does the main goroutine write a. Report: current
//     access by "main goroutine" (no creation block for it), previous by the
//     finisher, shown as "Goroutine N (finished) created at:".
//  2. on b: the holder goroutine writes b and stays alive (blocked); then a
//     second goroutine, the writer, writes b. Report: current by the writer,
//     previous by the holder, followed by the writer's creation block and
//     then the holder's, both "(running)".
//
// Ordering between the goroutines goes through things the race detector does
// not treat as synchronization (a norace flag and runtime.NumGoroutine), so
// both races are real, and each happens in one known order.
package main

import (
	"fmt"
	"runtime"
)

var (
	a, b  int
	phase int32
)

//go:norace
//go:noinline
func setPhase(v int32) { phase = v }

//go:norace
//go:noinline
func getPhase() int32 { return phase }

func waitPhase(v int32) {
	for getPhase() != v {
		runtime.Gosched()
	}
}

//go:noinline
func finisherWrite() {
	a = 1 // LINE:finisher_write
}

//go:noinline
func mainWriteA() {
	a = 2 // LINE:main_write_a
}

//go:noinline
func holderWrite() {
	b = 1 // LINE:holder_write
}

//go:noinline
func writerWrite() {
	b = 2 // LINE:writer_write
}

//go:noinline
func startFinisher() {
	go finisherWrite() // LINE:start_finisher_go
}

func main() {
	baseline := runtime.NumGoroutine()
	startFinisher() // LINE:main_calls_start_finisher
	// The finisher is gone once the goroutine count is back to the baseline.
	for runtime.NumGoroutine() > baseline {
		runtime.Gosched()
	}
	mainWriteA() // LINE:main_calls_write_a

	hold := make(chan struct{})
	go func() { // LINE:main_go_holder
		holderWrite() // LINE:holder_calls_write
		setPhase(1)
		<-hold
	}()
	waitPhase(1)
	done := make(chan struct{})
	go func() { // LINE:main_go_writer
		writerWrite() // LINE:writer_calls_write
		close(done)
	}()
	<-done
	close(hold)
	fmt.Println("states: done")
}
