// Package workload is what the benchmark programs (bench/workloads/*,
// bench/soak) have in common: goroutines started and waited for, the one
// output line scripts/bench_run.py compares across variants, a deterministic
// generator and a bounded cache.
package workload

import (
	"fmt"
	"sync"
)

// Parallel runs body(0) .. body(n-1), each on a goroutine of its own, and
// returns when every one has returned.
func Parallel(n int, body func(id int)) {
	var wg sync.WaitGroup
	wg.Add(n)
	for id := 0; id < n; id++ {
		go func(id int) {
			defer wg.Done()
			body(id)
		}(id)
	}
	wg.Wait()
}

// RunWorkers runs worker(0) .. worker(n-1) in parallel and returns their
// results in the order of their ids.
func RunWorkers(n int, worker func(id int) uint64) []uint64 {
	results := make([]uint64, n)
	Parallel(n, func(id int) { results[id] = worker(id) })
	return results
}

// Fold mixes values into sum in order, each with its index, so that the
// result depends on which value came from where.
func Fold(sum uint64, values []uint64) uint64 {
	for i, v := range values {
		sum = sum*31 + v + uint64(i)
	}
	return sum
}

// Stage starts n goroutines running body and closes out once all of them
// have returned: a pipeline stage of n workers that all send on out.
func Stage[T any](n int, out chan<- T, body func()) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			body()
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
}

// PrintChecksum prints the workload's one line on stdout. It must depend only
// on the workload's constants: scripts/bench_run.py flags a variant whose line
// differs from the others'.
func PrintChecksum(sum uint64) {
	fmt.Printf("checksum %d\n", sum)
}

// SampleSum reads every stride-th byte of data, each weighted by its offset:
// enough to make the data observable without a per-byte pass of the
// checksum's own (which would be a benchmark of its own).
func SampleSum[S ~string | ~[]byte](data S, stride int) uint64 {
	var sum uint64
	for i := 0; i < len(data); i += stride {
		sum += uint64(data[i]) * uint64(i+1)
	}
	return sum
}
