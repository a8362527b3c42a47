package pokeapay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadPrivateKey reads the RSA private key that signs B2C requests from a
// PEM file: "RSA PRIVATE KEY" (PKCS #1) or "PRIVATE KEY" (PKCS #8 holding
// an RSA key), unencrypted, of at least 2048 bits. Its errors name the file
// and say what is wrong; they never quote the file's bytes.
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	fail := func(what string) error {
		return fmt.Errorf("pokeapay: private key file %s: %s", path, what)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fail(pe.Err.Error())
		}
		return nil, fail("cannot be read")
	}
	var block *pem.Block
	rest := raw
	for {
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fail("has no PEM private key (want RSA PRIVATE KEY or PRIVATE KEY)")
		}
		if block.Type == "RSA PRIVATE KEY" || block.Type == "PRIVATE KEY" {
			break
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fail("holds an encrypted key; give an unencrypted one")
		}
	}
	if _, ok := block.Headers["Proc-Type"]; ok {
		return nil, fail("holds an encrypted key; give an unencrypted one")
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fail("is not a valid PKCS #1 RSA private key")
		}
		key = k
	default:
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fail("is not a valid PKCS #8 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fail(fmt.Sprintf("holds a %T key, not RSA", k))
		}
		key = rk
	}
	if key.N.BitLen() < 2048 {
		return nil, fail(fmt.Sprintf("holds a %d-bit RSA key; at least 2048 bits are needed", key.N.BitLen()))
	}
	if err := key.Validate(); err != nil {
		return nil, fail("holds an RSA key that does not validate")
	}
	return key, nil
}
