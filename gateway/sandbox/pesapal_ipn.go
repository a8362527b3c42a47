package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// ipnNote is everything needed to send one Pesapal IPN.
type ipnNote struct {
	URL        string
	Method     string // GET or POST
	TrackingID string
	Reference  string
}

// ipnPostBody is the IPN's POST body, as in the document's sample.
type ipnPostBody struct {
	OrderNotificationType  string `json:"OrderNotificationType"`
	OrderTrackingID        string `json:"OrderTrackingId"`
	OrderMerchantReference string `json:"OrderMerchantReference"`
}

// pesapalIPNNote finds the IPN registration of an order.
func (s *Sandbox) pesapalIPNNote(trackingID string) (ipnNote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.pesapal.orders[trackingID]
	if !ok {
		return ipnNote{}, ErrUnknownOrder
	}
	reg, ok := s.pesapal.ipnByID[o.NotificationID]
	if !ok { // cannot happen: orders are checked against the registrations
		return ipnNote{}, fmt.Errorf("sandbox: order %s has no registered IPN", trackingID)
	}
	return ipnNote{URL: reg.URL, Method: reg.Method, TrackingID: o.TrackingID, Reference: o.MerchantReference}, nil
}

// schedulePesapalIPN sends the order's IPN after IPNDelay in the background,
// a second time with DuplicateIPNRate (after up to another IPNDelay, so the
// two may overlap), each with its retries.
func (s *Sandbox) schedulePesapalIPN(trackingID string) {
	note, err := s.pesapalIPNNote(trackingID)
	if err != nil {
		s.log.Error("pesapal IPN not scheduled", "order_tracking_id", trackingID, "err", err)
		return
	}
	copies := 1
	if rand.Float64() < s.cfg.DuplicateIPNRate {
		copies = 2
	}
	for i := range copies {
		delay := s.cfg.IPNDelay
		if i > 0 {
			delay += rand.N(s.cfg.IPNDelay + 1)
		}
		if !s.goAsync(func(ctx context.Context) { s.deliverPesapalIPN(ctx, note, delay) }) {
			s.log.Warn("pesapal IPN not sent: sandbox closed", "order_tracking_id", trackingID)
		}
	}
}

// deliverPesapalIPN waits delay, then sends the IPN until it is acknowledged
// or IPNRetries extra tries have failed, with a backoff that starts at
// IPNDelay and doubles.
func (s *Sandbox) deliverPesapalIPN(ctx context.Context, note ipnNote, delay time.Duration) {
	if !sleepCtx(ctx, delay) {
		return
	}
	backoff := s.cfg.IPNDelay
	for try := 0; ; try++ {
		err := s.sendPesapalIPN(ctx, note)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		if try >= s.cfg.IPNRetries {
			s.log.Warn("pesapal IPN given up", "order_tracking_id", note.TrackingID, "tries", try+1, "err", err)
			return
		}
		s.log.Info("pesapal IPN not acknowledged, will retry", "order_tracking_id", note.TrackingID,
			"try", try+1, "backoff", backoff, "err", err)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff *= 2
	}
}

// sendPesapalIPN makes one IPN request and checks the acknowledgement:
// HTTP 200 and a JSON body whose status is 200.
func (s *Sandbox) sendPesapalIPN(ctx context.Context, note ipnNote) error {
	var req *http.Request
	var err error
	switch note.Method {
	case http.MethodGet:
		target := appendQuery(note.URL,
			"OrderTrackingId", note.TrackingID,
			"OrderMerchantReference", note.Reference,
			"OrderNotificationType", "IPNCHANGE")
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	default:
		body, _ := json.Marshal(ipnPostBody{
			OrderNotificationType:  "IPNCHANGE",
			OrderTrackingID:        note.TrackingID,
			OrderMerchantReference: note.Reference,
		})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, note.URL, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return fmt.Errorf("sandbox: build IPN request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "checkout-sandbox-pesapal")

	resp, err := s.client.Do(req)
	var ack []byte
	if err == nil {
		ack, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
	s.mu.Lock()
	s.pesapal.ipnsSent++
	s.mu.Unlock()
	s.log.Debug("pesapal IPN sent", "order_tracking_id", note.TrackingID, "method", note.Method, "err", err)
	if err != nil {
		return fmt.Errorf("sandbox: IPN %s %s: %w", note.Method, note.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sandbox: IPN answered HTTP %d, not 200", resp.StatusCode)
	}
	var answer struct {
		Status json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(ack, &answer); err != nil {
		return fmt.Errorf("sandbox: IPN acknowledgement is not JSON: %w", err)
	}
	if status := strings.Trim(string(answer.Status), `"`); status != "200" {
		return fmt.Errorf("sandbox: IPN acknowledgement status is %s, not 200", string(answer.Status))
	}
	return nil
}
