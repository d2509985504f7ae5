// Command ancestors races between two goroutines that are grandchildren of
// the main goroutine through different parents, for GORACE
// print_full_thread_history: main starts top, top starts midLeft and
// midRight, which start leafLeft and leafRight; the leaves race on x. With
// the option, a report also shows where both mids and top were created.
package main

import (
	"fmt"
	"time"
)

var x int

//go:noinline
func leafLeft(done chan<- bool) {
	x = 1 // LINE:leaf_left_write
	done <- true
}

//go:noinline
func leafRight(done chan<- bool) {
	time.Sleep(20 * time.Millisecond)
	x = 2 // LINE:leaf_right_write
	done <- true
}

//go:noinline
func midLeft(done chan<- bool) { go leafLeft(done) }

//go:noinline
func midRight(done chan<- bool) { go leafRight(done) }

//go:noinline
func top(done chan<- bool) {
	go midLeft(done)
	go midRight(done)
}

func main() {
	done := make(chan bool)
	go top(done)
	<-done
	<-done
	fmt.Println("ancestors: done")
}
