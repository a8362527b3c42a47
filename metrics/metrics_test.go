package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestANilMetricsCountsNothing: a service or client built without metrics
// calls the same methods.
func TestANilMetricsCountsNothing(t *testing.T) {
	var m *Metrics
	m.Request(http.MethodGet, "/c/:id", 200, time.Millisecond)
	m.PaymentStarted("pesapal", "pesapal")
	m.PaymentPaid("pesapal", "pesapal")
	m.PaymentFailed("pesapal", "pesapal")
	m.Payments("pesapal", "pesapal")
	m.WebhookTry(WebhookDelivered)
	m.ProviderCall("pesapal", "request token", time.Millisecond, "")
	m.ReadFrom(func(context.Context) (Snapshot, error) { return Snapshot{}, nil })
}

// TestRequestLabelsAreBounded: the route is the template or "unmatched",
// a method nobody registers is "other", the latency is by status class.
func TestRequestLabelsAreBounded(t *testing.T) {
	m := New()
	m.Request(http.MethodGet, "/c/:id", 200, time.Millisecond)
	m.Request(http.MethodGet, "/c/:id", 200, time.Millisecond)
	m.Request(http.MethodGet, "", 404, time.Millisecond)
	m.Request("PROPFIND", "", 405, time.Millisecond)
	m.Request(http.MethodPost, "/ipn/pesapal", 503, time.Millisecond)
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"GET", "/c/:id", "200"}, 2},
		{[]string{"GET", Unmatched, "404"}, 1},
		{[]string{"other", Unmatched, "405"}, 1},
		{[]string{"POST", "/ipn/pesapal", "503"}, 1},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(tc.labels...)); got != tc.want {
			t.Errorf("requests %v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n != 4 {
		t.Errorf("request series = %d, want 4", n)
	}
	if n := testutil.CollectAndCount(m.latency); n != 4 {
		t.Errorf("latency series = %d, want 4 (GET /c/:id 2xx, unmatched 4xx twice, POST 5xx)", n)
	}
	for _, tc := range []struct {
		code  int
		class string
	}{{200, "2xx"}, {302, "3xx"}, {404, "4xx"}, {599, "5xx"}, {0, "other"}, {600, "other"}} {
		if got := statusClass(tc.code); got != tc.class {
			t.Errorf("statusClass(%d) = %q, want %q", tc.code, got, tc.class)
		}
	}
}

// TestProviderCallsAreTimedAndErrorsCountedByReason: each call is timed
// under its operation written as a label; failures and 5xx are errors,
// a 4xx (a documented verdict for some providers) is not.
func TestProviderCallsAreTimedAndErrorsCountedByReason(t *testing.T) {
	m := New()
	m.ProviderCall("pesapal", "get transaction status", time.Second, CallReason(200, ""))
	m.ProviderCall("pesapal", "get transaction status", time.Second, CallReason(503, ""))
	m.ProviderCall("pochipay", "transaction status", time.Second, CallReason(404, ""))
	m.ProviderCall("pokeapay", "stk push", time.Second, CallReason(0, "timeout"))
	if got := testutil.CollectAndCount(m.calls); got != 3 {
		t.Errorf("call series = %d, want 3", got)
	}
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"pesapal", "get_transaction_status", "http_5xx"}, 1},
		{[]string{"pokeapay", "stk_push", "timeout"}, 1},
	} {
		if got := testutil.ToFloat64(m.callErrors.WithLabelValues(tc.labels...)); got != tc.want {
			t.Errorf("errors %v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if got := testutil.CollectAndCount(m.callErrors); got != 2 {
		t.Errorf("error series = %d, want 2 (no 4xx, no success)", got)
	}
}

// TestDatabaseFiguresAreReadAtScrapeTime: the snapshot function is called
// by each scrape, and a failing one leaves the figures out of the answer
// while the rest is served.
func TestDatabaseFiguresAreReadAtScrapeTime(t *testing.T) {
	m := New()
	calls := 0
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fail := false
	m.ReadFrom(func(ctx context.Context) (Snapshot, error) {
		calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the database is read without a deadline")
		}
		if fail {
			return Snapshot{}, errors.New("database is locked")
		}
		return Snapshot{DueAttempts: 4, OldestPending: now.Add(-time.Minute), Now: now, PendingDeliveries: 7,
			Unknown: []SourceCount{{Source: "ipn:pesapal", Count: 3}}}, nil
	})
	want := `
# HELP checkout_pending_attempt_oldest_age_seconds Age of the oldest payment attempt still pending and still checked; 0 when none is.
# TYPE checkout_pending_attempt_oldest_age_seconds gauge
checkout_pending_attempt_oldest_age_seconds 60
# HELP checkout_reconcile_backlog Pending payment attempts whose provider check is due now (the reconciler's backlog).
# TYPE checkout_reconcile_backlog gauge
checkout_reconcile_backlog 4
# HELP checkout_unknown_notifications_total Notifications that named a reference we never issued, per source.
# TYPE checkout_unknown_notifications_total counter
checkout_unknown_notifications_total{source="ipn:pesapal"} 3
# HELP checkout_webhook_queue_depth Webhook deliveries waiting to be delivered (pending, retries included).
# TYPE checkout_webhook_queue_depth gauge
checkout_webhook_queue_depth 7
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "checkout_reconcile_backlog",
		"checkout_pending_attempt_oldest_age_seconds", "checkout_webhook_queue_depth", "checkout_unknown_notifications_total"); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("snapshot read %d times for one scrape", calls)
	}

	fail = true
	rec := httptest.NewRecorder()
	m.Handler(slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || strings.Contains(body, "checkout_reconcile_backlog") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("scrape with a failing database: %d\n%s", rec.Code, body)
	}
}

// TestACachedRouteCountsWithoutAllocating: the request counting on the
// page path allocates nothing once a route's labels are made.
func TestACachedRouteCountsWithoutAllocating(t *testing.T) {
	m := New()
	m.Request(http.MethodGet, "/c/:id", 200, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { m.Request(http.MethodGet, "/c/:id", 200, time.Millisecond) }); n != 0 {
		t.Errorf("Request allocates %v times per call", n)
	}
}
