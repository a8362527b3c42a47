// Package metrics holds the app's Prometheus metrics: one Metrics per app
// instance, with its own registry (never the global one, so that two apps
// in one test process count apart), built in main and handed to the
// layers that count: web's middleware (requests), payments (payments and
// webhook deliveries), the provider clients (calls, through
// gateway.CallObserver) and /metrics, which serves it.
//
// It is a leaf: it imports nothing of ours, so every layer may use it. The
// figures that live in the database (the reconciler's backlog, the webhook
// queue, the notifications for references we never issued) are read when
// Prometheus scrapes, through the function payments gives ReadFrom, with a
// short timeout; nothing polls in the background.
//
// Every method is safe on a nil *Metrics (it counts nothing), so a service
// or a client built without metrics works unchanged.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Unmatched is the route label of a request no route matched (404s and
// 405s): one label, whatever the path asked for.
const Unmatched = "unmatched"

// Outcomes of a webhook try (WebhookTry).
const (
	WebhookDelivered = "delivered"  // the merchant answered 2xx
	WebhookFailedTry = "failed_try" // it did not; another try is scheduled
	WebhookGivenUp   = "given_up"   // it did not, and no try is left (or the endpoint is gone)
)

// ScrapeTimeout bounds the database reads of one scrape.
const ScrapeTimeout = 2 * time.Second

// Metrics is one app instance's metrics and their registry. Build it with
// New; it is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec   // method, route, code
	latency  *prometheus.HistogramVec // method, route, status (the class)
	// routes caches the children of requests and latency per method, route
	// and code, so that a request costs two map reads and no allocation.
	routesMu sync.RWMutex
	routes   map[routeKey]routeChildren

	started, paid, failed *prometheus.CounterVec // provider, method

	calls      *prometheus.HistogramVec // provider, operation
	callErrors *prometheus.CounterVec   // provider, operation, reason

	webhooks *prometheus.CounterVec // outcome

	// auditFailures counts audit log entries that could not be written.
	auditFailures prometheus.Counter

	db *dbCollector
}

type routeKey struct {
	method, route string
	code          int
}

type routeChildren struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// HTTP latency buckets, in seconds: from a page served from memory (under
// a millisecond) to a request that waited on a provider.
var httpBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Provider call buckets, in seconds: up to the clients' timeouts (30 s).
var callBuckets = []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30}

// New builds the metrics on a fresh registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkout_http_requests_total",
			Help: "HTTP requests served, by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "checkout_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method, route template and status class.",
			Buckets: httpBuckets,
		}, []string{"method", "route", "status"}),
		routes: map[routeKey]routeChildren{},
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkout_payments_started_total",
			Help: "Payment attempts started, by provider and method.",
		}, []string{"provider", "method"}),
		paid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkout_payments_paid_total",
			Help: "Checkouts that became paid, by provider and method of the attempt that paid.",
		}, []string{"provider", "method"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkout_payments_failed_total",
			Help: "Payment attempts that failed (refused, declined, not started), by provider and method.",
		}, []string{"provider", "method"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "checkout_provider_call_duration_seconds",
			Help:    "Time of each HTTP exchange with a payment provider (each try, token requests included), by provider and operation.",
			Buckets: callBuckets,
		}, []string{"provider", "operation"}),
		callErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkout_provider_call_errors_total",
			Help: "Provider exchanges that gave no usable answer or a 5xx, by provider, operation and reason (timeout, cancelled, network, too_large, http_5xx).",
		}, []string{"provider", "operation", "reason"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkout_webhook_deliveries_total",
			Help: "Tries of webhook deliveries to merchants, by outcome (delivered, failed_try, given_up).",
		}, []string{"outcome"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkout_audit_write_failures_total",
			Help: "Admin actions that succeeded but whose audit log entry could not be written.",
		}),
		db: newDBCollector(),
	}
	for _, o := range []string{WebhookDelivered, WebhookFailedTry, WebhookGivenUp} {
		m.webhooks.WithLabelValues(o)
	}
	m.reg.MustRegister(m.requests, m.latency, m.started, m.paid, m.failed, m.calls, m.callErrors, m.webhooks, m.auditFailures, m.db,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry behind Handler, for tests and for a component
// that brings its own collector.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus formats (text unless the
// scraper asks for another). A collector that fails (the database did not
// answer within ScrapeTimeout) is logged and left out; the rest is served.
// At most two scrapes run at once; a third is answered 503.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            errorLog{log},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 2,
		// The app's own middleware decides about compression.
		DisableCompression: true,
	})
}

// errorLog hands promhttp's errors to slog.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	if l.log != nil {
		l.log.Error("metrics: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
	}
}

// Request counts one HTTP request: method, the route template that matched
// (Gin's FullPath, never the path itself, so ids make no labels; "" for
// none, counted as Unmatched), the status code written and how long it
// took.
func (m *Metrics) Request(method, route string, code int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = Unmatched
	}
	k := routeKey{method: methodLabel(method), route: route, code: code}
	m.routesMu.RLock()
	ch, ok := m.routes[k]
	m.routesMu.RUnlock()
	if !ok {
		ch = m.routeChildren(k)
	}
	ch.count.Inc()
	ch.latency.Observe(took.Seconds())
}

// routeChildren makes (once) the children of a method, route and code.
func (m *Metrics) routeChildren(k routeKey) routeChildren {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	if ch, ok := m.routes[k]; ok {
		return ch
	}
	ch := routeChildren{
		count:   m.requests.WithLabelValues(k.method, k.route, strconv.Itoa(k.code)),
		latency: m.latency.WithLabelValues(k.method, k.route, statusClass(k.code)),
	}
	m.routes[k] = ch
	return ch
}

// methodLabel bounds the method label: any method a client makes up is
// "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// statusClass is "2xx" for 200 to 299, and so on.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// PaymentStarted counts an attempt the store recorded as started.
func (m *Metrics) PaymentStarted(provider, method string) {
	if m != nil {
		m.started.WithLabelValues(provider, method).Inc()
	}
}

// PaymentPaid counts a checkout that became paid (once per transition).
func (m *Metrics) PaymentPaid(provider, method string) {
	if m != nil {
		m.paid.WithLabelValues(provider, method).Inc()
	}
}

// PaymentFailed counts an attempt that moved to failed (once per
// transition).
func (m *Metrics) PaymentFailed(provider, method string) {
	if m != nil {
		m.failed.WithLabelValues(provider, method).Inc()
	}
}

// Payments makes the three payment counters of a provider and method show
// 0 before the first payment, so that rates and alerts work from the
// start.
func (m *Metrics) Payments(provider, method string) {
	if m != nil {
		m.started.WithLabelValues(provider, method)
		m.paid.WithLabelValues(provider, method)
		m.failed.WithLabelValues(provider, method)
	}
}

// WebhookTry counts one try of a webhook delivery by its outcome
// (WebhookDelivered, WebhookFailedTry, WebhookGivenUp).
func (m *Metrics) WebhookTry(outcome string) {
	if m != nil {
		m.webhooks.WithLabelValues(outcome).Inc()
	}
}

// AuditFailed counts an audit log entry that could not be written.
func (m *Metrics) AuditFailed() {
	if m != nil {
		m.auditFailures.Inc()
	}
}

// ProviderCall counts one exchange with a provider: its duration, and an
// error when reason is not "" (see CallReason).
func (m *Metrics) ProviderCall(provider, operation string, took time.Duration, reason string) {
	if m == nil {
		return
	}
	op := operationLabel(operation)
	m.calls.WithLabelValues(provider, op).Observe(took.Seconds())
	if reason != "" {
		m.callErrors.WithLabelValues(provider, op, reason).Inc()
	}
}

// CallReason is the error reason of a provider exchange: failure when it
// gave no usable answer, "http_5xx" for a server error, "" otherwise. A
// 4xx is not counted an error here: providers answer documented verdicts
// with one (Pochipay's 404 "not found", Pesapal's error object), which the
// clients read.
func CallReason(status int, failure string) string {
	switch {
	case failure != "":
		return failure
	case status >= 500:
		return "http_5xx"
	}
	return ""
}

// operationLabel writes a client's operation name ("submit order request")
// as a label value ("submit_order_request").
func operationLabel(op string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(op), " ", "_"))
}

// Snapshot is what the database holds that the metrics show, read at
// scrape time (see ReadFrom).
type Snapshot struct {
	// DueAttempts is the reconciler's backlog: pending attempts whose
	// provider check is due now.
	DueAttempts int64
	// OldestPending is when the oldest attempt still pending and still
	// polled started; zero when there is none.
	OldestPending time.Time
	// Now is the time OldestPending is measured against.
	Now time.Time
	// PendingDeliveries is the webhook queue: deliveries not yet delivered
	// nor given up.
	PendingDeliveries int64
	// Unknown is, per source, the notifications that named a reference we
	// never issued, since the database began.
	Unknown []SourceCount
}

// SourceCount is a count per notification source ("ipn:pesapal").
type SourceCount struct {
	Source string
	Count  int64
}

// SnapshotFunc reads a Snapshot within ctx.
type SnapshotFunc func(ctx context.Context) (Snapshot, error)

// ReadFrom sets where scrapes read the database figures. Until it is set,
// they are left out.
func (m *Metrics) ReadFrom(fn SnapshotFunc) {
	if m != nil {
		m.db.fn.Store(&fn)
	}
}

// dbCollector reads the database figures when Prometheus scrapes.
type dbCollector struct {
	fn                                 atomic.Pointer[SnapshotFunc]
	due, oldest, queue, unknown, error *prometheus.Desc
}

func newDBCollector() *dbCollector {
	return &dbCollector{
		due: prometheus.NewDesc("checkout_reconcile_backlog",
			"Pending payment attempts whose provider check is due now (the reconciler's backlog).", nil, nil),
		oldest: prometheus.NewDesc("checkout_pending_attempt_oldest_age_seconds",
			"Age of the oldest payment attempt still pending and still checked; 0 when none is.", nil, nil),
		queue: prometheus.NewDesc("checkout_webhook_queue_depth",
			"Webhook deliveries waiting to be delivered (pending, retries included).", nil, nil),
		unknown: prometheus.NewDesc("checkout_unknown_notifications_total",
			"Notifications that named a reference we never issued, per source.", []string{"source"}, nil),
		error: prometheus.NewDesc("checkout_metrics_database_error",
			"The database figures could not be read for this scrape.", nil, nil),
	}
}

// Describe sends the descriptions of the database figures.
func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.due
	ch <- c.oldest
	ch <- c.queue
	ch <- c.unknown
}

// Collect reads the database figures within ScrapeTimeout.
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	fn := c.fn.Load()
	if fn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	s, err := (*fn)(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.error, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(s.DueAttempts))
	age := 0.0
	if !s.OldestPending.IsZero() {
		age = max(s.Now.Sub(s.OldestPending).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(s.PendingDeliveries))
	for _, u := range s.Unknown {
		ch <- prometheus.MustNewConstMetric(c.unknown, prometheus.CounterValue, float64(u.Count), u.Source)
	}
}
