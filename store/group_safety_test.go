package store

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"gorm.io/gorm"
)

// INSERT OR ROLLBACK makes SQLite roll the whole transaction back by
// itself, deterministically: the safety net must fail every member.
func TestSQLitesOwnRollbackFailsEveryMemberOfTheGroup(t *testing.T) {
	e := newGroupEnv(t)
	if err := e.s.tx(context.Background(), func(tx *gorm.DB) error { return insertRow(tx, "x") }); err != nil {
		t.Fatal(err)
	}
	errs, _ := e.lineUp(t,
		func(tx *gorm.DB) error { return insertRow(tx, "a") },
		func(tx *gorm.DB) error {
			_ = tx.Exec(`INSERT OR ROLLBACK INTO grp (id) VALUES ('x')`).Error // swallowed
			return nil
		},
		func(tx *gorm.DB) error { return insertRow(tx, "c") },
	)
	for i, err := range errs {
		if err == nil {
			t.Errorf("member %d told done", i)
		}
	}
	if rows := e.rows(t); len(rows) != 1 {
		t.Errorf("rows %v after the group SQLite rolled back, want only the one before it", rows)
	}
}

func TestSQLitesOwnRollbackFailsATransactionRunAlone(t *testing.T) {
	e := newGroupEnv(t)
	if err := e.s.tx(context.Background(), func(tx *gorm.DB) error { return insertRow(tx, "x") }); err != nil {
		t.Fatal(err)
	}
	err := e.s.tx(context.Background(), func(tx *gorm.DB) error {
		if err := insertRow(tx, "a"); err != nil {
			return err
		}
		_ = tx.Exec(`INSERT OR ROLLBACK INTO grp (id) VALUES ('x')`).Error // swallowed
		return insertRow(tx, "b")
	})
	t.Logf("err %v rows %v", err, e.rows(t))
	if err == nil {
		t.Error("told done")
	}
	err = e.s.tx(context.Background(), func(tx *gorm.DB) error {
		_ = tx.Exec(`INSERT OR ROLLBACK INTO grp (id) VALUES ('x')`).Error // swallowed
		return nil
	})
	t.Logf("err %v rows %v", err, e.rows(t))
	if err == nil {
		t.Error("told done (2)")
	}
	if rows := e.rows(t); len(rows) != 1 {
		t.Errorf("rows %v after transactions SQLite rolled back, want only the one before them", rows)
	}
}

// A member that ends the writer goroutine (runtime.Goexit: t.FailNow or
// t.Fatal called inside a transaction's function in a test) is told it
// failed, nothing of it is committed, and a writer goes on serving the
// next transaction.
func TestGoexitInAMemberIsNotReportedDone(t *testing.T) {
	e := newGroupEnv(t)
	errc := make(chan error, 1)
	go func() {
		errc <- e.s.tx(context.Background(), func(tx *gorm.DB) error {
			if err := insertRow(tx, "a"); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
	}()
	select {
	case err := <-errc:
		if err == nil {
			t.Errorf("told done; committed rows: %v", e.rows(t))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller never got an answer")
	}
	next := make(chan error, 1)
	go func() { next <- e.s.tx(context.Background(), func(tx *gorm.DB) error { return insertRow(tx, "b") }) }()
	select {
	case err := <-next:
		if err == nil {
			t.Logf("next ok")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next transaction hangs: the writer goroutine is gone")
	}
}

// A second payment of a single-use link, refused while its checkout is
// pending: flag writes checkouts.review = true on the row, then
// reopenIfIdle's transition builds the payment_failed webhook from co, whose
// Review is still false. The payload builder is given a checkout that is not
// the row (the old outbox read the row again).
func TestRefusedSecondLinkPaymentWebhookGetsTheRow(t *testing.T) {
	ctx := context.Background()
	bare, clk := newTestEnv(t)
	var given []Checkout
	s := bare.WithWebhookPayload(func(co *Checkout, eventType string, at time.Time) ([]byte, error) {
		given = append(given, *co)
		return recordingPayload(co, eventType, at)
	})
	if err := s.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	first, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := startAttempt(t, s, first.ID, "pesapal", "pesapal", time.Minute)
	applyResult(t, s, a.ID, failed("declined")) // first is open again
	b := startAttempt(t, s, second.ID, "pesapal", "pesapal", time.Minute)
	clk.Advance(time.Second)
	if out := applyResult(t, s, a.ID, succeeded(a, "RCPT-A")); out != OutcomePaid { // late success pays first
		t.Fatalf("first: %s", out)
	}
	clk.Advance(time.Second)
	given = nil
	if out := applyResult(t, s, b.ID, succeeded(b, "RCPT-B")); out != OutcomeReview {
		t.Fatalf("second: %s, want review", out)
	}
	row := loadCheckout(t, bare, second.ID)
	if row.Status != StatusOpen || !row.Review {
		t.Fatalf("second checkout is %s review=%v", row.Status, row.Review)
	}
	if len(given) != 1 {
		t.Fatalf("payload builder called %d times, want once (payment_failed)", len(given))
	}
	assertFields(t, "checkout given to the payload builder", given[0], row)
}

// A group abandoned midway answers only the members without an error of
// their own with the group's error. A member whose refusal rests on an
// earlier member's write (rolled back with the group) keeps its refusal:
// here the second checkout of a single-use link is told ErrLinkUsed,
// although nothing of the first one's attempt was stored.
func TestAbandonedGroupDoesNotKeepRefusalsBasedOnRolledBackWrites(t *testing.T) {
	e := newGroupEnv(t)
	s := e.s
	if _, err := s.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	first, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := &Attempt{ID: NewID("att", s.Now()), CheckoutID: first.ID, Provider: "pesapal", Method: "pesapal"}
	b := &Attempt{ID: NewID("att", s.Now()), CheckoutID: second.ID, Provider: "pesapal", Method: "pesapal"}
	errs, _ := e.lineUp(t,
		func(tx *gorm.DB) error { return s.startAttempt(tx, a, time.Minute, "customer") },
		func(tx *gorm.DB) error { return s.startAttempt(tx, b, time.Minute, "customer") },
		func(tx *gorm.DB) error { return tx.Exec(`RELEASE member`).Error }, // the group is abandoned
	)
	if errs[0] == nil {
		t.Fatal("first attempt told done though its group was abandoned")
	}
	if n := len(storedAttemptsOf(t, s, first.ID)); n != 0 {
		t.Fatalf("%d attempts stored for the first checkout", n)
	}
	if errors.Is(errs[1], ErrLinkUsed) {
		t.Errorf("second checkout told ErrLinkUsed (%v) though the link is free: nothing of the group was stored", errs[1])
	}
}

func storedAttemptsOf(t *testing.T, s *Store, checkoutID string) []Attempt {
	t.Helper()
	var as []Attempt
	if err := s.r.Where("checkout_id = ?", checkoutID).Find(&as).Error; err != nil {
		t.Fatal(err)
	}
	return as
}
