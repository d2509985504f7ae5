// Workload btree_pages: a B+tree kept in 4 KiB pages of bytes.
//
// The layout is that of an embedded key/value store: every node is a 4096-byte
// []byte page holding a small header and sorted 16-byte entries (an 8-byte key
// and an 8-byte value or child page number), encoded with encoding/binary.
// An insert binary-searches its way down, shifts the tail of a leaf with
// copy() within the page, and splits a full page by copying half of it into a
// new page (splits propagate up to the root). Every commitEvery inserts, each
// page changed since the last commit is copied whole into a flat "file" image.
//
// Two goroutines each fill a tree of their own; two more insert into one shared
// tree, taking a sync.Mutex around each insert. So this is mostly small
// byte-sized loads, page-sized and sub-page copies, and a lock handed between
// two goroutines.
//
// Determinism: values depend only on keys, so the shared tree's contents, read
// in key order, are the same whatever order its two writers took turns in; its
// page layout is not, and stays out of the checksum. The private trees are
// fully deterministic.
//
// Output: one "checksum" line that depends only on the constants below.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"

	"racert/bench/internal/workload"
)

const (
	pageSize     = 4096
	headerBytes  = 8 // [0:2] entry count, [2] 1 for a leaf
	entryBytes   = 16
	pageCapacity = (pageSize - headerBytes) / entryBytes

	privateWorkers = 2
	sharedWorkers  = 2
	insertsPerTree = 60_000  // per worker
	keySpace       = 1 << 21 // keys repeat sometimes: an insert may update
	commitEvery    = 64
	lookupEvery    = 4 // one lookup of an earlier key per this many inserts
)

var le = binary.LittleEndian

type page []byte

func (p page) count() int     { return int(le.Uint16(p[0:2])) }
func (p page) setCount(n int) { le.PutUint16(p[0:2], uint16(n)) }
func (p page) leaf() bool     { return p[2] == 1 }
func (p page) key(i int) uint64 {
	off := headerBytes + i*entryBytes
	return le.Uint64(p[off : off+8])
}
func (p page) value(i int) uint64 {
	off := headerBytes + i*entryBytes + 8
	return le.Uint64(p[off : off+8])
}
func (p page) setEntry(i int, key, value uint64) {
	off := headerBytes + i*entryBytes
	le.PutUint64(p[off:off+8], key)
	le.PutUint64(p[off+8:off+16], value)
}

// search returns the first index whose key is >= key.
func (p page) search(key uint64) int {
	lo, hi := 0, p.count()
	for lo < hi {
		mid := (lo + hi) / 2
		if p.key(mid) < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// childIndex returns the entry of an internal page whose subtree holds key:
// the last one whose key is <= key (entry 0's key is 0, the lowest key).
func (p page) childIndex(key uint64) int {
	i := p.search(key)
	if i < p.count() && p.key(i) == key {
		return i
	}
	return i - 1
}

// insertAt shifts entries [i, count) one slot right and writes the new one.
func (p page) insertAt(i int, key, value uint64) {
	n := p.count()
	start := headerBytes + i*entryBytes
	end := headerBytes + n*entryBytes
	copy(p[start+entryBytes:end+entryBytes], p[start:end])
	p.setEntry(i, key, value)
	p.setCount(n + 1)
}

type tree struct {
	pages   []page
	root    uint32
	dirty   []uint32
	isDirty []bool
	file    []byte // the committed image: page n at n*pageSize
	inserts int
	commits int
}

func newTree() *tree {
	t := &tree{}
	t.root = t.allocate(true)
	return t
}

func (t *tree) allocate(leaf bool) uint32 {
	p := make(page, pageSize)
	if leaf {
		p[2] = 1
	}
	t.pages = append(t.pages, p)
	t.isDirty = append(t.isDirty, false)
	id := uint32(len(t.pages) - 1)
	t.touch(id)
	return id
}

func (t *tree) touch(id uint32) {
	if !t.isDirty[id] {
		t.isDirty[id] = true
		t.dirty = append(t.dirty, id)
	}
}

func (t *tree) commit() {
	for _, id := range t.dirty {
		end := (int(id) + 1) * pageSize
		if end > len(t.file) {
			t.file = append(t.file, make([]byte, end-len(t.file))...)
		}
		copy(t.file[int(id)*pageSize:end], t.pages[id])
		t.isDirty[id] = false
	}
	t.dirty = t.dirty[:0]
	t.commits++
}

// split moves the upper half of full page id into a new page and returns the
// new page and its first key.
func (t *tree) split(id uint32) (uint32, uint64) {
	left := t.pages[id]
	right := t.allocate(left.leaf())
	rp := t.pages[right]
	n := left.count()
	half := n / 2
	copy(rp[headerBytes:], left[headerBytes+half*entryBytes:headerBytes+n*entryBytes])
	rp.setCount(n - half)
	left.setCount(half)
	t.touch(id)
	return right, rp.key(0)
}

func (t *tree) insert(key, value uint64) {
	var path [16]struct {
		id    uint32
		index int
	}
	depth := 0
	id := t.root
	for !t.pages[id].leaf() {
		p := t.pages[id]
		i := p.childIndex(key)
		path[depth].id, path[depth].index = id, i
		depth++
		id = uint32(p.value(i))
	}

	p := t.pages[id]
	i := p.search(key)
	t.touch(id)
	if i < p.count() && p.key(i) == key {
		p.setEntry(i, key, value)
	} else {
		if p.count() == pageCapacity {
			right, first := t.split(id)
			if key >= first {
				id, p = right, t.pages[right]
				i = p.search(key)
			}
			p.insertAt(i, key, value)
			t.insertSeparator(path[:depth], first, right)
		} else {
			p.insertAt(i, key, value)
		}
	}

	t.inserts++
	if t.inserts%commitEvery == 0 {
		t.commit()
	}
}

// insertSeparator links a new right sibling into the parents on path,
// splitting them (and growing a new root) as needed.
func (t *tree) insertSeparator(path []struct {
	id    uint32
	index int
}, key uint64, child uint32) {
	for level := len(path) - 1; level >= 0; level-- {
		id := path[level].id
		p := t.pages[id]
		t.touch(id)
		at := path[level].index + 1
		if p.count() < pageCapacity {
			p.insertAt(at, key, uint64(child))
			return
		}
		right, first := t.split(id)
		if at > p.count() {
			t.pages[right].insertAt(at-p.count(), key, uint64(child))
		} else {
			p.insertAt(at, key, uint64(child))
		}
		key, child = first, right
	}
	oldRoot := t.root
	t.root = t.allocate(false)
	r := t.pages[t.root]
	r.insertAt(0, 0, uint64(oldRoot))
	r.insertAt(1, key, uint64(child))
}

func (t *tree) lookup(key uint64) (uint64, bool) {
	id := t.root
	for !t.pages[id].leaf() {
		p := t.pages[id]
		id = uint32(p.value(p.childIndex(key)))
	}
	p := t.pages[id]
	i := p.search(key)
	if i < p.count() && p.key(i) == key {
		return p.value(i), true
	}
	return 0, false
}

// contentSum visits the entries in key order.
func (t *tree) contentSum() (sum uint64, entries int) {
	var visit func(id uint32)
	visit = func(id uint32) {
		p := t.pages[id]
		for i := 0; i < p.count(); i++ {
			if p.leaf() {
				entries++
				sum = sum*31 + (p.key(i) ^ p.value(i))
			} else {
				visit(uint32(p.value(i)))
			}
		}
	}
	visit(t.root)
	return sum, entries
}

func valueOf(key uint64) uint64 { return key*0x9e3779b97f4a7c15 ^ key>>7 }

// fill inserts insertsPerTree keys, with lock/unlock around each insert when
// mu is not nil, and returns how many lookups missed (always 0).
func fill(t *tree, mu *sync.Mutex, seed uint64) int {
	rng := workload.Xorshift(seed)
	misses := 0
	var recent [lookupEvery]uint64
	for n := 0; n < insertsPerTree; n++ {
		key := rng.Next()%keySpace + 1
		recent[n%lookupEvery] = key
		if mu != nil {
			mu.Lock()
		}
		t.insert(key, valueOf(key))
		if n%lookupEvery == lookupEvery-1 {
			k := recent[(n*7)%lookupEvery]
			if v, ok := t.lookup(k); !ok || v != valueOf(k) {
				misses++
			}
		}
		if mu != nil {
			mu.Unlock()
		}
	}
	return misses
}

func main() {
	private := make([]*tree, privateWorkers)
	shared := newTree()
	var sharedMu sync.Mutex
	misses := make([]int, privateWorkers+sharedWorkers)

	workload.Parallel(privateWorkers+sharedWorkers, func(w int) {
		seed := 0x2545f4914f6cdd1d * uint64(w+1)
		if w < privateWorkers {
			private[w] = newTree()
			misses[w] = fill(private[w], nil, seed)
			private[w].commit()
		} else {
			misses[w] = fill(shared, &sharedMu, seed)
		}
	})
	shared.commit()

	for w, m := range misses {
		if m != 0 {
			fmt.Fprintf(os.Stderr, "btree_pages: worker %d: %d lookup(s) missed\n", w, m)
			os.Exit(1)
		}
	}
	var checksum uint64
	for _, t := range private {
		sum, entries := t.contentSum()
		checksum = checksum*31 + sum + uint64(entries)
		checksum = checksum*31 + uint64(len(t.pages)) + uint64(t.commits)
		for off := 0; off < len(t.file); off += 4099 {
			checksum += uint64(t.file[off]) * uint64(off+1)
		}
	}
	sum, entries := shared.contentSum()
	checksum = checksum*31 + sum + uint64(entries)
	workload.PrintChecksum(checksum)
}
