// Command goroutines stresses goroutine creation and exit, which a race
// runtime sees as __tsan_go_start / __tsan_go_end plus the synchronization
// between parent and child:
//
//   - 100 000 short-lived goroutines in waves of 5 000, each writing its own
//     slot of a plain slice that the parent reads after the wave;
//   - 10 000 goroutines alive at the same time, all blocked until released,
//     then each reporting through a channel;
//   - a tree of goroutines, each parent waiting for its children;
//   - goroutines that exit through runtime.Goexit and through a recovered panic.
//
// The go statement happens before the child starts, and WaitGroup/channel
// operations order every child's writes before the parent's reads, so the
// program is race-free under the Go memory model. A wrong result exits with
// status 1. The last line on success is "OK goroutines".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL goroutines: "+format+"\n", args...)
		os.Exit(1)
	}
}

func waves() {
	const total, waveSize = 100000, 5000
	slots := make([]int32, waveSize)
	var sum int64
	var wg sync.WaitGroup
	for wave := 0; wave < total/waveSize; wave++ {
		base := wave * waveSize
		// Plain write by the parent before go: visible to each child.
		for i := range slots {
			slots[i] = int32(base + i)
		}
		for i := 0; i < waveSize; i++ {
			wg.Add(1)
			go func(i int) {
				slots[i] = slots[i]*2 + 1 // each child owns one slot
				wg.Done()
			}(i)
		}
		wg.Wait()
		for i, v := range slots {
			check(v == int32(2*(base+i)+1), "wave %d slot %d = %d", wave, i, v)
			sum += int64(v)
		}
	}
	want := int64(total) * int64(total) // sum over k < total of (2k+1)
	check(sum == want, "wave checksum %d, want %d", sum, want)
}

func manyAlive() {
	const alive = 10000
	release := make(chan struct{})
	var started atomic.Int32
	results := make(chan int, alive)
	for i := 0; i < alive; i++ {
		go func(i int) {
			started.Add(1)
			<-release
			results <- i
		}(i)
	}
	// Wait until every goroutine is running and blocked on release.
	for started.Load() < alive {
		runtime.Gosched()
	}
	now := runtime.NumGoroutine()
	check(now >= alive, "only %d goroutines alive, want at least %d", now, alive)
	close(release)
	seen := make([]bool, alive)
	for i := 0; i < alive; i++ {
		v := <-results
		check(!seen[v], "goroutine %d reported twice", v)
		seen[v] = true
	}
}

// tree builds a tree of depth levels with fanout children per node and
// returns the number of nodes, computed by the goroutines themselves.
func tree(depth, fanout int) int {
	if depth == 0 {
		return 1
	}
	counts := make([]int, fanout)
	var wg sync.WaitGroup
	for c := 0; c < fanout; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			counts[c] = tree(depth-1, fanout)
		}(c)
	}
	wg.Wait()
	n := 1
	for _, c := range counts {
		n += c
	}
	return n
}

func unusualExits() {
	const n = 1000
	var wg sync.WaitGroup
	ranDefer := make([]bool, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { ranDefer[i] = true }()
			if i%2 == 0 {
				runtime.Goexit()
			}
			func() {
				defer func() {
					if r := recover(); r != i {
						fmt.Printf("FAIL goroutines: recovered %v, want %d\n", r, i)
						os.Exit(1)
					}
				}()
				panic(i)
			}()
		}(i)
	}
	wg.Wait()
	for i, ok := range ranDefer {
		check(ok, "goroutine %d exited without running its defers", i)
	}
}

func main() {
	waves()
	manyAlive()
	nodes := tree(6, 4)
	check(nodes == (1<<14-1)/3, "tree has %d nodes, want %d", nodes, (1<<14-1)/3)
	unusualExits()
	fmt.Println("OK goroutines")
}
