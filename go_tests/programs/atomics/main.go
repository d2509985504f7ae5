// Command atomics checks every sync/atomic operation a race build routes
// through the race runtime object. In race builds sync/atomic is implemented
// by calls into the object (__tsan_go_atomic32_* / __tsan_go_atomic64_*), so
// the object itself performs the hardware operation; this program verifies
// that it does so exactly:
//
//   - every op (Load, Store, Swap, Add, CompareAndSwap, and since Go 1.23
//     And, Or) of every width (Int32, Uint32, Int64, Uint64, Uintptr),
//     through both the function API and the typed API (constructors in
//     atomics_go123.go and atomics_pre123.go), with exact return values: Add
//     returns the NEW value, Swap/And/Or return the OLD value,
//     CompareAndSwap reports success and only writes on success; wrap-around
//     at the type's limits; guard words on both sides catch an operation of
//     the wrong width;
//   - Bool, Pointer[T], the unsafe.Pointer functions and atomic.Value
//     (including its inconsistent-type and nil panics);
//   - concurrent fan-out: counters, bit masks via Or/And (Go 1.23 on), Swap token
//     conservation, CompareAndSwap loops, adjacent 32-bit cells, and
//     publication of plain data behind an atomic flag.
//
// Plain data is only read after an atomic load observed the store that
// followed the writes, so the program is race-free under the Go memory model.
// Any wrong value exits with status 1. The last line on success is
// "OK atomics".
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL atomics: "+format+"\n", args...)
		os.Exit(1)
	}
}

type integer interface {
	~int32 | ~uint32 | ~int64 | ~uint64 | ~uintptr
}

// cell is one atomic integer seen through one API: the function API on a
// plain variable or the methods of a typed atomic.
//
// The constructors (int32Funcs ... uintptrType) are in atomics_go123.go, which
// fills and/or, and atomics_pre123.go, which leaves them nil: And and Or exist
// in sync/atomic since Go 1.23 only.
type cell[T integer] struct {
	name  string
	load  func() T
	store func(T)
	swap  func(T) T
	add   func(T) T
	cas   func(old, new T) bool
	and   func(T) T
	or    func(T) T
}

// truncate converts at run time, so wide bit patterns can be narrowed to T.
func truncate[T integer](bits uint64) T { return T(bits) }

// checkSequential runs a fixed script of single-goroutine operations and
// checks every return value and every resulting value exactly.
func checkSequential[T integer](c cell[T]) {
	a := truncate[T](0x8123456789abcdef)
	b := truncate[T](0x7edcba9876543210)
	d := truncate[T](0x0000000100000003) // crosses the 32-bit boundary on 64-bit types
	x := truncate[T](0xf0f0f0f00f0f0f0f)

	c.store(a)
	check(c.load() == a, "%s: Load after Store(%#x) = %#x", c.name, a, c.load())

	old := c.swap(b)
	check(old == a, "%s: Swap returned %#x, want old value %#x", c.name, old, a)
	check(c.load() == b, "%s: value after Swap = %#x, want %#x", c.name, c.load(), b)

	sum := c.add(d)
	check(sum == b+d, "%s: Add(%#x) returned %#x, want new value %#x", c.name, d, sum, b+d)
	check(c.load() == b+d, "%s: value after Add = %#x", c.name, c.load())

	var one T = 1
	dec := c.add(0 - one) // decrement idiom (AddUint32(&x, ^uint32(0)) for unsigned)
	check(dec == b+d-1, "%s: Add(-1) returned %#x, want %#x", c.name, dec, b+d-1)

	check(!c.cas(x, a), "%s: CompareAndSwap with a wrong old value succeeded", c.name)
	check(c.load() == dec, "%s: failed CompareAndSwap changed the value to %#x", c.name, c.load())
	check(c.cas(dec, x), "%s: CompareAndSwap with the right old value failed", c.name)
	check(c.load() == x, "%s: value after CompareAndSwap = %#x, want %#x", c.name, c.load(), x)

	if c.and != nil { // And and Or exist since Go 1.23
		andMask := truncate[T](0xff00ff00ff00ff00)
		old = c.and(andMask)
		check(old == x, "%s: And returned %#x, want old value %#x", c.name, old, x)
		check(c.load() == x&andMask, "%s: value after And = %#x, want %#x", c.name, c.load(), x&andMask)

		orMask := truncate[T](0x0000ffff0000ffff)
		old = c.or(orMask)
		check(old == x&andMask, "%s: Or returned %#x, want old value %#x", c.name, old, x&andMask)
		want := x&andMask | orMask
		check(c.load() == want, "%s: value after Or = %#x, want %#x", c.name, c.load(), want)
	}

	// Wrap-around at the limits: all ones plus one is zero for every width
	// and signedness, and for signed types the maximum plus one is the minimum.
	allOnes := truncate[T](^uint64(0))
	c.store(allOnes)
	check(c.add(1) == 0, "%s: all-ones + 1 did not wrap to 0 (got %#x)", c.name, c.load())
	width := unsafe.Sizeof(allOnes) * 8
	maxSigned := truncate[T](1<<(width-1) - 1) // for unsigned T simply the middle of the range
	c.store(maxSigned)
	check(c.add(1) == maxSigned+1, "%s: max + 1 = %#x, want %#x", c.name, c.load(), maxSigned+1)

	c.store(0)
	check(c.swap(0) == 0 && c.load() == 0, "%s: zero-preserving ops changed a zero value", c.name)
	if c.and != nil {
		check(c.and(allOnes) == 0 && c.or(0) == 0 && c.load() == 0,
			"%s: zero-preserving ops changed a zero value", c.name)
	}
}

// guarded places an atomic between two plain words of the same width; an
// operation of the wrong width or at the wrong address clobbers a guard.
type guarded[T any] struct {
	before uint64
	value  T
	after  uint64
}

const guardPattern = 0x5a5a5a5a5a5a5a5a

// For 32-bit cells the guard words sit right next to the value only when the
// guards are 32-bit too, so those use their own layout.
type guarded32[T any] struct {
	before uint32
	value  T
	after  uint32
}

const guardPattern32 = 0xa5a5a5a5

func checkGuards64[T any](name string, g *guarded[T]) {
	check(g.before == guardPattern && g.after == guardPattern,
		"%s: neighbouring memory clobbered: before %#x after %#x", name, g.before, g.after)
}

func checkGuards32[T any](name string, g *guarded32[T]) {
	check(g.before == guardPattern32 && g.after == guardPattern32,
		"%s: neighbouring memory clobbered: before %#x after %#x", name, g.before, g.after)
}

func sequentialIntegers() {
	{
		g := &guarded32[int32]{before: guardPattern32, after: guardPattern32}
		checkSequential(int32Funcs(&g.value))
		checkGuards32("Int32 functions", g)
	}
	{
		g := &guarded32[uint32]{before: guardPattern32, after: guardPattern32}
		checkSequential(uint32Funcs(&g.value))
		checkGuards32("Uint32 functions", g)
	}
	{
		g := &guarded[int64]{before: guardPattern, after: guardPattern}
		checkSequential(int64Funcs(&g.value))
		checkGuards64("Int64 functions", g)
	}
	{
		g := &guarded[uint64]{before: guardPattern, after: guardPattern}
		checkSequential(uint64Funcs(&g.value))
		checkGuards64("Uint64 functions", g)
	}
	{
		g := &guarded[uintptr]{before: guardPattern, after: guardPattern}
		checkSequential(uintptrFuncs(&g.value))
		checkGuards64("Uintptr functions", g)
	}
	{
		g := &guarded32[atomic.Int32]{before: guardPattern32, after: guardPattern32}
		checkSequential(int32Type(&g.value))
		checkGuards32("atomic.Int32", g)
	}
	{
		g := &guarded32[atomic.Uint32]{before: guardPattern32, after: guardPattern32}
		checkSequential(uint32Type(&g.value))
		checkGuards32("atomic.Uint32", g)
	}
	{
		g := &guarded[atomic.Int64]{before: guardPattern, after: guardPattern}
		checkSequential(int64Type(&g.value))
		checkGuards64("atomic.Int64", g)
	}
	{
		g := &guarded[atomic.Uint64]{before: guardPattern, after: guardPattern}
		checkSequential(uint64Type(&g.value))
		checkGuards64("atomic.Uint64", g)
	}
	{
		g := &guarded[atomic.Uintptr]{before: guardPattern, after: guardPattern}
		checkSequential(uintptrType(&g.value))
		checkGuards64("atomic.Uintptr", g)
	}
}

func sequentialBool() {
	g := &guarded32[atomic.Bool]{before: guardPattern32, after: guardPattern32}
	b := &g.value
	check(!b.Load(), "Bool: zero value is true")
	b.Store(true)
	check(b.Load(), "Bool: Load after Store(true) = false")
	check(b.Swap(false), "Bool: Swap returned false, want old value true")
	check(!b.Load(), "Bool: value after Swap(false) = true")
	check(!b.CompareAndSwap(true, true), "Bool: CompareAndSwap(true, ...) succeeded on false")
	check(!b.Load(), "Bool: failed CompareAndSwap changed the value")
	check(b.CompareAndSwap(false, true), "Bool: CompareAndSwap(false, true) failed on false")
	check(b.Load(), "Bool: value after CompareAndSwap = false")
	check(b.Swap(true), "Bool: Swap(true) on true returned false, want old value true")
	checkGuards32("atomic.Bool", g)
}

type payload struct {
	id   int
	text string
}

func sequentialPointers() {
	first, second, third := &payload{1, "one"}, &payload{2, "two"}, &payload{3, "three"}

	// Typed Pointer[T].
	gp := &guarded[atomic.Pointer[payload]]{before: guardPattern, after: guardPattern}
	p := &gp.value
	check(p.Load() == nil, "Pointer: zero value is not nil")
	p.Store(first)
	check(p.Load() == first, "Pointer: Load after Store")
	check(p.Swap(second) == first, "Pointer: Swap did not return the old pointer")
	check(p.Load() == second, "Pointer: value after Swap")
	check(!p.CompareAndSwap(first, third), "Pointer: CompareAndSwap with a stale old value succeeded")
	check(p.Load() == second, "Pointer: failed CompareAndSwap changed the value")
	check(p.CompareAndSwap(second, third), "Pointer: CompareAndSwap with the current value failed")
	check(p.Load() == third && p.Load().text == "three", "Pointer: value after CompareAndSwap")
	check(p.Swap(nil) == third && p.Load() == nil, "Pointer: Swap to nil")
	checkGuards64("atomic.Pointer", gp)

	// unsafe.Pointer functions.
	gu := &guarded[unsafe.Pointer]{before: guardPattern, after: guardPattern}
	u := &gu.value
	check(atomic.LoadPointer(u) == nil, "LoadPointer: zero value is not nil")
	atomic.StorePointer(u, unsafe.Pointer(first))
	check(atomic.LoadPointer(u) == unsafe.Pointer(first), "LoadPointer after StorePointer")
	check(atomic.SwapPointer(u, unsafe.Pointer(second)) == unsafe.Pointer(first), "SwapPointer old value")
	check(!atomic.CompareAndSwapPointer(u, unsafe.Pointer(first), unsafe.Pointer(third)),
		"CompareAndSwapPointer with a stale old value succeeded")
	check(atomic.CompareAndSwapPointer(u, unsafe.Pointer(second), unsafe.Pointer(third)),
		"CompareAndSwapPointer with the current value failed")
	check((*payload)(atomic.LoadPointer(u)).id == 3, "LoadPointer after CompareAndSwapPointer")
	checkGuards64("unsafe.Pointer functions", gu)
}

// panicMessage runs f and returns the text of its panic ("" if none).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func sequentialValue() {
	var v atomic.Value
	check(v.Load() == nil, "Value: zero value Load is not nil")
	v.Store(10)
	check(v.Load().(int) == 10, "Value: Load after Store")
	check(v.Swap(20).(int) == 10, "Value: Swap did not return the old value")
	check(!v.CompareAndSwap(10, 30), "Value: CompareAndSwap with a stale old value succeeded")
	check(v.Load().(int) == 20, "Value: failed CompareAndSwap changed the value")
	check(v.CompareAndSwap(20, 30), "Value: CompareAndSwap with the current value failed")
	check(v.Load().(int) == 30, "Value: value after CompareAndSwap")

	msg := panicMessage(func() { v.Store("a string") })
	check(strings.Contains(msg, "inconsistently typed"), "Value: storing another type: panic %q", msg)
	msg = panicMessage(func() { v.Store(nil) })
	check(strings.Contains(msg, "nil"), "Value: storing nil: panic %q", msg)
	check(v.Load().(int) == 30, "Value: a rejected Store changed the value")

	var fresh atomic.Value
	check(fresh.Swap("first") == nil, "Value: Swap on an empty Value returned non-nil")
	check(fresh.Load().(string) == "first", "Value: Load after the first Swap")
	var empty atomic.Value
	check(!empty.CompareAndSwap("absent", "x"), "Value: CompareAndSwap of a non-nil old on an empty Value succeeded")
	check(empty.CompareAndSwap(nil, "x"), "Value: CompareAndSwap(nil, v) on an empty Value failed")
	check(empty.Load().(string) == "x", "Value: Load after CompareAndSwap from empty")
}

// concurrentCounters: fan-out adders on every integer cell; the total is exact.
func concurrentCounters() {
	const workers, perWorker = 8, 4000
	var (
		i32   int32
		u32   uint32
		i64   int64
		u64   uint64
		uptr  uintptr
		ti32  atomic.Int32
		tu32  atomic.Uint32
		ti64  atomic.Int64
		tu64  atomic.Uint64
		tuptr atomic.Uintptr
	)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				// Odd workers add 3, even workers add -1 (or its unsigned equivalent).
				if w%2 == 1 {
					atomic.AddInt32(&i32, 3)
					atomic.AddUint32(&u32, 3)
					atomic.AddInt64(&i64, 3<<33)
					atomic.AddUint64(&u64, 3<<33)
					atomic.AddUintptr(&uptr, 3)
					ti32.Add(3)
					tu32.Add(3)
					ti64.Add(3 << 33)
					tu64.Add(3 << 33)
					tuptr.Add(3)
				} else {
					atomic.AddInt32(&i32, -1)
					atomic.AddUint32(&u32, ^uint32(0))
					atomic.AddInt64(&i64, -1<<33)
					atomic.AddUint64(&u64, ^uint64(1<<33-1))
					atomic.AddUintptr(&uptr, ^uintptr(0))
					ti32.Add(-1)
					tu32.Add(^uint32(0))
					ti64.Add(-1 << 33)
					tu64.Add(^uint64(1<<33 - 1))
					tuptr.Add(^uintptr(0))
				}
			}
		}(w)
	}
	wg.Wait()
	net := int64(workers/2) * perWorker * (3 - 1)
	check(atomic.LoadInt32(&i32) == int32(net), "AddInt32 total %d, want %d", i32, net)
	check(atomic.LoadUint32(&u32) == uint32(net), "AddUint32 total %d, want %d", u32, net)
	check(atomic.LoadInt64(&i64) == net<<33, "AddInt64 total %#x, want %#x", i64, net<<33)
	check(atomic.LoadUint64(&u64) == uint64(net)<<33, "AddUint64 total %#x, want %#x", u64, uint64(net)<<33)
	check(atomic.LoadUintptr(&uptr) == uintptr(net), "AddUintptr total %d, want %d", uptr, net)
	check(ti32.Load() == int32(net), "Int32.Add total %d, want %d", ti32.Load(), net)
	check(tu32.Load() == uint32(net), "Uint32.Add total %d, want %d", tu32.Load(), net)
	check(ti64.Load() == net<<33, "Int64.Add total %#x, want %#x", ti64.Load(), net<<33)
	check(tu64.Load() == uint64(net)<<33, "Uint64.Add total %#x, want %#x", tu64.Load(), uint64(net)<<33)
	check(tuptr.Load() == uintptr(net), "Uintptr.Add total %d, want %d", tuptr.Load(), net)
}

// concurrentBits: each goroutine owns one bit. Or sets it and must return an
// old value without it; And clears it and must return an old value with it.
// Releases without And and Or (before Go 1.23) skip it.
func concurrentBits[T integer](name string, bits int, c cell[T]) {
	if c.and == nil {
		return
	}
	c.store(0)
	var wg sync.WaitGroup
	var bad atomic.Int32
	for round := 0; round < 20; round++ {
		for bit := 0; bit < bits; bit++ {
			wg.Add(1)
			go func(mask T) {
				defer wg.Done()
				if c.or(mask)&mask != 0 {
					bad.Add(1)
				}
			}(T(1) << bit)
		}
		wg.Wait()
		check(c.load() == truncate[T](^uint64(0)), "%s: Or of all bits = %#x", name, c.load())
		for bit := 0; bit < bits; bit++ {
			wg.Add(1)
			go func(mask T) {
				defer wg.Done()
				if c.and(^mask)&mask == 0 {
					bad.Add(1)
				}
			}(T(1) << bit)
		}
		wg.Wait()
		check(c.load() == 0, "%s: And clearing all bits left %#x", name, c.load())
	}
	check(bad.Load() == 0, "%s: %d And/Or calls returned a wrong old value", name, bad.Load())
}

// concurrentSwaps: every value swapped in comes out exactly once, either as
// some Swap's return value or as the final value.
func concurrentSwaps[T integer](c cell[T]) {
	const workers, perWorker = 6, 2000
	c.store(0)
	olds := make([][]T, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				olds[w] = append(olds[w], c.swap(T(w*perWorker+i+1)))
			}
		}(w)
	}
	wg.Wait()
	seen := make([]int, workers*perWorker+1)
	for _, list := range olds {
		for _, v := range list {
			seen[v]++
		}
	}
	seen[c.load()]++
	for v, n := range seen {
		check(n == 1, "%s: value %d came out of Swap %d times", c.name, v, n)
	}
}

// concurrentCAS: a counter built from CompareAndSwap loops; exactly one CAS
// succeeds per increment.
func concurrentCAS[T integer](c cell[T]) {
	const workers, perWorker = 6, 3000
	c.store(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				for {
					old := c.load()
					if c.cas(old, old+1) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	check(c.load() == T(workers*perWorker), "%s: CompareAndSwap counter %d, want %d", c.name, c.load(), workers*perWorker)
}

// adjacentCells: goroutines hammer neighbouring words, one word each; an
// operation implemented with a wider or misplaced access would lose or leak
// updates between neighbours. Each goroutine replays its own operations on a
// local variable, so the final value of its word is known exactly.
func adjacentCells() {
	const perWorker = 5000
	var counters [8]int32
	var masks [8]uint32
	var wide [4]uint64
	var wantMasks [8]uint32
	var wg sync.WaitGroup
	for i := range counters {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var local uint32
			for n := 0; n < perWorker; n++ {
				atomic.AddInt32(&counters[i], 1)
				set := uint32(1) << ((n + i) % 32)
				clear := uint32(1) << ((n*7 + i) % 32)
				setThenClear(&masks[i], set, clear)
				local = (local | set) &^ clear
				if n%64 == 0 {
					atomic.SwapUint32(&masks[i], local)
				}
				if i < len(wide) {
					atomic.AddUint64(&wide[i], 1<<32+1)
				}
			}
			wantMasks[i] = local
		}(i)
	}
	wg.Wait()
	for i := range counters {
		check(counters[i] == perWorker, "adjacent Int32 cell %d = %d, want %d", i, counters[i], perWorker)
		check(masks[i] == wantMasks[i], "adjacent Uint32 cell %d = %#x, want %#x", i, masks[i], wantMasks[i])
	}
	for i := range wide {
		check(wide[i] == perWorker<<32+perWorker, "adjacent Uint64 cell %d = %#x", i, wide[i])
	}
}

// publication: plain data written before an atomic store is visible after an
// atomic load observes that store, for each kind of flag.
func publication() {
	type message struct{ values [64]int }
	fill := func(m *message, base int) {
		for i := range m.values {
			m.values[i] = base + i
		}
	}
	verify := func(kind string, m *message, base int) {
		for i, v := range m.values {
			check(v == base+i, "%s publication: value[%d] = %d, want %d", kind, i, v, base+i)
		}
	}
	spin := func(ready func() bool) {
		for !ready() {
			runtime.Gosched()
		}
	}

	for round := 0; round < 50; round++ {
		var (
			m1, m2, m3, m4, m5 message
			flag32             atomic.Int32
			flag64             uint64
			flagBool           atomic.Bool
			flagPtr            atomic.Pointer[message]
			flagValue          atomic.Value
		)
		var wg sync.WaitGroup
		wg.Add(5)
		go func() { defer wg.Done(); spin(func() bool { return flag32.Load() == 1 }); verify("Int32", &m1, round) }()
		go func() {
			defer wg.Done()
			spin(func() bool { return atomic.LoadUint64(&flag64) == 1<<40 })
			verify("Uint64", &m2, round)
		}()
		go func() { defer wg.Done(); spin(flagBool.Load); verify("Bool", &m3, round) }()
		go func() {
			defer wg.Done()
			var got *message
			spin(func() bool { got = flagPtr.Load(); return got != nil })
			verify("Pointer", got, round)
		}()
		go func() {
			defer wg.Done()
			var got *message
			spin(func() bool { v, ok := flagValue.Load().(*message); got = v; return ok })
			verify("Value", got, round)
		}()
		fill(&m1, round)
		flag32.Store(1)
		fill(&m2, round)
		atomic.StoreUint64(&flag64, 1<<40)
		fill(&m3, round)
		flagBool.Store(true)
		fill(&m4, round)
		flagPtr.Store(&m4)
		fill(&m5, round)
		flagValue.Store(&m5)
		wg.Wait()
	}
}

func main() {
	sequentialIntegers()
	sequentialBool()
	sequentialPointers()
	sequentialValue()
	concurrentCounters()

	var i32 int32
	var u32 atomic.Uint32
	var i64 atomic.Int64
	var u64 uint64
	var uptr atomic.Uintptr
	var uptrF uintptr
	concurrentBits("Int32 functions", 32, int32Funcs(&i32))
	concurrentBits("atomic.Uint32", 32, uint32Type(&u32))
	concurrentBits("atomic.Int64", 64, int64Type(&i64))
	concurrentBits("Uint64 functions", 64, uint64Funcs(&u64))
	concurrentBits("atomic.Uintptr", 64, uintptrType(&uptr))
	concurrentBits("Uintptr functions", 64, uintptrFuncs(&uptrF))

	var si32 atomic.Int32
	var su32 uint32
	var si64 int64
	var su64 atomic.Uint64
	concurrentSwaps(int32Type(&si32))
	concurrentSwaps(uint32Funcs(&su32))
	concurrentSwaps(int64Funcs(&si64))
	concurrentSwaps(uint64Type(&su64))

	var ci32 int32
	var cu32 atomic.Uint32
	var ci64 atomic.Int64
	var cu64 uint64
	concurrentCAS(int32Funcs(&ci32))
	concurrentCAS(uint32Type(&cu32))
	concurrentCAS(int64Type(&ci64))
	concurrentCAS(uint64Funcs(&cu64))

	adjacentCells()
	publication()
	fmt.Println("OK atomics")
}
