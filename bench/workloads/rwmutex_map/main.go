// Workload rwmutex_map: read-mostly maps behind sync.RWMutex.
//
// The key space is split over a few shards, each a map guarded by its own
// RWMutex. Several reader goroutines do point lookups under RLock; one writer
// goroutine rewrites entries and inserts new ones under Lock, about one write
// per twenty reads. This stresses the read-lock path (many concurrent readers
// acquiring and releasing the same lock) and map accesses, which touch hashed,
// scattered memory.
//
// Determinism: the writer only ever stores value(key) for a key, and readers
// only look up keys that exist from the start, so every lookup returns the
// same value whatever the interleaving.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"sync"

	"racert/bench/internal/workload"
)

const (
	shards           = 8
	initialKeys      = 1 << 15 // keys [0, initialKeys) exist from the start
	insertedKeys     = 1 << 14 // the writer adds keys [initialKeys, initialKeys+insertedKeys)
	readers          = 4
	lookupsPerReader = 1_000_000
	writes           = readers * lookupsPerReader / 20
)

type entry struct {
	value uint64
	hits  uint32 // written only by the writer: the number of times it stored this key
}

type shard struct {
	mu sync.RWMutex
	m  map[int]entry
}

var table [shards]shard

func value(key int) uint64 {
	x := uint64(key)*0x9e3779b97f4a7c15 + 1
	return x ^ x>>31
}

func shardOf(key int) *shard { return &table[key%shards] }

func lookup(key int) uint64 {
	s := shardOf(key)
	s.mu.RLock()
	e := s.m[key]
	s.mu.RUnlock()
	return e.value
}

func store(key int) {
	s := shardOf(key)
	s.mu.Lock()
	e := s.m[key]
	e.value = value(key)
	e.hits++
	s.m[key] = e
	s.mu.Unlock()
}

func reader(id int, sums []uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	var sum uint64
	key := id * 7919
	for i := 0; i < lookupsPerReader; i++ {
		// A stride coprime with initialKeys visits every existing key.
		key = (key + 40503) % initialKeys
		sum += lookup(key)
	}
	sums[id] = sum
}

func writer(wg *sync.WaitGroup) {
	defer wg.Done()
	key := 0
	for i := 0; i < writes; i++ {
		key = (key + 12289) % (initialKeys + insertedKeys)
		store(key)
	}
}

func main() {
	for s := range table {
		table[s].m = make(map[int]entry)
	}
	for key := 0; key < initialKeys; key++ {
		shardOf(key).m[key] = entry{value: value(key)}
	}

	sums := make([]uint64, readers)
	var wg sync.WaitGroup
	wg.Add(readers + 1)
	go writer(&wg)
	for r := 0; r < readers; r++ {
		go reader(r, sums, &wg)
	}
	wg.Wait()

	var checksum uint64
	for _, s := range sums {
		checksum = checksum*31 + s
	}
	// The final table is deterministic too: the writer's sequence is fixed.
	for s := range table {
		for key, e := range table[s].m {
			checksum += (e.value ^ uint64(key)) * uint64(e.hits+1)
		}
	}
	workload.PrintChecksum(checksum)
}
