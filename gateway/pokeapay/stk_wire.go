package pokeapay

// This file holds the STK API's request and answer types that the document
// shows, field for field ("API Integration" folder). The names the document
// does not show are in assumed.go.
//
// Answers and callbacks are read leniently: unknown fields are ignored,
// names match in any case (encoding/json's rule), values may be strings or
// numbers, and a value of an unexpected type reads as missing instead of
// failing the whole body, so that the code that needs the value names it.

import (
	"bytes"
	"strings"

	"checkout/gateway/internal/jsonx"
)

// loginRequest is the POST /login body.
type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// loginData is the "data" of the login answer
// ({"success":true,"message":"Login successful","data":{"token":"<JWT>"}}).
// A refused login answers {"success":false,"error":"..."}.
type loginData struct {
	Token looseString `json:"token"`
}

// stkPushRequest is the POST /stkPush/transaction body, with the
// document's field names. The document's example fills every field; the
// optional ones (variable1, variable2, customerName, customerEmail) are
// left out when they have no value, never sent as "": PokeaPay's error
// examples are those of a validator (Joi) that refuses empty strings.
type stkPushRequest struct {
	// Amount is in whole shillings, a JSON number (the document sends 1).
	Amount int64 `json:"amount"`
	// Phone matches the document's pattern ^(254(7|1)\d{8})$.
	Phone       string `json:"phone"`
	CallBackURL string `json:"callBackUrl"`
	OutletCode  string `json:"outletCode"`
	// OrderRef is our reference for the prompt: the payment attempt id.
	OrderRef string `json:"orderRef"`
	// Variable1 carries the merchant's order reference; Variable2 is not
	// used.
	Variable1     string `json:"variable1,omitempty"`
	Variable2     string `json:"variable2,omitempty"`
	CustomerName  string `json:"customerName,omitempty"`
	CustomerEmail string `json:"customerEmail,omitempty"`
}

// stkPushData is the "data" of the push answer
// ({"success":true,"message":"Transaction initiated successfully","data":{...}}).
type stkPushData struct {
	OrderRef looseString `json:"orderRef"`
	Amount   looseString `json:"amount"`
	Phone    looseString `json:"phone"`
}

// stkCallbackData is the "data" of the STK callback and of the
// transaction query answer (the document's "Transaction Query Success"
// example is the success callback's body). The success body carries every
// field; the failure body has no receipt and no names.
type stkCallbackData struct {
	Receipt    looseString `json:"receipt"`
	Firstname  looseString `json:"firstname"`
	Middlename looseString `json:"middlename"`
	Lastname   looseString `json:"lastname"`
	OrderRef   looseString `json:"orderRef"`
	Amount     looseString `json:"amount"`
	Phone      looseString `json:"phone"`
	OutletCode looseString `json:"outletCode"`
	Variable1  looseString `json:"variable1"`
	Variable2  looseString `json:"variable2"`
	// stkCallbackAssumed adds the names the document does not show.
	stkCallbackAssumed
}

// transactionQueryRequest is the POST /transaction/query body. Its answers
// are the document's saved responses: see queryResult.
type transactionQueryRequest struct {
	// Amount is in whole shillings, a JSON number.
	Amount     int64  `json:"amount"`
	Phone      string `json:"phone"`
	OutletCode string `json:"outletCode"`
	OrderRef   string `json:"orderRef"`
}

// looseString is jsonx.Text: a JSON string or number as text, anything else "".
type looseString = jsonx.Text

// looseBool reads true/false as a JSON boolean, a string ("true", "False")
// or 1/0. Set is false when the value is missing or none of these.
type looseBool struct {
	Set   bool
	Value bool
}

// UnmarshalJSON never fails: an unreadable value leaves the flag unset.
func (f *looseBool) UnmarshalJSON(b []byte) error {
	*f = looseBool{}
	switch strings.ToLower(strings.TrimSpace(strings.Trim(string(bytes.TrimSpace(b)), `"`))) {
	case "true", "1":
		*f = looseBool{Set: true, Value: true}
	case "false", "0":
		*f = looseBool{Set: true, Value: false}
	}
	return nil
}

// isTrue reports a value that is set and true.
func (f looseBool) isTrue() bool { return f.Set && f.Value }
