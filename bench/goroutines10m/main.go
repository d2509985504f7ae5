// Program goroutines10m: creates 10 million goroutines over its run, 100 000
// alive at once, to measure a race runtime's memory and time per goroutine
// (scripts/long_runs.py goroutines).
//
// Waves: each wave starts -alive goroutines that all block on the wave's gate
// channel; when every one of them has started, the gate is closed, each
// goroutine writes its own slot of a shared slice, reads a value the main
// goroutine wrote before starting it, adds to an atomic counter and ends.
// -total / -alive waves run one after the other.
//
// The flags' defaults can be set by GOROUTINES_TOTAL and GOROUTINES_ALIVE.
//
// Output: "goroutines <created> waves <n> peak_alive <n> seconds <s>", and a
// checksum line that depends only on the flags. Exit status 1 on a mismatch.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// fromEnv lets a runner that cannot pass arguments choose the sizes.
func fromEnv(name string, fallback int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return fallback
}

func main() {
	total := flag.Int("total", fromEnv("GOROUTINES_TOTAL", 10_000_000), "goroutines created over the run")
	alive := flag.Int("alive", fromEnv("GOROUTINES_ALIVE", 100_000), "goroutines alive at once")
	flag.Parse()
	if *alive <= 0 || *total < *alive {
		fmt.Fprintln(os.Stderr, "goroutines10m: need 0 < alive <= total")
		os.Exit(2)
	}

	start := time.Now()
	slots := make([]uint64, *alive)
	var started, finished atomic.Int64
	var sum atomic.Uint64
	peak := 0
	waves := *total / *alive
	for w := 0; w < waves; w++ {
		gate := make(chan struct{})
		var ready, done sync.WaitGroup
		ready.Add(*alive)
		done.Add(*alive)
		base := uint64(w) * 1_000_003 // written before the goroutines start
		for i := 0; i < *alive; i++ {
			go func(i int) {
				defer done.Done()
				started.Add(1)
				ready.Done()
				<-gate
				slots[i] += base + uint64(i)
				sum.Add(uint64(i & 7))
				finished.Add(1)
			}(i)
		}
		ready.Wait()
		if n := runtime.NumGoroutine(); n > peak {
			peak = n
		}
		close(gate)
		done.Wait()
	}
	elapsed := time.Since(start).Seconds()

	var check uint64
	for _, v := range slots {
		check = check*31 + v
	}
	var want uint64
	for i := 0; i < *alive; i++ {
		want += uint64(i & 7)
	}
	want *= uint64(waves)
	fmt.Printf("goroutines %d waves %d peak_alive %d seconds %.1f\n", started.Load(), waves, peak, elapsed)
	fmt.Printf("checksum %d\n", check)
	if finished.Load() != int64(waves**alive) || sum.Load() != want {
		fmt.Fprintf(os.Stderr, "goroutines10m: finished %d, sum %d, want %d\n",
			finished.Load(), sum.Load(), want)
		os.Exit(1)
	}
}
