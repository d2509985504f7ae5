// Workload copy_strings: bulk memory operations on bytes and strings.
//
// Two goroutines, each on its own buffers, repeatedly
//   - copy() megabyte-sized slices,
//   - convert []byte→string and string→[]byte at many sizes,
//   - build long strings with strings.Builder,
//   - grow a []byte with append from empty.
//
// Go reports these to the detector as range accesses (one call covering many
// bytes), so this measures the detector's per-byte range cost rather than its
// per-call cost. Copies of fresh allocations also exercise the allocation
// hooks.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"strconv"
	"strings"

	"racert/bench/internal/workload"
)

const (
	workers            = 2
	rounds             = 6
	bufferBytes        = 4 << 20
	copiesPerRound     = 24
	conversionsPerSize = 400
	builderPieces      = 60_000
	appendTargetBytes  = 8 << 20
)

// sampleStride: every 512th byte is read for the checksum.
const sampleStride = 512

func bulkCopies(src, dst []byte, round int) uint64 {
	var sum uint64
	for c := 0; c < copiesPerRound; c++ {
		shift := (round*copiesPerRound + c) * 4093 % (len(src) / 2)
		n := copy(dst, src[shift:])
		copy(dst[n:], src[:shift])
		sum += workload.SampleSum(dst[:64<<10], sampleStride)
		src, dst = dst, src
	}
	return sum
}

func conversions(src []byte, round int) uint64 {
	var sum uint64
	for size := 16; size <= 64<<10; size *= 4 {
		for k := 0; k < conversionsPerSize; k++ {
			start := (k*7919 + round*131) % (len(src) - size)
			s := string(src[start : start+size])
			b := []byte(s)
			b[0] ^= 0x5a
			sum += uint64(s[size/2]) + uint64(b[0]) + uint64(len(b))
		}
	}
	return sum
}

func buildString(round int) uint64 {
	var sb strings.Builder
	for p := 0; p < builderPieces; p++ {
		sb.WriteString("item-")
		sb.WriteString(strconv.Itoa(p*round + p))
		sb.WriteByte(';')
	}
	s := sb.String()
	return uint64(len(s)) + workload.SampleSum(s, sampleStride)
}

func appendGrowth(src []byte, round int) uint64 {
	var out []byte
	piece := 1 + round%7
	for len(out) < appendTargetBytes {
		start := (len(out) * 31) % (len(src) - 4096)
		out = append(out, src[start:start+piece*500]...)
	}
	return uint64(len(out)) + workload.SampleSum(out, sampleStride)
}

func runWorker(id int) uint64 {
	src := make([]byte, bufferBytes)
	for i := range src {
		src[i] = byte(i*131 + id*7 + i>>9)
	}
	dst := make([]byte, bufferBytes)

	var sum uint64
	for r := 0; r < rounds; r++ {
		sum += bulkCopies(src, dst, r)
		sum += conversions(src, r)
		sum += buildString(r)
		sum += appendGrowth(src, r)
	}
	return sum
}

func main() {
	workload.PrintChecksum(workload.Fold(0, workload.RunWorkers(workers, runWorker)))
}
