package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"checkout/gateway/pesapal"
	"checkout/gateway/pokeapay"
	"checkout/store"
)

// ErrInvalidNotification: the request is not a notification (or return) of
// this provider. Nothing is stored and nothing changes.
var ErrInvalidNotification = errors.New("not a notification of this provider")

// Reply is what to answer a provider's notification, in the provider's own
// format: the HTTP status, the content type and the body.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
	// Reference is the provider's reference the notification named (for
	// logs), empty when it could not be read.
	Reference string
	// RetryAfter is set on a 429: when the sender may try again.
	RetryAfter time.Duration
}

// limitedReply is the answer to a notification past its reference's limit.
func limitedReply(err error, ref string) Reply {
	r := jsonReply(http.StatusTooManyRequests, map[string]any{"status": "error", "message": "too many notifications for this reference; retry later"}, ref)
	r.RetryAfter = err.(*RateLimitedError).RetryAfter
	return r
}

// jsonReply answers with a JSON object, as the handlers' JSON answers are
// written.
func jsonReply(status int, v map[string]any, ref string) Reply {
	b, err := json.Marshal(v)
	if err != nil {
		// Maps of strings and ints always encode; keep the answer
		// well-formed should that ever change.
		b = fmt.Appendf(nil, `{"status":%q}`, "error")
	}
	return Reply{Status: status, ContentType: "application/json; charset=utf-8", Body: b, Reference: ref}
}

// PesapalReturn handles the customer's browser back on Pesapal's callback
// URL: only a "look now", so Pesapal is asked for the status before anything
// is shown. When Pesapal does not answer, the checkout is returned as it
// stands (the page polls until the IPN or the reconciler confirms).
// ErrInvalidNotification: the query is not Pesapal's; ErrNotFound: no such
// order.
func (s *Service) PesapalReturn(ctx context.Context, query url.Values) (*store.Checkout, error) {
	n, err := pesapal.ParseNotification(http.MethodGet, query, "", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidNotification, err)
	}
	a, _, err := s.PesapalNotification(ctx, n, "return:pesapal")
	if err == nil {
		return s.st.Checkout(ctx, a.CheckoutID)
	}
	if !errors.Is(err, ErrNotConfirmed) {
		return nil, err
	}
	a, aerr := s.st.AttemptByProviderReference(ctx, ProviderPesapal, n.OrderTrackingID)
	if errors.Is(aerr, store.ErrNotFound) {
		// The tracking id is not (yet) ours: the notification was matched
		// by its merchant reference. Show that attempt's checkout as it
		// stands; nothing was changed.
		if b, berr := s.st.Attempt(ctx, n.OrderMerchantReference); berr == nil && b.Provider == ProviderPesapal {
			a, aerr = b, nil
		} else if berr != nil && !errors.Is(berr, store.ErrNotFound) {
			aerr = berr
		}
	}
	if aerr != nil {
		// Not "not found": the notification named an attempt we know, so
		// failing to find it again is a failure on our side.
		return nil, fmt.Errorf("payments: pesapal return for tracking id %s: %v", n.OrderTrackingID, aerr)
	}
	return s.Checkout(ctx, a.CheckoutID)
}

// PesapalIPN handles a Pesapal IPN as received (GET query or POST body): what
// it names is stored, then confirmed with GetTransactionStatus. The reply is Pesapal's
// JSON acknowledgement with an HTTP status equal to its "status": 200 when
// the status was confirmed and stored, 500 when not, so that Pesapal
// retries; 400 for what is not a Pesapal notification. err says why the
// status was not stored (ErrInvalidNotification, ErrNotConfirmed,
// ErrNotFound, or a failure on our side); the reply is set either way.
func (s *Service) PesapalIPN(ctx context.Context, method string, query url.Values, contentType string, body []byte) (Reply, error) {
	n, err := pesapal.ParseNotification(method, query, contentType, body)
	if err != nil {
		return jsonReply(http.StatusBadRequest, map[string]any{"status": http.StatusBadRequest, "error": "not a Pesapal notification"}, ""),
			fmt.Errorf("%w: %v", ErrInvalidNotification, err)
	}
	if err := s.notificationAllowed("ipn:pesapal", n.OrderTrackingID); err != nil {
		return limitedReply(err, n.OrderTrackingID), err
	}
	_, _, err = s.PesapalNotification(ctx, n, "ipn:pesapal")
	status := http.StatusOK
	if err != nil {
		status = http.StatusInternalServerError
	}
	return Reply{Status: status, ContentType: "application/json", Body: pesapal.Ack(n, status), Reference: n.OrderTrackingID}, err
}

// PokeaPayIPN handles PokeaPay's instant payment notification as received
// (see pokeapayIPN). The reply is 200 once the verified status is stored,
// 404 for an unknown billreference, 500 when PokeaPay could not be asked
// (so that a retrying sender tries again), 400 for what is not a PokeaPay
// notification. err says why the status was not stored; the reply is set
// either way.
func (s *Service) PokeaPayIPN(ctx context.Context, contentType string, body []byte) (Reply, error) {
	n, err := pokeapay.ParseIPN(contentType, body)
	if err != nil {
		return jsonReply(http.StatusBadRequest, map[string]any{"status": "error", "message": "not a PokeaPay notification"}, ""),
			fmt.Errorf("%w: %v", ErrInvalidNotification, err)
	}
	if err := s.notificationAllowed("ipn:pokeapay", n.BillReference); err != nil {
		return limitedReply(err, n.BillReference), err
	}
	_, err = s.pokeapayIPN(ctx, n)
	switch {
	case err == nil:
		return jsonReply(http.StatusOK, map[string]any{"status": "ok", "billreference": n.BillReference}, n.BillReference), nil
	case errors.Is(err, ErrNotFound):
		return jsonReply(http.StatusNotFound, map[string]any{"status": "error", "message": "unknown billreference"}, n.BillReference), err
	}
	return jsonReply(http.StatusInternalServerError, map[string]any{"status": "error", "message": "not confirmed yet; retry later"}, n.BillReference), err
}
