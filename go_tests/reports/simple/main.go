// Command simple has one data race between two stores, shaped like the
// "simple" case of Go's runtime/race TestOutput: a goroutine started through
// startRacer stores to x while the main goroutine stores to it too.
//
// It is the workhorse of the GORACE option tests. Whichever store runs second
// is reported; both orders give the same pair of stacks. The race happens
// before "simple: after the race" is printed (that print is ordered after
// both stores by the channel receive), so with halt_on_error=1 the line must
// never appear.
//
// The "LINE:<name>" comments mark lines the tests look up by name instead of
// hard-coding line numbers.
package main

import (
	"fmt"
	"os"
)

//go:noinline
func store(x *int, v int) {
	*x = v // LINE:store
}

//go:noinline
func racer(x *int, done chan bool) {
	store(x, 42) // LINE:racer_calls_store
	done <- true
}

//go:noinline
func startRacer(x *int, done chan bool) {
	go racer(x, done) // LINE:start_racer_go
}

func main() {
	fmt.Println("simple: start") // LINE:start_print
	done := make(chan bool)
	x := 0
	startRacer(&x, done) // LINE:main_calls_start_racer
	store(&x, 43)        // LINE:main_calls_store
	<-done
	fmt.Println("simple: after the race")
	os.Exit(0)
}
