package pokeapay

// This file holds every construction the document leaves open, so that
// confirming them against PokeaPay's live sandbox means reading one file.
// Each is listed, with the reason for the choice, in the package comment.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
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
