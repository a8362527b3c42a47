package pesapal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidNotification is wrapped by every error ParseNotification returns,
// so that an IPN handler can answer 400 without looking at the text.
var ErrInvalidNotification = errors.New("pesapal: invalid notification")

// Notification types Pesapal sends.
const (
	// NotificationIPN marks an IPN call.
	NotificationIPN = "IPNCHANGE"
	// NotificationCallback marks the customer's return to the callback URL.
	NotificationCallback = "CALLBACKURL"
)

// Limits on what ParseNotification accepts. Pesapal's values are a GUID, our
// own reference and a short word; anything longer is not from Pesapal.
const (
	maxNotificationValue = 100
	maxNotificationBody  = 16 << 10
)

// The parameter names of the callback and of the IPN.
const (
	keyTrackingID = "OrderTrackingId"
	keyReference  = "OrderMerchantReference"
	keyType       = "OrderNotificationType"
)

// Notification is what an IPN (or the callback URL) carries: which order to
// look at, never its status. Only GetTransactionStatus says what happened.
type Notification struct {
	// OrderTrackingID is Pesapal's id for the order; always set.
	OrderTrackingID string
	// OrderMerchantReference is the SubmitOrderRequest id (our attempt id).
	OrderMerchantReference string
	// OrderNotificationType is IPNCHANGE for an IPN, CALLBACKURL for the
	// callback.
	OrderNotificationType string
}

// ParseNotification reads an IPN. Pesapal sends it as GET query parameters
// or, when the IPN URL was registered for POST, as a JSON body; a POST with
// a form body, or with the values in its query string and an empty body, is
// accepted too. Give it the request's method, its query, the Content-Type
// header and the body (the caller limits how much it reads).
//
// It refuses a missing OrderTrackingId, a value longer than 100 characters,
// a value that is not printable UTF-8, and a parameter sent twice with
// different values. Errors wrap ErrInvalidNotification.
func ParseNotification(method string, query url.Values, contentType string, body []byte) (Notification, error) {
	var (
		n   Notification
		err error
	)
	switch strings.ToUpper(method) {
	case http.MethodGet:
		n, err = fromValues(query)
	case http.MethodPost:
		n, err = fromPost(query, contentType, body)
	default:
		return Notification{}, fmt.Errorf("%w: method %.10q is not GET or POST", ErrInvalidNotification, method)
	}
	if err != nil {
		return Notification{}, err
	}
	if err := n.check(); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// fromPost reads a POST IPN: the body when it holds anything, else the query.
func fromPost(query url.Values, contentType string, body []byte) (Notification, error) {
	if len(body) > maxNotificationBody {
		return Notification{}, fmt.Errorf("%w: body is larger than %d bytes", ErrInvalidNotification, maxNotificationBody)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return fromValues(query)
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// A missing or garbled Content-Type is judged by the body itself.
		mediaType = ""
	}
	isJSON := mediaType == "application/json" || strings.HasSuffix(mediaType, "+json") ||
		(mediaType != "application/x-www-form-urlencoded" && trimmed[0] == '{')
	var n Notification
	if isJSON {
		n, err = fromJSON(trimmed)
	} else {
		form, perr := url.ParseQuery(string(trimmed))
		if perr != nil {
			return Notification{}, fmt.Errorf("%w: body is neither JSON nor a form", ErrInvalidNotification)
		}
		n, err = fromValues(form)
	}
	if err != nil {
		return Notification{}, err
	}
	if n == (Notification{}) {
		// A body with none of the parameters: the values may be in the query.
		return fromValues(query)
	}
	return n, nil
}

// fromJSON reads the document's POST body:
// {"OrderNotificationType": ..., "OrderTrackingId": ..., "OrderMerchantReference": ...}.
// encoding/json matches keys without regard to case.
func fromJSON(body []byte) (Notification, error) {
	var v struct {
		OrderNotificationType  string `json:"OrderNotificationType"`
		OrderTrackingID        string `json:"OrderTrackingId"`
		OrderMerchantReference string `json:"OrderMerchantReference"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return Notification{}, fmt.Errorf("%w: body is not the JSON object Pesapal sends", ErrInvalidNotification)
	}
	return Notification{
		OrderTrackingID:        strings.TrimSpace(v.OrderTrackingID),
		OrderMerchantReference: strings.TrimSpace(v.OrderMerchantReference),
		OrderNotificationType:  strings.TrimSpace(v.OrderNotificationType),
	}, nil
}

// fromValues reads query or form parameters.
func fromValues(v url.Values) (Notification, error) {
	var n Notification
	for _, f := range []struct {
		key string
		dst *string
	}{
		{keyTrackingID, &n.OrderTrackingID},
		{keyReference, &n.OrderMerchantReference},
		{keyType, &n.OrderNotificationType},
	} {
		s, err := single(v, f.key)
		if err != nil {
			return Notification{}, err
		}
		*f.dst = s
	}
	return n, nil
}

// single returns the one value of key, matching the key without regard to
// case as encoding/json does for the POST body. The same key sent twice with
// different values is refused: which one Pesapal meant cannot be known.
func single(v url.Values, key string) (string, error) {
	found, value := false, ""
	for k, vals := range v {
		if !strings.EqualFold(k, key) {
			continue
		}
		for _, s := range vals {
			s = strings.TrimSpace(s)
			if found && s != value {
				return "", fmt.Errorf("%w: %s is sent more than once with different values", ErrInvalidNotification, key)
			}
			found, value = true, s
		}
	}
	return value, nil
}

// check applies the rules every notification must meet.
func (n Notification) check() error {
	if n.OrderTrackingID == "" {
		return fmt.Errorf("%w: %s is missing", ErrInvalidNotification, keyTrackingID)
	}
	for _, f := range []struct{ key, val string }{
		{keyTrackingID, n.OrderTrackingID},
		{keyReference, n.OrderMerchantReference},
		{keyType, n.OrderNotificationType},
	} {
		if !utf8.ValidString(f.val) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidNotification, f.key)
		}
		if utf8.RuneCountInString(f.val) > maxNotificationValue {
			return fmt.Errorf("%w: %s is longer than %d characters", ErrInvalidNotification, f.key, maxNotificationValue)
		}
		for _, r := range f.val {
			if !unicode.IsPrint(r) {
				return fmt.Errorf("%w: %s contains a character that is not printable", ErrInvalidNotification, f.key)
			}
		}
	}
	return nil
}

// ack is the IPN acknowledgement; the field order is the document's sample.
type ack struct {
	OrderNotificationType  string `json:"orderNotificationType"`
	OrderTrackingID        string `json:"orderTrackingId"`
	OrderMerchantReference string `json:"orderMerchantReference"`
	Status                 int    `json:"status"`
}

// Ack builds the JSON acknowledgement an IPN endpoint answers, exactly as in
// the document's sample:
//
//	{"orderNotificationType":"IPNCHANGE","orderTrackingId":"...","orderMerchantReference":"...","status":200}
//
// status is 200 when the IPN was received and processed, 500 when it was
// received but processing failed, so that Pesapal tries again.
func Ack(n Notification, status int) []byte {
	b, err := json.Marshal(ack{
		OrderNotificationType:  n.OrderNotificationType,
		OrderTrackingID:        n.OrderTrackingID,
		OrderMerchantReference: n.OrderMerchantReference,
		Status:                 status,
	})
	if err != nil {
		// Marshalling strings and an int cannot fail; this keeps the
		// answer well-formed should that ever change.
		return fmt.Appendf(nil, `{"status":%d}`, status)
	}
	return b
}
