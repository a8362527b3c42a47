package web_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsAnswer is one answer of GET /metrics.
type metricsAnswer struct {
	status int
	header http.Header
	body   string
}

// getMetrics asks GET /metrics with the given Authorization header ("" for
// none).
func (e *env) getMetrics(auth string) metricsAnswer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.app.URL+"/metrics", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return metricsAnswer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// scrape is what GET /metrics said, parsed by Prometheus' own parser.
type scrape map[string]*dto.MetricFamily

// scrape asks GET /metrics (open) and parses the answer.
func (e *env) scrape() scrape {
	e.t.Helper()
	a := e.getMetrics("")
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		e.t.Fatalf("GET /metrics: %d %q", a.status, a.header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(a.body))
	if err != nil {
		e.t.Fatalf("GET /metrics is not the Prometheus text format: %v", err)
	}
	return fams
}

// labels writes "k=v,..." pairs as a map: "provider=pesapal,method=pesapal".
func labels(pairs string) map[string]string {
	m := map[string]string{}
	if pairs == "" {
		return m
	}
	for _, kv := range strings.Split(pairs, ",") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// sample finds the series of name with exactly these labels.
func (s scrape) sample(name, pairs string) (*dto.Metric, bool) {
	want := labels(pairs)
	fam, ok := s[name]
	if !ok {
		return nil, false
	}
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				match = false
			}
		}
		if match {
			return m, true
		}
	}
	return nil, false
}

// value is a counter's or gauge's value, or a histogram's count, of the
// series of name with exactly these labels; -1 when there is none.
func (s scrape) value(name, pairs string) float64 {
	m, ok := s.sample(name, pairs)
	switch {
	case !ok:
		return -1
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return -1
}

// series is how many series of name there are.
func (s scrape) series(name string) int {
	return len(s[name].GetMetric())
}

// expect checks the value of each series ("name{k=v,...}" -> value).
func (s scrape) expect(t *testing.T, when string, want map[string]float64) {
	t.Helper()
	for key, w := range want {
		name, pairs, _ := strings.Cut(strings.TrimSuffix(key, "}"), "{")
		if got := s.value(name, pairs); got != w {
			t.Errorf("%s: %s = %v, want %v", when, key, got, w)
		}
	}
}

// TestMetricsCountNotificationsForReferencesWeNeverIssued: GET /metrics
// exposes, per source, the total of notifications that named a reference we
// never issued, as a Prometheus counter that does not forget a day later.
func TestMetricsCountNotificationsForReferencesWeNeverIssued(t *testing.T) {
	e := newEnv(t, envOptions{})
	if n := e.scrape().series("checkout_unknown_notifications_total"); n != 0 {
		t.Fatalf("unknown notifications before any: %d series", n)
	}

	for i := range 3 {
		if status, _ := e.ipn(sandboxOrder(fmt.Sprintf("never-%d", i), fmt.Sprintf("pay_never%d", i))); status != http.StatusInternalServerError {
			t.Fatalf("unknown Pesapal IPN answered %d", status)
		}
	}
	if status, _ := e.pokeapayIPN(ipnBody("pay_nobody", "1500.00", "RX1")); status != http.StatusNotFound {
		t.Fatalf("unknown PokeaPay IPN answered %d", status)
	}
	s := e.scrape()
	if fam := s["checkout_unknown_notifications_total"]; fam.GetType() != dto.MetricType_COUNTER ||
		fam.GetHelp() != "Notifications that named a reference we never issued, per source." || s.series(fam.GetName()) != 2 {
		t.Fatalf("unknown notifications: %v", fam)
	}
	s.expect(t, "after 4", map[string]float64{
		"checkout_unknown_notifications_total{source=ipn:pesapal}":  3,
		"checkout_unknown_notifications_total{source=ipn:pokeapay}": 1,
	})

	// A counter: a day later (past the admin's 24-hour window) the earlier
	// hours still count, and a new one adds to them.
	e.clock.Advance(26 * time.Hour)
	if status, _ := e.pokeapayIPN(ipnBody("pay_nobody2", "1500.00", "RX2")); status != http.StatusNotFound {
		t.Fatalf("unknown PokeaPay IPN answered %d", status)
	}
	e.scrape().expect(t, "a day later", map[string]float64{
		"checkout_unknown_notifications_total{source=ipn:pesapal}":  3,
		"checkout_unknown_notifications_total{source=ipn:pokeapay}": 2,
	})
}

// TestMetricsTokenIsRequiredWhenSet: with CHECKOUT_METRICS_TOKEN set,
// /metrics answers 401 with a Bearer challenge to a request without the
// bearer token or with another one, and the metrics to the right one;
// neither answer may be cached.
func TestMetricsTokenIsRequiredWhenSet(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	e := newEnv(t, envOptions{metricsToken: token})
	for _, auth := range []string{"", "Bearer ", "Bearer wrong-token-0123456789abcdef", "Bearer " + token + "x",
		"Bearer " + token[:len(token)-1], "Basic " + token, token} {
		a := e.getMetrics(auth)
		if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") != `Bearer realm="metrics"` ||
			a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Authorization %q: %d %v, want 401 with a challenge, not stored", auth, a.status, a.header)
		}
		if strings.Contains(a.body, "checkout_") {
			t.Errorf("Authorization %q: the 401 carries metrics: %q", auth, a.body)
		}
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		a := e.getMetrics(auth)
		if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain; version=0.0.4") ||
			a.header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(a.body, "# TYPE checkout_http_requests_total counter\n") {
			t.Errorf("Authorization %q: %d %v", auth, a.status, a.header)
		}
	}
}

// TestMetricsCountRequestsByRouteTemplateNotByPath: a checkout page is
// counted under its route template, whatever its id; pages of ids that do
// not exist add no label of their own, nor do paths no route matches.
func TestMetricsCountRequestsByRouteTemplateNotByPath(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("order-m1")
	b := e.browser()
	if p := b.get(e.app.URL + "/c/" + id); p.status != http.StatusOK {
		t.Fatalf("checkout page: %d", p.status)
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, fmt.Sprintf("chk_random%08d", i))
		if p := b.get(e.app.URL + "/c/" + ids[i]); p.status != http.StatusNotFound {
			t.Fatalf("unknown checkout page: %d", p.status)
		}
		if p := b.get(e.app.URL + "/nothing-here/" + ids[i]); p.status != http.StatusNotFound {
			t.Fatalf("unknown path: %d", p.status)
		}
	}
	req, err := http.NewRequest("BREW", e.app.URL+"/c/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	s := e.scrape()
	s.expect(t, "after the requests", map[string]float64{
		"checkout_http_requests_total{method=GET,route=/c/:id,code=200}":                1,
		"checkout_http_requests_total{method=GET,route=/c/:id,code=404}":                5,
		"checkout_http_requests_total{method=GET,route=unmatched,code=404}":             5,
		"checkout_http_requests_total{method=other,route=unmatched,code=404}":           1,
		"checkout_http_request_duration_seconds{method=GET,route=/c/:id,status=2xx}":    1,
		"checkout_http_request_duration_seconds{method=GET,route=/c/:id,status=4xx}":    5,
		"checkout_http_request_duration_seconds{method=GET,route=unmatched,status=4xx}": 5,
	})
	for _, name := range []string{"checkout_http_requests_total", "checkout_http_request_duration_seconds"} {
		for _, m := range s[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "chk_") || strings.Contains(l.GetValue(), "nothing-here") || l.GetValue() == "BREW" {
					t.Errorf("%s has a label from the request: %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	if d, ok := s.sample("checkout_http_request_duration_seconds", "method=GET,route=/c/:id,status=2xx"); !ok || d.GetHistogram().GetSampleSum() <= 0 {
		t.Errorf("the checkout page's latency is not recorded: %v", d)
	}
}

// TestMetricsCountAPesapalPaymentOnceWithItsProviderCallsAndTheBacklog: a
// payment through the Pesapal simulator, its IPN sent twice, is started
// and paid once; its calls to Pesapal are timed per operation; while it
// waits, it is the reconciler's backlog.
func TestMetricsCountAPesapalPaymentOnceWithItsProviderCallsAndTheBacklog(t *testing.T) {
	e := newEnv(t, envOptions{duplicates: 1})
	e.scrape().expect(t, "before", map[string]float64{
		"checkout_payments_started_total{provider=pesapal,method=pesapal}": 0,
		"checkout_payments_paid_total{provider=pesapal,method=pesapal}":    0,
		"checkout_payments_failed_total{provider=pesapal,method=pesapal}":  0,
		"checkout_reconcile_backlog":                                       0,
		"checkout_pending_attempt_oldest_age_seconds":                      0,
	})
	id := e.createCheckout("order-m2")
	_, _, order := e.startPesapal(id)
	e.clock.Advance(90 * time.Second) // past the first check (60 s)
	s := e.scrape()
	s.expect(t, "started", map[string]float64{
		"checkout_payments_started_total{provider=pesapal,method=pesapal}":                         1,
		"checkout_payments_paid_total{provider=pesapal,method=pesapal}":                            0,
		"checkout_reconcile_backlog":                                                               1,
		"checkout_pending_attempt_oldest_age_seconds":                                              90,
		"checkout_provider_call_duration_seconds{provider=pesapal,operation=request_token}":        1,
		"checkout_provider_call_duration_seconds{provider=pesapal,operation=submit_order_request}": 1,
	})

	if err := e.sim.PesapalComplete(order.TrackingID, true); err != nil {
		t.Fatal(err)
	}
	e.sim.WaitIPNs()
	if got := e.sim.IPNsSent(); got < 2 {
		t.Fatalf("IPNs sent = %d, want 2", got)
	}
	if status, _ := e.ipn(order); status != http.StatusOK {
		t.Fatalf("a third IPN answered %d", status)
	}
	s = e.scrape()
	s.expect(t, "paid", map[string]float64{
		"checkout_payments_started_total{provider=pesapal,method=pesapal}":      1,
		"checkout_payments_paid_total{provider=pesapal,method=pesapal}":         1,
		"checkout_payments_failed_total{provider=pesapal,method=pesapal}":       0,
		"checkout_reconcile_backlog":                                            0,
		"checkout_pending_attempt_oldest_age_seconds":                           0,
		"checkout_http_requests_total{method=POST,route=/ipn/pesapal,code=200}": 3,
	})
	// Every IPN asked Pesapal (3 status queries), none failed.
	if n := s.value("checkout_provider_call_duration_seconds", "provider=pesapal,operation=get_transaction_status"); n < 3 {
		t.Errorf("status queries timed: %v, want at least 3", n)
	}
	if n := s.series("checkout_provider_call_errors_total"); n != 0 {
		t.Errorf("provider errors counted: %v", s["checkout_provider_call_errors_total"])
	}
}

// TestMetricsCountAFailedProviderCallByOperationAndReason: Pesapal
// answering its status query with 503 is counted as an error of that
// operation, once per try.
func TestMetricsCountAFailedProviderCallByOperationAndReason(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("order-m3")
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	e.sim.FailStatusQueries(100)
	if status, _ := e.ipn(order); status != http.StatusInternalServerError {
		t.Fatalf("IPN with a failing status query answered %d", status)
	}
	s := e.scrape()
	// The status query is safe to repeat: three tries, three errors.
	s.expect(t, "after the failing query", map[string]float64{
		"checkout_provider_call_errors_total{provider=pesapal,operation=get_transaction_status,reason=http_5xx}": 3,
		"checkout_provider_call_duration_seconds{provider=pesapal,operation=get_transaction_status}":             3,
		"checkout_payments_paid_total{provider=pesapal,method=pesapal}":                                          0,
		"checkout_payments_failed_total{provider=pesapal,method=pesapal}":                                        0,
	})
	if n := s.series("checkout_provider_call_errors_total"); n != 1 {
		t.Errorf("provider error series: %v", s["checkout_provider_call_errors_total"])
	}
}

// TestMetricsCountRefusedAndDeclinedSTKPaymentsAsFailed: through each STK
// simulator, a push the provider refuses (the phone has a prompt already)
// and a prompt the customer declines are each one failed payment of that
// provider and method; the pushes and the query are timed.
func TestMetricsCountRefusedAndDeclinedSTKPaymentsAsFailed(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		first := e.createCheckout("stk-m-" + provider)
		e.pushSTK(e.browser(), first, "0712345678")
		a := e.stkAttempt(first)
		st, obj := e.api(http.MethodPost, "/api/v1/checkouts",
			`{"amount": "1600", "currency": "KES", "reference": "stk-m2-`+provider+`", "description": "Coffee"}`)
		if st != http.StatusCreated {
			t.Fatalf("second checkout: %d %v", st, obj)
		}
		if p := e.pushSTK(e.browser(), obj["id"].(string), "0712345678"); p.status != http.StatusConflict {
			t.Fatalf("push to a busy phone: %d, want 409", p.status)
		}
		labels := "provider=" + provider + ",method=stk"
		e.scrape().expect(t, "refused", map[string]float64{
			"checkout_payments_started_total{" + labels + "}": 2,
			"checkout_payments_failed_total{" + labels + "}":  1,
			"checkout_payments_paid_total{" + labels + "}":    0,
		})

		if err := e.sim.STKAnswer(provider, a.ID, "1032", true); err != nil {
			t.Fatal(err)
		}
		e.sim.WaitIPNs()
		s := e.scrape()
		s.expect(t, "declined", map[string]float64{
			"checkout_payments_started_total{" + labels + "}": 2,
			"checkout_payments_failed_total{" + labels + "}":  2,
			"checkout_payments_paid_total{" + labels + "}":    0,
		})
		push, query := "stk_push", "transaction_query"
		if provider == "pochipay" {
			push, query = "push", "transaction_status"
		}
		if n := s.value("checkout_provider_call_duration_seconds", "provider="+provider+",operation="+push); n != 2 {
			t.Errorf("%s pushes timed: %v, want 2", provider, n)
		}
		if n := s.value("checkout_provider_call_duration_seconds", "provider="+provider+",operation="+query); n < 1 {
			t.Errorf("%s queries timed: %v, want at least 1", provider, n)
		}
	})
}

// TestMetricsCountWebhookTriesByOutcomeAndTheQueue: a delivery the
// merchant first refuses is a failed try, then delivered; the queue holds
// it until then. One to an endpoint that is gone is given up.
func TestMetricsCountWebhookTriesByOutcomeAndTheQueue(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withPrivateWebhooks()
	rcv := newReceiver(t)
	setWebhookURL(e.adminBrowser(), e, rcv.srv.URL+"/hooks")
	rcv.answer(http.StatusInternalServerError)

	id := e.createCheckout("order-m4")
	e.payByIPN(id)
	e.scrape().expect(t, "paid", map[string]float64{
		"checkout_webhook_queue_depth":                          1,
		"checkout_webhook_deliveries_total{outcome=delivered}":  0,
		"checkout_webhook_deliveries_total{outcome=failed_try}": 0,
	})
	e.deliver()
	e.scrape().expect(t, "refused once", map[string]float64{
		"checkout_webhook_queue_depth":                          1,
		"checkout_webhook_deliveries_total{outcome=delivered}":  0,
		"checkout_webhook_deliveries_total{outcome=failed_try}": 1,
		"checkout_webhook_deliveries_total{outcome=given_up}":   0,
	})
	e.clock.Advance(10 * time.Second)
	e.deliver()
	e.scrape().expect(t, "delivered", map[string]float64{
		"checkout_webhook_queue_depth":                                  0,
		"checkout_webhook_deliveries_total{outcome=delivered}":          1,
		"checkout_webhook_deliveries_total{outcome=failed_try}":         1,
		"checkout_webhook_deliveries_total{outcome=given_up}":           0,
		"checkout_payments_paid_total{provider=pesapal,method=pesapal}": 1,
	})
	if n := len(rcv.requests()); n != 2 {
		t.Fatalf("receiver got %d requests, want 2", n)
	}

	// An endpoint that answers 410 Gone is given up at once.
	rcv.answer(http.StatusGone)
	e.payByIPN(e.createCheckout("order-m5"))
	e.deliver()
	e.scrape().expect(t, "gone", map[string]float64{
		"checkout_webhook_queue_depth":                          0,
		"checkout_webhook_deliveries_total{outcome=delivered}":  1,
		"checkout_webhook_deliveries_total{outcome=failed_try}": 1,
		"checkout_webhook_deliveries_total{outcome=given_up}":   1,
	})
}

// TestMetricsLeaveOutTheDatabaseFiguresWhenTheDatabaseIsGone: a scrape
// whose database reads fail still serves the rest.
func TestMetricsLeaveOutTheDatabaseFiguresWhenTheDatabaseIsGone(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(e.app.URL + "/healthz"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	s := e.scrape()
	if _, ok := s["checkout_reconcile_backlog"]; ok {
		t.Error("a backlog is shown without a database")
	}
	if s.value("checkout_http_requests_total", "method=GET,route=/healthz,code=200") != 1 &&
		s.value("checkout_http_requests_total", "method=GET,route=/healthz,code=503") != 1 {
		t.Errorf("the request counts are missing: %v", s["checkout_http_requests_total"])
	}
	if _, ok := s["go_goroutines"]; !ok {
		t.Error("the Go runtime's figures are missing")
	}
	if _, ok := s["process_start_time_seconds"]; !ok {
		t.Error("the process's figures are missing")
	}
}
