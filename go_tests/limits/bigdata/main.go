// Command bigdata has a 1.75 GiB bss (a zero-valued global array) and a small
// initialized table in data, for tests/e2e/test_hostile_limits.py. The Go
// linker refuses a data or bss symbol of 2e9 bytes or more, and a data
// segment of 2 GiB or more (pc-relative relocations reach +-2 GiB), so this
// is close to the largest bss a Go program can have.
//
// A goroutine and main write the last byte of the array with nothing ordering
// them (one race, 1.75 GiB into bss); before that, main writes a byte in the
// middle and hands it to a goroutine through a channel (no race). Prints the
// array's bounds and the racy address, then the peak RSS.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"unsafe"
)

var big [7 << 28]byte

// In data, not bss: written by both goroutines through the channel too.
var table = [4]int{1, 2, 3, 4}

//go:noinline
func store(x *byte, v byte) {
	*x = v
}

func main() {
	middle := &big[len(big)/2]
	handed := make(chan *byte)
	back := make(chan bool)
	go func() {
		p := <-handed
		*p++
		table[3]++
		back <- true
	}()
	*middle = 1
	table[3] = 10
	handed <- middle
	<-back
	fmt.Printf("bigdata: middle %d, table %d\n", *middle, table[3])

	last := &big[len(big)-1]
	done := make(chan bool)
	go func() {
		store(last, 1)
		done <- true
	}()
	store(last, 2)
	<-done
	fmt.Printf("bigdata: bss array [%#x, %#x), %d MiB, race at %#x\n", uintptr(unsafe.Pointer(&big[0])),
		uintptr(unsafe.Pointer(&big[0]))+uintptr(len(big)), len(big)>>20, uintptr(unsafe.Pointer(last)))
	fmt.Printf("bigdata: peak RSS %s kB\n", peakRSS())
}

func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if fields := strings.Fields(lines.Text()); len(fields) >= 2 && fields[0] == "VmHWM:" {
			return fields[1]
		}
	}
	return "?"
}
