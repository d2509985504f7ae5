// Command maps exercises concurrent map use the race-free ways: a plain map
// guarded by a sync.Mutex, a plain map guarded by a sync.RWMutex with a
// read-mostly load, and sync.Map with every method (Store, Load, LoadOrStore,
// LoadAndDelete, Delete, Range, and Swap, CompareAndSwap, CompareAndDelete on
// Go 1.20 and later: maps_go120.go; maps_pre120.go does without them).
//
// Plain maps are only touched while holding their lock, so the program is
// race-free under the Go memory model (and never trips the runtime's own
// "concurrent map" check). Every phase checks its result; a wrong value exits
// with status 1. The last line on success is "OK maps".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL maps: "+format+"\n", args...)
		os.Exit(1)
	}
}

// mutexMap: writers insert disjoint key ranges, delete every third key, and
// update the rest; the final content is fully determined.
func mutexMap() {
	const workers, perWorker = 8, 3000
	var mu sync.Mutex
	m := map[int]string{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			base := w * perWorker
			for i := 0; i < perWorker; i++ {
				mu.Lock()
				m[base+i] = fmt.Sprint(base + i)
				mu.Unlock()
			}
			for i := 0; i < perWorker; i++ {
				mu.Lock()
				if i%3 == 0 {
					delete(m, base+i)
				} else {
					m[base+i] += "!"
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	check(len(m) == workers*perWorker*2/3, "mutex map has %d entries, want %d", len(m), workers*perWorker*2/3)
	for k, v := range m {
		check(k%perWorker%3 != 0, "deleted key %d is present", k)
		check(v == fmt.Sprint(k)+"!", "key %d has value %q", k, v)
	}
}

// rwMutexMap: readers look keys up under RLock while one writer keeps the
// map's two halves in step under Lock.
func rwMutexMap() {
	var rw sync.RWMutex
	m := map[string]int{"left": 0, "right": 0}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rw.RLock()
				l, r := m["left"], m["right"]
				rw.RUnlock()
				if l != r {
					fmt.Printf("FAIL maps: reader saw left=%d right=%d\n", l, r)
					os.Exit(1)
				}
			}
		}()
	}
	for i := 1; i <= 3000; i++ {
		rw.Lock()
		m["left"] = i
		m["right"] = i
		rw.Unlock()
	}
	close(stop)
	wg.Wait()
	check(m["left"] == 3000 && m["right"] == 3000, "rw map final %v", m)
}

// syncMapMethods checks each sync.Map method's return values in one goroutine.
func syncMapMethods() {
	var m sync.Map
	_, ok := m.Load("a")
	check(!ok, "Load on an empty map found a value")
	m.Store("a", 1)
	v, ok := m.Load("a")
	check(ok && v.(int) == 1, "Load after Store: %v %v", v, ok)

	actual, loaded := m.LoadOrStore("a", 2)
	check(loaded && actual.(int) == 1, "LoadOrStore of an existing key: %v %v", actual, loaded)
	actual, loaded = m.LoadOrStore("b", 2)
	check(!loaded && actual.(int) == 2, "LoadOrStore of a new key: %v %v", actual, loaded)

	// a=1, b=2 -> a=11, c=3, no b (with Swap/CompareAndSwap/CompareAndDelete where
	// the release has them: maps_go120.go, else maps_pre120.go).
	swapAndCompare(&m)
	_, ok = m.Load("b")
	check(!ok, "key b still present after CompareAndDelete")

	value, loaded := m.LoadAndDelete("c")
	check(loaded && value.(int) == 3, "LoadAndDelete: %v %v", value, loaded)
	_, loaded = m.LoadAndDelete("c")
	check(!loaded, "LoadAndDelete of a deleted key reported loaded")

	m.Store("d", 4)
	m.Delete("d")
	m.Delete("never there")
	_, ok = m.Load("d")
	check(!ok, "key d still present after Delete")

	var keys []string
	m.Range(func(k, v any) bool {
		keys = append(keys, fmt.Sprintf("%v=%v", k, v))
		return true
	})
	check(len(keys) == 1 && keys[0] == "a=11", "Range saw %v, want [a=11]", keys)

	for i := 0; i < 10; i++ {
		m.Store(i, i)
	}
	visited := 0
	m.Range(func(k, v any) bool {
		visited++
		return visited < 3 // stop early
	})
	check(visited == 3, "Range did not stop when f returned false: %d visits", visited)
}

// syncMapConcurrent: goroutines race to LoadOrStore the same keys (exactly one
// store wins per key), then all update every key (addToKey).
func syncMapConcurrent() {
	var m sync.Map
	const workers, keys = 8, 500
	winners := make([]int, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < keys; k++ {
				if _, loaded := m.LoadOrStore(k, w); !loaded {
					winners[w]++
				}
			}
		}(w)
	}
	wg.Wait()
	total := 0
	for _, n := range winners {
		total += n
	}
	check(total == keys, "LoadOrStore winners %d, want exactly %d", total, keys)

	// Every worker adds 100 to every key (CompareAndSwap retries where the release
	// has CompareAndSwap).
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < keys; k++ {
				addToKey(&m, k, 100)
			}
		}()
	}
	wg.Wait()
	var got []int
	m.Range(func(k, v any) bool {
		owner := v.(int) - workers*100
		check(owner >= 0 && owner < workers, "key %v ended with %v", k, v)
		got = append(got, k.(int))
		return true
	})
	sort.Ints(got)
	check(len(got) == keys, "sync.Map has %d keys, want %d", len(got), keys)
	for i, k := range got {
		check(k == i, "sync.Map key %d missing", i)
	}
}

// syncMapPublication: a value stored in a sync.Map carries the plain writes
// made to it before Store to whoever Loads it.
func syncMapPublication() {
	type record struct{ fields [16]int }
	var m sync.Map
	var wg sync.WaitGroup
	for k := 0; k < 200; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for {
				v, ok := m.Load(k)
				if ok {
					r := v.(*record)
					for i, f := range r.fields {
						check(f == k*i, "record %d field %d = %d", k, i, f)
					}
					return
				}
				runtime.Gosched()
			}
		}(k)
	}
	for k := 0; k < 200; k++ {
		r := &record{}
		for i := range r.fields {
			r.fields[i] = k * i
		}
		m.Store(k, r)
	}
	wg.Wait()
}

func main() {
	mutexMap()
	rwMutexMap()
	syncMapMethods()
	syncMapConcurrent()
	syncMapPublication()
	fmt.Println("OK maps")
}
