package payments

import (
	"errors"
	"strings"
)

// ErrPhone is the customer's sentence for a number that is not a Kenyan
// mobile number.
var ErrPhone = errors.New(customerMsg("msg_phone_invalid"))

// NormalizePhone turns what Kenyan customers type (07XXXXXXXX, 01XXXXXXXX,
// +2547XXXXXXXX, 2541XXXXXXXX, with spaces or dashes) into 254 followed by
// nine digits, the form M-Pesa APIs take. Anything else gives ErrPhone.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\u00a0':
		case r == '+' && i == 0:
		default:
			return "", ErrPhone
		}
	}
	d := b.String()
	switch {
	case len(d) == 10 && d[0] == '0':
		d = "254" + d[1:]
	case len(d) == 9 && (d[0] == '7' || d[0] == '1'):
		d = "254" + d
	case len(d) == 12 && strings.HasPrefix(d, "254"):
	default:
		return "", ErrPhone
	}
	// Kenyan mobile numbers (M-Pesa's STK pattern ^254(7|1)\d{8}$).
	if d[3] != '7' && d[3] != '1' {
		return "", ErrPhone
	}
	return d, nil
}
