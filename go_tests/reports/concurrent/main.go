// Command concurrent makes many races happen at the same time: `pairs` pairs
// of goroutines, each pair racing on its own array of cellCount words, all
// released together. Run it with GOMAXPROCS>=2 and GORACE
// suppress_equal_stacks=0: every word is one race (each side writes it once),
// so exactly pairs×cellCount reports are printed, from several threads at
// once. Each report must come out whole, never interleaved with another.
package main

import (
	"fmt"
	"sync"
)

const (
	pairs     = 16
	cellCount = 128
)

//go:noinline
func forwardWriter(cells *[cellCount]int) {
	for i := 0; i < cellCount; i++ {
		cells[i] = i // LINE:forward_write
	}
}

//go:noinline
func backwardWriter(cells *[cellCount]int) {
	for i := cellCount - 1; i >= 0; i-- {
		cells[i] = -i // LINE:backward_write
	}
}

func main() {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for p := 0; p < pairs; p++ {
		cells := new([cellCount]int)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			forwardWriter(cells)
		}()
		go func() {
			defer wg.Done()
			<-start
			backwardWriter(cells)
		}()
	}
	close(start)
	wg.Wait()
	fmt.Printf("concurrent: %d pairs x %d cells\n", pairs, cellCount)
}
