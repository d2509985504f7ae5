// Command racy is the README demo: a deliberate, textbook data race.
//
// Two goroutines increment the same plain counter with no synchronization
// between them, so their read-modify-write sequences are unordered. A race
// detector must report it whatever the interleaving: under
// `go run -race` it prints "WARNING: DATA RACE" with both stacks, then
// "Found N data race(s)" at exit, and the process exits with status 66.
//
// Without -race it just prints the (possibly wrong) total and exits 0.
package main

import (
	"fmt"
	"sync"
)

func main() {
	counter := 0
	var wg sync.WaitGroup
	for worker := 0; worker < 2; worker++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				counter++ // the race: unsynchronized read-modify-write
			}
		}()
	}
	wg.Wait()
	fmt.Printf("counter = %d\n", counter)
}
