// Command finalizers exercises runtime.SetFinalizer with garbage collection.
// In race mode the finalizer goroutine is announced to the race runtime
// (__tsan_finalizer_goroutine) and the runtime orders SetFinalizer before the
// finalizer call; heap blocks are freed and reused (__tsan_free/__tsan_malloc).
//
//   - objects whose fields are written before SetFinalizer are finalized, and
//     each finalizer reads those fields and records the result;
//   - a finalizer that is cleared with SetFinalizer(x, nil) never runs;
//   - a reachable object is not finalized;
//   - heavy allocation churn afterwards reuses the freed memory.
//
// "A call to SetFinalizer(x, f) is synchronized before the finalization call
// f(x)" (Go memory model), and main reads the finalizers' results under a
// mutex, so the program is race-free. A wrong result exits with status 1. The
// last line on success is "OK finalizers".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL finalizers: "+format+"\n", args...)
		os.Exit(1)
	}
}

// resource is big enough (and has pointers) to avoid the tiny allocator, so
// each one is its own heap block and becomes unreachable on its own.
type resource struct {
	id      int
	payload [8]int
	name    *string
}

type ledger struct {
	mu        sync.Mutex
	finalized map[int]int // id -> checksum computed by the finalizer
	cleared   int         // finalizers that ran although they had been removed
}

func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.finalized)
}

func checksum(r *resource) int {
	sum := r.id * 1000
	for _, v := range r.payload {
		sum += v
	}
	return sum + len(*r.name)
}

func allocate(l *ledger, first, n int, withFinalizer bool) {
	for i := first; i < first+n; i++ {
		name := fmt.Sprintf("resource-%d", i)
		r := &resource{id: i, name: &name}
		for j := range r.payload {
			r.payload[j] = i + j
		}
		runtime.SetFinalizer(r, func(r *resource) {
			l.mu.Lock()
			defer l.mu.Unlock()
			if withFinalizer {
				l.finalized[r.id] = checksum(r)
			} else {
				l.cleared++
			}
		})
		if !withFinalizer {
			runtime.SetFinalizer(r, nil)
		}
	}
}

func main() {
	const finalizable, cleared = 2000, 500
	l := &ledger{finalized: map[int]int{}}

	keeper := &resource{id: -1, name: new(string)}
	keeperFinalized := make(chan struct{}, 1)
	runtime.SetFinalizer(keeper, func(*resource) { keeperFinalized <- struct{}{} })

	allocate(l, 0, finalizable, true)
	allocate(l, finalizable, cleared, false)

	// Finalizers run some time after the collection that found the object
	// unreachable; collect until all have run or a generous deadline passes.
	deadline := time.Now().Add(20 * time.Second)
	for l.count() < finalizable && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	got := l.count()
	check(got == finalizable, "%d of %d finalizers ran", got, finalizable)

	l.mu.Lock()
	for i := 0; i < finalizable; i++ {
		name := fmt.Sprintf("resource-%d", i)
		want := i*1000 + 8*i + 28 + len(name)
		check(l.finalized[i] == want, "finalizer of %d computed %d, want %d", i, l.finalized[i], want)
	}
	check(l.cleared == 0, "%d removed finalizers ran", l.cleared)
	l.mu.Unlock()

	// Churn: allocate and drop many objects so freed blocks get reused.
	var sink []*resource
	for round := 0; round < 50; round++ {
		sink = sink[:0]
		for i := 0; i < 2000; i++ {
			sink = append(sink, &resource{id: i, name: new(string)})
		}
		if round%10 == 0 {
			runtime.GC()
		}
	}
	check(len(sink) == 2000 && sink[1999].id == 1999, "churn bookkeeping")

	select {
	case <-keeperFinalized:
		check(false, "a reachable object was finalized")
	default:
	}
	runtime.KeepAlive(keeper)
	fmt.Println("OK finalizers")
}
