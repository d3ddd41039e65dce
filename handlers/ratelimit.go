package handlers

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyLimiter gives each API key a token bucket of its own. The buckets live
// in this process: with N replicas behind a balancer a key may send up to N
// times the rate (documented in the README).
type keyLimiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

func newKeyLimiter(perSecond float64, burst int) *keyLimiter {
	return &keyLimiter{rate: rate.Limit(perSecond), burst: max(burst, 1), keys: map[string]*rate.Limiter{}}
}

// allow takes one token from the key's bucket. When there is none it
// returns false and how long until there will be.
func (kl *keyLimiter) allow(keyID string, now time.Time) (bool, time.Duration) {
	if kl.rate <= 0 {
		return true, 0
	}
	kl.mu.Lock()
	l, ok := kl.keys[keyID]
	if !ok {
		l = rate.NewLimiter(kl.rate, kl.burst)
		kl.keys[keyID] = l
	}
	kl.mu.Unlock()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfter is a Retry-After value: whole seconds, at least one.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
