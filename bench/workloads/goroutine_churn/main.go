// Workload goroutine_churn: a million short-lived goroutines beside a big heap.
//
// 512 MiB is allocated once, every page of it is written, and it stays
// reachable until the end. Then 2^20 goroutines are started in waves; each does
// a few instructions of work and exits, and the main goroutine waits for the
// whole wave on a WaitGroup before starting the next. This stresses goroutine
// creation and exit in the detector (per-goroutine state, the happens-before
// edges of go/WaitGroup) while a large heap is mapped, which exposes memory
// overhead proportional to the application's heap.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"runtime"
	"sync"

	"racert/bench/internal/workload"
)

const (
	heapBytes       = 512 << 20
	heapChunkBytes  = 1 << 20 // the heap is held as chunks, like a real cache
	pageBytes       = 4096
	totalGoroutines = 1 << 20
	waveSize        = 1024
)

// liveHeap keeps the big heap reachable for the whole run.
var liveHeap [][]byte

func allocateLiveHeap() uint64 {
	liveHeap = make([][]byte, heapBytes/heapChunkBytes)
	var sum uint64
	for c := range liveHeap {
		chunk := make([]byte, heapChunkBytes)
		// One write per page commits the memory without turning the setup
		// into a benchmark of its own.
		for off := 0; off < len(chunk); off += pageBytes {
			chunk[off] = byte(c + off/pageBytes)
		}
		liveHeap[c] = chunk
	}
	for c, chunk := range liveHeap {
		sum += uint64(chunk[(c*pageBytes)%heapChunkBytes])
	}
	return sum
}

// shortTask is the whole life of one goroutine: a little arithmetic written to
// its own result slot.
func shortTask(wave, index int, results []uint64, wg *sync.WaitGroup) {
	x := uint64(wave)*waveSize + uint64(index) + 1
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 29
	results[index] = x
	wg.Done()
}

func main() {
	heapSum := allocateLiveHeap()

	results := make([]uint64, waveSize)
	var checksum uint64
	for wave := 0; wave < totalGoroutines/waveSize; wave++ {
		var wg sync.WaitGroup
		wg.Add(waveSize)
		for i := 0; i < waveSize; i++ {
			go shortTask(wave, i, results, &wg)
		}
		wg.Wait()
		for _, r := range results {
			checksum += r
		}
	}

	// Read the heap again at the end so it cannot be considered dead earlier.
	for c := 0; c < len(liveHeap); c += 7 {
		heapSum += uint64(liveHeap[c][pageBytes])
	}
	runtime.KeepAlive(liveHeap)
	workload.PrintChecksum(checksum ^ heapSum<<32)
}
