package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeApp reads an app's /metrics.
func scrapeApp(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	status, hdr, body := call(t, http.MethodGet, base+"/metrics", "", false)
	if status != http.StatusOK || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /metrics: %d %v", status, hdr)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// counted is the value of the series of fam whose labels include want,
// -1 when there is none.
func counted(fam *dto.MetricFamily, want map[string]string) float64 {
	for _, m := range fam.GetMetric() {
		n := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				n++
			}
		}
		if n != len(want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// TestEachAppCountsInItsOwnMetrics: two apps in one process count their
// own requests; each wires its provider clients, its service and its
// engine to its own metrics, with the runtime's beside them.
func TestEachAppCountsInItsOwnMetrics(t *testing.T) {
	a, _ := runWith(t, sandboxEnv(t, filepath.Join(t.TempDir(), "a.db")), runOptions{})
	b, _ := runWith(t, sandboxEnv(t, filepath.Join(t.TempDir(), "b.db")), runOptions{})
	obj := apiCall(t, a.URL, http.MethodPost, "/api/v1/checkouts", startupCheckout)
	id, _ := obj["id"].(string)
	if status, _, _ := call(t, http.MethodGet, a.URL+"/c/"+id, "", false); status != http.StatusOK {
		t.Fatalf("checkout page: %d", status)
	}
	// A Pesapal payment started on a: its client counts in a's metrics.
	if _, err := a.Service.StartPesapal(t.Context(), id, "jane@example.com"); err != nil {
		t.Fatalf("StartPesapal: %v", err)
	}

	ma, mb := scrapeApp(t, a.URL), scrapeApp(t, b.URL)
	page := map[string]string{"method": "GET", "route": "/c/:id", "code": "200"}
	if got := counted(ma["checkout_http_requests_total"], page); got != 1 {
		t.Errorf("a: checkout pages = %v, want 1", got)
	}
	if got := counted(mb["checkout_http_requests_total"], page); got != -1 {
		t.Errorf("b counts a's checkout page: %v", got)
	}
	started := map[string]string{"provider": "pesapal", "method": "pesapal"}
	if got := counted(ma["checkout_payments_started_total"], started); got != 1 {
		t.Errorf("a: payments started = %v, want 1", got)
	}
	if got := counted(mb["checkout_payments_started_total"], started); got != 0 {
		t.Errorf("b: payments started = %v, want 0", got)
	}
	if got := counted(ma["checkout_provider_call_duration_seconds"],
		map[string]string{"provider": "pesapal", "operation": "submit_order_request"}); got != 1 {
		t.Errorf("a: Pesapal order requests timed = %v, want 1", got)
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "checkout_reconcile_backlog", "checkout_webhook_queue_depth"} {
		if _, ok := ma[name]; !ok {
			t.Errorf("a: %s is missing", name)
		}
	}
}
