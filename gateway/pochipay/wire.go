package pochipay

// This file holds every request and answer type, and so every field name
// this client sends or reads. The published page lost its sample bodies:
// each name here but the token answer's is assumed (testdata/ASSUMED.md,
// next to the example bodies) and must be confirmed against Pochipay's live
// sandbox. Confirming them means reading this file.
//
// Answers are read leniently: unknown fields are ignored, names match in
// any case (encoding/json's rule), and a value of an unexpected type reads
// as missing instead of failing the whole answer, so that the code that
// needs the value names it.

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"checkout/gateway/internal/jsonx"
)

// tokenRequest is the /account/token body (names from the published page).
type tokenRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// tokenResult is the "result" of the /account/token answer.
type tokenResult struct {
	AccessToken flexString `json:"accessToken"`
	// AccessTokenSnake is the published page's own spelling ("Save the
	// access_token"), read when accessToken is missing.
	AccessTokenSnake flexString `json:"access_token"`
	// TokenType is "Bearer"; the client sends "Bearer" whatever it says.
	TokenType flexString `json:"tokenType"`
	// ExpiresIn is the token's lifetime in seconds (3600).
	ExpiresIn flexString `json:"expiresIn"`
}

// envelope wraps every Pochipay answer: {"result": ..., "message": ...,
// "errors": [...]}.
type envelope struct {
	Result  json.RawMessage `json:"result"`
	Message messages        `json:"message"`
	Errors  messages        `json:"errors"`
}

// collectionRequest is the POST /collections/mpesa body.
type collectionRequest struct {
	OrderID string `json:"orderId"`
	// BillRefNumber and Narration are filled in when the attempt has no
	// value for them (see collection); omitempty keeps an empty one from
	// ever going out as "".
	BillRefNumber string `json:"billRefNumber,omitempty"`
	PhoneNumber   string `json:"phoneNumber"`
	// Amount is in whole shillings, sent as a JSON integer.
	Amount      int64  `json:"amount"`
	Narration   string `json:"narration,omitempty"`
	CallbackURL string `json:"callbackUrl"`
}

// collectionResult is the "result" of the POST /collections/mpesa answer.
type collectionResult struct {
	CollectionID flexString `json:"collectionId"`
	IsProcessing flexBool   `json:"isProcessing"`
}

// statusRequest is the POST /collections/mpesa/transaction-status body.
type statusRequest struct {
	CollectionID string `json:"collectionId"`
}

// queryOrderID is the collection-query parameter for our order id. Unlike
// the other names it is on the published page ("MpesaReference,
// BillReferenceNumber, or OrderId").
const queryOrderID = "OrderId"

// statusResult is the "result" of both the transaction-status and the
// collection-query answers.
type statusResult struct {
	// Status is "Complete", "Failed" or "Pending", in any case.
	Status         flexString `json:"status"`
	IsSuccessful   flexBool   `json:"isSuccessful"`
	MpesaReference flexString `json:"mpesaReference"`
	// Amount is in shillings, a number or a string; it is in no documented
	// status shape, so null or missing means "not reported".
	Amount      optionalAmount `json:"amount"`
	OrderID     flexString     `json:"orderId"`
	PhoneNumber flexString     `json:"phoneNumber"`
	// CollectionID is read when present, so that an attempt found by the
	// collection query learns its collection id.
	CollectionID flexString `json:"collectionId"`
	// ResultCode is M-Pesa's result code ("0", "1032", ...), a number or a
	// string; not in any published shape.
	ResultCode        flexString `json:"resultCode"`
	ResultDescription flexString `json:"resultDescription"`
	FailReason        flexString `json:"failReason"`
}

// callbackBody is the collection callback.
type callbackBody struct {
	OrderID       flexString `json:"orderId"`
	BillRefNumber flexString `json:"billRefNumber"`
	PhoneNumber   flexString `json:"phoneNumber"`
	Amount        flexString `json:"amount"`
	// ThirdPartyReference is the M-Pesa receipt.
	ThirdPartyReference flexString `json:"thirdPartyReference"`
	IsSuccessful        flexBool   `json:"isSuccessful"`
	FailReason          flexString `json:"failReason"`
	ResultDescription   flexString `json:"resultDescription"`
	// ResultCode is M-Pesa's result code, read when present; not in any
	// published shape.
	ResultCode flexString `json:"resultCode"`
	// CollectionID is read when present; not in any published shape.
	CollectionID flexString `json:"collectionId"`
}

// The disbursement types below are Payouts' (payouts.go); execute-narration
// has no call. The tests decode every disbursement example with them.

// sendToMobileRequest is the POST /disbursement/send-to-mobile body.
type sendToMobileRequest struct {
	CallbackURL       string                  `json:"callbackUrl"`
	RequestID         string                  `json:"requestId"`
	DisbursementTitle string                  `json:"disbursementTitle"`
	Recipients        []sendToMobileRecipient `json:"recipients"`
}

// sendToMobileRecipient is one payout of a send-to-mobile request.
type sendToMobileRecipient struct {
	// Amount is in whole shillings, a JSON integer.
	Amount int64 `json:"amount"`
	// Remarks is left out when empty, never sent as "".
	Remarks           string `json:"remarks,omitempty"`
	TrackingReference string `json:"trackingReference"`
	PhoneNumber       string `json:"phoneNumber"`
}

// sendToMobileResult is the "result" of the send-to-mobile answer.
type sendToMobileResult struct {
	RequestID    flexString `json:"requestId"`
	IsProcessing flexBool   `json:"isProcessing"`
}

// payoutCallback is the disbursement callback.
type payoutCallback struct {
	Successful        flexBool   `json:"successful"`
	RequestID         flexString `json:"requestId"`
	TrackingReference flexString `json:"trackingReference"`
	// ThirdPartyReference is the M-Pesa receipt of the payout.
	ThirdPartyReference flexString `json:"thirdPartyReference"`
	FailReason          flexString `json:"failReason"`
}

// trackingRequest is the body of POST /disbursement/transaction-status and
// POST /disbursement/cancel.
type trackingRequest struct {
	TrackingReference string `json:"trackingReference"`
}

// disbursementStatusResult is the "result" of the disbursement
// transaction-status answer.
type disbursementStatusResult struct {
	TrackingReference flexString `json:"trackingReference"`
	// Status is "Pending" or "Completed" (the page's word), in any case.
	Status              flexString `json:"status"`
	ThirdPartyReference flexString `json:"thirdPartyReference"`
	// NarrationID is set on a pending disbursement that execute-narration
	// can retry.
	NarrationID flexString `json:"narrationId"`
	FailReason  flexString `json:"failReason"`
}

// executeNarrationRequest is the POST /disbursement/execute-narration body.
type executeNarrationRequest struct {
	NarrationID string `json:"narrationId"`
}

// balanceResult is the "result" of GET /account/balance.
type balanceResult struct {
	Currency flexString `json:"currency"`
	// Balance is in shillings, a number or a string.
	Balance optionalAmount `json:"balance"`
}

// optionalAmount reads an amount that may be missing. Set is false when
// the key is missing, null or "" (not reported); otherwise Text holds the
// number's digits or the string's text, and OK says whether it was a
// number or a string at all (an object, an array or a boolean is not an
// amount, which the code that needs it reports).
type optionalAmount struct {
	Set  bool
	OK   bool
	Text string
}

// UnmarshalJSON never fails: see optionalAmount.
func (a *optionalAmount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*a = optionalAmount{}
	switch {
	case len(b) == 0 || string(b) == "null":
	case b[0] == '"':
		var v string
		if json.Unmarshal(b, &v) == nil && strings.TrimSpace(v) == "" {
			return nil
		}
		*a = optionalAmount{Set: true, OK: true, Text: strings.TrimSpace(v)}
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*a = optionalAmount{Set: true, OK: true, Text: string(b)}
	default:
		*a = optionalAmount{Set: true}
	}
	return nil
}

// flexString is jsonx.Text: a JSON string or number as text, anything else "".
type flexString = jsonx.Text

// flexBool reads true/false as a JSON boolean, a string ("true", "False")
// or 1/0. Set is false when the value is missing or none of these.
type flexBool struct {
	Set   bool
	Value bool
}

// UnmarshalJSON never fails: an unreadable value leaves the flag unset.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	*f = flexBool{}
	v := strings.ToLower(strings.Trim(string(bytes.TrimSpace(b)), `"`))
	switch strings.TrimSpace(v) {
	case "true", "1":
		*f = flexBool{Set: true, Value: true}
	case "false", "0":
		*f = flexBool{Set: true, Value: false}
	}
	return nil
}

// messages reads Pochipay's "message" and "errors", whose shape is not
// published: a string, an array of strings or objects ([{"code": 1001,
// "message": "..."}]), or an ASP.NET validation map ({"PhoneNumber":
// ["..."]}). Every string and number in it is kept, objects' values in key
// order joined with ": ", so that no shape loses the text. It never fails.
type messages []string

// UnmarshalJSON never fails: see messages.
func (m *messages) UnmarshalJSON(b []byte) error {
	*m = nil
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return nil
	}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			m.add(strings.Join(leaves(e), ": "))
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			m.add(strings.Join(append([]string{k}, leaves(t[k])...), ": "))
		}
	default:
		m.add(strings.Join(leaves(t), ": "))
	}
	return nil
}

// add appends s when it is not blank.
func (m *messages) add(s string) {
	if s = strings.TrimSpace(s); s != "" {
		*m = append(*m, s)
	}
}

// leaves lists the strings and numbers in v, depth first, objects in key
// order.
func leaves(v any) []string {
	switch t := v.(type) {
	case string:
		if strings.TrimSpace(t) == "" {
			return nil
		}
		return []string{strings.TrimSpace(t)}
	case json.Number:
		return []string{t.String()}
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, leaves(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, k := range slices.Sorted(maps.Keys(t)) {
			out = append(out, leaves(t[k])...)
		}
		return out
	}
	return nil
}
