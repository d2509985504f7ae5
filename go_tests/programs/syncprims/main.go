// Command syncprims exercises the remaining sync primitives: sync.Once (and,
// on Go 1.21 and later, OnceFunc/OnceValue/OnceValues: syncprims_go121.go),
// sync.Cond with Signal and Broadcast, and sync.Pool.
//
// Once's function returns before any Do returns, Cond is used with its lock
// held around the shared state, and a Pool object is only used by the
// goroutine that got it, so the program is race-free under the Go memory
// model. A wrong result exits with status 1. The last line on success is
// "OK syncprims".
package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL syncprims: "+format+"\n", args...)
		os.Exit(1)
	}
}

// once: many goroutines call Do at once; the function runs exactly once and
// every caller sees the plain data it initialised.
func once() {
	for round := 0; round < 100; round++ {
		var o sync.Once
		var calls atomic.Int32
		var config map[string]int // initialised inside Do, read by all callers
		var wg sync.WaitGroup
		for g := 0; g < 20; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o.Do(func() {
					calls.Add(1)
					config = map[string]int{"round": round, "size": 3}
				})
				if config["round"] != round || config["size"] != 3 {
					fmt.Printf("FAIL syncprims: Once caller saw %v\n", config)
					os.Exit(1)
				}
			}()
		}
		wg.Wait()
		check(calls.Load() == 1, "Once ran %d times", calls.Load())
	}

	// A panicking Do still counts as done.
	var o sync.Once
	func() {
		defer func() { _ = recover() }()
		o.Do(func() { panic("first") })
	}()
	ran := false
	o.Do(func() { ran = true })
	check(!ran, "Once ran again after a panicking first call")
}

// laterParts are the checks of sync features younger than the oldest Go release
// racert is tested with; the files that define them carry a build constraint on
// the Go release and register them here.
var laterParts []func()

// condQueue: a bounded queue with two condition variables; producers wait for
// space, consumers wait for items (Signal), and a final Broadcast ends it.
func condQueue() {
	const producers, consumers, perProducer, capacity = 4, 4, 2000, 8
	var mu sync.Mutex
	notEmpty := sync.NewCond(&mu)
	notFull := sync.NewCond(&mu)
	var queue []int
	closed := false

	var consumed [producers * perProducer]int32
	var cwg, pwg sync.WaitGroup
	for c := 0; c < consumers; c++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for {
				mu.Lock()
				for len(queue) == 0 && !closed {
					notEmpty.Wait()
				}
				if len(queue) == 0 && closed {
					mu.Unlock()
					return
				}
				v := queue[0]
				queue = queue[1:]
				notFull.Signal()
				mu.Unlock()
				atomic.AddInt32(&consumed[v], 1)
			}
		}()
	}
	for p := 0; p < producers; p++ {
		pwg.Add(1)
		go func(p int) {
			defer pwg.Done()
			for i := 0; i < perProducer; i++ {
				mu.Lock()
				for len(queue) >= capacity {
					notFull.Wait()
				}
				check(len(queue) < capacity, "queue over capacity")
				queue = append(queue, p*perProducer+i)
				notEmpty.Signal()
				mu.Unlock()
			}
		}(p)
	}
	pwg.Wait()
	mu.Lock()
	closed = true
	notEmpty.Broadcast()
	mu.Unlock()
	cwg.Wait()
	for v, n := range consumed {
		check(n == 1, "item %d consumed %d times", v, n)
	}
}

// condBroadcast: every waiter wakes on Broadcast and sees the state set
// before it.
func condBroadcast() {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	generation := 0
	message := ""
	const waiters = 30
	var ready, done sync.WaitGroup
	got := make([]string, waiters)
	for w := 0; w < waiters; w++ {
		ready.Add(1)
		done.Add(1)
		go func(w int) {
			defer done.Done()
			mu.Lock()
			ready.Done()
			for generation == 0 {
				cond.Wait()
			}
			got[w] = message
			mu.Unlock()
		}(w)
	}
	ready.Wait()
	time.Sleep(time.Millisecond) // let some of them actually block in Wait
	mu.Lock()
	message = "go"
	generation = 1
	cond.Broadcast()
	mu.Unlock()
	done.Wait()
	for w, m := range got {
		check(m == "go", "waiter %d saw %q", w, m)
	}
}

// pool: objects from a Pool are either fresh from New or previously Put; a
// goroutine owns an object between Get and Put and resets it before Put.
func pool() {
	type buffer struct {
		data  [64]byte
		used  int
		owner int64
	}
	var created atomic.Int32
	p := sync.Pool{New: func() any {
		created.Add(1)
		return &buffer{}
	}}
	var wg sync.WaitGroup
	var ownerIDs atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				b := p.Get().(*buffer)
				if b.used != 0 || b.owner != 0 {
					fmt.Printf("FAIL syncprims: pooled buffer not reset: used=%d owner=%d\n", b.used, b.owner)
					os.Exit(1)
				}
				me := ownerIDs.Add(1)
				b.owner = me
				for j := range b.data {
					b.data[j] = byte(i + j)
					b.used++
				}
				for j := range b.data {
					if b.data[j] != byte(i+j) || b.owner != me {
						fmt.Printf("FAIL syncprims: pooled buffer shared with another goroutine\n")
						os.Exit(1)
					}
				}
				b.used = 0
				b.owner = 0
				p.Put(b)
			}
		}()
	}
	wg.Wait()
	check(created.Load() >= 1, "Pool.New never called")
	// The pool must reuse objects: far fewer creations than the 32 000 Gets.
	check(created.Load() < 16000, "Pool created %d objects for 32000 Gets", created.Load())
}

func main() {
	once()
	for _, part := range laterParts {
		part()
	}
	condQueue()
	condBroadcast()
	pool()
	fmt.Println("OK syncprims")
}
