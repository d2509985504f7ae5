// Command same_line races on two different variables, a and b, from the same
// two source lines: the goroutine and the main goroutine each assign both in
// one statement. The writes to a and to b are different instructions (pcs)
// on the same lines.
//
// The official runtime's default suppress_equal_stacks=1 drops a report only
// when its two stacks equal an earlier report's as raw pc lists, so it reports
// both races: "Found 2 data race(s)".
package main

import "fmt"

var a, b int

func main() {
	done := make(chan bool)
	go func() {
		a, b = 1, 2 // LINE:goroutine_writes
		done <- true
	}()
	a, b = 3, 4 // LINE:main_writes
	<-done
	fmt.Println(a, b)
}
