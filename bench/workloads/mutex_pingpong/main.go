// Workload mutex_pingpong: heavy synchronization between many goroutines.
//
// 1000 goroutines contend on a single sync.Mutex, and the same goroutines are
// paired up to bounce a token over unbuffered channels between their critical
// sections. Almost all of the detector's work is acquire/release on the mutex
// and channels (vector-clock joins and copies) and goroutine switching; plain
// memory accesses are few.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"sync"

	"racert/bench/internal/workload"
)

const (
	goroutines = 1000 // even: goroutine 2k and 2k+1 are partners
	rounds     = 800  // per goroutine: one locked update and one ping-pong each
)

// shared is protected by mu.
var (
	mu     sync.Mutex
	shared struct {
		updates int64
		mixed   uint64
	}
)

func lockedUpdate(id, round int) {
	mu.Lock()
	shared.updates++
	// Addition commutes, so the final value does not depend on lock order.
	shared.mixed += uint64(id)*2654435761 ^ uint64(round)
	mu.Unlock()
}

// serve answers every token its partner sends with token+1.
func serve(id int, requests <-chan uint64, replies chan<- uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	for round := 0; round < rounds; round++ {
		lockedUpdate(id, round)
		token := <-requests
		replies <- token + 1
	}
}

// ask sends a token to its partner each round and accumulates the replies.
func ask(id int, requests chan<- uint64, replies <-chan uint64, pairSums []uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	var sum uint64
	for round := 0; round < rounds; round++ {
		lockedUpdate(id, round)
		requests <- uint64(id*rounds + round)
		sum += <-replies
	}
	pairSums[id/2] = sum
}

func main() {
	pairSums := make([]uint64, goroutines/2)
	var wg sync.WaitGroup
	for pair := 0; pair < goroutines/2; pair++ {
		requests := make(chan uint64)
		replies := make(chan uint64)
		wg.Add(2)
		go ask(2*pair, requests, replies, pairSums, &wg)
		go serve(2*pair+1, requests, replies, &wg)
	}
	wg.Wait()

	workload.PrintChecksum(workload.Fold(uint64(shared.updates)*1_000_003+shared.mixed, pairSums))
}
