package workload

// Xorshift is a tiny deterministic generator (Marsaglia's xorshift64 with
// shifts 13, 7, 17): every run sees the same data. Seed it with any value
// but 0.
type Xorshift uint64

// Next advances the generator and returns its new state.
func (s *Xorshift) Next() uint64 {
	x := uint64(*s)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*s = Xorshift(x)
	return x
}
