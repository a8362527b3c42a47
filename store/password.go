package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters from OWASP's password storage cheat sheet: 19 MiB of
// memory, two passes, one thread.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an Argon2id hash in the usual PHC string form. The
// error is always nil: the salt's source, crypto/rand, cannot fail.
func HashPassword(password string) (string, error) {
	return hashPassword(password), nil
}

func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt) // never fails: it fills salt or crashes the program
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// DummyPasswordHash returns a real Argon2id hash, with our parameters, of a
// random password nobody knows. A login for an unknown email checks the
// password against it, so it costs the same time as a real check and timing
// does not tell which accounts exist. It is made
// on first use, not when the program starts: a process that never sees a
// login never spends the 19 MiB and the hashing time.
func DummyPasswordHash() string { return dummyPasswordHash() }

var dummyPasswordHash = sync.OnceValue(func() string {
	dummyPasswordHashes.Add(1)
	return hashPassword(rand.Text())
})

// dummyPasswordHashes counts the dummy hashes made: at most one per
// process, and none before the first login.
var dummyPasswordHashes atomic.Int32

// DummyPasswordHashMade reports whether this process has made the dummy
// hash (it is made on the first login, not at start).
func DummyPasswordHashMade() bool { return dummyPasswordHashes.Load() > 0 }

// VerifyPassword checks a password against a hash from HashPassword, in
// constant time.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("store: unknown password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("store: unsupported argon2 version")
	}
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false, fmt.Errorf("store: bad argon2 parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("store: bad salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("store: bad hash: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
