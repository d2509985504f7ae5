// Command background has no data race. It leaves one goroutine blocked
// forever and returns from main, so at exit the race runtime still sees a
// live goroutine besides the ones it is winding down: with the default
// GORACE atexit_sleep_ms=1000 the process must linger about a second before
// exiting, with atexit_sleep_ms=0 it must exit at once.
package main

import "fmt"

func main() {
	started := make(chan struct{})
	go func() {
		close(started)
		select {} // alive until the process exits
	}()
	<-started
	fmt.Println("background: main done")
}
