// Command repeated races on every element of one array from the same two
// source locations: a goroutine (goroutineWriter) and the main goroutine
// (mainWriter) each write all cellCount elements with no synchronization.
//
// Each 8-byte element is its own race, always between the same two stacks.
// With GORACE suppress_equal_stacks=1 (the default) that pair is reported
// once; with suppress_equal_stacks=0 every element is reported: exactly
// cellCount reports (each element is accessed once by each side, so it can
// race only once).
package main

import "fmt"

const cellCount = 16

//go:noinline
func goroutineWriter(cells *[cellCount]int) {
	for i := range cells {
		cells[i] = i // LINE:goroutine_write
	}
}

//go:noinline
func mainWriter(cells *[cellCount]int) {
	for i := range cells {
		cells[i] = -i // LINE:main_write
	}
}

func main() {
	cells := new([cellCount]int)
	done := make(chan bool)
	go func() {
		goroutineWriter(cells)
		done <- true
	}()
	mainWriter(cells)
	<-done
	fmt.Printf("repeated: wrote %d cells from two goroutines\n", cellCount)
}
