// Workload alloc_heavy: many small allocations and constant GC pressure.
//
// Two goroutines repeatedly build and walk complete binary trees of small heap
// nodes, while one long-lived tree stays reachable (so every GC cycle has real
// marking to do). Every node is a fresh allocation that the detector hears
// about, and every collected node's memory comes back for reuse, so this
// stresses the detector's allocation hooks and the shadow/metadata it keeps for
// heap memory that is recycled quickly.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import "racert/bench/internal/workload"

const (
	workers        = 2
	longLivedDepth = 18
	minDepth       = 4
	maxDepth       = 16
	treesAtMin     = 1 << 15 // trees at minDepth; ÷4 per +2 depth, so each depth builds as many nodes
)

type node struct {
	left, right *node
	value       int32
}

func build(depth int, value int32) *node {
	n := &node{value: value}
	if depth > 0 {
		n.left = build(depth-1, 2*value)
		n.right = build(depth-1, 2*value+1)
	}
	return n
}

// walk returns a checksum over all values in the tree.
func walk(n *node) uint64 {
	if n == nil {
		return 0
	}
	return uint64(n.value) + 3*walk(n.left) + 5*walk(n.right)
}

func runWorker(id int) uint64 {
	var sum uint64
	for depth := minDepth; depth <= maxDepth; depth += 2 {
		trees := treesAtMin >> uint(depth-minDepth)
		for t := 0; t < trees; t++ {
			sum += walk(build(depth, int32(t+id)))
		}
	}
	return sum
}

func main() {
	longLived := build(longLivedDepth, 1)
	results := workload.RunWorkers(workers, runWorker)
	workload.PrintChecksum(workload.Fold(walk(longLived), results))
}
