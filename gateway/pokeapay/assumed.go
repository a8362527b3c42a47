package pokeapay

// This file holds the code of the constructions the document leaves open.
// Each is written down once, with what the document says, why the choice
// and what to confirm with PokeaPay, in testdata/ASSUMED.md; the comments
// here name its section.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
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

// verificationAnswer is the payment verification answer: a JSON object
// with "status" (one of the three documented values) and, when present,
// "oref", "amount" (major units, a string or a number) and a receipt,
// "referenceno" (the IPN's name for it) or "receipt"; "message" and "error"
// are kept for error text. The document lists the status values without
// showing an answer (ASSUMED.md, "Verification answer").
type verificationAnswer struct {
	Status      flexString `json:"status"`
	Oref        flexString `json:"oref"`
	Amount      flexString `json:"amount"`
	ReferenceNo flexString `json:"referenceno"`
	Receipt     flexString `json:"receipt"`
	Message     flexString `json:"message"`
	Error       flexString `json:"error"`
}

// parsedVerification is one verification answer once read.
type parsedVerification struct {
	// status is trimmed; when known it is one of the three values, in the
	// documented lower-case spelling.
	status string
	known  bool
	// oref, amount, receipt and message are trimmed, "" when absent.
	oref, amount, receipt, message string
}

// errNoStatus says an answer carried no status value at all.
var errNoStatus = errors.New("answer has no status")

// parseVerification reads a 2xx verification answer: the JSON object above,
// a JSON string, or (assumed too) a plain-text body that is just one of the
// three status values, in any case. An unknown status is returned with
// known false, so that the caller can report it.
func parseVerification(body []byte) (parsedVerification, error) {
	var p parsedVerification
	t := bytes.TrimSpace(body)
	switch {
	case len(t) == 0:
		return p, errNoStatus
	case t[0] == '{':
		var a verificationAnswer
		if err := json.Unmarshal(t, &a); err != nil {
			return p, err
		}
		p.status = string(a.Status)
		p.oref = strings.TrimSpace(string(a.Oref))
		p.amount = strings.TrimSpace(string(a.Amount))
		p.receipt = strings.TrimSpace(string(a.ReferenceNo))
		if p.receipt == "" {
			p.receipt = strings.TrimSpace(string(a.Receipt))
		}
		p.message = strings.TrimSpace(string(a.Message))
		if p.message == "" {
			p.message = strings.TrimSpace(string(a.Error))
		}
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return p, err
		}
		p.status = s
	default:
		p.status = string(t)
	}
	p.status = strings.TrimSpace(p.status)
	if p.status == "" {
		return p, errNoStatus
	}
	if lower := strings.ToLower(p.status); statusValues[lower] != "" {
		p.status, p.known = lower, true
	}
	return p, nil
}

// The STK API (REST integration).

// stkTokenLifetime is how long a token is taken to live when its JWT
// payload has no readable "exp" (ASSUMED.md, "STK token lifetime").
const stkTokenLifetime = time.Hour

// stkTokenRefused is the HTTP status of an answer that refuses the token
// (expired, revoked, or sent in a form PokeaPay does not take); on it the
// client tries the other Authorization form or logs in again (ASSUMED.md,
// "STK Authorization header" and "STK token refused").
const stkTokenRefused = http.StatusUnauthorized

// stkCallbackAssumed holds the STK callback fields the document does not
// show.
type stkCallbackAssumed struct {
	// ResultCode is M-Pesa's result code ("0", "1032", ...), a string or a
	// number, read when present (ASSUMED.md, "STK result code").
	ResultCode looseString `json:"resultCode"`
}

// stkPendingTexts, found (in any case) in the "error" or "message" of a
// query answer with "success": false, mean PokeaPay has nothing final yet.
// "lock subscriber" is the document's own Transaction Query "Error" answer
// ("Unableto lock subscriber, a transaction is already in process for the
// current subscriber"); the others are assumed (ASSUMED.md, "STK query
// pending texts").
var stkPendingTexts = []string{"lock subscriber", "in process", "pending"}

// stkNotFoundTexts, found (in any case) in the text of a query answer with
// "success": false, mean PokeaPay has no record of the prompt:
// gateway.StatusNotFound (ASSUMED.md, "STK query not found").
var stkNotFoundTexts = []string{"not found", "does not exist", "no record"}

// stkNotFoundSubjects: a 404 is read as "no record of the prompt" only when
// its text names the transaction or the order ("Transaction not found",
// "orderRef does not exist"); any other 404 may come from a proxy or a
// missing route (ASSUMED.md, "STK query answers by HTTP status").
var stkNotFoundSubjects = []string{"transaction", "order"}

// stkRouteTexts mark a not-found text about the URL, not the prompt
// ("Route not found", Express's "Cannot POST /..."): never read as
// StatusNotFound, whatever the HTTP status.
var stkRouteTexts = []string{"route", "endpoint", "cannot post"}

// mpesaCodeTexts maps M-Pesa's own result descriptions, lower-cased, to
// their result codes. PokeaPay's failure bodies carry a reason ("Failed
// Reason" in the document) and no code; when the reason is one of these
// M-Pesa sentences, the code is taken from it so that the customer is told
// what happened (ASSUMED.md, "STK result code").
var mpesaCodeTexts = map[string]string{
	"the balance is insufficient for the transaction": "1",
	"transaction has expired":                         "1019",
	"request cancelled by user":                       "1032",
	"ds timeout user cannot be reached":               "1037",
	"the initiator information is invalid":            "2001",
}

// mpesaCodeFor returns the M-Pesa result code of a failure reason that is
// one of M-Pesa's own sentences (any case, a final period ignored), or "".
func mpesaCodeFor(reason string) string {
	return mpesaCodeTexts[strings.TrimSuffix(strings.ToLower(strings.TrimSpace(reason)), ".")]
}
