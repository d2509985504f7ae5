// Program soak: a request-serving program kept busy for a fixed time, to watch
// a race runtime's memory and speed over a long run (scripts/long_runs.py).
//
// A few dispatchers each start requests in batches, one short goroutine per
// request, and wait for every reply of a batch on a buffered channel. Each
// request
//   - fills a fresh 2–6 KiB []byte byte by byte (a response being encoded),
//   - puts it in a bounded cache (a map behind a sync.Mutex) whose key space
//     drifts with time, so old keys stop being asked for and are evicted,
//   - looks up, creates, refreshes or ends a session in a sync.Map,
//   - arms a timer (time.AfterFunc or time.NewTimer) and stops it before it
//     fires; one request in 64 lets a short timer fire and waits for it,
//   - replies on the batch's channel.
//
// Nothing is racy: a race report from any runtime is a false one.
//
// Flags: -duration (default 10m), -progress (default 10s): every progress
// interval one line "progress <seconds> <requests so far>" is printed; at the
// end "requests <n> seconds <s> rate <requests/s>" and "cache <entries>
// sessions <n> evicted <n>". Exit status 1 if a check inside failed.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"racert/bench/internal/workload"
)

const (
	dispatchers   = 4
	batchSize     = 64
	cacheCapacity = 4096
	keyWindow     = 16384 // keys asked for at one time; the window drifts
	sessionKeys   = 8192
	minBuffer     = 2 << 10
	bufferSpread  = 4 << 10
	longTimeout   = time.Hour
	shortTimeout  = 200 * time.Microsecond
)

type entry struct {
	key  uint64
	body []byte
}

type session struct {
	id      uint64
	hits    atomic.Uint64
	created time.Time
}

var (
	responses = workload.NewCache[uint64, *entry](cacheCapacity)
	sessions  sync.Map // uint64 -> *session
	served    atomic.Uint64
	fired     atomic.Uint64
	failures  atomic.Uint64
)

func bodyByte(key uint64, i int) byte { return byte(uint64(i)*131 + key*7 + uint64(i>>9)) }

func bodySize(key uint64) int { return minBuffer + int(key*2654435761%(bufferSpread+1)) }

func handle(request uint64, replies chan<- uint64) {
	// Keys drift: request n asks for keys in [n/8, n/8+keyWindow).
	key := request/8 + request*40503%keyWindow

	var digest uint64
	if e, found := responses.Get(key); found {
		mid := len(e.body) / 2
		if e.key != key || e.body[mid] != bodyByte(key, mid) {
			failures.Add(1)
		}
		digest = uint64(e.body[mid])
	}
	body := make([]byte, bodySize(key))
	for i := range body {
		body[i] = bodyByte(key, i)
	}
	for i := 0; i < len(body); i += 128 {
		digest = digest*1099511628211 + uint64(body[i])
	}
	responses.Put(key, &entry{key: key, body: body})

	sid := request * 7919 % sessionKeys
	v, loaded := sessions.LoadOrStore(sid, &session{id: sid, created: time.Now()})
	s := v.(*session)
	if s.id != sid {
		failures.Add(1)
	}
	s.hits.Add(1)
	switch request % 7 {
	case 0:
		sessions.Delete(sid)
	case 1:
		if loaded {
			sessions.Store(sid, &session{id: sid, created: time.Now()})
		}
	}

	switch {
	case request%64 == 63:
		// A deadline that expires: the callback runs on the timer goroutine.
		done := make(chan struct{})
		time.AfterFunc(shortTimeout, func() {
			fired.Add(1)
			close(done)
		})
		<-done
	case request%2 == 0:
		t := time.AfterFunc(longTimeout, func() { failures.Add(1) })
		if !t.Stop() {
			failures.Add(1)
		}
	default:
		t := time.NewTimer(longTimeout)
		if !t.Stop() {
			failures.Add(1)
		}
	}

	served.Add(1)
	replies <- digest
}

func dispatch(first uint64, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	replies := make(chan uint64, batchSize)
	for n := first; ; n += dispatchers * batchSize {
		select {
		case <-stop:
			return
		default:
		}
		for i := uint64(0); i < batchSize; i++ {
			go handle(n+i, replies)
		}
		for i := 0; i < batchSize; i++ {
			<-replies
		}
	}
}

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long to serve")
	progress := flag.Duration("progress", 10*time.Second, "interval of the progress lines")
	flag.Parse()

	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for d := uint64(0); d < dispatchers; d++ {
		wg.Add(1)
		go dispatch(d*batchSize, stop, &wg)
	}
	ticker := time.NewTicker(*progress)
	deadline := time.NewTimer(*duration)
loop:
	for {
		select {
		case <-ticker.C:
			fmt.Printf("progress %.1f %d\n", time.Since(start).Seconds(), served.Load())
		case <-deadline.C:
			break loop
		}
	}
	ticker.Stop()
	close(stop)
	wg.Wait()
	elapsed := time.Since(start).Seconds()

	size, evicted := responses.Stats()
	live := 0
	sessions.Range(func(_, _ any) bool { live++; return true })
	fmt.Printf("requests %d seconds %.1f rate %.0f\n", served.Load(), elapsed,
		float64(served.Load())/elapsed)
	fmt.Printf("cache %d sessions %d evicted %d timers_fired %d goroutines %d\n",
		size, live, evicted, fired.Load(), runtime.NumGoroutine())
	if size > cacheCapacity || failures.Load() != 0 {
		fmt.Fprintf(os.Stderr, "soak: %d failed check(s), cache size %d\n", failures.Load(), size)
		os.Exit(1)
	}
}
