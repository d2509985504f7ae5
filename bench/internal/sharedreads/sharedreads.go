// Package sharedreads is the shared_reads workloads' program: words read by
// many goroutines at once (see bench/workloads/shared_reads/main.go for the
// shape and bench/workloads/shared_reads_crowd/main.go for its variant).
package sharedreads

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

// Run does the workload's fixed work and prints its checksum line. `parked`
// goroutines are started first and stay blocked until it returns: the idle
// connections of a server, which hold the race runtime's lower slot numbers,
// so that the readers run on higher ones.
func Run(parked int) {
	park := make(chan struct{})
	for i := 0; i < parked; i++ {
		go func() { <-park }()
	}
	defer close(park)
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
