// Command hidden_pair has a race that is only distinct from an earlier one by
// its previous access. The writer W writes y and then x through one function
// called from one loop, so both writes have the same pc stack; the reader C
// reads y and then x the same way. A reads x from its own code.
//
//	t=0    C reads y
//	t=50   W writes y      -> W-C race on y
//	t=100  A reads x
//	t=200  C reads x
//	t=300  W writes x      -> races with C (the same stacks as the y report,
//	                          a duplicate) and with A (a distinct pair)
//
// The order comes from sleeps only: nothing orders W with A or C. The
// official runtime reports W-C on y and W-A on x: "Found 2 data race(s)".
package main

import (
	"fmt"
	"time"
)

var x, y int

//go:noinline
func read(p *int) int {
	return *p // LINE:c_reads
}

//go:noinline
func readOther(p *int) int {
	return *p // LINE:a_reads
}

//go:noinline
func write(p *int) {
	*p = 1 // LINE:w_writes
}

func main() {
	const step = 50 * time.Millisecond
	done := make(chan int, 3)
	go func() { // C
		sum := 0
		for i, p := range []*int{&y, &x} {
			time.Sleep(time.Duration(i) * 4 * step)
			sum += read(p)
		}
		done <- sum
	}()
	go func() { // A
		time.Sleep(2 * step)
		done <- readOther(&x)
	}()
	go func() { // W
		for i, p := range []*int{&y, &x} {
			time.Sleep(step + time.Duration(i)*5*step)
			write(p)
		}
		done <- 0
	}()
	total := <-done + <-done + <-done
	fmt.Println("done", total >= 0)
}
