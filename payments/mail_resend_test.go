package payments

import (
	"testing"

	"checkout/store"
)

// A receipt that gave up after a day's outage and is sent again from the
// admin ("Send again") gets the outbox's retries: a transient failure on
// its first new try leaves it pending, not failed at once.
func TestResentEmailIsRetriedAfterATransientFailure(t *testing.T) {
	flaky := &flakyMailer{fails: 1 << 30}
	e := newMailEnv(t, flaky)
	flaky.next = e.inbox
	co := e.pay("ord-1", "amina@example.com")
	for i := 0; i < 100; i++ {
		e.send(e.svc)
		ds := e.emails(co.ID)
		if ds[0].Status != store.EmailPending {
			break
		}
		e.clock.add(ds[0].NextAttemptAt.Sub(e.clock.now()))
	}
	ds := e.emails(co.ID)
	if ds[0].Status != store.EmailFailed {
		t.Fatalf("setup: %+v", ds[0])
	}
	// The outage is over but for one more 451.
	flaky.mu.Lock()
	flaky.fails = len(flaky.tries) + 1
	flaky.mu.Unlock()
	if _, err := e.svc.ResendEmail(e.ctx, co.ID, ds[0].ID, "admin:a@shop.test"); err != nil {
		t.Fatal(err)
	}
	e.send(e.svc)
	ds = e.emails(co.ID)
	if ds[0].Status != store.EmailPending || ds[0].Attempts != 1 {
		t.Fatalf("after the resent email's first (transient) failure: status %s, attempts %d; want pending, 1 (retried)",
			ds[0].Status, ds[0].Attempts)
	}
}
