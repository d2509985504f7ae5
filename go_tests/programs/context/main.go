// Command context exercises context cancellation: WithCancel propagating to
// a tree of derived contexts and the goroutines watching them, WithTimeout /
// WithDeadline expiry, WithValue and, on the Go releases that have them,
// WithCancelCause (1.20; context_go120.go), AfterFunc and WithoutCancel (1.21;
// context_go121.go).
//
// Results computed by worker goroutines are read only after their Done is
// observed through channels or a WaitGroup, so the program is race-free under
// the Go memory model. A wrong result exits with status 1. The last line on
// success is "OK context".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL context: "+format+"\n", args...)
		os.Exit(1)
	}
}

const deadline = 20 * time.Second

func waitDone(ctx context.Context, what string) {
	select {
	case <-ctx.Done():
	case <-time.After(deadline):
		check(false, "%s was never cancelled", what)
	}
}

// cancelTree: cancelling the root reaches every descendant and stops every
// worker; each worker reports how much it did before stopping.
func cancelTree() {
	root, cancel := context.WithCancel(context.Background())
	const branches, leavesPerBranch = 5, 10
	var wg sync.WaitGroup
	progress := make([]int, branches*leavesPerBranch)
	var running atomic.Int32
	for b := 0; b < branches; b++ {
		branch, cancelBranch := context.WithCancel(root)
		defer cancelBranch()
		for l := 0; l < leavesPerBranch; l++ {
			leaf, cancelLeaf := context.WithCancel(branch)
			defer cancelLeaf()
			wg.Add(1)
			running.Add(1)
			go func(slot int, ctx context.Context) {
				defer wg.Done()
				for {
					select {
					case <-ctx.Done():
						return
					default:
						progress[slot]++
						if progress[slot] == 1 {
							running.Add(-1)
						}
						time.Sleep(100 * time.Microsecond)
					}
				}
			}(b*leavesPerBranch+l, leaf)
		}
	}
	for running.Load() > 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	for slot, p := range progress {
		check(p >= 1, "worker %d never ran", slot)
	}
	check(errors.Is(root.Err(), context.Canceled), "root error %v", root.Err())
}

// siblingsIsolated: cancelling one child leaves its parent and siblings alive.
func siblingsIsolated() {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	a, cancelA := context.WithCancel(parent)
	b, cancelB := context.WithCancel(parent)
	defer cancelB()
	cancelA()
	waitDone(a, "child a")
	check(a.Err() == context.Canceled, "child a error %v", a.Err())
	check(parent.Err() == nil && b.Err() == nil, "cancel of a child leaked: parent %v sibling %v", parent.Err(), b.Err())
}

func timeouts() {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Millisecond)
	defer cancel()
	waitDone(ctx, "WithTimeout context")
	check(time.Since(start) >= 15*time.Millisecond, "timeout fired after only %v", time.Since(start))
	check(errors.Is(ctx.Err(), context.DeadlineExceeded), "timeout error %v", ctx.Err())

	dl := time.Now().Add(10 * time.Millisecond)
	ctx2, cancel2 := context.WithDeadline(context.Background(), dl)
	defer cancel2()
	got, ok := ctx2.Deadline()
	check(ok && got.Equal(dl), "Deadline() = %v %v", got, ok)
	waitDone(ctx2, "WithDeadline context")
	check(!time.Now().Before(dl), "deadline context done before its deadline")

	// A child cannot outlive its parent's deadline.
	child, cancelChild := context.WithTimeout(ctx2, time.Hour)
	defer cancelChild()
	check(child.Err() != nil, "child of an expired context is alive")

	// A cancelled-early timeout reports Canceled, not DeadlineExceeded.
	ctx3, cancel3 := context.WithTimeout(context.Background(), time.Hour)
	cancel3()
	check(ctx3.Err() == context.Canceled, "early cancel error %v", ctx3.Err())
}

type key string

// laterParts are the checks of context features younger than the oldest Go
// release racert is tested with; the files that define them carry a build
// constraint on the Go release and register them here, in file name order.
var laterParts []func()

func values() {
	ctx := context.WithValue(context.Background(), key("user"), "alice")
	ctx = context.WithValue(ctx, key("request"), 42)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = fmt.Sprintf("%v/%v/%v", ctx.Value(key("user")), ctx.Value(key("request")), ctx.Value(key("missing")))
		}(i)
	}
	wg.Wait()
	cancel()
	for i, r := range results {
		check(r == "alice/42/<nil>", "value lookup %d = %q", i, r)
	}
}

func main() {
	cancelTree()
	siblingsIsolated()
	timeouts()
	values()
	for _, part := range laterParts {
		part()
	}
	fmt.Println("OK context")
}
