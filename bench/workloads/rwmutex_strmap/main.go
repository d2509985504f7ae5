// Workload rwmutex_strmap: a string-keyed map behind one sync.RWMutex.
//
// A registry maps string names (like "svc-000123/endpoint-7") to small
// structs, behind a single RWMutex. Four reader goroutines look names up under
// RLock; one writer replaces and adds entries under Lock, about one write per
// forty reads. Readers use keys built once up front, and about one lookup in
// eight builds its key afresh with strconv, as a caller parsing a request
// would. Compared with rwmutex_map (int keys, eight shards), every reader here
// meets on the same lock and the map hashes and compares string bytes.
//
// Determinism: the writer only ever stores valueOf(name) for a name, and
// readers only look up names present from the start, so every lookup returns
// the same value whatever the interleaving.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"

	"racert/bench/internal/workload"
)

const (
	initialNames     = 20_000
	addedNames       = 10_000
	readers          = 4
	lookupsPerReader = 1_000_000
	freshKeyEvery    = 8
	writes           = readers * lookupsPerReader / 40
)

type record struct {
	hash    uint64
	version uint32 // written only by the writer
	owner   string
}

var (
	mu       sync.RWMutex
	registry = make(map[string]*record)
)

func nameOf(n int) string {
	return "svc-" + strconv.Itoa(100_000+n/8) + "/endpoint-" + strconv.Itoa(n%8)
}

func valueOf(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return h
}

func lookup(name string) (uint64, bool) {
	mu.RLock()
	r, ok := registry[name]
	var h uint64
	if ok {
		h = r.hash
	}
	mu.RUnlock()
	return h, ok
}

func reader(id int, names []string, sums []uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	var sum uint64
	n := id * 7919
	for i := 0; i < lookupsPerReader; i++ {
		// A stride coprime with initialNames visits every initial name.
		n = (n + 4099) % initialNames
		name := names[n]
		if i%freshKeyEvery == 0 {
			name = nameOf(n)
		}
		h, ok := lookup(name)
		if !ok {
			fmt.Fprintf(os.Stderr, "rwmutex_strmap: %q missing\n", name)
			os.Exit(1)
		}
		sum += h
	}
	sums[id] = sum
}

func writer(names []string, wg *sync.WaitGroup) {
	defer wg.Done()
	n := 0
	for i := 0; i < writes; i++ {
		n = (n + 7001) % len(names)
		name := names[n]
		mu.Lock()
		old := registry[name]
		r := &record{hash: valueOf(name), owner: "writer"}
		if old != nil {
			r.version = old.version + 1
		}
		registry[name] = r
		mu.Unlock()
	}
}

func main() {
	names := make([]string, initialNames+addedNames)
	for n := range names {
		names[n] = nameOf(n)
	}
	for _, name := range names[:initialNames] {
		registry[name] = &record{hash: valueOf(name), owner: "init"}
	}

	sums := make([]uint64, readers)
	var wg sync.WaitGroup
	wg.Add(readers + 1)
	go writer(names, &wg)
	for r := 0; r < readers; r++ {
		go reader(r, names[:initialNames], sums, &wg)
	}
	wg.Wait()

	var checksum uint64
	for _, s := range sums {
		checksum = checksum*31 + s
	}
	// The writer's sequence is fixed, so the final versions are too.
	for _, name := range names {
		if r, ok := registry[name]; ok {
			checksum += (r.hash ^ uint64(len(r.owner))) * uint64(r.version+1)
		}
	}
	workload.PrintChecksum(checksum)
}
