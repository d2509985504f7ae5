// Workload server_requests: the shape of a request-serving program.
//
// The main goroutine starts requests in batches, one short goroutine per
// request, and collects every reply of a batch from a buffered channel before
// starting the next. Each request
//   - fills a fresh 2–6 KiB []byte buffer byte by byte (the way an encoder or
//     a protocol writer produces a response),
//   - stores it in a bounded cache (a map behind a sync.Mutex) whose keys
//     churn: a full cache evicts its oldest key, and a replaced entry is
//     checked by the request that replaced it,
//   - stores, loads and sometimes deletes a session in a sync.Map,
//   - arms a timer (time.AfterFunc or time.NewTimer, alternately) and stops it
//     before it can fire,
//   - replies on the batch's buffered channel.
//
// This mixes many fresh small buffers written one byte at a time, goroutine
// start and exit, a contended mutex, sync.Map, the timer heap and channels.
//
// Determinism: a buffer's bytes and a session's fields depend only on their
// key, so whichever request's entry is found in the cache or the sync.Map, its
// content is the same; the reply's digest depends only on the request number.
// Which entries are evicted, and when, varies and stays out of the checksum.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"racert/bench/internal/workload"
)

const (
	batches        = 2000
	batchSize      = 64
	cacheKeys      = 5000 // request keys cycle through this many
	cacheCapacity  = 1024 // the cache never holds more entries than this
	sessionKeys    = 3000
	minBufferBytes = 2 << 10
	bufferSpread   = 4 << 10 // buffers are minBufferBytes + [0, bufferSpread] bytes
	neverFires     = time.Hour
)

type session struct {
	key     int
	user    uint64
	created uint64
}

type reply struct {
	request int
	digest  uint64
}

var (
	responses = workload.NewCache[int, []byte](cacheCapacity)
	sessions  sync.Map // int -> *session
	timerRuns atomic.Int64
	problems  atomic.Int64
)

func bufferSize(key int) int { return minBufferBytes + key*7919%(bufferSpread+1) }

func fillByte(key, i int) byte { return byte(i*31 + key*17 + i>>7) }

func sessionFor(key int) *session {
	return &session{key: key, user: uint64(key) * 2654435761, created: uint64(key) ^ 0x5bd1e995}
}

func handle(request int, replies chan<- reply) {
	key := request * 37 % cacheKeys

	// The response body, written one byte at a time.
	buf := make([]byte, bufferSize(key))
	for i := range buf {
		buf[i] = fillByte(key, i)
	}
	var digest uint64
	for i := 0; i < len(buf); i += 64 {
		digest = digest*1099511628211 + uint64(buf[i])
	}

	if previous, replaced := responses.Put(key, buf); replaced {
		// Whoever stored it, an entry for this key has these bytes.
		mid := len(previous) / 2
		if len(previous) != len(buf) || previous[mid] != fillByte(key, mid) {
			problems.Add(1)
		}
	}

	skey := request * 13 % sessionKeys
	if v, loaded := sessions.LoadOrStore(skey, sessionFor(skey)); loaded {
		s := v.(*session)
		if s.key != skey || s.user != uint64(skey)*2654435761 {
			problems.Add(1)
		}
	}
	if request%5 == 0 {
		sessions.Delete(skey)
	} else if request%5 == 1 {
		sessions.Store(skey, sessionFor(skey))
	}

	// A request timeout that is always cancelled before it expires.
	if request%2 == 0 {
		t := time.AfterFunc(neverFires, func() { timerRuns.Add(1) })
		if !t.Stop() {
			problems.Add(1)
		}
	} else {
		t := time.NewTimer(neverFires)
		if !t.Stop() {
			problems.Add(1)
		}
	}

	replies <- reply{request: request, digest: digest ^ uint64(len(buf))<<48}
}

func main() {
	var checksum uint64
	for b := 0; b < batches; b++ {
		replies := make(chan reply, batchSize)
		for i := 0; i < batchSize; i++ {
			go handle(b*batchSize+i, replies)
		}
		for i := 0; i < batchSize; i++ {
			r := <-replies
			// Addition commutes: the order replies arrive in does not matter.
			checksum += r.digest*uint64(r.request+1) + uint64(r.request)
		}
	}

	size, _ := responses.Stats()
	if size > cacheCapacity || problems.Load() != 0 || timerRuns.Load() != 0 {
		fmt.Fprintf(os.Stderr, "server_requests: cache size %d, %d problem(s), %d timer(s) fired\n",
			size, problems.Load(), timerRuns.Load())
		os.Exit(1)
	}
	workload.PrintChecksum(checksum)
}
