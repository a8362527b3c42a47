package web_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getMetrics asks GET /metrics with the given Authorization header ("" for
// none) and returns the status, the Content-Type and the body.
func (e *env) getMetrics(auth string) (int, string, string) {
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
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// TestMetricsCountNotificationsForReferencesWeNeverIssued: GET /metrics
// exposes, per source, the total of notifications that named a reference we
// never issued, as a Prometheus counter that does not forget a day later.
func TestMetricsCountNotificationsForReferencesWeNeverIssued(t *testing.T) {
	e := newEnv(t, envOptions{})
	const header = "# HELP checkout_unknown_notifications_total Notifications that named a reference we never issued, per source.\n" +
		"# TYPE checkout_unknown_notifications_total counter\n"
	status, ctype, body := e.getMetrics("")
	if status != http.StatusOK || ctype != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: %d %q", status, ctype)
	}
	if body != header {
		t.Fatalf("metrics with no unknown notifications:\n%s", body)
	}

	for i := range 3 {
		if status, _ := e.ipn(sandboxOrder(fmt.Sprintf("never-%d", i), fmt.Sprintf("pay_never%d", i))); status != http.StatusInternalServerError {
			t.Fatalf("unknown Pesapal IPN answered %d", status)
		}
	}
	if status, _ := e.pokeapayIPN(ipnBody("pay_nobody", "1500.00", "RX1")); status != http.StatusNotFound {
		t.Fatalf("unknown PokeaPay IPN answered %d", status)
	}
	want := header +
		"checkout_unknown_notifications_total{source=\"ipn:pesapal\"} 3\n" +
		"checkout_unknown_notifications_total{source=\"ipn:pokeapay\"} 1\n"
	if _, _, body := e.getMetrics(""); body != want {
		t.Fatalf("metrics:\n%s\nwant:\n%s", body, want)
	}

	// A counter: a day later (past the admin's 24-hour window) the earlier
	// hours still count, and a new one adds to them.
	e.clock.Advance(26 * time.Hour)
	if status, _ := e.pokeapayIPN(ipnBody("pay_nobody2", "1500.00", "RX2")); status != http.StatusNotFound {
		t.Fatalf("unknown PokeaPay IPN answered %d", status)
	}
	want = strings.Replace(want, `{source="ipn:pokeapay"} 1`, `{source="ipn:pokeapay"} 2`, 1)
	if _, _, body := e.getMetrics(""); body != want {
		t.Fatalf("metrics a day later:\n%s\nwant:\n%s", body, want)
	}
}

// TestMetricsTokenIsRequiredWhenSet: with CHECKOUT_METRICS_TOKEN set,
// /metrics answers 401 to a request without the bearer token or with another
// one, and the metrics to the right one.
func TestMetricsTokenIsRequiredWhenSet(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	e := newEnv(t, envOptions{metricsToken: token})
	for _, auth := range []string{"", "Bearer ", "Bearer wrong-token-0123456789abcdef", "Bearer " + token + "x",
		"Bearer " + token[:len(token)-1], "Basic " + token, token} {
		status, _, body := e.getMetrics(auth)
		if status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, status)
		}
		if strings.Contains(body, "checkout_") {
			t.Errorf("Authorization %q: the 401 carries metrics: %q", auth, body)
		}
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		status, ctype, body := e.getMetrics(auth)
		if status != http.StatusOK || !strings.HasPrefix(ctype, "text/plain; version=0.0.4") ||
			!strings.Contains(body, "# TYPE checkout_unknown_notifications_total counter\n") {
			t.Errorf("Authorization %q: %d %q %q", auth, status, ctype, body)
		}
	}
}
