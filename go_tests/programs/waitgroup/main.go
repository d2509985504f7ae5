// Command waitgroup exercises sync.WaitGroup: fan-out/fan-in where workers
// write disjoint slots of a plain slice that the waiter reads after Wait,
// reuse of one WaitGroup across many waves, nested groups, Add with counts
// above one, and several goroutines waiting on the same group.
//
// Each worker's Done happens before the Wait that it unblocks returns, so the
// reads after Wait are race-free under the Go memory model. Every phase checks
// its result; a wrong value exits with status 1. The last line on success is
// "OK waitgroup".
package main

import (
	"fmt"
	"os"
	"sync"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL waitgroup: "+format+"\n", args...)
		os.Exit(1)
	}
}

func fanOutFanIn() {
	const workers = 64
	results := make([]int, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sum := 0
			for i := 0; i <= w*100; i++ {
				sum += i
			}
			results[w] = sum // each worker owns one slot
		}(w)
	}
	wg.Wait()
	for w, got := range results {
		n := w * 100
		check(got == n*(n+1)/2, "worker %d result %d, want %d", w, got, n*(n+1)/2)
	}
}

// waves reuses a single WaitGroup: the counter returns to zero between waves.
func waves() {
	var wg sync.WaitGroup
	shared := make([]int, 16)
	for wave := 1; wave <= 200; wave++ {
		for i := range shared {
			wg.Add(1)
			go func(i int) {
				shared[i] += wave // each goroutine owns one slot in this wave
				wg.Done()
			}(i)
		}
		wg.Wait()
	}
	want := 200 * 201 / 2
	for i, v := range shared {
		check(v == want, "slot %d = %d after waves, want %d", i, v, want)
	}
}

// addMany: one Add(n) followed by n Done calls from different goroutines.
func addMany() {
	const n = 100
	var wg sync.WaitGroup
	wg.Add(n)
	flags := make([]bool, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			flags[i] = true
			wg.Done()
		}(i)
	}
	wg.Wait()
	for i, f := range flags {
		check(f, "flag %d not set after Wait", i)
	}
}

// nested: workers start sub-workers with their own WaitGroup and publish a
// subtotal; the outer group covers the workers only.
func nested() {
	const outer, inner = 8, 8
	subtotals := make([]int, outer)
	var wg sync.WaitGroup
	for o := 0; o < outer; o++ {
		wg.Add(1)
		go func(o int) {
			defer wg.Done()
			parts := make([]int, inner)
			var sub sync.WaitGroup
			for i := 0; i < inner; i++ {
				sub.Add(1)
				go func(i int) {
					defer sub.Done()
					parts[i] = o*inner + i
				}(i)
			}
			sub.Wait()
			for _, p := range parts {
				subtotals[o] += p
			}
		}(o)
	}
	wg.Wait()
	total := 0
	for _, s := range subtotals {
		total += s
	}
	n := outer * inner
	check(total == n*(n-1)/2, "nested total %d, want %d", total, n*(n-1)/2)
}

// manyWaiters: several goroutines wait on one group; all see the data the
// workers wrote.
func manyWaiters() {
	var work, waiters sync.WaitGroup
	data := make([]int, 10)
	work.Add(len(data))
	for i := range data {
		go func(i int) {
			defer work.Done()
			data[i] = i * i
		}(i)
	}
	sums := make([]int, 5)
	for w := range sums {
		waiters.Add(1)
		go func(w int) {
			defer waiters.Done()
			work.Wait()
			for _, v := range data {
				sums[w] += v
			}
		}(w)
	}
	waiters.Wait()
	for w, s := range sums {
		check(s == 285, "waiter %d saw sum %d, want 285", w, s)
	}
}

func main() {
	fanOutFanIn()
	waves()
	addMany()
	nested()
	manyWaiters()
	fmt.Println("OK waitgroup")
}
