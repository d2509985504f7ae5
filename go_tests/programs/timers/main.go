// Command timers exercises the time package's timers, which the runtime runs
// from its timer machinery (in race mode with per-P timer contexts):
// time.Timer (fire, Stop before firing, Reset), time.After, time.Ticker
// (tick count, Reset, Stop), time.AfterFunc (data handed to and from the
// callback, Stop preventing it), and many timers firing at once.
//
// Data written before starting a timer is read in its callback, and data the
// callback writes is read after a channel receive from it, so the program is
// race-free under the Go memory model. Time bounds are generous lower bounds
// only (timers never fire early), so a slow machine cannot fail the program.
// A wrong result exits with status 1. The last line on success is "OK timers".
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
		fmt.Printf("FAIL timers: "+format+"\n", args...)
		os.Exit(1)
	}
}

// deadline bounds every wait, so a lost wake-up fails instead of hanging.
const deadline = 20 * time.Second

func timerFires() {
	start := time.Now()
	t := time.NewTimer(10 * time.Millisecond)
	select {
	case fired := <-t.C:
		check(!fired.Before(start.Add(10*time.Millisecond)), "timer fired early: %v after start", fired.Sub(start))
	case <-time.After(deadline):
		check(false, "timer never fired")
	}
	check(!t.Stop(), "Stop of a fired timer returned true")
}

func timerStop() {
	t := time.NewTimer(time.Hour)
	check(t.Stop(), "Stop of a pending timer returned false")
	check(!t.Stop(), "second Stop returned true")
	select {
	case <-t.C:
		check(false, "stopped timer delivered a value")
	case <-time.After(20 * time.Millisecond):
	}
}

func timerReset() {
	t := time.NewTimer(time.Hour)
	start := time.Now()
	t.Reset(5 * time.Millisecond)
	select {
	case <-t.C:
		check(time.Since(start) >= 5*time.Millisecond, "reset timer fired early")
	case <-time.After(deadline):
		check(false, "reset timer never fired")
	}
	// Reset after firing re-arms it.
	t.Reset(time.Millisecond)
	select {
	case <-t.C:
	case <-time.After(deadline):
		check(false, "re-armed timer never fired")
	}
}

func ticker() {
	const ticks = 10
	start := time.Now()
	tk := time.NewTicker(2 * time.Millisecond)
	for i := 0; i < ticks; i++ {
		select {
		case <-tk.C:
		case <-time.After(deadline):
			check(false, "ticker stalled after %d ticks", i)
		}
	}
	check(time.Since(start) >= ticks*2*time.Millisecond, "%d ticks took only %v", ticks, time.Since(start))
	tk.Reset(time.Millisecond)
	<-tk.C
	tk.Stop()
	// After Stop no further tick arrives (Go 1.23+ also drops a pending one).
	time.Sleep(5 * time.Millisecond)
	select {
	case <-tk.C:
		// A tick that was already buffered before Stop is allowed on old Gos;
		// nothing may follow it.
		select {
		case <-tk.C:
			check(false, "stopped ticker kept ticking")
		case <-time.After(10 * time.Millisecond):
		}
	default:
	}
}

// afterFuncHandoff: the callback reads data written before AfterFunc and
// writes a result that main reads after receiving from done.
func afterFuncHandoff() {
	input := []int{1, 2, 3, 4}
	var output int
	done := make(chan struct{})
	time.AfterFunc(time.Millisecond, func() {
		for _, v := range input {
			output += v * v
		}
		close(done)
	})
	select {
	case <-done:
	case <-time.After(deadline):
		check(false, "AfterFunc callback never ran")
	}
	check(output == 30, "AfterFunc result %d, want 30", output)
}

func afterFuncStop() {
	var ran atomic.Bool
	t := time.AfterFunc(time.Hour, func() { ran.Store(true) })
	check(t.Stop(), "Stop of a pending AfterFunc returned false")
	// Reset of a stopped AfterFunc timer schedules the function again.
	done := make(chan struct{})
	t2 := time.AfterFunc(time.Hour, func() { close(done) })
	t2.Reset(time.Millisecond)
	select {
	case <-done:
	case <-time.After(deadline):
		check(false, "reset AfterFunc never ran")
	}
	check(!ran.Load(), "stopped AfterFunc ran")
}

// manyTimers: a thousand AfterFunc callbacks and timers with spread-out
// durations, each writing its own slot; all slots are checked at the end.
func manyTimers() {
	const n = 1000
	slots := make([]int, n)
	var wg sync.WaitGroup
	wg.Add(2 * n)
	for i := 0; i < n/2; i++ {
		slot := i // explicit per-callback copy, independent of loop-variable semantics
		time.AfterFunc(time.Duration(i%20)*time.Millisecond, func() {
			slots[slot] = slot + 1
			wg.Done()
		})
	}
	for i := n / 2; i < n; i++ {
		t := time.NewTimer(time.Duration(i%20) * time.Millisecond)
		go func(i int) {
			<-t.C
			slots[i] = i + 1
			wg.Done()
		}(i)
	}
	// A second batch that is stopped before firing must never run.
	var strays atomic.Int32
	for i := 0; i < n; i++ {
		t := time.AfterFunc(time.Hour, func() { strays.Add(1) })
		if !t.Stop() {
			check(false, "Stop of a pending AfterFunc %d returned false", i)
		}
		wg.Done()
	}
	waitOrFail(&wg, "many timers")
	for i, v := range slots {
		check(v == i+1, "timer slot %d = %d", i, v)
	}
	check(strays.Load() == 0, "%d stopped callbacks ran", strays.Load())
}

// sleepers: goroutines sleeping different durations wake in order of their
// deadlines only loosely, but all of them wake, and none early.
func sleepers() {
	var wg sync.WaitGroup
	var early atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(d time.Duration) {
			defer wg.Done()
			start := time.Now()
			time.Sleep(d)
			if time.Since(start) < d {
				early.Add(1)
			}
		}(time.Duration(i%10) * time.Millisecond)
	}
	waitOrFail(&wg, "sleepers")
	check(early.Load() == 0, "%d sleepers woke early", early.Load())
}

func waitOrFail(wg *sync.WaitGroup, what string) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(deadline):
		check(false, "%s: timed out waiting", what)
	}
}

func main() {
	timerFires()
	timerStop()
	timerReset()
	ticker()
	afterFuncHandoff()
	afterFuncStop()
	manyTimers()
	sleepers()
	fmt.Println("OK timers")
}
