// Command cgo exercises the cgo boundary in a race build. A package with its
// own cgo code forces external linking, so this program also checks that the
// race object links and works through the host linker.
//
//   - Go calls C: arithmetic, C reading a Go slice, C writing into Go memory,
//     Go reading and writing C.malloc memory, from several goroutines at once;
//   - C calls Go on a Go-created thread (Go -> C -> Go -> back);
//   - C threads created with pthread_create call back into Go (the runtime
//     gives them extra Ms), many times each.
//
// Everything the callbacks write is guarded by a mutex, and C calls return
// before Go reads what they wrote, so the program is race-free under the Go
// memory model. A wrong result exits with status 1. The last line on success
// is "OK cgo".
package main

/*
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

// Defined in Go (//export below). The preamble is compiled twice when a file
// uses //export, so every C function defined here must be static.
extern void goRecordFromCThread(int thread, int value);
extern long long goSquare(long long x);

static long long c_add(long long a, long long b) { return a + b; }

static long long c_sum_int32(const int32_t *values, size_t n) {
	long long sum = 0;
	for (size_t i = 0; i < n; i++) sum += values[i];
	return sum;
}

static void c_fill_int32(int32_t *values, size_t n, int32_t base) {
	for (size_t i = 0; i < n; i++) values[i] = base + (int32_t)i;
}

// Go -> C -> Go on the calling goroutine's own thread.
static long long c_sum_of_go_squares(int n) {
	long long sum = 0;
	for (int i = 1; i <= n; i++) sum += goSquare(i);
	return sum;
}

struct thread_args { int thread; int calls; };

static void *c_thread_main(void *p) {
	struct thread_args *args = p;
	for (int i = 0; i < args->calls; i++) goRecordFromCThread(args->thread, i);
	return NULL;
}

// Starts `threads` pthreads that each call into Go `calls` times, and joins
// them. Returns 0 on success, or -1 if a thread could not be created/joined.
static int c_run_threads(int threads, int calls) {
	pthread_t ids[64];
	struct thread_args args[64];
	if (threads > 64) return -1;
	for (int t = 0; t < threads; t++) {
		args[t].thread = t;
		args[t].calls = calls;
		if (pthread_create(&ids[t], NULL, c_thread_main, &args[t]) != 0) return -1;
	}
	for (int t = 0; t < threads; t++) {
		if (pthread_join(ids[t], NULL) != 0) return -1;
	}
	return 0;
}
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

func check(ok bool, format string, args ...any) {
	if !ok {
		fmt.Printf("FAIL cgo: "+format+"\n", args...)
		os.Exit(1)
	}
}

// Callback state, shared by every C thread; guarded by callbackMu.
var (
	callbackMu     sync.Mutex
	callbackCounts = map[int]int{}
	callbackSums   = map[int]int{}
)

//export goRecordFromCThread
func goRecordFromCThread(thread, value C.int) {
	callbackMu.Lock()
	defer callbackMu.Unlock()
	callbackCounts[int(thread)]++
	callbackSums[int(thread)] += int(value)
}

//export goSquare
func goSquare(x C.longlong) C.longlong { return x * x }

func goCallsC() {
	check(C.c_add(40, 2) == 42, "c_add(40, 2) = %d", C.c_add(40, 2))

	values := make([]int32, 1000)
	for i := range values {
		values[i] = int32(i * 3)
	}
	sum := C.c_sum_int32((*C.int32_t)(unsafe.Pointer(&values[0])), C.size_t(len(values)))
	check(sum == 3*999*1000/2, "C sum of a Go slice = %d", sum)

	C.c_fill_int32((*C.int32_t)(unsafe.Pointer(&values[0])), C.size_t(len(values)), 7)
	for i, v := range values {
		check(v == int32(7+i), "C wrote %d at %d, want %d", v, i, 7+i)
	}

	const n = 4096
	mem := C.malloc(C.size_t(n * 4))
	check(mem != nil, "C.malloc failed")
	defer C.free(mem)
	cValues := unsafe.Slice((*int32)(mem), n)
	for i := range cValues {
		cValues[i] = int32(i)
	}
	check(C.c_sum_int32((*C.int32_t)(mem), n) == n*(n-1)/2, "C sum of C memory written by Go")
}

func parallelCalls() {
	var wg sync.WaitGroup
	results := make([]int64, 8)
	for g := range results {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			buf := make([]int32, 256)
			var total int64
			for round := 0; round < 200; round++ {
				C.c_fill_int32((*C.int32_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), C.int32_t(g))
				total += int64(C.c_sum_int32((*C.int32_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))))
			}
			results[g] = total
		}(g)
	}
	wg.Wait()
	for g, total := range results {
		want := int64(200) * (int64(256*g) + 255*256/2)
		check(total == want, "goroutine %d C total %d, want %d", g, total, want)
	}
}

func cCallsGoOnGoThread() {
	got := C.c_sum_of_go_squares(100)
	check(got == 100*101*201/6, "sum of Go squares via C = %d", got)
}

func cThreadsCallGo() {
	const threads, calls = 4, 1000
	check(C.c_run_threads(threads, calls) == 0, "pthread_create/join failed")
	callbackMu.Lock()
	defer callbackMu.Unlock()
	check(len(callbackCounts) == threads, "callbacks from %d threads, want %d", len(callbackCounts), threads)
	for t := 0; t < threads; t++ {
		check(callbackCounts[t] == calls, "thread %d made %d callbacks, want %d", t, callbackCounts[t], calls)
		check(callbackSums[t] == calls*(calls-1)/2, "thread %d callback sum %d", t, callbackSums[t])
	}
}

func main() {
	goCallsC()
	parallelCalls()
	cCallsGoOnGoThread()
	cThreadsCallGo()
	fmt.Println("OK cgo")
}
