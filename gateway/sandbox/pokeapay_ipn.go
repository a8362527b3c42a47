package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// pokeaPayIPNBody is the IPN's POST body, with the document's keys in the
// document's order. Every value is a string.
type pokeaPayIPNBody struct {
	BillReference string `json:"billreference"` // the order's oref
	Amount        string `json:"amount"`        // the amount paid, "1500.00"
	AccountName   string `json:"accountname"`   // the customer's name (cn)
	AccountNo     string `json:"accountno"`     // the M-Pesa phone (254...) or the masked card
	Fees          string `json:"fees"`
	ReferenceNo   string `json:"referenceno"` // the receipt
	Method        string `json:"method"`      // MPESA or CARD
}

// pokeaPayIPNNote is everything needed to send one PokeaPay IPN.
type pokeaPayIPNNote struct {
	URL  string
	Body pokeaPayIPNBody
}

// pokeaPayIPNNote builds the IPN of a paid order.
func (s *Sandbox) pokeaPayIPNNote(oref string) (pokeaPayIPNNote, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.pokeapay.orders[oref]
	if !ok {
		return pokeaPayIPNNote{}, ErrPokeaPayUnknownOrder
	}
	if o.Status != PokeaPayPaid {
		return pokeaPayIPNNote{}, fmt.Errorf("sandbox: PokeaPay order %q is %s: only a paid order has an IPN", oref, o.Status)
	}
	if s.cfg.PokeaPayIPNURL == "" {
		return pokeaPayIPNNote{}, errors.New("sandbox: no PokeaPay IPN URL configured (Config.PokeaPayIPNURL)")
	}
	body := pokeaPayIPNBody{
		BillReference: o.OrderRef,
		Amount:        o.PaidAmount.String(),
		AccountName:   o.CustomerName,
		AccountNo:     pokeaPayMSISDN(o.Phone),
		Fees:          "0.00",
		ReferenceNo:   o.ReferenceNo,
		Method:        "MPESA",
	}
	if o.Type == PokeaPayTypeCard {
		body.AccountNo, body.Method = pokeaPayTestCard, "CARD"
	}
	return pokeaPayIPNNote{URL: s.cfg.PokeaPayIPNURL, Body: body}, nil
}

// pokeaPayMSISDN is the phone an M-Pesa payment reports: tel's digits in
// 254 form (07XXXXXXXX and 01XXXXXXXX become 2547... and 2541...), or a
// test number when tel has too few digits to be a phone.
func pokeaPayMSISDN(tel string) string {
	var digits []byte
	for i := 0; i < len(tel); i++ {
		if c := tel[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	d := string(digits)
	switch {
	case len(d) == 10 && d[0] == '0':
		return "254" + d[1:]
	case len(d) == 9 && (d[0] == '7' || d[0] == '1'):
		return "254" + d
	case len(d) < 9:
		return "254700000678"
	}
	return d
}

// schedulePokeaPayIPN sends the order's IPN after IPNDelay in the
// background, a second time with DuplicateIPNRate (after up to another
// IPNDelay, so the two may overlap), each with its retries.
func (s *Sandbox) schedulePokeaPayIPN(oref string) {
	note, err := s.pokeaPayIPNNote(oref)
	if err != nil {
		s.log.Warn("pokeapay IPN not scheduled", "oref", oref, "err", err)
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
		if !s.goAsync(func(ctx context.Context) { s.deliverPokeaPayIPN(ctx, note, delay) }) {
			s.log.Warn("pokeapay IPN not sent: sandbox closed", "oref", oref)
		}
	}
}

// deliverPokeaPayIPN waits delay, then sends the IPN until it is answered
// with a 2xx status or IPNRetries extra tries have failed, with a backoff
// that starts at IPNDelay and doubles.
func (s *Sandbox) deliverPokeaPayIPN(ctx context.Context, note pokeaPayIPNNote, delay time.Duration) {
	if !sleepCtx(ctx, delay) {
		return
	}
	oref := note.Body.BillReference
	backoff := s.cfg.IPNDelay
	for try := 0; ; try++ {
		err := s.sendPokeaPayIPN(ctx, note)
		if err == nil || ctx.Err() != nil {
			return
		}
		if try >= s.cfg.IPNRetries {
			s.log.Warn("pokeapay IPN given up", "oref", oref, "tries", try+1, "err", err)
			return
		}
		s.log.Info("pokeapay IPN not acknowledged, will retry", "oref", oref,
			"try", try+1, "backoff", backoff, "err", err)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff *= 2
	}
}

// sendPokeaPayIPN makes one IPN request: a POST of the JSON body. Any 2xx
// answer acknowledges it (the document shows no acknowledgement body).
func (s *Sandbox) sendPokeaPayIPN(ctx context.Context, note pokeaPayIPNNote) error {
	body, err := json.Marshal(note.Body)
	if err != nil {
		return fmt.Errorf("sandbox: encode PokeaPay IPN: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, note.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sandbox: build PokeaPay IPN request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "checkout-sandbox-pokeapay")

	resp, err := s.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
	s.mu.Lock()
	s.pokeapay.ipnsSent++
	s.mu.Unlock()
	s.log.Debug("pokeapay IPN sent", "oref", note.Body.BillReference, "err", err)
	if err != nil {
		return fmt.Errorf("sandbox: PokeaPay IPN POST %s: %w", note.URL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sandbox: PokeaPay IPN answered HTTP %d, not 2xx", resp.StatusCode)
	}
	return nil
}
