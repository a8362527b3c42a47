package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkApplyResultPaid is the write of a verified notification that
// pays a checkout, on SQLite: ApplyResult with the notification, the
// status-query event, both guarded updates, the transition and its outbox
// row (the merchant has a webhook URL). Each iteration pays a different
// checkout, created outside the timer. Besides ns/op it reports cpu-ns/op,
// the process's CPU time per write, which a busy machine disturbs less.
func BenchmarkApplyResultPaid(b *testing.B) { benchApplyResultPaid(b, 1) }

// BenchmarkApplyResultPaidConcurrent is the same write from 16 callers at
// once, as notifications arrive under load (on SQLite the writes that wait
// for the writer share a COMMIT).
func BenchmarkApplyResultPaidConcurrent(b *testing.B) { benchApplyResultPaid(b, 16) }

func benchApplyResultPaid(b *testing.B, callers int) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := st.WithWebhookPayload(func(co *Checkout, typ string, at time.Time) ([]byte, error) {
		return []byte(`{"type":"` + typ + `","id":"` + co.ID + `"}`), nil
	})
	if _, err := s.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); err != nil {
		b.Fatal(err)
	}
	if err := s.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_x"); err != nil {
		b.Fatal(err)
	}
	as := make([]*Attempt, b.N)
	for i := range as {
		co := &Checkout{ID: NewID("chk", s.Now()), MerchantID: testMerchantID, Reference: "ord-" + strconv.Itoa(i),
			Description: "Two bags of maize", Amount: testAmount, Currency: "KES", ExpiresAt: s.Now().Add(24 * time.Hour)}
		if err := s.CreateCheckout(ctx, co, "test"); err != nil {
			b.Fatal(err)
		}
		a := &Attempt{ID: NewID("att", s.Now()), CheckoutID: co.ID, Provider: "pesapal", Method: "pesapal"}
		if err := s.StartAttempt(ctx, a, time.Minute, "test"); err != nil {
			b.Fatal(err)
		}
		if err := s.AttemptStarted(ctx, a.ID, "track-"+a.ID, "https://pay.example/x", "{}"); err != nil {
			b.Fatal(err)
		}
		as[i] = a
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(as) {
					return
				}
				a := as[i]
				r := succeeded(a, "QJK"+strconv.Itoa(i))
				r.Notification = &Event{CheckoutID: a.CheckoutID, AttemptID: a.ID, Kind: EventNotification, Source: "ipn:pesapal",
					Message: "Pesapal ipnchange for tracking id track-" + a.ID, Payload: `{"OrderTrackingId":"track-` + a.ID + `"}`}
				out, err := s.ApplyResult(ctx, a.ID, r)
				if err == nil && out != OutcomePaid {
					err = fmt.Errorf("outcome %s", out)
				}
				if err != nil {
					errs <- fmt.Errorf("ApplyResult: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
