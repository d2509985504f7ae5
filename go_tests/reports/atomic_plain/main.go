// Command atomic_plain has two data races, each between the same goroutine
// and the main goroutine:
//
//   - on counter: an atomic add (atomicAdd) against a plain store
//     (plainStoreCounter). Reported only with GORACE report_atomic_races=1,
//     the default.
//   - on plain: two plain stores (goroutineStorePlain, mainStorePlain).
//     Always reported: report_atomic_races=0 must not hide ordinary races.
//
// The atomic add is a release/acquire on counter's address, but the main
// goroutine never performs an atomic operation, so nothing orders the two
// sides of either race.
package main

import (
	"fmt"
	"sync/atomic"
)

var counter int64
var plain int64

//go:noinline
func atomicAdd() {
	atomic.AddInt64(&counter, 1) // LINE:atomic_add
}

//go:noinline
func plainStoreCounter() {
	counter = 5 // LINE:plain_store_counter
}

//go:noinline
func goroutineStorePlain() {
	plain = 1 // LINE:goroutine_store_plain
}

//go:noinline
func mainStorePlain() {
	plain = 2 // LINE:main_store_plain
}

func main() {
	done := make(chan bool)
	go func() {
		atomicAdd()
		goroutineStorePlain()
		done <- true
	}()
	plainStoreCounter()
	mainStorePlain()
	<-done
	fmt.Println("atomic_plain: done")
}
