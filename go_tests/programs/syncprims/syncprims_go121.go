//go:build go1.21

package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

func init() { laterParts = append(laterParts, onceHelpers) }

func onceHelpers() {
	var n atomic.Int32
	f := sync.OnceFunc(func() { n.Add(1) })
	v := sync.OnceValue(func() []int { n.Add(10); return []int{4, 5, 6} })
	vs := sync.OnceValues(func() (string, error) { n.Add(100); return "x", errors.New("e") })
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
			s := v()
			str, err := vs()
			if len(s) != 3 || s[2] != 6 || str != "x" || err == nil || err.Error() != "e" {
				fmt.Printf("FAIL syncprims: OnceValue(s) returned %v %q %v\n", s, str, err)
				os.Exit(1)
			}
		}()
	}
	wg.Wait()
	check(n.Load() == 111, "Once helpers ran %d (want 1+10+100)", n.Load())
}
