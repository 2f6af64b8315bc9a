package api

import (
	"sync"

	"golang.org/x/time/rate"
)

// rateLimiter keeps one token bucket per principal.
type rateLimiter struct {
	mu      sync.Mutex
	perSec  float64
	buckets map[string]*rate.Limiter
}

func newRateLimiter(perSec float64) *rateLimiter {
	return &rateLimiter{perSec: perSec, buckets: map[string]*rate.Limiter{}}
}

// allow takes one request from key's bucket.
func (l *rateLimiter) allow(key string) bool {
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 10000 {
			clear(l.buckets)
		}
		b = rate.NewLimiter(rate.Limit(l.perSec), int(2*l.perSec)+1)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	return b.Allow()
}
