package web

import "sync"

// tokenCache remembers the CSRF token of customer cookies this process has
// already decoded, keyed by the cookie's whole value, so that a browser's
// later views skip the decoding (HMAC, AES and gob: most of a page view's
// CPU). Only a value that decoded, so was signed with our key, is ever put
// in; a value it does not hold is decoded as before. The customer session
// holds nothing but the token and its cookie never expires by age (MaxAge
// 0), so a value decodes to the same token every time: the cache answers
// what decoding would.
//
// It is bounded: two generations of at most max entries each. When the
// current one is full it becomes the old one and the oldest generation is
// dropped; a value found in the old generation moves back to the current.
type tokenCache struct {
	mu       sync.Mutex
	cur, old map[string]string
	max      int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{cur: make(map[string]string), old: map[string]string{}, max: max}
}

func (c *tokenCache) get(cookie string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok, ok := c.cur[cookie]; ok {
		return tok, true
	}
	tok, ok := c.old[cookie]
	if ok {
		c.putLocked(cookie, tok)
	}
	return tok, ok
}

func (c *tokenCache) put(cookie, tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(cookie, tok)
}

func (c *tokenCache) putLocked(cookie, tok string) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[string]string, c.max)
	}
	c.cur[cookie] = tok
}

// len is the number of values held, for tests.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
