//go:build !go1.23

package main

import "sync/atomic"

// Before Go 1.23 sync/atomic has no And and Or: the cells leave them nil.

func int32Funcs(p *int32) cell[int32] {
	return cell[int32]{"Int32 functions",
		func() int32 { return atomic.LoadInt32(p) },
		func(v int32) { atomic.StoreInt32(p, v) },
		func(v int32) int32 { return atomic.SwapInt32(p, v) },
		func(v int32) int32 { return atomic.AddInt32(p, v) },
		func(o, n int32) bool { return atomic.CompareAndSwapInt32(p, o, n) }, nil, nil}
}

func uint32Funcs(p *uint32) cell[uint32] {
	return cell[uint32]{"Uint32 functions",
		func() uint32 { return atomic.LoadUint32(p) },
		func(v uint32) { atomic.StoreUint32(p, v) },
		func(v uint32) uint32 { return atomic.SwapUint32(p, v) },
		func(v uint32) uint32 { return atomic.AddUint32(p, v) },
		func(o, n uint32) bool { return atomic.CompareAndSwapUint32(p, o, n) }, nil, nil}
}

func int64Funcs(p *int64) cell[int64] {
	return cell[int64]{"Int64 functions",
		func() int64 { return atomic.LoadInt64(p) },
		func(v int64) { atomic.StoreInt64(p, v) },
		func(v int64) int64 { return atomic.SwapInt64(p, v) },
		func(v int64) int64 { return atomic.AddInt64(p, v) },
		func(o, n int64) bool { return atomic.CompareAndSwapInt64(p, o, n) }, nil, nil}
}

func uint64Funcs(p *uint64) cell[uint64] {
	return cell[uint64]{"Uint64 functions",
		func() uint64 { return atomic.LoadUint64(p) },
		func(v uint64) { atomic.StoreUint64(p, v) },
		func(v uint64) uint64 { return atomic.SwapUint64(p, v) },
		func(v uint64) uint64 { return atomic.AddUint64(p, v) },
		func(o, n uint64) bool { return atomic.CompareAndSwapUint64(p, o, n) }, nil, nil}
}

func uintptrFuncs(p *uintptr) cell[uintptr] {
	return cell[uintptr]{"Uintptr functions",
		func() uintptr { return atomic.LoadUintptr(p) },
		func(v uintptr) { atomic.StoreUintptr(p, v) },
		func(v uintptr) uintptr { return atomic.SwapUintptr(p, v) },
		func(v uintptr) uintptr { return atomic.AddUintptr(p, v) },
		func(o, n uintptr) bool { return atomic.CompareAndSwapUintptr(p, o, n) }, nil, nil}
}

func int32Type(p *atomic.Int32) cell[int32] {
	return cell[int32]{"atomic.Int32", p.Load, p.Store, p.Swap, p.Add, p.CompareAndSwap, nil, nil}
}

func uint32Type(p *atomic.Uint32) cell[uint32] {
	return cell[uint32]{"atomic.Uint32", p.Load, p.Store, p.Swap, p.Add, p.CompareAndSwap, nil, nil}
}

func int64Type(p *atomic.Int64) cell[int64] {
	return cell[int64]{"atomic.Int64", p.Load, p.Store, p.Swap, p.Add, p.CompareAndSwap, nil, nil}
}

func uint64Type(p *atomic.Uint64) cell[uint64] {
	return cell[uint64]{"atomic.Uint64", p.Load, p.Store, p.Swap, p.Add, p.CompareAndSwap, nil, nil}
}

func uintptrType(p *atomic.Uintptr) cell[uintptr] {
	return cell[uintptr]{"atomic.Uintptr", p.Load, p.Store, p.Swap, p.Add, p.CompareAndSwap, nil, nil}
}

// setThenClear sets the bits of set, then clears those of clear, with a
// CompareAndSwap loop (no Or and And before Go 1.23).
func setThenClear(p *uint32, set, clear uint32) {
	for {
		old := atomic.LoadUint32(p)
		if atomic.CompareAndSwapUint32(p, old, (old|set)&^clear) {
			return
		}
	}
}
