// Command subword has two races inside one 8-byte word, where the two
// accesses start at different bytes of it. Each "... at 0x..." line of a
// report prints the address of its own access within the conflicting word
// (the word's address plus the offset at which that access starts in it),
// as the official runtime does:
//
//  1. rangeReadThenByteWrite: the goroutine converts text[3:9] to a string
//     (a range read starting at byte 3), then main writes text[5]. Expected:
//     "Write at &text[5]", "Previous read at &text[3]".
//  2. byteWriteThenRangeWrite: the goroutine writes data[5], then main
//     copy()s over all of data (a range write covering the whole word).
//     Expected: "Write at &data[0]", "Previous write at &data[5]".
//
// The program prints those addresses first, one "name=0x..." per line.
package main

import (
	"fmt"
	"runtime"
)

var (
	text  = []byte("0123456789abcdef")
	data  = make([]byte, 16)
	zeros = make([]byte, 16)
	sink  string
	phase int32
)

// See deep_history: a flag the race detector does not see.
//
//go:norace
//go:noinline
func setPhase(v int32) { phase = v }

//go:norace
//go:noinline
func getPhase() int32 { return phase }

//go:noinline
func goroutineAccesses(hold chan struct{}) {
	sink = string(text[3:9]) // LINE:goroutine_range_read
	data[5] = 'x'            // LINE:goroutine_byte_write
	setPhase(1)
	<-hold
}

//go:noinline
func mainAccesses() {
	text[5] = 'X'     // LINE:main_byte_write
	copy(data, zeros) // LINE:main_range_write
}

func main() {
	fmt.Printf("text3=%p\ntext5=%p\ndata0=%p\ndata5=%p\n", &text[3], &text[5], &data[0], &data[5])
	hold := make(chan struct{})
	go goroutineAccesses(hold)
	for getPhase() != 1 {
		runtime.Gosched()
	}
	mainAccesses()
	close(hold)
}
