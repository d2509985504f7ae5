//go:build !go1.20

package main

import "sync"

// swapAndCompare turns a=1, b=2 into a=11, c=3 without b with the methods
// sync.Map has before Go 1.20 (no Swap, CompareAndSwap, CompareAndDelete).
func swapAndCompare(m *sync.Map) {
	v, _ := m.Load("a")
	check(v.(int) == 1, "a = %v before the update, want 1", v)
	m.Store("a", 11)
	m.Store("c", 3)
	value, loaded := m.LoadAndDelete("b")
	check(loaded && value.(int) == 2, "LoadAndDelete of b: %v %v", value, loaded)
}

// addMutex orders the read-modify-write of addToKey (no CompareAndSwap before Go 1.20).
var addMutex sync.Mutex

// addToKey adds delta to the int stored at k.
func addToKey(m *sync.Map, k int, delta int) {
	addMutex.Lock()
	defer addMutex.Unlock()
	old, _ := m.Load(k)
	m.Store(k, old.(int)+delta)
}
