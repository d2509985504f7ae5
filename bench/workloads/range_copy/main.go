// Workload range_copy: very large range accesses.
//
// Two goroutines, each on its own memory, repeatedly
//   - copy() whole 32 MiB slices into each other (and 32 MiB rotations made
//     of two copies),
//   - convert []byte to string and back at sizes from 256 KiB to 32 MiB,
//   - write a bytes.Buffer up to 32 MiB in 64 KiB pieces and read it back,
//   - grow a []byte from empty to 32 MiB with append.
//
// Go reports each of these to the race runtime as one range access spanning
// up to 32 MiB, so the time is dominated by the runtime's per-byte cost on
// ranges (and on memory it has never seen, for fresh allocations), not by its
// per-call cost. copy_strings covers the same operations at smaller sizes.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"bytes"

	"racert/bench/internal/workload"
)

const (
	workers        = 2
	rounds         = 1
	sliceBytes     = 32 << 20
	copiesPerRound = 6
	conversionMin  = 256 << 10
	bufferPiece    = 64 << 10
	appendPiece    = 48 << 10
)

// sampleStride: every 4096th byte is read for the checksum.
const sampleStride = 4096

func bulkCopies(a, b []byte, round int) uint64 {
	var sum uint64
	for c := 0; c < copiesPerRound; c++ {
		if c%2 == 0 {
			copy(b, a)
		} else {
			// A rotation: two copies that together cover the whole slice.
			shift := (round*copiesPerRound + c + 1) * 40961 % len(a)
			n := copy(b, a[shift:])
			copy(b[n:], a[:shift])
		}
		b[c] ^= byte(round + c)
		sum += workload.SampleSum(b, sampleStride)
		a, b = b, a
	}
	return sum
}

func conversions(src []byte, round int) uint64 {
	var sum uint64
	for size := conversionMin; size <= len(src); size *= 2 {
		start := (round * 8191) % (len(src) - size + 1)
		s := string(src[start : start+size])
		back := []byte(s)
		back[size-1] ^= 0xa5
		sum += uint64(s[size/3]) + uint64(back[size-1]) + uint64(len(back))
	}
	return sum
}

func bufferWrites(src []byte, round int) uint64 {
	var buf bytes.Buffer
	for off := 0; buf.Len() < len(src); off = (off + bufferPiece*3 + round) % (len(src) - bufferPiece) {
		buf.Write(src[off : off+bufferPiece])
	}
	out := make([]byte, buf.Len())
	n, _ := buf.Read(out)
	return uint64(n) + workload.SampleSum(out[:n], sampleStride)
}

func appendGrowth(src []byte, round int) uint64 {
	var out []byte
	for len(out) < len(src) {
		start := (len(out)*7 + round) % (len(src) - appendPiece)
		out = append(out, src[start:start+appendPiece]...)
	}
	return uint64(len(out)) + workload.SampleSum(out, sampleStride)
}

func runWorker(id int) uint64 {
	a := make([]byte, sliceBytes)
	for i := 0; i < len(a); i += 8 {
		a[i] = byte(i>>3 + id)
	}
	b := make([]byte, sliceBytes)

	var sum uint64
	for r := 0; r < rounds; r++ {
		sum += bulkCopies(a, b, r)
		sum += conversions(a, r)
		sum += bufferWrites(b, r)
		sum += appendGrowth(a, r)
	}
	return sum
}

func main() {
	workload.PrintChecksum(workload.Fold(0, workload.RunWorkers(workers, runWorker)))
}
