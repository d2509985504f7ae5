// Command mutex exercises sync.Mutex and sync.RWMutex: counters and
// multi-field invariants guarded by a Mutex, readers and writers sharing an
// RWMutex, TryLock, RLocker, and a lock hand-off chain between goroutines.
//
// All shared plain data is accessed only while holding the lock that guards
// it, so the program is race-free under the Go memory model. Every phase
// checks its result; a wrong value exits with status 1. The last line on
// success is "OK mutex".
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
		fmt.Printf("FAIL mutex: "+format+"\n", args...)
		os.Exit(1)
	}
}

// account keeps an invariant across two plain fields: a + b == total.
type account struct {
	mu    sync.Mutex
	a, b  int
	moves int
}

func (acc *account) transfer(amount int) {
	acc.mu.Lock()
	defer acc.mu.Unlock()
	acc.a -= amount
	acc.b += amount
	acc.moves++
}

func (acc *account) sum() (int, int) {
	acc.mu.Lock()
	defer acc.mu.Unlock()
	return acc.a + acc.b, acc.moves
}

func mutexCounter() {
	const workers, perWorker = 8, 20000
	var mu sync.Mutex
	counter := 0
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < perWorker; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			done <- struct{}{}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	mu.Lock()
	got := counter
	mu.Unlock()
	check(got == workers*perWorker, "mutex counter %d, want %d", got, workers*perWorker)
}

func mutexInvariant() {
	acc := &account{a: 1000000}
	const workers, perWorker = 6, 5000
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := 0; i < perWorker; i++ {
				acc.transfer(w - 2) // some negative, some positive amounts
				if i%100 == 0 {
					if total, _ := acc.sum(); total != 1000000 {
						fmt.Printf("FAIL mutex: invariant broken mid-run: %d\n", total)
						os.Exit(1)
					}
				}
			}
			done <- struct{}{}
		}(w)
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	total, moves := acc.sum()
	check(total == 1000000 && moves == workers*perWorker, "account total %d moves %d", total, moves)
}

// rwMutex: many readers check an invariant over a plain map while writers
// rewrite it under the write lock. Readers must never see a half-written map.
func rwMutex() {
	var rw sync.RWMutex
	table := map[int]int{}
	for k := 0; k < 16; k++ {
		table[k] = 0
	}
	var concurrentReaders atomic.Int32 // readers inside the read lock right now
	var stop atomic.Bool
	readerDone := make(chan int)
	for r := 0; r < 6; r++ {
		go func() {
			reads := 0
			for !stop.Load() || reads == 0 {
				rw.RLock()
				concurrentReaders.Add(1)
				first := table[0]
				for k := 1; k < 16; k++ {
					if table[k] != first {
						fmt.Printf("FAIL mutex: reader saw torn table: [0]=%d [%d]=%d\n", first, k, table[k])
						os.Exit(1)
					}
				}
				concurrentReaders.Add(-1)
				rw.RUnlock()
				reads++
			}
			readerDone <- reads
		}()
	}
	writerDone := make(chan struct{})
	const writers, writesEach = 2, 500
	for w := 0; w < writers; w++ {
		go func() {
			for i := 0; i < writesEach; i++ {
				rw.Lock()
				check(concurrentReaders.Load() == 0, "a reader is inside while the write lock is held")
				v := table[0] + 1
				for k := range table {
					table[k] = v
				}
				rw.Unlock()
			}
			writerDone <- struct{}{}
		}()
	}
	for w := 0; w < writers; w++ {
		<-writerDone
	}
	stop.Store(true)
	for r := 0; r < 6; r++ {
		check(<-readerDone > 0, "a reader never read")
	}
	rw.RLock()
	final := table[15]
	rw.RUnlock()
	check(final == writers*writesEach, "rwmutex final value %d, want %d", final, writers*writesEach)
}

// tryLock: TryLock fails while another goroutine holds the lock and succeeds
// once it is released; TryRLock succeeds alongside other readers.
func tryLock() {
	var mu sync.Mutex
	check(mu.TryLock(), "TryLock on a free mutex failed")
	held := make(chan bool)
	go func() { held <- mu.TryLock() }()
	check(!<-held, "TryLock succeeded on a held mutex")
	mu.Unlock()
	go func() {
		ok := mu.TryLock()
		if ok {
			mu.Unlock()
		}
		held <- ok
	}()
	check(<-held, "TryLock on a released mutex failed")

	var rw sync.RWMutex
	rw.RLock()
	check(rw.TryRLock(), "TryRLock failed alongside another reader")
	check(!rw.TryLock(), "TryLock succeeded while readers hold the lock")
	rw.RUnlock()
	rw.RUnlock()
	check(rw.TryLock(), "TryLock on a free RWMutex failed")
	check(!rw.TryRLock(), "TryRLock succeeded while a writer holds the lock")
	rw.Unlock()
}

// rLocker: the Locker returned by RLocker takes the read side.
func rLocker() {
	var rw sync.RWMutex
	shared := 0
	var l sync.Locker = rw.RLocker()
	rw.Lock()
	shared = 7
	rw.Unlock()
	done := make(chan int)
	for i := 0; i < 4; i++ {
		go func() {
			l.Lock()
			v := shared
			l.Unlock()
			done <- v
		}()
	}
	for i := 0; i < 4; i++ {
		check(<-done == 7, "RLocker reader saw a wrong value")
	}
}

// handoff: a chain of goroutines, each waiting for the previous one to
// unlock; the plain slice grows in the exact chain order.
func handoff() {
	const n = 50
	var mu sync.Mutex
	var order []int
	turn := make([]chan struct{}, n+1)
	for i := range turn {
		turn[i] = make(chan struct{})
	}
	for i := 0; i < n; i++ {
		go func(i int) {
			<-turn[i]
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			close(turn[i+1])
		}(i)
	}
	close(turn[0])
	select {
	case <-turn[n]:
	case <-time.After(10 * time.Second):
		check(false, "hand-off chain stalled")
	}
	mu.Lock()
	defer mu.Unlock()
	check(len(order) == n, "chain length %d", len(order))
	for i, v := range order {
		check(v == i, "chain order[%d] = %d", i, v)
	}
}

func main() {
	mutexCounter()
	mutexInvariant()
	rwMutex()
	tryLock()
	rLocker()
	handoff()
	fmt.Println("OK mutex")
}
