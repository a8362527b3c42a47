package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"checkout/store"
)

// pokeaPushOK is PokeaPay's answer to a push it accepted.
const pokeaPushOK = `{"success":true,"message":"Transaction initiated successfully","data":{"orderRef":"x","amount":1500,"phone":"254712345678"}}`

// newLimitEnv is a pushEnv whose PokeaPay STK API accepts every push, and
// a way to open more checkouts.
func newLimitEnv(t *testing.T) (*pushEnv, *providerServer, func(amount int64) string) {
	t.Helper()
	p := newProviderServer(t, map[string]http.HandlerFunc{
		pokeaLogin: jsonAnswer(http.StatusOK, pokeaLoginOK),
		pokeaPush:  jsonAnswer(http.StatusOK, pokeaPushOK),
	})
	e := newPushEnv(t, newPokeaPaySTK(t, p, 0))
	n := 0
	open := func(amount int64) string {
		t.Helper()
		n++
		co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: fmt.Sprintf("r%d", n), Description: "d",
			Amount: amount, Currency: "KES", ExpiresAt: e.clock.now().Add(24 * time.Hour)}
		if err := e.st.CreateCheckout(context.Background(), co, "test"); err != nil {
			t.Fatal(err)
		}
		return co.ID
	}
	return e, p, open
}

func mustPush(t *testing.T, svc *Service, checkoutID, phone string) {
	t.Helper()
	if _, err := svc.StartSTK(context.Background(), checkoutID, phone); err != nil {
		t.Fatalf("prompt to %s for %s: %v", phone, checkoutID, err)
	}
}

func wantLimited(t *testing.T, err error, msg string, retry time.Duration) {
	t.Helper()
	var le *PromptLimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a PromptLimitError", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "phone" || fe.Code != "rate_limited" {
		t.Errorf("field error %+v, want rate_limited on phone", fe)
	}
	if le.Message != msg {
		t.Errorf("message %q\nwant %q", le.Message, msg)
	}
	if le.RetryAfter != retry {
		t.Errorf("retry after %s, want %s", le.RetryAfter, retry)
	}
}

// TestFourthSTKPromptToOnePhoneWithinTenMinutesIsRefused: three prompts to
// one number in ten minutes (each for another checkout and amount) go out;
// the fourth is refused with a sentence for the customer, sends nothing and
// stores nothing, also after a restart (the count is in the store); another
// number is not affected; once the first prompt is ten minutes old, the
// number may be prompted again.
func TestFourthSTKPromptToOnePhoneWithinTenMinutesIsRefused(t *testing.T) {
	e, p, open := newLimitEnv(t)
	ctx := context.Background()
	for i, amount := range []int64{150000, 160000, 170000} {
		mustPush(t, e.svc, open(amount), "0712345678")
		if i < 2 {
			e.clock.add(3 * time.Minute)
		}
	}
	e.clock.add(time.Minute) // 7 minutes after the first
	fourth := open(180000)
	const msg = "You have asked for 3 M-Pesa prompts on 0712 345 678 in the last 10 minutes. Wait a few minutes, or use another number."

	a, err := e.svc.StartSTK(ctx, fourth, "+254 712 345 678")
	if a != nil {
		t.Errorf("attempt %+v, want none", a)
	}
	wantLimited(t, err, msg, 3*time.Minute)
	if n := p.count(pokeaPush); n != 3 {
		t.Errorf("pushes sent = %d, want 3", n)
	}
	if as, err := e.st.Attempts(ctx, fourth); err != nil || len(as) != 0 {
		t.Errorf("attempts of the refused checkout: %d (%v), want 0", len(as), err)
	}

	restarted, err := New(Config{PublicURL: "http://x", Store: e.st, Now: e.clock.now, STK: e.svc.cfg.STK, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = restarted.StartSTK(ctx, fourth, "0712345678")
	wantLimited(t, err, msg, 3*time.Minute)

	mustPush(t, restarted, open(180000), "0722000111")

	e.clock.add(3*time.Minute + time.Second)
	mustPush(t, restarted, fourth, "0712345678")
	if n := p.count(pokeaPush); n != 5 {
		t.Errorf("pushes sent = %d, want 5", n)
	}
}

// TestSameAmountToOnePhoneWithinTwoMinutesIsRefused: M-Pesa refuses a
// second prompt for the same amount to the same phone within two minutes
// (result code 17), so we do not send it; another amount may go; after two
// minutes the same amount goes too. A push the provider refused (nothing
// reached the phone) does not hold the amount back.
func TestSameAmountToOnePhoneWithinTwoMinutesIsRefused(t *testing.T) {
	e, p, open := newLimitEnv(t)
	ctx := context.Background()
	mustPush(t, e.svc, open(150000), "0712345678")
	e.clock.add(time.Minute)

	again := open(150000)
	_, err := e.svc.StartSTK(ctx, again, "0712345678")
	wantLimited(t, err, "An M-Pesa prompt for this amount went to 0712 345 678 less than 2 minutes ago, and M-Pesa refuses the same payment again so soon. Wait 2 minutes, or use another number.", time.Minute)
	if n := p.count(pokeaPush); n != 1 {
		t.Errorf("pushes sent = %d, want 1", n)
	}
	mustPush(t, e.svc, open(151000), "0712345678")

	e.clock.add(time.Minute)
	mustPush(t, e.svc, again, "0712345678")
	if n := p.count(pokeaPush); n != 3 {
		t.Errorf("pushes sent = %d, want 3", n)
	}
}

// TestRefusedPushDoesNotHoldTheAmountBack: a push the provider refused
// before it reached the phone does not count as a prompt for the same
// amount.
func TestRefusedPushDoesNotHoldTheAmountBack(t *testing.T) {
	invalid, err := os.ReadFile("../gateway/pokeapay/testdata/doc-stk-push-invalid-inputs.json")
	if err != nil {
		t.Fatal(err)
	}
	e, p, open := newLimitEnv(t)
	p.mu.Lock()
	p.routes[pokeaPush] = jsonAnswer(http.StatusOK, string(invalid))
	p.mu.Unlock()
	if _, err := e.svc.StartSTK(context.Background(), open(150000), "0712345678"); !errors.Is(err, ErrProvider) {
		t.Fatalf("refused push: %v, want ErrProvider", err)
	}
	p.mu.Lock()
	p.routes[pokeaPush] = jsonAnswer(http.StatusOK, pokeaPushOK)
	p.mu.Unlock()
	e.clock.add(10 * time.Second)
	mustPush(t, e.svc, open(150000), "0712345678")
}
