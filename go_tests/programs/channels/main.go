// Command channels exercises every way Go code synchronizes through channels:
// unbuffered hand-off, buffered queues, close as a broadcast, range over a
// channel, select with default and with timeouts, and a buffered channel used
// as a counting semaphore.
//
// Plain (non-atomic) data is handed from goroutine to goroutine only through
// channel operations, so the program is race-free under the Go memory model:
// a race detector that reports anything here has a false positive. Every phase
// checks its result, and any wrong value exits with status 1. The last line
// on success is "OK channels".
package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL channels: "+format+"\n", args...)
		os.Exit(1)
	}
}

// unbufferedHandoff: the sender writes a plain slice, then sends it; the
// receiver reads it after the receive. The send happens before the receive
// completes, so the reads see the writes.
func unbufferedHandoff() {
	ch := make(chan []int)
	done := make(chan int)
	go func() {
		sum := 0
		for i := 0; i < 100; i++ {
			buf := <-ch
			for _, v := range buf {
				sum += v
			}
		}
		done <- sum
	}()
	want := 0
	for i := 0; i < 100; i++ {
		buf := make([]int, 10)
		for j := range buf {
			buf[j] = i*10 + j
			want += i*10 + j
		}
		ch <- buf
	}
	got := <-done
	check(got == want, "unbuffered sum = %d, want %d", got, want)
}

// unbufferedReverse: the receive of an unbuffered channel happens before the
// send completes, so a write made by the receiver before it receives is
// visible to the sender after its send returns.
func unbufferedReverse() {
	ch := make(chan struct{})
	shared := 0
	go func() {
		shared = 42
		<-ch
	}()
	ch <- struct{}{}
	check(shared == 42, "unbuffered reverse sync: shared = %d", shared)
}

// bufferedQueue: several producers and consumers over one buffered channel;
// every value must be consumed exactly once.
func bufferedQueue() {
	const producers, consumers, perProducer = 4, 3, 5000
	queue := make(chan int, 64)
	results := make(chan []int, consumers)
	for c := 0; c < consumers; c++ {
		go func() {
			var seen []int
			for v := range queue {
				seen = append(seen, v)
			}
			results <- seen
		}()
	}
	producerDone := make(chan struct{})
	for p := 0; p < producers; p++ {
		go func(p int) {
			for i := 0; i < perProducer; i++ {
				queue <- p*perProducer + i
			}
			producerDone <- struct{}{}
		}(p)
	}
	for p := 0; p < producers; p++ {
		<-producerDone
	}
	close(queue)
	count := make([]int, producers*perProducer)
	for c := 0; c < consumers; c++ {
		for _, v := range <-results {
			count[v]++
		}
	}
	for v, n := range count {
		check(n == 1, "buffered queue: value %d consumed %d times", v, n)
	}
	check(len(queue) == 0 && cap(queue) == 64, "buffered queue: len %d cap %d", len(queue), cap(queue))
}

// bufferedCapacity: a buffered channel accepts exactly cap sends without a
// receiver and delivers them in FIFO order.
func bufferedCapacity() {
	ch := make(chan int, 5)
	for i := 0; i < 5; i++ {
		select {
		case ch <- i:
		default:
			check(false, "send %d blocked on a channel with free capacity", i)
		}
	}
	select {
	case ch <- 99:
		check(false, "send succeeded on a full channel")
	default:
	}
	for i := 0; i < 5; i++ {
		v := <-ch
		check(v == i, "FIFO order: got %d, want %d", v, i)
	}
}

// closeBroadcast: closing a channel releases every waiter at once, and the
// close happens before each receive that observes it.
func closeBroadcast() {
	const waiters = 50
	start := make(chan struct{})
	var config [waiters]int // written by main before close, read by waiters after
	answers := make(chan int, waiters)
	for w := 0; w < waiters; w++ {
		go func(w int) {
			<-start
			answers <- config[w] * 2
		}(w)
	}
	want := 0
	for w := range config {
		config[w] = w + 1
		want += 2 * (w + 1)
	}
	close(start)
	got := 0
	for w := 0; w < waiters; w++ {
		got += <-answers
	}
	check(got == want, "close broadcast: %d, want %d", got, want)

	// Receives from a closed, drained channel return the zero value and ok=false.
	ch := make(chan int, 2)
	ch <- 7
	close(ch)
	v, ok := <-ch
	check(v == 7 && ok, "closed channel still delivers buffered value: %d %v", v, ok)
	v, ok = <-ch
	check(v == 0 && !ok, "closed drained channel: %d %v", v, ok)
}

// rangeOverChannel: range ends when the channel is closed, after all values.
func rangeOverChannel() {
	ch := make(chan int)
	go func() {
		for i := 1; i <= 1000; i++ {
			ch <- i
		}
		close(ch)
	}()
	sum, n := 0, 0
	for v := range ch {
		sum += v
		n++
	}
	check(n == 1000 && sum == 500500, "range: n=%d sum=%d", n, sum)
}

// selectDefault: a select with default never blocks. With nothing ready it
// takes default (a nil channel is never ready); with a value buffered it
// takes the receive.
func selectDefault() {
	var nilChan chan int
	ready := make(chan int, 1)
	defaults := 0
	for i := 0; i < 100; i++ {
		select {
		case <-nilChan:
			check(false, "received from a nil channel")
		case v := <-ready:
			check(false, "received %d from an empty channel", v)
		default:
			defaults++
		}
		ready <- i
		select {
		case <-nilChan:
			check(false, "received from a nil channel")
		case v := <-ready:
			check(v == i, "select with a ready channel got %d, want %d", v, i)
		default:
			check(false, "select took default with a ready channel")
		}
	}
	check(defaults == 100, "defaults = %d", defaults)
}

// selectTimeout: a select on a channel that never becomes ready falls through
// to time.After; one that becomes ready in time wins over a long timeout.
func selectTimeout() {
	never := make(chan int)
	start := time.Now()
	select {
	case <-never:
		check(false, "received from a channel nobody sends on")
	case <-time.After(20 * time.Millisecond):
	}
	check(time.Since(start) >= 20*time.Millisecond, "timeout fired early after %v", time.Since(start))

	soon := make(chan string)
	payload := ""
	go func() {
		payload = "written before send"
		time.Sleep(5 * time.Millisecond)
		soon <- "value"
	}()
	select {
	case v := <-soon:
		check(v == "value", "got %q", v)
		check(payload == "written before send", "payload %q", payload)
	case <-time.After(10 * time.Second):
		check(false, "ready channel lost to a 10 s timeout")
	}
}

// selectFairness: a select over several ready channels picks each of them;
// every value sent is received exactly once.
func selectFairness() {
	a, b, c := make(chan int), make(chan int), make(chan int)
	const perChan = 2000
	for _, ch := range []chan int{a, b, c} {
		go func(ch chan int) {
			for i := 0; i < perChan; i++ {
				ch <- 1
			}
		}(ch)
	}
	var fromA, fromB, fromC int
	for i := 0; i < 3*perChan; i++ {
		select {
		case v := <-a:
			fromA += v
		case v := <-b:
			fromB += v
		case v := <-c:
			fromC += v
		}
	}
	check(fromA == perChan && fromB == perChan && fromC == perChan,
		"select counts %d %d %d, want %d each", fromA, fromB, fromC, perChan)
}

// semaphore: a buffered channel of capacity k lets at most k goroutines into
// the critical section at once (checked with an atomic gauge).
func semaphore() {
	const limit, workers = 3, 40
	sem := make(chan struct{}, limit)
	var inside, maxInside atomic.Int32
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			sem <- struct{}{}
			now := inside.Add(1)
			for {
				old := maxInside.Load()
				if now <= old || maxInside.CompareAndSwap(old, now) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			<-sem
			done <- struct{}{}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	check(maxInside.Load() >= 1 && maxInside.Load() <= limit, "semaphore allowed %d inside, limit %d", maxInside.Load(), limit)
	check(inside.Load() == 0, "semaphore gauge left at %d", inside.Load())
}

// pipeline: a three-stage pipeline of goroutines connected by channels.
func pipeline() {
	gen := func(n int) <-chan int {
		out := make(chan int)
		go func() {
			for i := 1; i <= n; i++ {
				out <- i
			}
			close(out)
		}()
		return out
	}
	square := func(in <-chan int) <-chan int {
		out := make(chan int, 8)
		go func() {
			for v := range in {
				out <- v * v
			}
			close(out)
		}()
		return out
	}
	sum := 0
	for v := range square(square(gen(100))) {
		sum += v
	}
	want := 0
	for i := 1; i <= 100; i++ {
		want += i * i * i * i
	}
	check(sum == want, "pipeline sum %d, want %d", sum, want)
}

func main() {
	unbufferedHandoff()
	unbufferedReverse()
	bufferedQueue()
	bufferedCapacity()
	closeBroadcast()
	rangeOverChannel()
	selectDefault()
	selectTimeout()
	selectFairness()
	semaphore()
	pipeline()
	fmt.Println("OK channels")
}
