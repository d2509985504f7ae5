// Workload compute: access-heavy arithmetic with almost no synchronization.
//
// Four goroutines each run, on their own data, an integer matrix multiply, a
// sort of a pseudo-random slice, and a loop of struct-field updates. Nearly every
// instruction is an instrumented load or store of slice/array/struct memory, so
// this measures the detector's plain-access fast path. The only synchronization
// is the final WaitGroup.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"slices"

	"racert/bench/internal/workload"
)

const (
	workers       = 4
	rounds        = 6
	matrixSize    = 110 // n×n int64 matrices; the multiply is n³ multiply-adds
	sortLength    = 150_000
	particleCount = 4096
	particleSteps = 120
)

func multiplyMatrices(a, b, product [][]int64) {
	n := len(a)
	for i := 0; i < n; i++ {
		row := product[i]
		for j := 0; j < n; j++ {
			row[j] = 0
		}
		for k := 0; k < n; k++ {
			aik := a[i][k]
			bk := b[k]
			for j := 0; j < n; j++ {
				row[j] += aik * bk[j]
			}
		}
	}
}

func newMatrix(n int, rng *workload.Xorshift) [][]int64 {
	m := make([][]int64, n)
	for i := range m {
		m[i] = make([]int64, n)
		for j := range m[i] {
			m[i][j] = int64(rng.Next()%1000) - 500
		}
	}
	return m
}

func matrixChecksum(m [][]int64) uint64 {
	var sum uint64
	for i, row := range m {
		for j, v := range row {
			sum += uint64(v) * uint64(i*len(row)+j+1)
		}
	}
	return sum
}

// particle is updated field by field, so each step is several struct-field
// reads and writes rather than one block copy.
type particle struct {
	x, y   int64
	vx, vy int64
	bounce int32
	weight int32
}

func stepParticles(ps []particle, steps int) {
	const limit = 1 << 20
	for s := 0; s < steps; s++ {
		for i := range ps {
			p := &ps[i]
			p.x += p.vx
			p.y += p.vy
			if p.x < 0 || p.x > limit {
				p.vx = -p.vx
				p.bounce++
			}
			if p.y < 0 || p.y > limit {
				p.vy = -p.vy
				p.bounce++
			}
			p.weight = (p.weight*7 + int32(p.x&0xff)) & 0xffff
		}
	}
}

func runWorker(id int) uint64 {
	rng := workload.Xorshift(0x9e3779b97f4a7c15 ^ uint64(id+1)*0x1234567)
	var sum uint64

	a := newMatrix(matrixSize, &rng)
	b := newMatrix(matrixSize, &rng)
	product := newMatrix(matrixSize, &rng)
	values := make([]int64, sortLength)
	particles := make([]particle, particleCount)

	for r := 0; r < rounds; r++ {
		multiplyMatrices(a, b, product)
		sum += matrixChecksum(product)
		// Feed the result back so rounds differ.
		a, product = product, a

		for i := range values {
			values[i] = int64(rng.Next() >> 1)
		}
		slices.Sort(values)
		for i := 0; i < len(values); i += 97 {
			sum += uint64(values[i]) >> 20
		}

		for i := range particles {
			particles[i] = particle{
				x: int64(rng.Next() % (1 << 20)), y: int64(rng.Next() % (1 << 20)),
				vx: int64(rng.Next()%2001) - 1000, vy: int64(rng.Next()%2001) - 1000,
			}
		}
		stepParticles(particles, particleSteps)
		for i := range particles {
			p := &particles[i]
			sum += uint64(p.x) ^ uint64(p.y)<<1 ^ uint64(p.bounce)<<3 ^ uint64(p.weight)
		}
	}
	return sum
}

func main() {
	workload.PrintChecksum(workload.Fold(0, workload.RunWorkers(workers, runWorker)))
}
