// Workload shared_reads_crowd: shared_reads while 220 other goroutines are
// alive (parked on a channel, like a server's idle connections).
//
// The same lookups, rounds and rewrites as shared_reads (the code is
// bench/internal/sharedreads). The parked goroutines are started first and
// keep the race runtime's lower goroutine identities, so the 48 readers run
// on identities numbered from about 220 up: the situation of a program with
// many goroutines alive, where the readers of a shared word are not the
// first goroutines the program started.
//
// Output: the same "checksum" line as shared_reads.
package main

import "racert/bench/internal/sharedreads"

func main() { sharedreads.Run(220) }
