// Package gotest checks how a race report fails `go test`: TestRacy has a
// data race and must fail with "race detected during execution of test",
// and t.Failed() must already be true right after the racing accesses
// (reports are counted synchronously). TestPasses, run after it, has no race
// and must pass: the race is blamed on the test during which it happened.
package gotest

import (
	"sync"
	"testing"
)

func TestRacy(t *testing.T) {
	x := 0
	done := make(chan bool)
	go func() {
		x = 1 // LINE:racy_goroutine_write
		done <- true
	}()
	x = 2 // LINE:racy_test_write
	<-done
	t.Logf("failed right after the race: %v (x=%d)", t.Failed(), x)
}

func TestPasses(t *testing.T) {
	var mu sync.Mutex
	x := 0
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			x++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if x != 4 {
		t.Fatalf("x = %d, want 4", x)
	}
}
