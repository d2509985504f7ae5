// Command suppress has the races the suppression tests (GORACE
// suppressions=FILE) work on; the first argument picks them:
//
//	main        main.writer races with main.main on x
//	goroutines  main.left races with main.right on y; both were started by
//	            main.main, which is in neither access stack (only in the
//	            goroutines' creation stacks)
//	both        both races above, in that order
//	library     main.appender writes an element of a slice that
//	            sort.IntsAreSorted reads: a race inside the standard library
//	            (only reads there, so the same frames whichever side is the
//	            current access)
//	corelimit   no race; prints the soft core file size limit of the process
//
// Every race is detected whatever the timing (the racing accesses are not
// ordered by any synchronization), but which access comes second, and so is
// the current access of the report, depends on the scheduler. The program
// prints "suppress: done" at the end.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

var x, y int

//go:noinline
func writer(done chan<- bool) {
	x = 1 // LINE:writer_write
	done <- true
}

//go:noinline
func left(done chan<- bool) {
	y = 1 // LINE:left_write
	done <- true
}

//go:noinline
func right(done chan<- bool) {
	y = 2 // LINE:right_write
	done <- true
}

//go:noinline
func appender(values []int, done chan<- bool) {
	values[0] = 99 // LINE:appender_write
	done <- true
}

func raceWithMain() {
	done := make(chan bool)
	go writer(done)
	x = 2 // LINE:main_write
	<-done
}

func raceBetweenGoroutines() {
	done := make(chan bool)
	go left(done)
	go right(done)
	<-done
	<-done
}

func raceInLibrary() {
	values := []int{1, 2, 3, 4, 5}
	done := make(chan bool)
	go appender(values, done)
	sorted := sort.IntsAreSorted(values) // LINE:main_checks_order
	<-done
	_ = sorted
}

func printCoreLimit() {
	limits, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		fmt.Println("suppress: cannot read limits:", err)
		os.Exit(2)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			fields := strings.Fields(line)
			fmt.Println("suppress: core soft limit", fields[4])
		}
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Println("usage: suppress main|goroutines|both|library|corelimit")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "main":
		raceWithMain()
	case "goroutines":
		raceBetweenGoroutines()
	case "both":
		raceWithMain()
		raceBetweenGoroutines()
	case "library":
		raceInLibrary()
	case "corelimit":
		printCoreLimit()
	default:
		fmt.Println("suppress: unknown scenario", os.Args[1])
		os.Exit(2)
	}
	fmt.Println("suppress: done")
}
