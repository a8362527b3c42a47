package store

import (
	"strings"
	"testing"
)

// params is the "$argon2id$v=..$m=..,t=..,p=.." part of a PHC hash: what
// decides how long a check takes.
func params(t *testing.T, hash string) string {
	t.Helper()
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		t.Fatalf("hash %q has %d $-separated parts, want 6", hash, len(parts))
	}
	return strings.Join(parts[:4], "$")
}

func TestHashPasswordVerifiesOnlyItsPassword(t *testing.T) {
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"", false},
	} {
		got, err := VerifyPassword(hash, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("VerifyPassword(hash, %q) = %v, %v; want %v, nil", tt.password, got, err, tt.want)
		}
	}
}

func TestDummyPasswordHashCostsWhatARealCheckCostsAndMatchesNothing(t *testing.T) {
	dummy := DummyPasswordHash()
	genuine, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := params(t, dummy), params(t, genuine); got != want {
		t.Errorf("dummy hash parameters %q, want a real hash's %q", got, want)
	}
	for _, password := range []string{"", "correct horse", "password"} {
		ok, err := VerifyPassword(dummy, password)
		if err != nil || ok {
			t.Errorf("VerifyPassword(dummy, %q) = %v, %v; want false, nil", password, ok, err)
		}
	}
	if again := DummyPasswordHash(); again != dummy {
		t.Errorf("second DummyPasswordHash = %q, want the first %q: it is made once", again, dummy)
	}
}
