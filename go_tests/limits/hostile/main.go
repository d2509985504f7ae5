// Command hostile drives the race runtime to its limits for
// tests/e2e/test_hostile_limits.py. One binary, one mode per run:
//
//	-mode=race       one data race (the same shape as go_tests/reports/simple),
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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	mode       = flag.String("mode", "race", "race, forkexec, reports, mutexes or readers")
	n          = flag.Int("n", 100, "reports: racy words; mutexes: mutexes")
	words      = flag.Int("words", 1<<20, "readers: words read")
	goroutines = flag.Int("goroutines", 64, "readers: reading goroutines")
	signals    = flag.Bool("signals", false, "reports: send SIGUSR1/SIGINT to the process during the reports")
	exitOnTerm = flag.Bool("exit-on-term", false, "reports: os.Exit(0) on SIGTERM")
	rounds     = flag.Int("rounds", 10, "churn: rounds")
	raceAtEnd  = flag.Bool("race-at-end", false, "readers: one unsynchronized read of word 0")
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
	default:
		check(fmt.Errorf("unknown -mode %q", *mode))
	}
	fmt.Printf("hostile: peak RSS %s kB\n", peakRSS())
}
