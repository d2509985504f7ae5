// Command hostile drives the race runtime to its limits for
// tests/e2e/test_hostile_limits.py. One binary, one mode per run:
//
//	-mode=race       one data race (the same shape as tests/e2e/fixtures/reports/simple),
//	                 then "hostile: done"; used under a small `ulimit -v` and
//	                 with GORACE log_path pointing at a full disk
//	-mode=forkexec   a race, then it runs itself as a child (-mode=race, which
//	                 reports its own race and exits 66) through os/exec and
//	                 /bin/true through syscall.ForkExec, then a second race
//	-mode=reports    -n words, each written by a goroutine and then by main
//	                 without synchronization: n races on n addresses (run with
//	                 GORACE suppress_equal_stacks=0 to get n reports); with
//	                 -signals, a goroutine sends SIGUSR1 and SIGINT to the
//	                 process without pause while the reports are written, and
//	                 a handler goroutine counts them; with -exit-on-term, a
//	                 SIGTERM makes the handler call os.Exit(0) mid-reports
//	-mode=mutexes    -n sync.Mutex values, each locked and unlocked once by one
//	                 of several goroutines, all alive to the end: no race
//	-mode=churn      -rounds rounds of mutexes(): each round's -n mutexes are
//	                 dropped and collected before the next, so the sync objects
//	                 of one round at most should be alive at a time
//	-mode=readers    -words words read by -goroutines goroutines at once after a
//	                 channel handshake, then written by main after they are
//	                 joined: no race; with -race-at-end, one goroutine still
//	                 reads word 0 unsynchronized when main writes it: one race
//	-mode=farheap    the heap grows in pieces far apart in Go's race-mode heap
//	                 window: one PROT_NONE page at the heap's current end and at
//	                 the start of every arena hint (4 GiB apart, 0xc0<<32 up to
//	                 0xdf<<32) not listed in -free-hints makes Go skip those
//	                 hints; then -gib GiB is allocated in -chunk-mib MiB slices
//	                 and kept alive (one word of each written, the rest never
//	                 touched). Main hands every slice's first word to a
//	                 goroutine through a channel, and two goroutines add 1000
//	                 each to a word of the last slice under a sync.Mutex that
//	                 lives in that slice too (no race); then a goroutine and
//	                 main write the last word of the last slice unsynchronized
//	                 (one race, in the farthest arena). Prints where the heap
//	                 pieces are and how much address space they span
//	-mode=reuse      -rounds rounds: a -chunk-mib MiB slice, one word in every
//	                 64 written by a new goroutine that nothing orders before
//	                 what follows (main only sleeps until it is done); every
//	                 -keep-every-th slice is kept, the others dropped and
//	                 collected, so later slices reuse their memory and main
//	                 writes the same words there: no race, as long as freeing
//	                 and allocating forget the old accesses. Then a goroutine and
//	                 main write one word of the last kept slice unsynchronized:
//	                 one race. Prints how many distinct addresses the slices had
//
// Every mode prints its result line on stdout and, at the end, the peak RSS
// ("hostile: peak RSS <kB> kB", from /proc/self/status).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

var (
	mode       = flag.String("mode", "race", "race, forkexec, reports, mutexes or readers")
	n          = flag.Int("n", 100, "reports: racy words; mutexes: mutexes")
	words      = flag.Int("words", 1<<20, "readers: words read")
	goroutines = flag.Int("goroutines", 64, "readers: reading goroutines")
	signals    = flag.Bool("signals", false, "reports: send SIGUSR1/SIGINT to the process during the reports")
	exitOnTerm = flag.Bool("exit-on-term", false, "reports: os.Exit(0) on SIGTERM")
	rounds     = flag.Int("rounds", 10, "churn, reuse: rounds")
	raceAtEnd  = flag.Bool("race-at-end", false, "readers: one unsynchronized read of word 0")
	freeHints  = flag.String("free-hints", "31", "farheap: comma-separated arena hints (1..31) left usable")
	gib        = flag.Float64("gib", 0.25, "farheap: GiB allocated and kept alive")
	chunkMiB   = flag.Int("chunk-mib", 128, "farheap, reuse: size of each allocation")
	keepEvery  = flag.Int("keep-every", 4, "reuse: keep every n-th slice alive")
)

//go:noinline
func store(x *int, v int) {
	*x = v
}

// oneRace: a goroutine and main store to x with nothing ordering them.
func oneRace() {
	done := make(chan bool)
	x := 0
	go func() {
		store(&x, 1)
		done <- true
	}()
	store(&x, 2)
	<-done
}

func forkExec() {
	oneRace()
	self, err := os.Executable()
	check(err)
	child := exec.Command(self, "-mode=race")
	out, err := child.CombinedOutput()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else {
		check(err)
	}
	pid, err := syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
	check(err)
	var status syscall.WaitStatus
	_, err = syscall.Wait4(pid, &status, 0, nil)
	check(err)
	fmt.Printf("hostile: child exit %d, child reports %d, child done %v, true exit %d\n", code,
		strings.Count(string(out), "WARNING: DATA RACE"), strings.Contains(string(out), "hostile: done"),
		status.ExitStatus())
	oneRace()
}

//go:noinline
func writeAll(xs []int) {
	for i := range xs {
		xs[i] = i
	}
}

func reports() {
	xs := make([]int, *n)
	var sent, received atomic.Int64
	stop := make(chan bool)
	var wg sync.WaitGroup
	if *signals || *exitOnTerm {
		caught := make(chan os.Signal, 128)
		signal.Notify(caught, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			for s := range caught {
				if s == syscall.SIGTERM && *exitOnTerm {
					fmt.Println("hostile: SIGTERM, exiting")
					os.Exit(0)
				}
				received.Add(1)
			}
		}()
	}
	if *signals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pid := os.Getpid()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := syscall.SIGUSR1
				if i%10 == 9 {
					s = syscall.SIGINT
				}
				check(syscall.Kill(pid, s))
				sent.Add(1)
				time.Sleep(20 * time.Microsecond)
			}
		}()
	}
	go writeAll(xs)
	time.Sleep(200 * time.Millisecond) // the goroutine's writes are done, but nothing orders them
	writeAll(xs)
	close(stop)
	wg.Wait()
	fmt.Printf("hostile: %d words written twice, signals sent %v\n", len(xs), sent.Load() > 0)
}

func mutexes() {
	ms := make([]sync.Mutex, *n)
	counts := make([]int, *n)
	const workers = 8
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(ms); i += workers {
				ms[i].Lock()
				counts[i]++
				ms[i].Unlock()
			}
		}(w)
	}
	wg.Wait()
	total := 0
	for i := range ms {
		ms[i].Lock() // main takes every one again: it needs their clocks to read counts safely
		total += counts[i]
		ms[i].Unlock()
	}
	fmt.Printf("hostile: %d mutexes, total %d\n", len(ms), total)
}

func churn() {
	for r := 0; r < *rounds; r++ {
		mutexes()
		runtime.GC()
		runtime.GC()
	}
}

func readers() {
	xs := make([]int, *words)
	writeAll(xs)
	start := make(chan bool)
	var wg sync.WaitGroup
	sums := make([]int, *goroutines)
	for g := 0; g < *goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			<-start
			s := 0
			for i := range xs {
				s += xs[(i+g*4099)%len(xs)]
			}
			sums[g] = s
		}(g)
	}
	close(start)
	wg.Wait()
	var late chan bool
	if *raceAtEnd {
		late = make(chan bool)
		go func() {
			v := xs[0]
			time.Sleep(100 * time.Millisecond)
			_ = v
			late <- true
		}()
		time.Sleep(50 * time.Millisecond)
	}
	writeAll(xs[:1])
	xs[0] = 7
	if late != nil {
		<-late
	}
	fmt.Printf("hostile: %d words read by %d goroutines, sums equal %v\n", len(xs), len(sums), allEqual(sums))
}

// Go's race-mode arena hints on linux/amd64: 0xc0<<32 + i<<32 for i in 0..31,
// tried in that order, each grown upwards until a reservation collides.
const (
	heapWindowBegin   = uintptr(0xc0) << 32
	heapWindowEnd     = uintptr(0xe0) << 32
	hintStep          = uintptr(1) << 32
	arenaSize         = uintptr(64) << 20
	mapFixedNoreplace = 0x100000
)

// block maps one inaccessible page at addr, so that any heap reservation
// covering it fails and Go moves on to its next hint.
func block(addr uintptr) {
	got, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, 4096, syscall.PROT_NONE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|mapFixedNoreplace, ^uintptr(0), 0)
	if errno != 0 || got != addr {
		check(fmt.Errorf("cannot block the page at %#x: %v (got %#x)", addr, errno, got))
	}
}

// heapPieces: the maximal runs of mappings in the heap window that hold no
// blocking page, from /proc/self/maps.
func heapPieces(blocked map[uintptr]bool) [][2]uintptr {
	f, err := os.Open("/proc/self/maps")
	check(err)
	defer f.Close()
	var pieces [][2]uintptr
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		bounds := strings.SplitN(strings.Fields(lines.Text())[0], "-", 2)
		begin, err := strconv.ParseUint(bounds[0], 16, 64)
		check(err)
		end, err := strconv.ParseUint(bounds[1], 16, 64)
		check(err)
		b, e := uintptr(begin), uintptr(end)
		if b < heapWindowBegin || b >= heapWindowEnd || (blocked[b] && e-b == 4096) {
			continue
		}
		if n := len(pieces); n > 0 && pieces[n-1][1] == b {
			pieces[n-1][1] = e
		} else {
			pieces = append(pieces, [2]uintptr{b, e})
		}
	}
	return pieces
}

func farHeap() {
	free := map[uintptr]bool{}
	for _, field := range strings.Split(*freeHints, ",") {
		if field == "" {
			continue
		}
		i, err := strconv.Atoi(field)
		check(err)
		if i < 1 || i > 31 {
			check(fmt.Errorf("-free-hints: %d is not in 1..31", i))
		}
		free[uintptr(i)] = true
	}
	blocked := map[uintptr]bool{}
	pieces := heapPieces(blocked)
	if len(pieces) == 0 || pieces[0][0] != heapWindowBegin {
		check(fmt.Errorf("the heap does not start at %#x: %v", heapWindowBegin, pieces))
	}
	end := (pieces[0][1] + arenaSize - 1) &^ (arenaSize - 1)
	block(end)
	blocked[end] = true
	for i := uintptr(1); i < 32; i++ {
		if !free[i] {
			block(heapWindowBegin + i*hintStep)
			blocked[heapWindowBegin+i*hintStep] = true
		}
	}

	chunk := *chunkMiB << 20
	count := int(*gib * float64(1<<30) / float64(chunk))
	if count < 1 {
		count = 1
	}
	slices := make([][]int, count)
	for i := range slices {
		slices[i] = make([]int, chunk/8)
		slices[i][len(slices[i])/2] = i
	}
	// Every first word goes to a goroutine through a channel: ordered, no race.
	handed := make(chan []int)
	sum := make(chan int)
	go func() {
		s := 0
		for xs := range handed {
			xs[0]++
			s += xs[0]
		}
		sum <- s
	}()
	for _, xs := range slices {
		xs[0] = 1
		handed <- xs
	}
	close(handed)
	total := <-sum
	for _, xs := range slices {
		total += xs[0] // after the goroutine's writes: ordered by the channel
	}

	// A mutex inside the last slice (no pointers, so it may overlay ints) guards
	// another word of it: sync objects in the farthest arena, no race.
	last := slices[len(slices)-1]
	mu := (*sync.Mutex)(unsafe.Pointer(&last[len(last)-16]))
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				mu.Lock()
				last[len(last)-8]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	guarded := last[len(last)-8]

	target := &last[len(last)-1]
	done := make(chan bool)
	go func() {
		store(target, 1)
		done <- true
	}()
	store(target, 2)
	<-done

	pieces = heapPieces(blocked)
	var parts []string
	var used uintptr
	for _, p := range pieces {
		parts = append(parts, fmt.Sprintf("[%#x, %#x)", p[0], p[1]))
		used += p[1] - p[0]
	}
	span := pieces[len(pieces)-1][1] - pieces[0][0]
	fmt.Printf("hostile: %d slices of %d MiB, first words %d, guarded word %d, race at %#x\n", count, *chunkMiB,
		total, guarded, uintptr(unsafe.Pointer(target)))
	fmt.Printf("hostile: heap in %d pieces %s: %.1f GiB mapped, spanning %.1f GiB\n", len(pieces),
		strings.Join(parts, " "), float64(used)/(1<<30), float64(span)/(1<<30))
	runtime.KeepAlive(slices)
}

//go:noinline
func writeEvery64(xs []int, v int) {
	for i := 0; i < len(xs); i += 64 {
		xs[i] = v
	}
}

// setFlag and flagSet pass a signal the race detector does not see (no
// instrumentation): what the writer did before stays unordered with what the
// reader does after, as with two goroutines that merely happen to run in turn.
//
//go:norace
//go:noinline
func setFlag(p *int32) { *p = 1 }

//go:norace
//go:noinline
func flagSet(p *int32) bool { return *p != 0 }

func reuse() {
	var kept [][]int
	addresses := map[uintptr]bool{}
	for r := 0; r < *rounds; r++ {
		xs := make([]int, (*chunkMiB<<20)/8)
		addresses[uintptr(unsafe.Pointer(&xs[0]))] = true
		finished := new(int32)
		// Arguments, not captured variables: main sets its xs to nil below,
		// which would race with the goroutine reading a shared variable.
		go func(xs []int, r int, finished *int32) {
			writeEvery64(xs, r)
			setFlag(finished)
		}(xs, r, finished)
		for !flagSet(finished) {
			time.Sleep(time.Millisecond)
		}
		if r%*keepEvery == 0 {
			kept = append(kept, xs)
		}
		xs = nil
		runtime.GC()
		runtime.GC()
		// The next slice may land on the dropped one's memory: main writes
		// the words the goroutine wrote there.
		next := make([]int, (*chunkMiB<<20)/8)
		addresses[uintptr(unsafe.Pointer(&next[0]))] = true
		writeEvery64(next, -r)
		next = nil
		runtime.GC()
	}
	last := kept[len(kept)-1]
	target := &last[len(last)-1]
	done := make(chan bool)
	go func() {
		store(target, 1)
		done <- true
	}()
	store(target, 2)
	<-done
	fmt.Printf("hostile: %d rounds of %d MiB, %d kept, %d distinct addresses, race at %#x\n", *rounds, *chunkMiB,
		len(kept), len(addresses), uintptr(unsafe.Pointer(target)))
}

func allEqual(xs []int) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return true
}

func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	check(err)
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if fields := strings.Fields(lines.Text()); len(fields) >= 2 && fields[0] == "VmHWM:" {
			return fields[1]
		}
	}
	return "?"
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(3)
	}
}

func main() {
	flag.Parse()
	switch *mode {
	case "race":
		oneRace()
		fmt.Println("hostile: done")
	case "forkexec":
		forkExec()
	case "reports":
		reports()
	case "mutexes":
		mutexes()
	case "churn":
		churn()
	case "readers":
		readers()
	case "farheap":
		farHeap()
	case "reuse":
		reuse()
	default:
		check(fmt.Errorf("unknown -mode %q", *mode))
	}
	fmt.Printf("hostile: peak RSS %s kB\n", peakRSS())
}
