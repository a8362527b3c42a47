package pokeapay

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// The document's only authenticated example (Transaction Query) sends the
// token bare: "Authorization: eyJ...".
func TestSTKSendsTheTokenBareAsTheDocumentDoes(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	for range 2 {
		if _, err := c.Push(context.Background(), stkPushOK()); err != nil {
			t.Fatalf("Push: %v", err)
		}
		if _, err := c.Confirm(context.Background(), stkQueryOK()); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
	}
	want := []string{"/login", "/stkPush/transaction", "/transaction/query", "/stkPush/transaction", "/transaction/query"}
	if got := f.paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests = %v, want %v", got, want)
	}
	for _, r := range f.requests()[1:] {
		if strings.HasPrefix(r.Authorization, "Bearer") || !strings.HasPrefix(r.Authorization, "eyJ") {
			t.Errorf("%s: Authorization %q is not the bare token", r.Path, r.Authorization)
		}
	}
}

func TestSTKTriesBearerOnceAfterA401AndRemembersIt(t *testing.T) {
	f := newSTKFake(t)
	f.set(func(f *stkFake) { f.bearerOnly = true })
	c := f.client(&sleepRecorder{})
	if _, err := c.Push(context.Background(), stkPushOK()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if _, err := c.Confirm(context.Background(), stkQueryOK()); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	want := []string{"/login", "/stkPush/transaction", "/stkPush/transaction", "/transaction/query"}
	if got := f.paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests = %v, want %v", got, want)
	}
	reqs := f.requests()
	tok := reqs[1].Authorization
	if !strings.HasPrefix(tok, "eyJ") {
		t.Fatalf("first push Authorization %q is not the bare token", tok)
	}
	for _, r := range reqs[2:] {
		if r.Authorization != "Bearer "+tok {
			t.Errorf("%s: Authorization %q, want Bearer and the same token", r.Path, r.Authorization)
		}
	}
	if n := f.loginCount(); n != 1 {
		t.Errorf("logins = %d: a refused form is not a refused token", n)
	}
}

func TestSTKKeepsTheBareFormOnceAccepted(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	if _, err := c.Confirm(context.Background(), stkQueryOK()); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	// The token is revoked: the form is known, so the client logs in again
	// instead of trying Bearer.
	f.revokeAll()
	if _, err := c.Confirm(context.Background(), stkQueryOK()); err != nil {
		t.Fatalf("Confirm after revoke: %v", err)
	}
	want := []string{"/login", "/transaction/query", "/transaction/query", "/login", "/transaction/query"}
	if got := f.paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests = %v, want %v", got, want)
	}
	for _, r := range f.requests() {
		if strings.HasPrefix(r.Authorization, "Bearer") {
			t.Errorf("%s: Authorization %q after the bare form was accepted", r.Path, r.Authorization)
		}
	}
}
