package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"checkout/gateway/pesapal"
	"checkout/gateway/sandbox"
	"checkout/handlers"
	"checkout/payments"
	"checkout/store"
	"checkout/web"
)

// benchApp is the app as main builds it, on a real SQLite file, with the
// Pesapal simulator on loopback. Requests go to the engine in memory, so
// what is measured is the app's own work (and, for IPNs, the status query
// over loopback).
type benchApp struct {
	engine http.Handler
	svc    *payments.Service
	store  *store.Store
	sim    *sandbox.Sandbox
	m      *payments.Merchant
}

func newBenchApp(b testing.TB) *benchApp {
	b.Helper()
	log := slog.New(slog.DiscardHandler)
	var simHandler http.Handler
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { simHandler.ServeHTTP(w, r) }))
	b.Cleanup(simSrv.Close)
	sim := sandbox.New(sandbox.Config{PublicURL: simSrv.URL, ConsumerKey: "test-key", ConsumerSecret: "test-secret",
		IPNDelay: time.Millisecond, IPNRetries: -1})
	simHandler = sim.Handler()
	b.Cleanup(sim.Close)

	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "checkout.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.EnsureMerchant(context.Background(), "default", "Demo Shop", testAPIKey); err != nil {
		b.Fatal(err)
	}
	// A merchant with a webhook: every payment writes its outbox row (no
	// worker delivers it here).
	if err := st.SetMerchantWebhook(context.Background(), "default", "https://shop.example/hooks",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		b.Fatal(err)
	}
	pp, err := pesapal.New(pesapal.Config{BaseURL: sim.PesapalBaseURL(), ConsumerKey: "test-key", ConsumerSecret: "test-secret"})
	if err != nil {
		b.Fatal(err)
	}
	const public = "http://checkout.test"
	unlimited := web.Rate{Every: time.Nanosecond, Burst: 1 << 30}
	svc, err := payments.New(payments.Config{PublicURL: public, Pesapal: pp, Store: st, Logger: log,
		NotificationLimit: web.NewLimiter(unlimited),
		PesapalIPN: payments.IPNOnce(func(ctx context.Context) (string, error) {
			return pp.EnsureIPN(ctx, public+"/ipn/pesapal", "POST")
		})})
	if err != nil {
		b.Fatal(err)
	}
	sess := web.NewSessions([]byte("0123456789abcdef0123456789abcdef"), []byte("abcdef0123456789abcdef0123456789"), false)
	engine := web.New(handlers.New(svc, sess, log), web.Config{Logger: log, Sessions: sess, ProviderOrigins: []string{simSrv.URL},
		Limits: web.Limits{Notify: unlimited, Reference: unlimited}})
	// The merchant as the API sees it (the API key's).
	mm, err := st.MerchantByAPIKey(context.Background(), testAPIKey)
	if err != nil {
		b.Fatal(err)
	}
	return &benchApp{engine: engine, svc: svc, store: st, sim: sim, m: &mm.Merchant}
}

func (a *benchApp) checkout(b testing.TB, ref string) string {
	b.Helper()
	co, err := a.svc.CreateCheckout(context.Background(), a.m, payments.CreateRequest{Amount: json.RawMessage(`"1500"`),
		Currency: "KES", Reference: ref, Description: "Two bags of coffee",
		Customer: &payments.Customer{Email: "jane@example.com"}, CancelURL: "https://shop.example/cart"}, "api")
	if err != nil {
		b.Fatal(err)
	}
	return co.ID
}

// BenchmarkCheckoutPage is GET /c/{id} of an open checkout, as a customer's
// first visit (no cookie).
func BenchmarkCheckoutPage(b *testing.B) {
	a := newBenchApp(b)
	id := a.checkout(b, "bench-page")
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			a.engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/c/"+id, nil))
			if w.Code != http.StatusOK {
				b.Fatalf("GET /c/%s: %d", id, w.Code)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16) // 32 clients on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w := httptest.NewRecorder()
				a.engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/c/"+id, nil))
				if w.Code != http.StatusOK {
					b.Errorf("GET /c/%s: %d", id, w.Code)
					return
				}
			}
		})
	})
}

// BenchmarkCheckoutPageReturning is GET /c/{id} of an open checkout by a
// browser that has its customer cookie already, as make bench's clients
// after their first view: the page view as customers repeat it.
func BenchmarkCheckoutPageReturning(b *testing.B) {
	a := newBenchApp(b)
	id := a.checkout(b, "bench-page-returning")
	first := httptest.NewRecorder()
	a.engine.ServeHTTP(first, httptest.NewRequest(http.MethodGet, "/c/"+id, nil))
	cookies := first.Result().Cookies()
	if first.Code != http.StatusOK || len(cookies) == 0 {
		b.Fatalf("first view: %d, cookies %v", first.Code, cookies)
	}
	view := func() int {
		r := httptest.NewRequest(http.MethodGet, "/c/"+id, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		a.engine.ServeHTTP(w, r)
		return w.Code
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if code := view(); code != http.StatusOK {
				b.Fatalf("GET /c/%s: %d", id, code)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16) // 32 clients on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if code := view(); code != http.StatusOK {
					b.Errorf("GET /c/%s: %d", id, code)
					return
				}
			}
		})
	})
}

// BenchmarkPesapalIPN is a verified Pesapal IPN that pays a checkout: the
// IPN, the status query to the simulator on loopback, the transition and
// its outbox row (the merchant has a webhook URL). Each iteration pays a different checkout, prepared (its
// Pesapal order started and completed at the simulator) outside the timer.
func BenchmarkPesapalIPN(b *testing.B) {
	a := newBenchApp(b)
	n := 0
	prepare := func(count int) []string {
		bodies := make([]string, count)
		for i := range bodies {
			n++
			id := a.checkout(b, fmt.Sprintf("bench-ipn-%d", n))
			at, err := a.svc.StartPesapal(context.Background(), id, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := a.sim.PesapalComplete(at.ProviderReference, false); err != nil {
				b.Fatal(err)
			}
			bodies[i] = `{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":"` + at.ProviderReference +
				`","OrderMerchantReference":"` + at.ID + `"}`
		}
		return bodies
	}
	ipn := func(body string) int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/ipn/pesapal", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		a.engine.ServeHTTP(w, r)
		return w.Code
	}
	b.Run("serial", func(b *testing.B) {
		bodies := prepare(b.N)
		b.ReportAllocs()
		cpu0 := processCPU()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if code := ipn(bodies[i]); code != http.StatusOK {
				b.Fatalf("IPN: %d", code)
			}
		}
		b.StopTimer()
		reportCPU(b, cpu0)
	})
	b.Run("parallel", func(b *testing.B) {
		bodies := make(chan string, b.N)
		for _, s := range prepare(b.N) {
			bodies <- s
		}
		close(bodies)
		b.ReportAllocs()
		b.SetParallelism(16)
		cpu0 := processCPU()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if code := ipn(<-bodies); code != http.StatusOK {
					b.Errorf("IPN: %d", code)
					return
				}
			}
		})
		b.StopTimer()
		reportCPU(b, cpu0)
	})
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per operation since cpu0 (the
// app's and, for IPNs, the simulator's, which runs in this process): what
// to compare between two builds on a busy machine, where time per
// operation swings with the other load.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}
