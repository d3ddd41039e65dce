package handlers

import (
	"context"
	"sync"
	"time"

	"github.com/sentinel-fraud/sentinel/store"
)

// keyCacheTTL bounds how long a key checked once is trusted without asking
// the database again. A revocation on this server takes effect at once; one
// made through another replica, within this time.
const keyCacheTTL = 5 * time.Second

// keyCache remembers recently authenticated API keys by their hash, sparing
// the scoring hot path a database round trip per request.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]cachedKey
}

type cachedKey struct {
	key     *store.APIKey
	expires time.Time
}

// authenticate returns the active key with this secret.
func (kc *keyCache) authenticate(ctx context.Context, db *store.DB, secret string) (*store.APIKey, error) {
	hash := store.HashToken(secret)
	now := time.Now()
	kc.mu.Lock()
	if c, ok := kc.keys[hash]; ok && now.Before(c.expires) {
		kc.mu.Unlock()
		return c.key, nil
	}
	kc.mu.Unlock()
	key, err := store.AdminAuthenticateAPIKey(ctx, db, secret)
	if err != nil {
		return nil, err
	}
	kc.mu.Lock()
	if kc.keys == nil || len(kc.keys) > 10_000 {
		kc.keys = map[string]cachedKey{}
	}
	kc.keys[hash] = cachedKey{key: key, expires: now.Add(keyCacheTTL)}
	kc.mu.Unlock()
	return key, nil
}

// forget drops a key (on revocation).
func (kc *keyCache) forget(id string) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	for h, c := range kc.keys {
		if c.key.ID == id {
			delete(kc.keys, h)
		}
	}
}
