package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"checkout/store"
)

// hashWatch wraps the service's password check: it counts the checks, the
// most that ran at once, and the hashes they were made against; while gate
// is open (not yet closed) each check announces itself on entered and waits.
type hashWatch struct {
	calls    atomic.Int64
	inflight atomic.Int64
	most     atomic.Int64
	entered  chan struct{}
	gate     chan struct{}

	mu     sync.Mutex
	hashes []string
}

// watchHashes replaces e.svc's check with a watched one; with hold, every
// check waits until release.
func (e *adminEnv) watchHashes(hold bool) *hashWatch {
	w := &hashWatch{entered: make(chan struct{}, 1000), gate: make(chan struct{})}
	if !hold {
		close(w.gate)
	}
	real := e.svc.verify
	e.svc.verify = func(hash, password string) (bool, error) {
		w.calls.Add(1)
		n := w.inflight.Add(1)
		defer w.inflight.Add(-1)
		for m := w.most.Load(); n > m && !w.most.CompareAndSwap(m, n); m = w.most.Load() {
		}
		w.mu.Lock()
		w.hashes = append(w.hashes, hash)
		w.mu.Unlock()
		w.entered <- struct{}{}
		<-w.gate
		return real(hash, password)
	}
	return w
}

func (w *hashWatch) release() { close(w.gate) }

// waitErr returns err as a *LoginWaitError, or fails the test.
func waitErr(t *testing.T, what string, err error) *LoginWaitError {
	t.Helper()
	var w *LoginWaitError
	if !errors.As(err, &w) {
		t.Fatalf("%s: err %v, want a *LoginWaitError", what, err)
	}
	return w
}

func TestRightPasswordWorksFromACleanClientWhileAnotherIPHammersTheAccount(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	w := e.watchHashes(false)
	const attacker, admin = "203.0.113.9", "198.51.100.7"

	// The attacker guesses once a second for five minutes.
	refused, adminLogins := 0, 0
	for i := range 300 {
		// Now and then the admin logs in from another address, at once.
		if i%50 == 0 {
			if u, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, admin); !ok || err != nil || u == nil || u.Email != testAdminEmail {
				t.Fatalf("admin during the attack: %v ok %v err %v, want the admin", u, ok, err)
			}
			adminLogins++
		}
		u, ok, err := e.svc.Login(ctx, testAdminEmail, fmt.Sprintf("guess %d", i), attacker)
		e.clock.add(time.Second)
		if err != nil {
			if lw := waitErr(t, "guess", err); lw.Busy || lw.RetryAfter <= 0 {
				t.Fatalf("guess %d: %+v, want a wait for failures", i, lw)
			}
			refused++
			continue
		}
		if ok || u != nil {
			t.Fatalf("guess %d let the attacker in", i)
		}
	}
	// Five guesses are free, then each waits twice as long as the last:
	// 5 + about log2(300) checked, the rest refused unchecked.
	checked := int(w.calls.Load()) - adminLogins
	if checked+refused != 300 || checked > 5+9 {
		t.Fatalf("%d guesses checked, %d refused: want at most 14 checked, the rest refused", checked, refused)
	}
	// Even the right password is refused to the client that has been
	// failing, without checking it.
	before := w.calls.Load()
	_, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, attacker)
	if lw := waitErr(t, "the attacker's right password", err); ok || lw.Busy || lw.RetryAfter <= 0 {
		t.Fatalf("attacker with the right password: ok %v %+v, want refused with a wait", ok, lw)
	}
	if w.calls.Load() != before {
		t.Fatal("a refused try checked a password")
	}
	// And the admin, who never failed, still gets in at once.
	if u, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, admin); !ok || err != nil || u == nil {
		t.Fatalf("admin after the attack: %v ok %v err %v, want the admin", u, ok, err)
	}
}

func TestAClientIsThrottledAfterFiveFailuresAndFreedByItsWait(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	const ip = "192.0.2.10"
	for i := range pairFreeFailures {
		if _, ok, err := e.svc.Login(ctx, testAdminEmail, "wrong", ip); ok || err != nil {
			t.Fatalf("wrong password %d: ok %v err %v", i+1, ok, err)
		}
	}
	_, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, ip)
	if lw := waitErr(t, "sixth try", err); ok || lw.Busy || lw.RetryAfter != time.Second {
		t.Fatalf("sixth try: ok %v %+v, want a 1 s wait", ok, lw)
	}
	u, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil || u.FailedLogins != pairFreeFailures {
		t.Fatalf("account record %v (%v), want %d failures (the refused try is not one)", u, err, pairFreeFailures)
	}
	e.clock.add(time.Second)
	got, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, ip)
	if !ok || err != nil || got == nil || got.Email != testAdminEmail {
		t.Fatalf("after the wait: %v ok %v err %v, want the admin", got, ok, err)
	}
	if u, err := e.st.AdminByEmail(ctx, testAdminEmail); err != nil || u.FailedLogins != 0 || u.LastFailedAt != nil {
		t.Fatalf("a good login left %+v (%v), want failures cleared", u, err)
	}
	// The success cleared this client's count for the account: five more
	// wrong passwords cost nothing.
	for i := range pairFreeFailures {
		if _, ok, err := e.svc.Login(ctx, testAdminEmail, "wrong", ip); ok || err != nil {
			t.Fatalf("wrong password %d after a success: ok %v err %v", i+1, ok, err)
		}
	}
}

func TestAnAddressGuessingAcrossEmailsIsThrottled(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	const ip = "192.0.2.20"
	for i := range ipFreeFailures {
		email := fmt.Sprintf("guess%d@example.com", i)
		if _, ok, err := e.svc.Login(ctx, email, "wrong", ip); ok || err != nil {
			t.Fatalf("email %d: ok %v err %v", i, ok, err)
		}
	}
	// A fresh email from the same address waits, the right one included;
	// the next address does not.
	_, _, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, ip)
	if lw := waitErr(t, "a fresh email from the guessing address", err); lw.RetryAfter != time.Second {
		t.Fatalf("wait %s, want 1 s", lw.RetryAfter)
	}
	if _, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, "192.0.2.21"); !ok || err != nil {
		t.Fatalf("the next address: ok %v err %v, want in", ok, err)
	}
}

func TestUnknownEmailCostsAHashAndIsThrottledLikeAKnownOne(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	w := e.watchHashes(false)
	u, ok, err := e.svc.Login(ctx, "nobody@example.com", testAdminPassword, "192.0.2.30")
	if u != nil || ok || err != nil {
		t.Fatalf("unknown email: %v ok %v err %v, want nil, false, nil", u, ok, err)
	}
	if w.calls.Load() != 1 || w.hashes[0] != store.DummyPasswordHash() {
		t.Fatalf("checks %d against %q, want one against the dummy hash", w.calls.Load(), w.hashes)
	}
	for _, email := range []string{"nobody@example.com", testAdminEmail} {
		ip := "192.0.2.31"
		if email == testAdminEmail {
			ip = "192.0.2.32"
		}
		for range pairFreeFailures {
			if _, _, err := e.svc.Login(ctx, email, "wrong", ip); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := e.svc.Login(ctx, email, "wrong", ip)
		if lw := waitErr(t, email, err); lw.RetryAfter != time.Second {
			t.Fatalf("%s: wait %s, want 1 s", email, lw.RetryAfter)
		}
	}
}

func TestParallelGuessesCannotPassTheWait(t *testing.T) {
	e := newAdminEnvWith(t, Config{LoginHashes: 20, LoginQueueWait: time.Minute})
	ctx := context.Background()
	w := e.watchHashes(true)
	const ip = "192.0.2.40"
	errs := make(chan error, 10)
	for range 10 {
		go func() {
			_, _, err := e.svc.Login(ctx, testAdminEmail, "wrong", ip)
			errs <- err
		}()
	}
	// Five are admitted and held in their checks; the other five are
	// refused at once, their pending peers counting as failures.
	for range pairFreeFailures {
		<-w.entered
	}
	for range 10 - pairFreeFailures {
		waitErr(t, "a parallel guess", <-errs)
	}
	w.release()
	for range pairFreeFailures {
		if err := <-errs; err != nil {
			t.Fatalf("an admitted guess: %v", err)
		}
	}
	if n := w.calls.Load(); n != pairFreeFailures {
		t.Fatalf("%d checks, want %d", n, pairFreeFailures)
	}
}

func TestFiftyConcurrentLoginsNeverRunMoreHashesThanTheCap(t *testing.T) {
	const hashCap = 4
	e := newAdminEnvWith(t, Config{LoginHashes: hashCap, LoginQueueWait: time.Minute})
	ctx := context.Background()
	w := e.watchHashes(true)
	type answer struct {
		ok  bool
		err error
	}
	answers := make(chan answer, 50)
	for i := range 50 {
		go func() {
			_, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, fmt.Sprintf("10.0.%d.%d", i/200, i%200))
			answers <- answer{ok, err}
		}()
	}
	// The cap fills up and holds; then every login gets through in turn.
	for range hashCap {
		<-w.entered
	}
	w.release()
	for range 50 {
		if a := <-answers; !a.ok || a.err != nil {
			t.Fatalf("a login: ok %v err %v, want in", a.ok, a.err)
		}
	}
	if most := w.most.Load(); most != hashCap {
		t.Fatalf("at most %d checks ran at once, want exactly the cap %d", most, hashCap)
	}
	if n := w.calls.Load(); n != 50 {
		t.Fatalf("%d checks, want 50", n)
	}
}

func TestALoginWaitingTooLongForAHashIsTurnedAwayBusyAndNotCounted(t *testing.T) {
	e := newAdminEnvWith(t, Config{LoginHashes: 1, LoginQueueWait: 20 * time.Millisecond})
	ctx := context.Background()
	w := e.watchHashes(true)
	first := make(chan error, 1)
	go func() {
		_, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, "192.0.2.50")
		if err == nil && !ok {
			err = errors.New("refused")
		}
		first <- err
	}()
	<-w.entered
	// More busy refusals than free failures: none counts against the client.
	for i := range pairFreeFailures + 1 {
		_, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, "192.0.2.51")
		if lw := waitErr(t, "a login behind a full cap", err); ok || !lw.Busy || lw.RetryAfter != time.Second {
			t.Fatalf("try %d: ok %v %+v, want busy with a 1 s retry", i, ok, lw)
		}
	}
	w.release()
	if err := <-first; err != nil {
		t.Fatalf("the login holding the slot: %v", err)
	}
	if _, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, "192.0.2.51"); !ok || err != nil {
		t.Fatalf("the turned-away client once free: ok %v err %v, want in", ok, err)
	}
}

func TestClientKeyBucketsIPv6Per64(t *testing.T) {
	for _, tc := range []struct{ ip, key string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"not an address", "not an address"},
		{"", ""},
	} {
		if got := clientKey(tc.ip); got != tc.key {
			t.Errorf("clientKey(%q) = %q, want %q", tc.ip, got, tc.key)
		}
	}
}

func TestLoginCountersStayWithinTheirTable(t *testing.T) {
	g := newLoginGuard(1, time.Second)
	g.size = 50
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 500 {
		try, err := g.admit(fmt.Sprintf("e%d@example.com", i), fmt.Sprintf("10.1.%d.%d", i/250, i%250), now)
		if err != nil {
			t.Fatal(err)
		}
		try.end(false, now)
		if n := g.order.Len(); n > g.size || len(g.byKey) != n {
			t.Fatalf("after %d failures the table holds %d (map %d), want at most %d", i+1, n, len(g.byKey), g.size)
		}
	}
}

func TestLoginTableKeysStaySmallWhateverTheEmailAndTheDefaultCapIsAFew(t *testing.T) {
	long := pairKey(strings.Repeat("a", 16<<10)+"@example.com", "203.0.113.9")
	short := pairKey("ops@example.com", "203.0.113.9")
	if len(long) != len(short) || len(long) > 100 {
		t.Fatalf("key lengths %d and %d: a long email must not make a long key", len(long), len(short))
	}
	if pairKey("a@example.com", "203.0.113.9") == pairKey("b@example.com", "203.0.113.9") {
		t.Fatal("two emails share a key")
	}
	if n := cap(newLoginGuard(0, 0).sem); n < 1 || n > maxLoginHashes {
		t.Fatalf("default password checks at once = %d, want 1 to %d", n, maxLoginHashes)
	}
}
