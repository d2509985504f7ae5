//go:build go1.21

package main

import (
	"context"
	"sync/atomic"
	"time"
)

func init() { laterParts = append(laterParts, afterFunc, withoutCancel) }

// afterFunc: the function runs once after cancellation, in its own goroutine;
// stop prevents it if called first.
func afterFunc() {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	result := ""
	finished := make(chan struct{})
	context.AfterFunc(ctx, func() {
		ran.Add(1)
		result = "cleaned up"
		close(finished)
	})
	ctx2, cancel2 := context.WithCancel(context.Background())
	var strays atomic.Int32
	stop := context.AfterFunc(ctx2, func() { strays.Add(1) })
	check(stop(), "stop of a pending AfterFunc returned false")
	cancel()
	cancel()
	cancel2()
	select {
	case <-finished:
	case <-time.After(deadline):
		check(false, "AfterFunc never ran")
	}
	check(result == "cleaned up" && ran.Load() == 1, "AfterFunc result %q ran %d", result, ran.Load())
	time.Sleep(5 * time.Millisecond)
	check(strays.Load() == 0, "stopped AfterFunc ran")
}

func withoutCancel() {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key("k"), "v"))
	detached := context.WithoutCancel(parent)
	cancel()
	check(parent.Err() != nil, "parent not cancelled")
	check(detached.Err() == nil && detached.Done() == nil, "WithoutCancel context was cancelled")
	check(detached.Value(key("k")) == "v", "WithoutCancel lost values")
}
