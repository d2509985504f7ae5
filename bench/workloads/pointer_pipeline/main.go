// Workload pointer_pipeline: pointers to fresh structs handed down a pipeline.
//
//	source → parse → enrich (×2 workers) → price → validate → sink
//
// The source allocates a new *order for every item and sends the pointer; each
// of the four middle stages reads fields that earlier stages wrote and writes
// fields of its own through the pointer, then passes the same pointer on. The
// channels are buffered. Unlike chan_pipeline, which copies structs by value,
// every field access here is to heap memory last written by another goroutine,
// made safe only by the channel send/receive in between: each item's memory is
// touched by six goroutines in turn and then becomes garbage.
//
// Determinism: the two enrich workers reorder items, so the sink combines them
// with order-independent sums and xors.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"racert/bench/internal/workload"
)

const (
	items         = 2_000_000
	bufferSize    = 64
	enrichWorkers = 2
	lineCount     = 4
)

type line struct {
	sku      uint32
	quantity uint32
	cents    int64
}

type order struct {
	id       uint64
	customer uint32
	region   uint8
	lines    [lineCount]line
	tags     []string
	// Written by later stages.
	weight   uint64
	subtotal int64
	discount int64
	total    int64
	flags    uint32
	valid    bool
}

var regions = [...]string{"north", "south", "east", "west", "central"}

func source(out chan<- *order) {
	for i := uint64(0); i < items; i++ {
		o := &order{id: i, customer: uint32(i * 2654435761 >> 7 % 100_000)}
		for l := range o.lines {
			o.lines[l].sku = uint32((i*uint64(l+7) + 3) % 50_000)
		}
		out <- o
	}
	close(out)
}

func parse(in <-chan *order, out chan<- *order) {
	for o := range in {
		o.region = uint8(o.customer % uint32(len(regions)))
		for l := range o.lines {
			o.lines[l].quantity = o.lines[l].sku%9 + 1
		}
		if o.id%3 == 0 {
			o.tags = append(o.tags, regions[o.region])
		}
		out <- o
	}
	close(out)
}

func enrich(in <-chan *order, out chan<- *order) {
	for o := range in {
		for l := range o.lines {
			ln := &o.lines[l]
			ln.cents = int64(ln.sku%1000)*100 + int64(ln.sku%97)
			o.weight += uint64(ln.quantity) * uint64(ln.sku%250+10)
		}
		if o.weight > 20_000 {
			o.flags |= 1
			o.tags = append(o.tags, "heavy")
		}
		out <- o
	}
}

func price(in <-chan *order, out chan<- *order) {
	for o := range in {
		for _, ln := range o.lines {
			o.subtotal += ln.cents * int64(ln.quantity)
		}
		if o.region == 2 || len(o.tags) > 1 {
			o.discount = o.subtotal / 20
		}
		o.total = o.subtotal - o.discount + int64(o.weight/100)
		out <- o
	}
	close(out)
}

func validate(in <-chan *order, out chan<- *order) {
	for o := range in {
		o.valid = o.total > 0 && o.lines[0].quantity > 0
		if o.flags&1 != 0 && o.discount == 0 {
			o.flags |= 2
		}
		out <- o
	}
	close(out)
}

func sink(in <-chan *order) (count, sum, mixed uint64) {
	for o := range in {
		if !o.valid {
			continue
		}
		count++
		sum += uint64(o.total)
		mixed ^= o.id*0x9e3779b97f4a7c15 + uint64(o.flags)<<40 + o.weight + uint64(len(o.tags))
	}
	return count, sum, mixed
}

func main() {
	sourced := make(chan *order, bufferSize)
	parsed := make(chan *order, bufferSize)
	enriched := make(chan *order, bufferSize)
	priced := make(chan *order, bufferSize)
	validated := make(chan *order, bufferSize)

	go source(sourced)
	go parse(sourced, parsed)
	workload.Stage(enrichWorkers, enriched, func() { enrich(parsed, enriched) })
	go price(enriched, priced)
	go validate(priced, validated)

	count, sum, mixed := sink(validated)
	workload.PrintChecksum(count*1_000_003 + sum ^ mixed)
}
