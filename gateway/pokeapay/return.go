package pokeapay

import (
	"crypto/hmac"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Values of the return URL's type parameter and of the verification's type.
const (
	// TypeMPesa is "m": paid with M-Pesa.
	TypeMPesa = "m"
	// TypeCard is "c": paid by card.
	TypeCard = "c"
)

// maxReturnValue limits each return parameter; PokeaPay's are a reference,
// a 40-character hash, a letter, a digit and an amount.
const maxReturnValue = 100

// Return is what PokeaPay puts on the return URL (cb) when it sends the
// customer back:
//
//	?oref=23&hsh=...&type=m&amount=100&status=1
//
// It carries no proof of payment: the hash covers only oref and the outlet
// code, so it says "this order went through PokeaPay", never "paid" or how
// much. Use it only as a signal to ask VerifyPayment (or Confirm).
type Return struct {
	// OrderRef is "oref", the order reference sent at checkout.
	OrderRef string
	// Hash is "hsh": HMAC-SHA1 over oref . oc (see ReturnHash).
	Hash string
	// Type is "type": "m" (M-Pesa) or "c" (card), as PokeaPay sent it.
	Type string
	// Amount is "amount", the amount paid as PokeaPay wrote it ("100"); not
	// covered by the hash, so not to be trusted.
	Amount string
	// Status is "1" (paid) or "0" (pending), as PokeaPay sent it; read from
	// "status" or its misspelling "sstatus" in the document's example. Not
	// covered by the hash, so not to be trusted.
	Status string
}

// ParseReturn reads the return URL's query. It refuses a missing oref, a
// parameter sent twice with different values (status and sstatus
// included), a value longer than 100 characters and a value that is not
// printable UTF-8; errors wrap ErrInvalidReturn. Other values are kept as
// sent: they are not trusted anyway. Check the hash with VerifyReturn.
func (c *Client) ParseReturn(q url.Values) (Return, error) {
	var r Return
	for _, f := range []struct {
		keys []string
		dst  *string
	}{
		{[]string{"oref"}, &r.OrderRef},
		{[]string{"hsh"}, &r.Hash},
		{[]string{"type"}, &r.Type},
		{[]string{"amount"}, &r.Amount},
		{[]string{"status", "sstatus"}, &r.Status},
	} {
		v, err := single(q, f.keys...)
		if err != nil {
			return Return{}, fmt.Errorf("%w: %w", ErrInvalidReturn, err)
		}
		if !printable(v) {
			return Return{}, fmt.Errorf("%w: %s contains a character that is not printable", ErrInvalidReturn, f.keys[0])
		}
		if utf8.RuneCountInString(v) > maxReturnValue {
			return Return{}, fmt.Errorf("%w: %s is longer than %d characters", ErrInvalidReturn, f.keys[0], maxReturnValue)
		}
		*f.dst = v
	}
	if r.OrderRef == "" {
		return Return{}, fmt.Errorf("%w: oref is missing", ErrInvalidReturn)
	}
	return r, nil
}

// VerifyReturn checks the return's hsh against HMAC-SHA1(hash key, oref .
// oc), in constant time. A missing, wrong, truncated or differently spelled
// (upper-case) hash is ErrBadHash. Passing it proves only that PokeaPay
// wrote the return for this oref, not that anything was paid.
func (c *Client) VerifyReturn(r Return) error {
	switch {
	case r.OrderRef == "":
		return fmt.Errorf("%w: oref is missing", ErrBadHash)
	case r.Hash == "":
		return fmt.Errorf("%w: hsh is missing", ErrBadHash)
	}
	want := ReturnHash(c.hashKey, r.OrderRef, c.outletCode)
	if !hmac.Equal([]byte(r.Hash), []byte(want)) {
		return fmt.Errorf("%w: hsh does not match", ErrBadHash)
	}
	return nil
}

// ReturnHash is the return URL's hsh, as the document's PHP sample builds it:
//
//	$data_string = $oref . $outlet;
//	$generated_hash = hash_hmac('sha1', $data_string, $hashkey);
//
// that is the lowercase hex of HMAC-SHA1(hashKey, oref . oc).
func ReturnHash(hashKey, oref, oc string) string {
	return hmacSHA1Hex(hashKey, oref+oc)
}

// single returns the one value of the first of keys that is present,
// trimmed, matching keys without regard to case. A key sent twice with
// different values, or two of keys with different values, is refused:
// which one PokeaPay meant cannot be known.
func single(v url.Values, keys ...string) (string, error) {
	found, value, first := false, "", ""
	for _, key := range keys {
		for k, vals := range v {
			if !strings.EqualFold(k, key) {
				continue
			}
			for _, s := range vals {
				s = strings.TrimSpace(s)
				switch {
				case !found:
					found, value, first = true, s, key
				case s == value:
				case first == key:
					return "", fmt.Errorf("%s is sent more than once with different values", key)
				default:
					return "", fmt.Errorf("%s and %s are sent with different values", first, key)
				}
			}
		}
	}
	return value, nil
}
