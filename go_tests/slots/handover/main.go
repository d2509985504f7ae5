// Command handover puts a writer's access and a reader's access to one
// variable on either side of many goroutine identity hand-overs in the race
// runtime: after the writer's write, main starts -n workers, more than the
// runtime may have identities (slots) for (there may be as few as 256), and
// the reader synchronizes with every worker before its access. Two flags
// choose the variant, whose name the program prints:
//
//	-handover=reuse          reuse_race
//	-handover=steal          steal_race
//	-handover=reuse -baton   reuse_chain_norace
//	-handover=steal -baton   steal_norace
//
// With -handover=reuse (the default) the writer exits before the workers
// start: its identity is freed and handed to a new owner, and, when more
// than 256 are alive at once, identities are taken from live goroutines as
// well. With -handover=steal the writer stays alive, blocked, while more
// than 256 other goroutines are alive at once: identities are taken from
// live goroutines (whose, is the runtime's choice; the idle writer's is a
// likely one) and handed to new owners.
//
// Without -baton the program has one data race. With -baton it has none: a
// chain of real synchronization leads from the writer's write to the
// reader's access, across the identity hand-overs.
//
// The events, in this real-time order:
//
//  1. main starts the reader (it waits in step 4) and then the writer.
//  2. The writer writes `shared`. With -baton it then puts a baton (the
//     value 0) in a channel of capacity 1. With -handover=reuse it exits;
//     with -handover=steal it blocks until the end of the program. Apart
//     from the baton it synchronizes with nobody.
//  3. main starts -n workers. -alive of them (default: half with reuse, all
//     with steal; spread evenly over the run) stay alive, blocked, until the
//     end; the others finish. Every 64 starts main waits until the
//     finishing ones have exited, so identities are freed and reused while
//     the run goes on.
//     With -join=wg, main also waits for the finishing workers of each
//     64 with a sync.WaitGroup (a real synchronization), so the workers it
//     starts later are ordered after them, though not after the writer.
//  4. With -baton, every worker takes the baton and puts it back
//     incremented (so the baton passes through all of them in turn,
//     whatever their identities). Every worker synchronizes with the reader
//     (-sync: a token on a buffered channel, a mutex-protected counter, or
//     a WaitGroup), so the reader happens after every worker, in particular
//     after whichever worker took over the writer's identity.
//  5. With -baton, the reader takes the baton (it must read n). The reader
//     reads (or, with -access=write, writes) `shared`.
//  6. main closes the channel the kept workers (and, with steal, the writer)
//     wait on.
//
// Without -baton, nothing orders the writer's write before the reader's
// access in Go's happens-before: any synchronization from the writer to
// main would reach the reader through the workers, so the program uses
// none. With -baton, writer's write -> baton -> worker -> baton -> ... ->
// worker -> reader is a happens-before chain (through the channel, and
// again through -sync), so a race report is a false positive, and a read
// must see the writer's value.
//
// The real-time order of the steps (the writer has written, and with reuse
// exited, before the workers start) comes from things the race detector
// does not model, so it adds no happens-before edge:
//
//   - the writer tells main that its write is done (and its Go goroutine id)
//     by a raw write(2) on a pipe, which main reads with a raw read(2)
//     (syscall.Syscall; syscall.Read and syscall.Write would synchronize
//     through the race runtime's shared I/O object, and os.File I/O through
//     the file's internal mutex);
//   - main waits for goroutines to exit by polling runtime.NumGoroutine.
//
// sync/atomic would not do: atomics are synchronization in Go's race model.
//
// So without -baton the race is real and must be reported in every run: a
// read (or write) by the reader, and a "Previous write" by the writer, a
// goroutine created by main's `go writer()`, finished with reuse and
// running with steal.
//
// Goroutine numbers: the race runtime numbers goroutines its own way (both
// Go's official runtime and racert), not with the Go goroutine ids that
// runtime.Stack and panics print. The program prints the writer's Go id for
// people matching the run with a goroutine dump; tests identify the writer
// in a report by its creation stack (main's `go writer()`), which no other
// goroutine shares.
//
// Output: on stderr, as soon as main knows it, the line
// "<variant>: writer is Go goroutine W" (<variant> is one of the four names
// above); on stdout one line describing the run, ending in ": done". Exit
// status 0, or the race runtime's (66) when it reports a race.
//
// The "LINE:<name>" comments mark lines the tests look up by name.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var (
	handover   = flag.String("handover", "reuse", "what the writer does after its write: reuse (it exits before the workers start) or steal (it stays alive, blocked, until the end)")
	withBaton  = flag.Bool("baton", false, "pass a baton writer -> every worker -> reader: a happens-before chain, so no race")
	n          = flag.Int("n", 300, "number of workers started after the writer's write (and exit, with reuse)")
	alive      = flag.Int("alive", -1, "how many of the workers stay alive until the end (default n/2 with reuse, n with steal)")
	syncKind   = flag.String("sync", "chan", "how each worker synchronizes with the reader: chan, mutex or wg")
	accessKind = flag.String("access", "read", "the reader's access to the shared variable: read or write")
	joinKind   = flag.String("join", "poll", "how main waits for finishing workers: poll (invisible to the race detector) or wg")
)

// name is the variant, set by main from -handover and -baton.
var name = "handover"

var shared int // written by the writer, then accessed by the reader

// Set up by main before any goroutine starts (so ordered before them all).
var (
	steal     bool          // -handover=steal
	baton     chan int      // -baton: capacity 1
	pipeWrite int           // the writer's end of the announcement pipe
	tokens    chan struct{} // -sync=chan: one token per worker
	mu        sync.Mutex    // -sync=mutex: protects count
	count     int
	wg        sync.WaitGroup        // -sync=wg
	finished  sync.WaitGroup        // -join=wg: the finishing workers
	hold      = make(chan struct{}) // closed at the end
	done      = make(chan struct{})
	sink      int
)

//go:noinline
func writerWrite() {
	shared = 1 // LINE:writer_write
}

func writer() {
	writerWrite() // LINE:writer_calls_write
	if baton != nil {
		baton <- 0
	}
	announce(pipeWrite, goroutineID())
	if steal {
		<-hold
	}
}

//go:noinline
func readerRead() int {
	return shared // LINE:reader_read
}

//go:noinline
func readerWrite() {
	shared = 2 // LINE:reader_write
}

func reader() {
	switch *syncKind {
	case "chan":
		for i := 0; i < *n; i++ {
			<-tokens
		}
	case "mutex":
		for {
			mu.Lock()
			c := count
			mu.Unlock()
			if c == *n {
				break
			}
			runtime.Gosched()
		}
	case "wg":
		wg.Wait()
	}
	if baton != nil {
		if v := <-baton; v != *n {
			fmt.Fprintf(os.Stderr, "%s: the baton says %d, want %d\n", name, v, *n)
			os.Exit(2)
		}
	}
	if *accessKind == "read" {
		sink = readerRead() // LINE:reader_calls_read
		if baton != nil && sink != 1 {
			fmt.Fprintf(os.Stderr, "%s: the reader sees %d, want the writer's 1\n", name, sink)
			os.Exit(2)
		}
	} else {
		readerWrite() // LINE:reader_calls_write
	}
	done <- struct{}{}
}

func worker(i int, keep bool, work []int) {
	if baton != nil {
		v := <-baton
		baton <- v + 1
	}
	work[i] = i
	switch *syncKind {
	case "chan":
		tokens <- struct{}{}
	case "mutex":
		mu.Lock()
		count++
		mu.Unlock()
	case "wg":
		wg.Done()
	}
	if keep {
		<-hold
	} else if *joinKind == "wg" {
		finished.Done()
	}
}

// goroutineID parses the first line of the calling goroutine's stack,
// "goroutine N [running]:": the Go goroutine id.
func goroutineID() int {
	var buf [64]byte
	line := string(buf[:runtime.Stack(buf[:], false)])
	fields := strings.Fields(strings.TrimPrefix(line, "goroutine "))
	if len(fields) == 0 {
		panic("unexpected stack header: " + line)
	}
	id, err := strconv.Atoi(fields[0])
	if err != nil {
		panic("unexpected stack header: " + line)
	}
	return id
}

// announce writes "<id>\n" to fd with raw write(2)s: invisible to the race
// detector, unlike syscall.Write or os.File.
func announce(fd, id int) {
	msg := []byte(strconv.Itoa(id) + "\n")
	for len(msg) > 0 {
		written, _, errno := syscall.Syscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			panic("announce: write: " + errno.Error())
		}
		msg = msg[written:]
	}
}

// awaitAnnouncement reads one "<id>\n" line from fd with raw read(2)s.
func awaitAnnouncement(fd int) int {
	var line []byte
	var b [1]byte
	for {
		got, _, errno := syscall.Syscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || got != 1 {
			fmt.Fprintf(os.Stderr, "%s: reading the announcement failed (%d bytes, %v)\n", name, got, errno)
			os.Exit(2)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	id, err := strconv.Atoi(string(line))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: bad announcement %q\n", name, line)
		os.Exit(2)
	}
	return id
}

// waitGoroutines waits until at most want goroutines exist. The race
// detector does not see runtime.NumGoroutine: this orders events in real
// time only.
func waitGoroutines(want int) {
	deadline := time.Now().Add(time.Minute)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "%s: still %d goroutines after a minute, want %d\n", name, runtime.NumGoroutine(), want)
			os.Exit(3)
		}
		runtime.Gosched()
	}
}

// variantName is the variant's name: reuse_race, steal_race,
// reuse_chain_norace or steal_norace ("" for an unknown -handover).
func variantName(handover string, withBaton bool) string {
	switch {
	case handover == "reuse" && withBaton:
		return "reuse_chain_norace"
	case handover == "steal" && withBaton:
		return "steal_norace"
	case handover == "reuse" || handover == "steal":
		return handover + "_race"
	}
	return ""
}

func main() {
	flag.Parse()
	variant := variantName(*handover, *withBaton)
	if variant != "" {
		name = variant
	}
	steal = *handover == "steal"
	if *alive < 0 {
		*alive = *n / 2
		if steal {
			*alive = *n
		}
	}
	if variant == "" || *n < 1 || *alive > *n || (*syncKind != "chan" && *syncKind != "mutex" && *syncKind != "wg") ||
		(*accessKind != "read" && *accessKind != "write") || (*joinKind != "poll" && *joinKind != "wg") ||
		flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "%s: bad arguments\n", name)
		flag.Usage()
		os.Exit(2)
	}
	if *withBaton {
		baton = make(chan int, 1)
	}
	tokens = make(chan struct{}, *n)
	wg.Add(*n)
	work := make([]int, *n)
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: pipe: %v\n", name, err)
		os.Exit(2)
	}
	pipeWrite = fds[1]
	baseline := runtime.NumGoroutine()

	go reader() // LINE:main_go_reader
	go writer() // LINE:main_go_writer
	writerID := awaitAnnouncement(fds[0])
	fmt.Fprintf(os.Stderr, "%s: writer is Go goroutine %d\n", name, writerID)
	others := baseline + 1 // the reader waits
	if steal {
		others++ // and so does the writer
	} else {
		waitGoroutines(others) // the writer has exited
	}

	kept := 0
	for i := 0; i < *n; i++ {
		// Keep `alive` of the n workers, spread evenly over the run.
		keep := (i+1)*(*alive)/(*n) != i*(*alive)/(*n)
		if !keep && *joinKind == "wg" {
			finished.Add(1)
		}
		go worker(i, keep, work)
		if keep {
			kept++
		}
		if i%64 == 63 || i == *n-1 {
			if *joinKind == "wg" {
				finished.Wait()
			}
			waitGoroutines(others + kept) // the finishing workers have exited
		}
	}
	<-done
	close(hold)
	fmt.Printf("%s: n=%d alive=%d sync=%s access=%s: done\n", name, *n, *alive, *syncKind, *accessKind)
}
