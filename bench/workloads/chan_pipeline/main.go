// Workload chan_pipeline: structs flowing through buffered channel stages.
//
//	generate → transform (×2 workers) → filter → aggregate
//
// Each stage runs in its own goroutine(s) and hands fixed-size structs to the
// next through a buffered channel. Every send and receive is a
// release/acquire on a channel buffer slot plus a copy of the element, so this
// stresses channel synchronization and the struct copies it implies.
//
// Determinism: the two transform workers reorder items, so the aggregate uses
// only order-independent operations (sums and xors).
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"racert/bench/internal/workload"
)

const (
	items            = 2_000_000
	bufferSize       = 128
	transformWorkers = 2
)

type record struct {
	id     uint64
	fields [6]int64
	label  [16]byte
	score  int64
}

func generate(out chan<- record) {
	for i := uint64(0); i < items; i++ {
		var r record
		r.id = i
		for f := range r.fields {
			r.fields[f] = int64((i*uint64(f+3) + 17) % 10007)
		}
		r.label[i%16] = byte(i)
		out <- r
	}
	close(out)
}

func transform(in <-chan record, out chan<- record) {
	for r := range in {
		var score int64
		for f, v := range r.fields {
			r.fields[f] = v*v%65521 - int64(f)
			score += r.fields[f]
		}
		r.score = score
		out <- r
	}
}

func filter(in <-chan record, out chan<- record) {
	for r := range in {
		if r.score%3 != 0 {
			out <- r
		}
	}
	close(out)
}

func aggregate(in <-chan record) (count, sum, mixed uint64) {
	for r := range in {
		count++
		sum += uint64(r.score)
		mixed ^= r.id*0x9e3779b97f4a7c15 + uint64(r.fields[5]) + uint64(r.label[r.id%16])
	}
	return count, sum, mixed
}

func main() {
	generated := make(chan record, bufferSize)
	transformed := make(chan record, bufferSize)
	filtered := make(chan record, bufferSize)

	go generate(generated)
	workload.Stage(transformWorkers, transformed, func() { transform(generated, transformed) })
	go filter(transformed, filtered)

	count, sum, mixed := aggregate(filtered)
	workload.PrintChecksum(count*1_000_003 + sum ^ mixed)
}
