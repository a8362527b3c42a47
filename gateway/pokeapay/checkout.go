package pokeapay

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/url"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
)

// CurrencyKES is the only currency PokeaPay's checkout takes ("KES By
// Default" in the document).
const CurrencyKES = "KES"

// CheckoutRequest is one hosted checkout: the document's checkout
// parameters that vary per order. oc, live and hsh come from the Client.
type CheckoutRequest struct {
	// OrderRef is "oref", the order reference: for us the payment attempt
	// id, at most 50 characters. Verification and the IPN name it.
	OrderRef string
	// Amount is "amt", written in major units with two decimals and no
	// thousands separator ("1500.00"); it must be more than zero.
	Amount gateway.Amount
	// Currency is "curr": KES, the only currency (empty means KES, the
	// document's default).
	Currency string
	// CustomerName is "cn".
	CustomerName string
	// Email is "eml", the customer's email address; it is part of the hash
	// and required, so that no hashed field is empty (ASSUMED.md, "Checkout
	// hash boundaries").
	Email string
	// Phone is "tel", the customer's phone number; it is part of the hash
	// and required, like Email. Normalising it (254 + 9 digits) is the
	// caller's job.
	Phone string
	// CallbackURL is "cb": where PokeaPay sends the customer back, with the
	// return parameters (see ParseReturn). Absolute http(s).
	CallbackURL string
	// V1 and V2 are "v1" and "v2", the document's optional custom variables.
	V1, V2 string
}

// CheckoutURL returns the URL of PokeaPay's hosted payment page for r: the
// Client's CheckoutURL with every parameter of the document, in its order:
// oc, live, cn, eml, tel, curr, oref, cb, amt, hsh, v1, v2. Text values are
// sent without surrounding spaces, amt is written by WireAmount, and hsh is
// computed over exactly what is sent. The request is checked first (oref,
// amount, tel, eml and cb are required); nothing is sent to PokeaPay.
func (c *Client) CheckoutURL(r CheckoutRequest) (string, error) {
	const op = "checkout URL"
	r = r.trimmed()
	if err := r.validate(op); err != nil {
		return "", err
	}
	live := c.liveValue()
	amt := WireAmount(r.Amount)
	hsh := CheckoutHash(c.hashKey, live, r.OrderRef, amt, r.Phone, r.Email, c.outletCode)
	return checkoutLink(c.checkoutURL, [][2]string{
		{"oc", c.outletCode},
		{"live", live},
		{"cn", r.CustomerName},
		{"eml", r.Email},
		{"tel", r.Phone},
		{"curr", CurrencyKES},
		{"oref", r.OrderRef},
		{"cb", r.CallbackURL},
		{"amt", amt},
		{"hsh", hsh},
		{"v1", r.V1},
		{"v2", r.V2},
	}), nil
}

// WireAmount writes an amount the way this client sends it to PokeaPay:
// major units, always two decimals, no thousands separator ("1500.00"), as
// the document's checkout asks ("amt=1234.00 and NOT amt=1,234.00"). The
// checkout link's amt and the payment verification's amount are both
// written by it, so that the verification asks about exactly the amount
// string the link carried (ASSUMED.md, "Verification amount").
func WireAmount(a gateway.Amount) string {
	return a.String()
}

// liveValue is the document's live parameter: "1" live, "0" demo.
func (c *Client) liveValue() string {
	if c.live {
		return "1"
	}
	return "0"
}

// CheckoutHash is the checkout's hsh, as the document's PHP sample builds it:
//
//	$data_string = $live . $oref . $amount . $phone . $email . $outlet_code;
//	$hash = hash_hmac('sha1', $data_string, $hash_key);
//
// that is the lowercase hex of HMAC-SHA1(hashKey, live . oref . amt . tel .
// eml . oc), concatenated with no separators in exactly that order. Each
// argument is the value as sent in the URL.
func CheckoutHash(hashKey, live, oref, amt, tel, eml, oc string) string {
	return hmacSHA1Hex(hashKey, live+oref+amt+tel+eml+oc)
}

// hmacSHA1Hex is PHP's hash_hmac('sha1', data, key): lowercase hex.
func hmacSHA1Hex(key, data string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(data)) // a hash.Hash never returns an error
	return hex.EncodeToString(m.Sum(nil))
}

// trimmed returns r with spaces removed around its text values.
func (r CheckoutRequest) trimmed() CheckoutRequest {
	for _, s := range []*string{&r.OrderRef, &r.Currency, &r.CustomerName, &r.Email, &r.Phone, &r.CallbackURL, &r.V1, &r.V2} {
		*s = strings.TrimSpace(*s)
	}
	return r
}

// validate applies the document's rules and ours before a URL is built.
func (r CheckoutRequest) validate(op string) error {
	switch {
	case r.OrderRef == "":
		return invalid(op, "oref is required")
	case utf8.RuneCountInString(r.OrderRef) > maxOrderRef:
		return invalid(op, "oref is longer than %d characters", maxOrderRef)
	case r.Amount <= 0:
		return invalid(op, "amt must be more than zero")
	case r.Phone == "":
		// tel and eml are hashed next to each other and to amt: an empty
		// one would let two different links share a hash input.
		return invalid(op, "tel is required")
	case r.Email == "":
		return invalid(op, "eml is required")
	case r.Currency != "" && r.Currency != CurrencyKES:
		return invalid(op, "curr must be KES")
	case !absoluteHTTP(r.CallbackURL):
		return invalid(op, "cb must be an absolute http(s) URL")
	}
	for _, f := range []struct{ key, val string }{
		{"oref", r.OrderRef}, {"cn", r.CustomerName}, {"eml", r.Email}, {"tel", r.Phone},
		{"cb", r.CallbackURL}, {"v1", r.V1}, {"v2", r.V2},
	} {
		if !printable(f.val) {
			return invalid(op, "%s contains a character that is not printable", f.key)
		}
		if utf8.RuneCountInString(f.val) > maxText {
			return invalid(op, "%s is longer than %d characters", f.key, maxText)
		}
	}
	return nil
}

// absoluteHTTP reports whether s is an absolute http or https URL with a
// host.
func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}
