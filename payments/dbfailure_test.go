package payments

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"checkout/gateway/pokeapay"
)

func TestPokeaPayReturnWithTheDatabaseDownIsAFailureNotAnUnknownOrder(t *testing.T) {
	e := newPKEnv(t)
	_, a := e.started()
	q := url.Values{"oref": {a.ID}, "hsh": {pokeapay.ReturnHash(pkHashKey, a.ID, pkOutlet)}, "type": {"m"},
		"amount": {"1500"}, "status": {"1"}}
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.PokeaPayReturn(context.Background(), q)
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrForged) {
		t.Fatalf("PokeaPayReturn with the database closed: err = %v, want a database error (not ErrNotFound, not ErrForged)", err)
	}
}
