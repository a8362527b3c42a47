package payments

import (
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"checkout/store"
)

// Merchant webhooks (design.md, "Merchant webhooks"): Standard Webhooks
// headers and signature, an outbox in the store written with each status
// change, and a worker that delivers it with retries.

// webhookTimeout bounds one delivery try.
const webhookTimeout = 15 * time.Second

// webhookClaim is how long a worker holds a delivery and its endpoint's
// lease: longer than a try (webhookTimeout) and the writes around it, so a
// live worker is never overtaken; a dead one lets go when it ends, and
// until then holds up only its own endpoint.
const webhookClaim = 30 * time.Second

// endpointLease names the lease that makes "one delivery in flight per
// endpoint" hold across the processes sharing the database. A digest keeps
// the name short and the URL (which may carry a token) out of the table.
func endpointLease(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "webhook-endpoint:" + hex.EncodeToString(sum[:])
}

// leaseHolder is a new holder name for one delivery try: the release then
// frees only the lease this try took.
func leaseHolder() string {
	b := make([]byte, 12)
	crand.Read(b) // never fails: it fills b or crashes the program
	return hex.EncodeToString(b)
}

// webhookRetries are the delays after the first, second, ... failed try
// (Standard Webhooks' schedule); after the last one the delivery fails.
var webhookRetries = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// jitter spreads d by up to ±10%, so that deliveries that failed together
// (a merchant's server down) do not all come back at once.
func jitter(d time.Duration) time.Duration {
	span := int64(d / 5)
	if span <= 0 {
		return d
	}
	return d - d/10 + time.Duration(rand.Int64N(span+1))
}

// WebhookEnvelope is the body of every webhook: Standard Webhooks'
// recommended shape, with the checkout object as data.
type WebhookEnvelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	// Livemode is false for an event of test mode, so a merchant's
	// endpoint can refuse test events on its live side.
	Livemode bool           `json:"livemode"`
	Data     CheckoutObject `json:"data"`
}

func (s *Service) webhookPayload(co *store.Checkout, eventType string, at time.Time) ([]byte, error) {
	obj, err := s.Object(co)
	if err != nil {
		return nil, err
	}
	return json.Marshal(WebhookEnvelope{Type: eventType, Timestamp: rfc3339(at), Livemode: s.Livemode(), Data: obj})
}

// secretPrefix starts every webhook secret (Standard Webhooks).
const secretPrefix = "whsec_"

// NewWebhookSecret returns a new random secret: whsec_ and 32 random bytes
// in base64.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	crand.Read(b) // never fails: it fills b or crashes the program
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseWebhookSecret returns the HMAC key of a whsec_ secret: the
// base64-decoded part, 24 to 64 bytes.
func ParseWebhookSecret(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errors.New("a webhook secret starts with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, errors.New("the part after whsec_ must be base64")
		}
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("the secret must decode to 24 to 64 bytes (got %d)", len(key))
	}
	return key, nil
}

// SignWebhook is the Standard Webhooks signature of one message:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func SignWebhook(key []byte, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signWebhookKeys is the webhook-signature header with one signature per
// key, space-separated (Standard Webhooks), the current secret's first.
func signWebhookKeys(keys [][]byte, id string, timestamp int64, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = SignWebhook(k, id, timestamp, body)
	}
	return strings.Join(sigs, " ")
}

// NewWebhookClient is the HTTP client webhooks are sent with: a 15 s
// timeout, redirects not followed, no proxy, and unless allowPrivate a
// dialler that refuses internal addresses.
func NewWebhookClient(allowPrivate bool) *http.Client {
	d := webhookDialer(allowPrivate, nil)
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the guard
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          50,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: webhookTimeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       webhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// webhookWorker is what the delivery worker has in flight: a slot for
// each delivery (bg.webhooksAtOnce in all) and the endpoints being sent
// to, so that a merchant endpoint that hangs holds one slot and none of
// the other merchants' deliveries.
type webhookWorker struct {
	mu       sync.Mutex
	inFlight int
	busy     map[string]bool // endpoint URL -> a delivery is being sent to it
	busyOf   map[string]int  // merchant ID -> deliveries in flight to its endpoint
	ended    chan struct{}   // closed (and replaced) when a delivery ends
}

// take reserves a slot and the endpoint, or reports why not: all slots
// taken (full) or the endpoint busy.
func (w *webhookWorker) take(limit int, endpoint, merchantID string) (ok, full bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inFlight >= limit {
		return false, true
	}
	if endpoint != "" && w.busy[endpoint] {
		return false, false
	}
	if w.busy == nil {
		w.busy, w.busyOf = map[string]bool{}, map[string]int{}
	}
	w.inFlight++
	if endpoint != "" {
		w.busy[endpoint] = true
	}
	w.busyOf[merchantID]++
	return true, false
}

// release gives back what take reserved; ended says a delivery was made
// (a scan then runs again), as opposed to a claim that failed (which must
// not send the worker round again at once: the database may be failing).
// The last slot given back wakes the waiters all the same: a waiter that
// saw a delivery in flight waits for it to end, and with none left in
// flight nothing else would ever wake it.
func (w *webhookWorker) release(endpoint, merchantID string, ended bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight--
	if endpoint != "" {
		delete(w.busy, endpoint)
	}
	if w.busyOf[merchantID]--; w.busyOf[merchantID] <= 0 {
		delete(w.busyOf, merchantID)
	}
	if (ended || w.inFlight == 0) && w.ended != nil {
		close(w.ended)
		w.ended = nil
	}
}

// wake is closed when a delivery in flight now or later ends: every
// waiter hears it. Take it before scanning, so an end during the scan is
// not missed.
func (w *webhookWorker) wake() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended == nil {
		w.ended = make(chan struct{})
	}
	return w.ended
}

// busyMerchants lists the merchants with a delivery in flight: their other
// deliveries wait, and are left out of the next page.
func (w *webhookWorker) busyMerchants() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ms := make([]string, 0, len(w.busyOf))
	for m := range w.busyOf {
		ms = append(ms, m)
	}
	return ms
}

func (w *webhookWorker) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inFlight == 0
}

// dispatchWebhooks starts every due delivery it can: claimed (atomically:
// several processes may share the database) and sent in its own goroutine
// under work, at most bg.webhooksAtOnce at once and one per endpoint, in
// this process (the worker's own bookkeeping) and across the processes
// (the endpoint's lease in the database). A delivery whose endpoint is
// busy here, or that finds every slot taken, is left due for a later scan
// and counted in left; one whose endpoint another process is sending to is
// that process's to wait for, and not counted.
func (s *Service) dispatchWebhooks(ctx, work context.Context, g *group) (started, left int, err error) {
	merchants := map[string]*store.MerchantWebhook{}
	// Endpoints whose lease another process holds: asked once per scan.
	elsewhere := map[string]bool{}
	for {
		now := s.now()
		due, err := s.st.DueWebhookDeliveries(ctx, now, 100, s.hooks.busyMerchants()...)
		if err != nil {
			return started, left, err
		}
		progress := false
		for i := range due {
			if ctx.Err() != nil {
				return started, left, nil
			}
			d := due[i]
			m, ok := merchants[d.MerchantID]
			if !ok {
				if m, err = s.st.MerchantWebhookOf(ctx, d.MerchantID); err != nil {
					s.log.ErrorContext(ctx, "webhooks: merchant of delivery", "delivery_id", d.ID, "err", err)
					continue
				}
				merchants[d.MerchantID] = m
			}
			if elsewhere[m.WebhookURL] {
				continue
			}
			taken, full := s.hooks.take(s.bg.webhooksAtOnce, m.WebhookURL, m.ID)
			if full {
				return started, left + len(due) - i, nil
			}
			if !taken {
				left++
				continue
			}
			// The claim and the lease are timed from now: they must
			// outlast the try.
			claimAt := s.now()
			lease, err := s.leaseEndpoint(ctx, m.WebhookURL, claimAt, claimAt.Add(webhookClaim))
			if err != nil || lease == nil {
				if err != nil && ctx.Err() == nil {
					s.log.ErrorContext(ctx, "webhooks: endpoint lease", "delivery_id", d.ID, "err", err)
				}
				if err == nil {
					elsewhere[m.WebhookURL] = true
				}
				s.hooks.release(m.WebhookURL, m.ID, false)
				continue
			}
			claimed, err := s.st.ClaimWebhookDelivery(ctx, &d, claimAt, claimAt.Add(webhookClaim))
			if err != nil || !claimed {
				if err != nil && ctx.Err() == nil {
					s.log.ErrorContext(ctx, "webhooks: claim", "delivery_id", d.ID, "err", err)
				}
				lease.release(ctx)
				s.hooks.release(m.WebhookURL, m.ID, false)
				continue
			}
			started++
			progress = true
			g.Go(func() {
				// The lease goes back before the slot: a scan woken by the
				// slot finds the endpoint free.
				defer s.hooks.release(m.WebhookURL, m.ID, true)
				defer lease.release(work)
				if err := s.deliver(work, &d, m); err != nil && work.Err() == nil {
					s.log.ErrorContext(work, "webhooks: record", "delivery_id", d.ID, "err", err)
				}
			})
		}
		// A full page may hide more due deliveries behind it.
		if len(due) < 100 || !progress {
			return started, left, nil
		}
	}
}

// heldLease is an endpoint's lease taken for one try.
type heldLease struct {
	s            *Service
	name, holder string
}

// leaseEndpoint takes the endpoint's lease until `until`: nil (and no
// error) when another try, in any process, holds it. A delivery with no
// endpoint sends nothing and needs none.
func (s *Service) leaseEndpoint(ctx context.Context, endpoint string, now, until time.Time) (*heldLease, error) {
	l := &heldLease{s: s, name: endpointLease(endpoint), holder: leaseHolder()}
	if endpoint == "" {
		l.name = ""
		return l, nil
	}
	ok, err := s.st.AcquireLease(ctx, l.name, l.holder, now, until)
	if err != nil || !ok {
		return nil, err
	}
	return l, nil
}

// release gives the lease back; one that cannot be given back (the
// database failing) runs out with the claim.
func (l *heldLease) release(ctx context.Context) {
	if l.name == "" {
		return
	}
	if err := l.s.st.ReleaseLease(context.WithoutCancel(ctx), l.name, l.holder); err != nil {
		l.s.log.WarnContext(ctx, "webhooks: endpoint lease not released; it runs out by itself", "err", err)
	}
}

// DeliverWebhooks runs the delivery worker until nothing due is left to
// send: deliveries go out several at once, one at a time per endpoint, and
// it returns when the last one it started has ended. Deliveries to an
// endpoint that another process is sending to are left to that process.
func (s *Service) DeliverWebhooks(ctx context.Context) error {
	g := group{running: s.bg.running}
	defer g.Wait()
	for {
		// With nothing in flight, nothing was left out of the scan for a
		// busy endpoint: a scan that starts and leaves nothing saw it all.
		wake := s.hooks.wake()
		idle := s.hooks.idle()
		started, left, err := s.dispatchWebhooks(ctx, ctx, &g)
		if err != nil {
			return err
		}
		if idle && started == 0 && left == 0 {
			return ctx.Err()
		}
		if s.hooks.idle() {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// deliver makes one try of a claimed delivery and records it.
func (s *Service) deliver(ctx context.Context, d *store.WebhookDelivery, m *store.MerchantWebhook) error {
	now := s.now()
	try := store.WebhookTry{At: now}
	if m.WebhookURL == "" {
		try.Error, try.Outcome = "not sent: the merchant has no webhook endpoint (disabled or removed)", store.DeliveryFailed
		return s.recordTry(ctx, d, try)
	}
	key, err := ParseWebhookSecret(m.WebhookSecret)
	if err != nil {
		try.Error = "not sent: the merchant's webhook secret is not usable: " + err.Error()
		s.schedule(d, &try)
		return s.recordTry(ctx, d, try)
	}

	keys := [][]byte{key}
	// During a rotation the replaced secret signs too, so a receiver still
	// checking with it accepts the delivery.
	if m.WebhookPreviousSecret != "" && m.WebhookPreviousUntil != nil && now.Before(*m.WebhookPreviousUntil) {
		if old, err := ParseWebhookSecret(m.WebhookPreviousSecret); err == nil {
			keys = append(keys, old)
		}
	}

	started := time.Now()
	code, sendErr := s.post(ctx, m.WebhookURL, keys, d, now)
	try.Duration = time.Since(started)
	try.StatusCode = code
	switch {
	case sendErr != nil:
		try.Error = sendErr.Error()
		s.schedule(d, &try)
	case code >= 200 && code < 300:
		try.Outcome = store.DeliveryDelivered
	case code == http.StatusGone:
		// Standard Webhooks: 410 means the endpoint is gone for good.
		try.Error, try.Outcome, try.DisableURL = "the endpoint answered 410 Gone; it was disabled", store.DeliveryFailed, m.WebhookURL
		s.log.WarnContext(ctx, "webhooks: endpoint gone, disabled", "merchant_id", m.ID, "delivery_id", d.ID)
	default:
		try.Error = fmt.Sprintf("the endpoint answered HTTP %d", code)
		s.schedule(d, &try)
	}
	if ctx.Err() != nil && try.Outcome != store.DeliveryDelivered {
		// Stopping: this try says nothing about the merchant. The claim
		// runs out and the next worker tries again with the same id.
		return nil
	}
	return s.recordTry(context.WithoutCancel(ctx), d, try)
}

// schedule sets the next try after a failed one, or gives up after the last.
func (s *Service) schedule(d *store.WebhookDelivery, try *store.WebhookTry) {
	n := d.Attempts // failed tries before this one
	if n >= len(webhookRetries) {
		try.Outcome = store.DeliveryFailed
		return
	}
	try.Outcome, try.NextAt = store.DeliveryPending, try.At.Add(s.cfg.WebhookJitter(webhookRetries[n]))
}

// post sends one signed try and returns the HTTP status.
func (s *Service) post(ctx context.Context, endpoint string, keys [][]byte, d *store.WebhookDelivery, now time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	body := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(d.Payload))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hosted-checkout-webhooks/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", signWebhookKeys(keys, d.ID, ts, body))
	resp, err := s.cfg.WebhookClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Read a little so the connection can be reused; the answer's content
	// means nothing to us.
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)); err != nil {
		s.log.DebugContext(ctx, "webhooks: reading the answer", "delivery_id", d.ID, "err", err)
	}
	return resp.StatusCode, nil
}

// RunWebhooks sends due deliveries as they come (every interval, and as
// soon as a delivery ends) until ctx ends; then it starts nothing new,
// gives the deliveries under way bg.drain to end, cuts the rest (their
// claims run out and the next worker sends them with the same id), and
// returns with nothing left running.
func (s *Service) RunWebhooks(ctx context.Context, every time.Duration) {
	work, end := s.workContext(ctx, 0)
	g := group{running: s.bg.running}
	defer func() {
		g.Wait()
		end()
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		wake := s.hooks.wake()
		if _, _, err := s.dispatchWebhooks(ctx, work, &g); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "webhook pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

// webhookRotationOverlap is how long a replaced secret keeps signing.
const webhookRotationOverlap = 24 * time.Hour

// WebhookAllowPrivate reports whether merchants' webhook URLs may point
// at loopback and private addresses (CHECKOUT_WEBHOOK_ALLOW_PRIVATE).
func (s *Service) WebhookAllowPrivate() bool { return s.cfg.WebhookAllowPrivate }

// SetWebhookURL sets a merchant's webhook URL ("" turns webhooks off),
// checked as design.md says. A merchant without a usable secret gets a new
// one, returned so it can be shown once; otherwise the secret is kept and
// "" is returned. Bad input is a *FieldError for field "url".
func (s *Service) SetWebhookURL(ctx context.Context, merchantID, raw string) (string, error) {
	u := strings.TrimSpace(raw)
	if len(u) > 2000 {
		return "", invalid("url", "The URL is too long (at most 2,000 characters).")
	}
	if u != "" {
		if err := CheckWebhookURL(u, s.cfg.WebhookAllowPrivate); err != nil {
			return "", invalid("url", err.Error())
		}
	}
	m, err := s.st.MerchantWebhookOf(ctx, merchantID)
	if err != nil {
		return "", err
	}
	secret := ""
	if _, err := ParseWebhookSecret(m.WebhookSecret); u != "" && err != nil {
		secret = NewWebhookSecret()
	}
	if err := s.st.SetMerchantWebhookURL(ctx, merchantID, u, secret); err != nil {
		return "", err
	}
	return secret, nil
}

// RotateWebhookSecret gives the merchant a new whsec_ secret and returns
// it (to be shown once). The old one keeps signing, beside the new one,
// for 24 hours.
func (s *Service) RotateWebhookSecret(ctx context.Context, merchantID string) (string, error) {
	secret := NewWebhookSecret()
	if err := s.RotateWebhookSecretTo(ctx, merchantID, secret); err != nil {
		return "", err
	}
	return secret, nil
}

// RotateWebhookSecretTo makes secret, a whsec_ secret chosen elsewhere
// (CHECKOUT_WEBHOOK_SECRET), the merchant's webhook secret as
// RotateWebhookSecret does: the one it replaces keeps signing for 24 hours.
func (s *Service) RotateWebhookSecretTo(ctx context.Context, merchantID, secret string) error {
	if _, err := ParseWebhookSecret(secret); err != nil {
		return fmt.Errorf("payments: rotate webhook secret of %s: %w", merchantID, err)
	}
	return s.st.RotateWebhookSecret(ctx, merchantID, secret, s.now().Add(webhookRotationOverlap))
}

// webhookTestData is the data of a webhook.test event.
type webhookTestData struct {
	MerchantID string `json:"merchant_id"`
	Message    string `json:"message"`
}

// SendTestWebhook queues a webhook.test event for the merchant; the
// worker delivers it like any other. store.ErrNoWebhookURL when the
// merchant has no endpoint.
func (s *Service) SendTestWebhook(ctx context.Context, merchantID string) (*store.WebhookDelivery, error) {
	now := s.now()
	body, err := json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Livemode  bool            `json:"livemode"`
		Data      webhookTestData `json:"data"`
	}{store.WebhookTestEvent, rfc3339(now), s.Livemode(), webhookTestData{MerchantID: merchantID,
		Message: "A test event sent from the admin. No checkout changed."}})
	if err != nil {
		return nil, fmt.Errorf("payments: test webhook: %w", err)
	}
	return s.st.EnqueueWebhookEvent(ctx, merchantID, store.WebhookTestEvent, body)
}

// ResendWebhook queues a failed or delivered delivery again, with the same
// webhook-id and body. store.ErrDeliveryPending when it is already queued.
func (s *Service) ResendWebhook(ctx context.Context, deliveryID string) (*store.WebhookDelivery, error) {
	return s.st.ResendWebhookDelivery(ctx, deliveryID)
}

// Now is the service's clock (tests move it), for pages that compare times
// with what the service stored.
func (s *Service) Now() time.Time { return s.now() }
