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

import "racert/bench/internal/sharedreads"

func main() { sharedreads.Run(0) }
