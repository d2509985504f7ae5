//go:build go1.20

package main

import "sync"

// swapAndCompare turns a=1, b=2 into a=11, c=3 without b, checking the return
// values of Swap, CompareAndSwap and CompareAndDelete on the way.
func swapAndCompare(m *sync.Map) {
	previous, loaded := m.Swap("a", 10)
	check(loaded && previous.(int) == 1, "Swap of an existing key: %v %v", previous, loaded)
	previous, loaded = m.Swap("c", 3)
	check(!loaded && previous == nil, "Swap of a new key: %v %v", previous, loaded)

	check(!m.CompareAndSwap("a", 1, 11), "CompareAndSwap with a stale old value succeeded")
	check(m.CompareAndSwap("a", 10, 11), "CompareAndSwap with the current value failed")
	check(!m.CompareAndSwap("missing", nil, 1), "CompareAndSwap of a missing key succeeded")

	check(!m.CompareAndDelete("b", 99), "CompareAndDelete with a wrong value succeeded")
	check(m.CompareAndDelete("b", 2), "CompareAndDelete with the current value failed")
}

// addToKey adds delta to the int stored at k with a CompareAndSwap retry loop.
func addToKey(m *sync.Map, k int, delta int) {
	for {
		old, _ := m.Load(k)
		if m.CompareAndSwap(k, old, old.(int)+delta) {
			return
		}
	}
}
