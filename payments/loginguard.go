package payments

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// Login throttling and the cap on password hashes. A wrong guess slows down
// the client that made it, never the account: failures are counted per
// (email, client IP) and per client IP, so an address that hammers an
// account cannot lock out the admin logging in from elsewhere. Each
// Argon2id check takes 19 MiB, so only a few run at once; the rest wait
// briefly and are then turned away.
//
// Two-factor codes are the exception: a code is six digits, and whoever
// sends one already holds the password, so its guesses are also counted
// per account across every client (codeFreeFailures). Past them, every
// code for that account waits, 1 s doubling up to maxLoginWait after the
// last wrong one: whoever floods the account can make its admin wait, a
// bounded wait each time, never for good. A right password does not clear
// that count; a right code does.
const (
	// pairFreeFailures is how many wrong passwords one client may make for
	// one email before each further try must wait.
	pairFreeFailures = 5
	// ipFreeFailures is the same across every email, from one address.
	ipFreeFailures = 20
	// codeFreeFailures is how many wrong two-factor codes one account
	// takes, from every client together, before each further code must
	// wait.
	codeFreeFailures = 10
	maxLoginWait     = 15 * time.Minute
	// forgetFailures: a client that has not failed for this long starts
	// afresh.
	forgetFailures = 24 * time.Hour
	// loginTableSize bounds the memory the counters take; the least
	// recently failing keys are forgotten first. Forgetting only ever
	// helps the client it concerns, and its per-IP counter is touched at
	// each of its tries, so a flood of fresh (email, IP) pairs from one
	// address does not reset that address.
	loginTableSize = 10000
	// defaultLoginQueueWait is how long a login waits for a free hash slot.
	defaultLoginQueueWait = 2 * time.Second
)

// LoginWaitError refuses a login without checking its password: the client
// has failed too often (Busy false), or too many password checks are
// already running (Busy true). RetryAfter is when to try again.
type LoginWaitError struct {
	RetryAfter time.Duration
	Busy       bool
	// Account: the account's two-factor codes wait (too many wrong ones,
	// from any client), not this client.
	Account bool
}

func (e *LoginWaitError) Error() string {
	if e.Busy {
		return "payments: login refused: password checks busy"
	}
	if e.Account {
		return fmt.Sprintf("payments: code refused: too many wrong codes for the account, retry after %s", e.RetryAfter)
	}
	return fmt.Sprintf("payments: login refused: too many failures, retry after %s", e.RetryAfter)
}

// loginWait is how long a client with n failures must wait after its last
// one: nothing for the first free ones, then 1 s doubling each time, up to
// maxLoginWait.
func loginWait(n, free int) time.Duration {
	if n < free {
		return 0
	}
	d := time.Second
	for i := free; i < n && d < maxLoginWait; i++ {
		d *= 2
	}
	return min(d, maxLoginWait)
}

// clientKey is the bucket of a client address: the address itself for IPv4,
// its /64 for IPv6 (one subscriber usually holds a whole /64). Text that is
// not an address is its own bucket.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// failures is one key's count. pending counts checks under way, as
// failures until they end, so that parallel tries cannot pass the wait.
type failures struct {
	key     string
	n       int
	pending int
	last    time.Time
}

// loginGuard holds the failure counters (a bounded LRU) and the hash
// semaphore.
type loginGuard struct {
	mu    sync.Mutex
	order *list.List // of *failures, most recently touched at the front
	byKey map[string]*list.Element
	size  int
	// codes counts wrong two-factor codes per admin id: apart from the
	// LRU, so that a flood of other keys cannot make it forget an
	// account (it holds at most one entry per admin with two-factor on).
	codes map[string]*failures

	sem       chan struct{}
	queueWait time.Duration
}

// maxLoginHashes caps the default number of password checks at once.
const maxLoginHashes = 4

func newLoginGuard(hashes int, queueWait time.Duration) *loginGuard {
	if hashes <= 0 {
		// A few at once: each check holds 19 MiB, so a large machine must
		// not multiply that by its processor count.
		hashes = min(2*runtime.GOMAXPROCS(0), maxLoginHashes)
	}
	if queueWait <= 0 {
		queueWait = defaultLoginQueueWait
	}
	return &loginGuard{order: list.New(), byKey: map[string]*list.Element{}, size: loginTableSize, codes: map[string]*failures{},
		sem: make(chan struct{}, hashes), queueWait: queueWait}
}

// loginTry is one admitted try; end reports its outcome.
type loginTry struct {
	g        *loginGuard
	pair, ip string
	// account is the admin id of a two-factor code's try, "" for a
	// password.
	account string
}

func pairKey(email, ip string) string {
	// The email as typed can be as long as a form allows: its digest keeps
	// every key of the bounded table small.
	sum := sha256.Sum256([]byte(email))
	return "pair\x00" + hex.EncodeToString(sum[:]) + "\x00" + ip
}
func ipKey(ip string) string { return "ip\x00" + ip }

// admit decides whether a client may try a password now. It refuses with a
// *LoginWaitError while the (email, IP) pair or the IP must wait;
// otherwise it counts the try as pending under both keys.
func (g *loginGuard) admit(email, ip string, now time.Time) (*loginTry, error) {
	return g.admitCode("", email, ip, now)
}

// admitCode is admit for a two-factor code of admin account (an id; ""
// for a password): also refused while the account's codes must wait,
// whatever the client, and counted as pending under the account too.
func (g *loginGuard) admitCode(account, email, ip string, now time.Time) (*loginTry, error) {
	ip = clientKey(ip)
	t := &loginTry{g: g, pair: pairKey(email, ip), ip: ipKey(ip), account: account}
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.code(account, now); f != nil {
		if left := f.last.Add(loginWait(f.n+f.pending, codeFreeFailures)).Sub(now); left > 0 {
			return nil, &LoginWaitError{RetryAfter: left, Account: true}
		}
	}
	var wait time.Duration
	for _, k := range []struct {
		key  string
		free int
	}{{t.pair, pairFreeFailures}, {t.ip, ipFreeFailures}} {
		f := g.get(k.key, now)
		if f == nil {
			continue
		}
		if left := f.last.Add(loginWait(f.n+f.pending, k.free)).Sub(now); left > wait {
			wait = left
		}
	}
	if wait > 0 {
		return nil, &LoginWaitError{RetryAfter: wait}
	}
	for _, k := range []string{t.pair, t.ip} {
		g.touch(k, now).pending++
	}
	if account != "" {
		f := g.code(account, now)
		if f == nil {
			f = &failures{key: account, last: now}
			g.codes[account] = f
		}
		f.pending++
	}
	return t, nil
}

// code returns the account's live code counter, or nil; one idle for
// forgetFailures is dropped.
func (g *loginGuard) code(account string, now time.Time) *failures {
	if account == "" {
		return nil
	}
	f, ok := g.codes[account]
	if !ok {
		return nil
	}
	if f.pending == 0 && now.Sub(f.last) > forgetFailures {
		delete(g.codes, account)
		return nil
	}
	return f
}

// end records the try's outcome: a failure counts under both keys (and
// the account's, for a code); a success clears the pair and the account's
// codes (not the IP: one good account does not excuse guesses at others).
func (t *loginTry) end(ok bool, now time.Time) {
	g := t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.code(t.account, now); f != nil {
		f.pending = max(0, f.pending-1)
		if ok {
			delete(g.codes, t.account)
		} else {
			f.n++
			f.last = now
		}
	}
	for _, k := range []string{t.pair, t.ip} {
		f := g.touch(k, now)
		f.pending = max(0, f.pending-1)
		switch {
		case !ok:
			f.n++
			f.last = now
		case k == t.pair:
			g.order.Remove(g.byKey[k])
			delete(g.byKey, k)
		}
	}
	g.dropIdle()
}

// cancel ends a try that checked no password (busy, a store error): it
// counts neither way.
func (t *loginTry) cancel(now time.Time) {
	g := t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range []string{t.pair, t.ip} {
		if f := g.get(k, now); f != nil {
			f.pending = max(0, f.pending-1)
		}
	}
	if f := g.code(t.account, now); f != nil {
		f.pending = max(0, f.pending-1)
	}
}

// get returns the key's live counter, or nil; a counter idle for
// forgetFailures is dropped.
func (g *loginGuard) get(key string, now time.Time) *failures {
	e, ok := g.byKey[key]
	if !ok {
		return nil
	}
	f := e.Value.(*failures)
	if f.pending == 0 && now.Sub(f.last) > forgetFailures {
		g.order.Remove(e)
		delete(g.byKey, key)
		return nil
	}
	return f
}

// touch returns the key's counter, made if needed, and marks it recently
// used; the table stays within its size by forgetting the least recently
// used key.
func (g *loginGuard) touch(key string, now time.Time) *failures {
	if f := g.get(key, now); f != nil {
		g.order.MoveToFront(g.byKey[key])
		return f
	}
	g.byKey[key] = g.order.PushFront(&failures{key: key, last: now})
	g.dropIdle()
	return g.byKey[key].Value.(*failures)
}

// dropIdle forgets the least recently used keys beyond the table's size.
func (g *loginGuard) dropIdle() {
	for g.order.Len() > g.size {
		e := g.order.Back()
		g.order.Remove(e)
		delete(g.byKey, e.Value.(*failures).key)
	}
}

// hash runs check holding one of the few hash slots, waiting up to the
// queue wait for one; past it, a *LoginWaitError with Busy.
func (g *loginGuard) hash(ctx context.Context, check func()) error {
	select {
	case g.sem <- struct{}{}:
	default:
		t := time.NewTimer(g.queueWait)
		defer t.Stop()
		select {
		case g.sem <- struct{}{}:
		case <-t.C:
			return &LoginWaitError{RetryAfter: time.Second, Busy: true}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-g.sem }()
	check()
	return nil
}
