// Workload shared_reads: words read by many goroutines at once.
//
// A routing table (a slice of 16 Ki entries) and a small config struct are
// built by main, then read by 48 goroutines doing lookups: every lookup reads
// the config's fields and a few table entries chosen by a per-goroutine
// generator, so each word of the table and of the config is read by many
// goroutines between writes. After each round (joined by a WaitGroup) main
// rewrites part of the table and the config, so the words go from many
// readers back to one writer, round after round. This is the shape of lookup
// tables, configuration and other read-mostly globals that Go programs share
// without locks, relying on the go statement and WaitGroup for ordering.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"racert/bench/internal/workload"
)

const (
	tableSize   = 16 << 10
	readers     = 48
	rounds      = 8
	lookupsEach = 60_000
)

type route struct {
	next   uint32
	weight uint32
}

type config struct {
	mask    uint32
	salt    uint32
	maxHops int
	scale   uint64
}

var (
	table []route
	cfg   config
)

func lookup(rng *workload.Xorshift) uint64 {
	c := cfg
	at := uint32(rng.Next()) & c.mask
	sum := uint64(0)
	for hop := 0; hop < c.maxHops; hop++ {
		r := table[at]
		sum += uint64(r.weight) * c.scale
		at = (r.next ^ c.salt) & c.mask
	}
	return sum
}

func reader(id, round int) uint64 {
	rng := workload.Xorshift(uint64(id*1000 + round + 1))
	sum := uint64(0)
	for i := 0; i < lookupsEach; i++ {
		sum += lookup(&rng)
	}
	return sum
}

func rewrite(round int) {
	for i := round; i < tableSize; i += 7 {
		table[i] = route{next: uint32(i*2654435761>>7) + uint32(round), weight: uint32(i%97 + round)}
	}
	cfg.salt = uint32(round * 0x9e37)
	cfg.scale = uint64(round%3 + 1)
}

func main() {
	table = make([]route, tableSize)
	cfg = config{mask: tableSize - 1, maxHops: 4, scale: 1}
	rewrite(0)
	sum := uint64(0)
	for round := 1; round <= rounds; round++ {
		sum = workload.Fold(sum, workload.RunWorkers(readers, func(id int) uint64 { return reader(id, round) }))
		rewrite(round)
	}
	workload.PrintChecksum(sum)
}
