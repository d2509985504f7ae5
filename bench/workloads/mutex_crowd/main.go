// Workload mutex_crowd: a crowd of goroutines on one sync.Mutex.
//
// 2000 goroutines, all alive at once, each lock the same mutex over and over
// and, while holding it, bump a shared counter and a shared map entry; every
// few rounds a goroutine yields, so the holder of the lock keeps changing
// among the whole crowd rather than one goroutine running its rounds alone.
// Nothing else synchronizes them (apart from the final WaitGroup), so every lock
// acquisition joins the clock of whichever of the 2000 goroutines released
// the mutex last. With far more goroutines than the race runtime has
// identities for at once, this is the runtime's acquire/release path at its
// widest, plus the cost of 2000 live goroutines. mutex_pingpong is the
// same lock with half the goroutines and channel hand-offs between them.
//
// Determinism: the updates are additions, which commute, so the final counter
// and map do not depend on the order the goroutines got the lock in.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"runtime"
	"sync"

	"racert/bench/internal/workload"
)

const (
	goroutines = 2000
	rounds     = 1000 // lock acquisitions per goroutine
	yieldEvery = 4    // rounds between yields, so the crowd keeps rotating
	mapKeys    = 512
)

// Guarded by mu.
var (
	mu       sync.Mutex
	counter  uint64
	weighted uint64
	buckets  = make(map[int]uint64, mapKeys)
)

func worker(id int, start <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	<-start
	for r := 0; r < rounds; r++ {
		key := (id*7 + r*13) % mapKeys
		mu.Lock()
		counter++
		weighted += uint64(id+1) * uint64(r+1)
		buckets[key] += uint64(id ^ r)
		mu.Unlock()
		if r%yieldEvery == yieldEvery-1 {
			runtime.Gosched()
		}
	}
}

func main() {
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(goroutines)
	for id := 0; id < goroutines; id++ {
		go worker(id, start, &wg)
	}
	close(start) // every goroutine exists before any takes the lock
	wg.Wait()

	checksum := counter*1_000_003 + weighted
	for key := 0; key < mapKeys; key++ {
		checksum = checksum*31 + buckets[key]
	}
	workload.PrintChecksum(checksum)
}
