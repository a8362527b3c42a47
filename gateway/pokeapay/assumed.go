package pokeapay

// This file holds every construction the document leaves open, so that
// confirming them against PokeaPay's live sandbox means reading one file.
// Each is listed, with the reason for the choice, in the package comment.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"checkout/gateway"
)

// checkoutLink builds the hosted checkout URL from the parameters in the
// document's order.
//
// Assumed: the checkout is a GET with the parameters in the query string.
// The document's request is a GET that carries them as form data, which a
// browser cannot send; a query string is the GET equivalent, and the return
// URL comes back the same way.
func checkoutLink(base *url.URL, params [][2]string) string {
	u := *base
	u.RawQuery = encodeQuery(params)
	return u.String()
}

// VerificationHash is the "hash" parameter of the payment verification.
//
// Assumed: the lowercase hex of HMAC-SHA1(hashKey, bill_ref . oc), the
// return URL hash's construction (bill_ref being the oref). The document
// names the parameter and gives no construction. It is exported for the
// sandbox simulator, which must check what this client sends.
func VerificationHash(hashKey, billRef, oc string) string {
	return hmacSHA1Hex(hashKey, billRef+oc)
}

// verificationAnswer is the payment verification answer.
//
// Assumed: a JSON object with "status" (one of the three documented values)
// and, when present, "oref"; a "message" is kept for error text. The
// document lists these "variables" without showing an answer.
type verificationAnswer struct {
	Status  flexString `json:"status"`
	Oref    flexString `json:"oref"`
	Message flexString `json:"message"`
}

// errNoStatus says an answer carried no status value at all.
var errNoStatus = errors.New("answer has no status")

// parseVerification reads a 2xx verification answer: the JSON object above,
// a JSON string, or (assumed too) a plain-text body that is just one of the
// three status values, in any case. It returns the status value trimmed,
// as sent, with known true when it is one of the three (then status is the
// documented lower-case spelling), and the oref and message when the
// answer has them. An unknown status is returned with known false, so that
// the caller can report it.
func parseVerification(body []byte) (status, oref, message string, known bool, err error) {
	t := bytes.TrimSpace(body)
	switch {
	case len(t) == 0:
		return "", "", "", false, errNoStatus
	case t[0] == '{':
		var a verificationAnswer
		if err := json.Unmarshal(t, &a); err != nil {
			return "", "", "", false, err
		}
		status, oref, message = string(a.Status), strings.TrimSpace(string(a.Oref)), string(a.Message)
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", "", "", false, err
		}
		status = s
	default:
		status = string(t)
	}
	status = strings.TrimSpace(status)
	if status == "" {
		return "", oref, message, false, errNoStatus
	}
	if lower := strings.ToLower(status); statusValues[lower] != "" {
		return lower, oref, message, true, nil
	}
	return status, oref, message, false, nil
}

// TypeForMethod maps an IPN's "method" to the verification type: "c" (card)
// or "m" (M-Pesa).
//
// Assumed: the document does not list the values of "method". A method
// containing "card", "visa" or "master" (any case) is a card payment;
// anything else, an empty method included, is M-Pesa, PokeaPay's main
// channel. Confirm does not rely on it (it asks about both types), so a
// wrong guess can only cost a verification that answers "failed" for the
// other channel, never a wrong status.
func TypeForMethod(method string) string {
	m := strings.ToLower(method)
	for _, card := range []string{"card", "visa", "master"} {
		if strings.Contains(m, card) {
			return TypeCard
		}
	}
	return TypeMPesa
}

// The STK API (REST integration): every name below is assumed, in the
// same sense as above, and listed in the package comment.

// stkAuthScheme prefixes the token in the Authorization header.
//
// Assumed: "Bearer <token>". The document's Authentication folder is set to
// Postman's bearer auth, which sends exactly that, but its STK examples
// show an Authorization header holding a bare placeholder value.
const stkAuthScheme = "Bearer "

// stkTokenLifetime is how long a token is taken to live when its JWT
// payload has no readable "exp".
//
// Assumed: one hour, the lifetime of the document's sample token (its iat
// and exp are 3600 s apart). The document states none.
const stkTokenLifetime = time.Hour

// stkTokenRefused is the HTTP status of an answer that refuses the token
// (expired, revoked); on it the client logs in again and repeats the call
// once.
//
// Assumed: 401, the usual answer of an Express API (which PokeaPay's
// headers show it is) to a bad bearer token. The document shows no such
// answer.
const stkTokenRefused = http.StatusUnauthorized

// stkCallbackAssumed holds the STK callback fields the document does not
// show.
type stkCallbackAssumed struct {
	// ResultCode is M-Pesa's result code ("0", "1032", ...), a string or a
	// number.
	//
	// Assumed: "data.resultCode", read when present; the document's
	// callbacks carry no code, so without it STKCallback.Code is empty.
	ResultCode looseString `json:"resultCode"`
}

// transactionQueryData is the "data" of the transaction query answer.
//
// Assumed: the whole answer. The document's "Transaction Query" examples
// are copies of the push answers and of the success callback, so the
// answer is taken to be the same envelope, {"success": bool, "message":
// string, "data": {...}}, with the fields below in data. In particular the
// document's own "Transaction Query Success" example (the success callback
// body, without a status) is NOT read as a success: it has no data.status,
// and Confirm reports it as an error.
type transactionQueryData struct {
	// Status is "COMPLETED", "FAILED" or "PENDING" in any case, with
	// "SUCCESS" and "PAID" also meaning completed (see stkStatusWords).
	Status looseString `json:"status"`
	// Receipt is the M-Pesa receipt; a completed status needs one.
	Receipt looseString `json:"receipt"`
	// Amount is in shillings, a number or a string.
	Amount   looseString `json:"amount"`
	Phone    looseString `json:"phone"`
	OrderRef looseString `json:"orderRef"`
	// ResultCode and ResultDesc are M-Pesa's result code and its text.
	ResultCode looseString `json:"resultCode"`
	ResultDesc looseString `json:"resultDesc"`
}

// stkStatusWords maps data.status, lower-cased, to our statuses. Any other
// value is an error, never a success.
//
// Assumed: the words themselves (see transactionQueryData).
var stkStatusWords = map[string]gateway.Status{
	"completed": gateway.StatusSucceeded,
	"success":   gateway.StatusSucceeded,
	"paid":      gateway.StatusSucceeded,
	"failed":    gateway.StatusFailed,
	"pending":   gateway.StatusPending,
}

// stkPendingTexts, found (in any case) in the text of a query answer with
// "success": false and no data.status, mean PokeaPay has nothing final yet
// ("Transaction not found", "Request is pending"): pending, not a failure.
//
// Assumed: the texts; the document shows no such answer.
var stkPendingTexts = []string{"not found", "pending"}
