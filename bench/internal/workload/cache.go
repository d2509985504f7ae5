package workload

import "sync"

// Cache is a map of at most a fixed number of entries that evicts the oldest
// key first (FIFO), the shape of a server's response cache. One sync.Mutex
// guards all of it, so any goroutine may use it.
type Cache[K comparable, V any] struct {
	mu       sync.Mutex
	capacity int
	entries  map[K]V
	order    []K // keys in insertion order; order[head:] are the eviction candidates
	head     int
	evicted  int
}

func NewCache[K comparable, V any](capacity int) *Cache[K, V] {
	return &Cache[K, V]{capacity: capacity, entries: make(map[K]V)}
}

// Get returns the value stored under key, if there is one.
func (c *Cache[K, V]) Get(key K) (value V, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	value, found = c.entries[key]
	return value, found
}

// Put stores value under key and returns the value it replaced, if any. A
// new key first evicts the oldest keys while the cache is full.
func (c *Cache[K, V]) Put(key K, value V) (previous V, replaced bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	previous, replaced = c.entries[key]
	if !replaced {
		for len(c.entries) >= c.capacity {
			oldest := c.order[c.head]
			c.head++
			if _, live := c.entries[oldest]; live {
				delete(c.entries, oldest)
				c.evicted++
			}
		}
		if c.head >= c.capacity {
			// Reuse the slice's front rather than let it grow forever.
			c.order = append(c.order[:0], c.order[c.head:]...)
			c.head = 0
		}
		c.order = append(c.order, key)
	}
	c.entries[key] = value
	return previous, replaced
}

// Stats returns how many entries the cache holds and how many it has evicted.
func (c *Cache[K, V]) Stats() (size, evicted int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.evicted
}
