package reqctx

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
)

// MaskCSRF is the form of the CSRF token a page carries: fresh random bytes
// followed by the token XORed with them, in base64url. Every answer then
// holds different bytes for the same token, so a compressed page does not
// leak the token through its length however much attacker-chosen text sits
// next to it (BREACH). UnmaskCSRF gives the token back.
func MaskCSRF(token string) string {
	var buf [128]byte // a session token (43 bytes) and its pad fit: no allocation but the answer
	b := buf[:0]
	if 2*len(token) > len(buf) {
		b = make([]byte, 0, 2*len(token))
	}
	b = b[:2*len(token)]
	pad, masked := b[:len(token)], b[len(token):]
	rand.Read(pad) // never fails: the runtime stops the program if it cannot read
	subtle.XORBytes(masked, []byte(token), pad)
	return base64.RawURLEncoding.EncodeToString(b)
}

// UnmaskCSRF is the token a MaskCSRF value carries, or "" when sent is not
// one.
func UnmaskCSRF(sent string) string {
	b, err := base64.RawURLEncoding.DecodeString(sent)
	if err != nil || len(b) == 0 || len(b)%2 != 0 {
		return ""
	}
	n := len(b) / 2
	subtle.XORBytes(b[n:], b[n:], b[:n])
	return string(b[n:])
}
