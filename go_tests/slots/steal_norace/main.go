// Command steal_norace has the shape of steal_race (a writer that stays
// alive, blocked, while more than 256 other goroutines are alive, so that
// identities in the race runtime are taken from live goroutines, then a
// reader that synchronizes with every worker) but no data race: a chain of
// real synchronization leads from the writer's write to the reader's
// access, across the identity hand-overs.
//
// The events, in this real-time order:
//
//  1. main starts the reader (it waits in step 4) and then the writer.
//  2. The writer writes `shared`, puts a baton (the value 0) in a channel
//     of capacity 1, and blocks until the end of the program.
//  3. main starts -n workers. -alive of them (default: all) stay alive,
//     blocked, until the end; the others finish.
//  4. Every worker takes the baton and puts it back incremented (so the
//     baton passes through all of them in turn, whatever their identities),
//     then synchronizes with the reader (-sync: a token on a buffered
//     channel, a mutex-protected counter, or a WaitGroup).
//  5. The reader takes the baton (it must read n), then reads (or, with
//     -access=write, writes) `shared`.
//  6. main closes the channel the writer and the kept workers wait on.
//
// writer's write -> baton -> worker -> baton -> ... -> worker -> reader is a
// happens-before chain (through the channel, and again through -sync), so a
// race report is a false positive. The read must see the writer's value.
//
// The real-time order of steps 2 and 3 (the writer has written before the
// workers start) comes from things the race detector does not model,
// so it adds no happens-before edge:
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
// Goroutine numbers: the race runtime numbers goroutines its own way (both
// Go's official runtime and racert), not with the Go goroutine ids that
// runtime.Stack and panics print. The program prints the writer's Go id for
// people matching the run with a goroutine dump; tests identify the writer
// in a report by its creation stack (main's `go writer()`), which no other
// goroutine shares.
//
// Output: on stderr, as soon as main knows it, the line
// "steal_norace: writer is Go goroutine W"; on stdout one line
// describing the run, ending in ": done". Exit status 0, or the race
// runtime's (66) when it reports a race.
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

const name = "steal_norace"

var (
	n          = flag.Int("n", 300, "number of workers started while the writer is alive")
	alive      = flag.Int("alive", -1, "how many of the workers stay alive until the end (default n)")
	syncKind   = flag.String("sync", "chan", "how each worker synchronizes with the reader: chan, mutex or wg")
	accessKind = flag.String("access", "read", "the reader's access to the shared variable: read or write")
)

var shared int // written by the writer, then accessed by the reader

// Set up by main before any goroutine starts (so ordered before them all).
var (
	pipeWrite int           // the writer's end of the announcement pipe
	tokens    chan struct{} // -sync=chan: one token per worker
	mu        sync.Mutex    // -sync=mutex: protects count
	count     int
	wg        sync.WaitGroup // -sync=wg
	baton     = make(chan int, 1)
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
	baton <- 0
	announce(pipeWrite, goroutineID())
	<-hold
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
	if v := <-baton; v != *n {
		fmt.Fprintf(os.Stderr, "%s: the baton says %d, want %d\n", name, v, *n)
		os.Exit(2)
	}
	if *accessKind == "read" {
		sink = readerRead() // LINE:reader_calls_read
		if sink != 1 {
			fmt.Fprintf(os.Stderr, "%s: the reader sees %d, want the writer's 1\n", name, sink)
			os.Exit(2)
		}
	} else {
		readerWrite() // LINE:reader_calls_write
	}
	done <- struct{}{}
}

func worker(i int, keep bool, work []int) {
	v := <-baton
	baton <- v + 1
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

func main() {
	flag.Parse()
	if *alive < 0 {
		*alive = *n
	}
	if *n < 1 || *alive > *n || (*syncKind != "chan" && *syncKind != "mutex" && *syncKind != "wg") ||
		(*accessKind != "read" && *accessKind != "write") || flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "%s: bad arguments\n", name)
		flag.Usage()
		os.Exit(2)
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
	others := baseline + 2 // the reader and the writer wait

	kept := 0
	for i := 0; i < *n; i++ {
		// Keep `alive` of the n workers, spread evenly over the run.
		keep := (i+1)*(*alive)/(*n) != i*(*alive)/(*n)
		go worker(i, keep, work)
		if keep {
			kept++
		}
		if i%64 == 63 || i == *n-1 {
			waitGoroutines(others + kept) // the finishing workers have exited
		}
	}
	<-done
	close(hold)
	fmt.Printf("%s: n=%d alive=%d sync=%s access=%s: done\n", name, *n, *alive, *syncKind, *accessKind)
}
