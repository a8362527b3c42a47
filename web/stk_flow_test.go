package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/payments"
	"checkout/store"
)

// stkBackends runs a test against each STK push backend.
func stkBackends(t *testing.T, fn func(t *testing.T, e *env, provider string)) {
	for _, p := range []string{"pokeapay", "pochipay"} {
		t.Run(p, func(t *testing.T) {
			fn(t, newEnv(t, envOptions{stk: p}), p)
		})
	}
}

// pushSTK has a customer send an M-Pesa prompt to phone from the checkout
// page, and returns the browser and the page it lands on.
func (e *env) pushSTK(b *browser, id, phone string) page {
	e.t.Helper()
	p := b.get(e.app.URL + "/c/" + id)
	return b.submit(p, "form.stk-form", url.Values{"phone": {phone}})
}

// stkAttempt is the checkout's newest STK attempt.
func (e *env) stkAttempt(id string) store.Attempt {
	e.t.Helper()
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range as {
		if a.Method == "stk" {
			return a
		}
	}
	e.t.Fatalf("no STK attempt for %s", id)
	return store.Attempt{}
}

func TestSTKPushHappyPathTurnsTheWaitingPageIntoTheReceipt(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		id := e.createCheckout("stk-1")
		b := e.browser()
		wait := e.pushSTK(b, id, "0712 345 678")
		if wait.status != http.StatusOK || !strings.HasSuffix(wait.url, "/c/"+id+"/stk") {
			t.Fatalf("after the push: %d at %s\n%s", wait.status, wait.url, wait.body)
		}
		for _, want := range []string{"Check your phone", "0712 345 678", "KES 1,500.00"} {
			if !strings.Contains(wait.body, want) {
				t.Errorf("waiting page lacks %q", want)
			}
		}
		a := e.stkAttempt(id)
		if poll := wait.doc.Find("#status").AttrOr("hx-get", ""); poll != "/c/"+id+"/status?while=pending&lang=en&attempt="+a.ID {
			t.Errorf("waiting page polls %q", poll)
		}
		prompt, ok := e.sim.STKPrompt(provider, a.ID)
		if !ok || prompt.Phone != "254712345678" || prompt.Amount != gateway.Amount(150000) ||
			!strings.HasSuffix(prompt.CallbackURL, payments.STKCallbackPath(provider)) {
			t.Fatalf("prompt at the provider: %+v (found %v)", prompt, ok)
		}

		if err := e.sim.STKAnswer(provider, a.ID, "0", true); err != nil {
			t.Fatal(err)
		}
		e.sim.WaitIPNs()
		prompt, _ = e.sim.STKPrompt(provider, a.ID)
		co := e.checkout(id)
		if co.Status != store.StatusPaid || co.Receipt == "" || co.Receipt != prompt.Receipt || co.Method != "stk" || co.Provider != provider {
			t.Fatalf("after approval: %s receipt %q (M-Pesa %q) method %q provider %q", co.Status, co.Receipt, prompt.Receipt, co.Method, co.Provider)
		}

		// The waiting page's next poll sends the browser to the receipt.
		req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/c/"+id+"/status?while=pending", nil)
		req.Header.Set("HX-Request", "true")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("HX-Redirect"); got != "/c/"+id {
			t.Fatalf("HX-Redirect = %q", got)
		}
		receipt := b.get(e.app.URL + "/c/" + id)
		if !strings.Contains(receipt.doc.Find("h1").Text(), "Payment received") || !strings.Contains(receipt.body, co.Receipt) {
			t.Fatalf("receipt page:\n%s", receipt.body)
		}
	})
}

func TestSTKFailuresShowTheirOwnSentenceAndAllowAnotherTry(t *testing.T) {
	for _, code := range []string{"1032", "1037", "2001", "1"} {
		t.Run(code, func(t *testing.T) {
			stkBackends(t, func(t *testing.T, e *env, provider string) {
				id := e.createCheckout("stk-f-" + code)
				b := e.browser()
				e.pushSTK(b, id, "0712345678")
				a := e.stkAttempt(id)
				if err := e.sim.STKAnswer(provider, a.ID, code, true); err != nil {
					t.Fatal(err)
				}
				e.sim.WaitIPNs()
				co := e.checkout(id)
				want := payments.STKMessage(code)
				if co.Status != store.StatusOpen || co.Message != want {
					t.Fatalf("after %s: %s %q, want open with %q", code, co.Status, co.Message, want)
				}
				p := b.get(e.app.URL + "/c/" + id)
				if !strings.Contains(p.body, want) {
					t.Fatalf("the checkout page does not say %q", want)
				}
				if got := p.doc.Find("form.stk-form input#phone").AttrOr("value", ""); got != "0712 345 678" {
					t.Fatalf("the form is not filled with the number tried: %q", got)
				}
				// Another number is allowed.
				e.clock.Advance(time.Second)
				again := b.submit(p, "form.stk-form", url.Values{"phone": {"0722000111"}})
				if !strings.HasSuffix(again.url, "/stk") {
					t.Fatalf("retry: %d at %s", again.status, again.url)
				}
				if n := e.stkAttempt(id); n.ID == a.ID || n.Phone != "254722000111" {
					t.Fatalf("retry attempt %+v", n)
				}
			})
		})
	}
}

func TestConcurrentDuplicateSTKCallbacksMakeOneTransition(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		id := e.createCheckout("stk-dup")
		e.pushSTK(e.browser(), id, "0712345678")
		a := e.stkAttempt(id)
		if err := e.sim.STKAnswer(provider, a.ID, "0", false); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.sim.SendSTKCallback(provider, a.ID); err != nil {
					t.Errorf("callback: %v", err)
				}
			}()
		}
		wg.Wait()
		if n := e.transitions(id, store.StatusPaid); n != 1 {
			t.Fatalf("transitions to paid = %d, want 1", n)
		}
		if co := e.checkout(id); co.Status != store.StatusPaid || co.Review {
			t.Fatalf("status %s review %v", co.Status, co.Review)
		}
	})
}

func TestLostSTKCallbackIsRecoveredByTheReconcilerAfter20Seconds(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		id := e.createCheckout("stk-lost")
		e.pushSTK(e.browser(), id, "0712345678")
		a := e.stkAttempt(id)
		if err := e.sim.STKAnswer(provider, a.ID, "0", false); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(19 * time.Second)
		if err := e.svc.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		if co := e.checkout(id); co.Status != store.StatusPending {
			t.Fatalf("queried before 20 s: %s", co.Status)
		}
		e.clock.Advance(2 * time.Second)
		if err := e.svc.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		if co := e.checkout(id); co.Status != store.StatusPaid || co.Receipt == "" {
			t.Fatalf("after reconcile: %s %q, want paid", co.Status, co.Receipt)
		}
		if e.sim.STKCallbacksSent(provider) != 0 {
			t.Fatal("a callback was sent")
		}
	})
}

func TestSTKCallbacksWhoseQueryDisagreesChangeNothing(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		t.Run("claims success while the provider says pending", func(t *testing.T) {
			id := e.createCheckout("stk-forged-" + provider)
			e.pushSTK(e.browser(), id, "0712345678")
			a := e.stkAttempt(id)
			body := forgedSuccess(provider, a.ID)
			resp, err := http.Post(e.app.URL+payments.STKCallbackPath(provider), "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("callback answered %d", resp.StatusCode)
			}
			if co := e.checkout(id); co.Status != store.StatusPending || co.Receipt != "" {
				t.Fatalf("a forged success changed the order: %s %q", co.Status, co.Receipt)
			}
		})
		t.Run("other amount", func(t *testing.T) {
			id := e.createCheckout("stk-short-" + provider)
			e.pushSTK(e.browser(), id, "0733000111")
			a := e.stkAttempt(id)
			if err := e.sim.STKAnswerAmount(provider, a.ID, gateway.Amount(100), true); err != nil {
				t.Fatal(err)
			}
			e.sim.WaitIPNs()
			co := e.checkout(id)
			if co.Status != store.StatusPending || !co.Review || co.PaidAt != nil {
				t.Fatalf("after a short payment: %s review %v", co.Status, co.Review)
			}
		})
	})
}

func forgedSuccess(provider, ref string) string {
	if provider == "pochipay" {
		return `{"orderId":"` + ref + `","billRefNumber":"x","phoneNumber":"254712345678","amount":1500,` +
			`"thirdPartyReference":"FAKE123456","isSuccessful":true,"failReason":"","resultDescription":"ok","resultCode":"0"}`
	}
	return `{"success":true,"message":"Transaction completed successfully","data":{"receipt":"FAKE123456",` +
		`"orderRef":"` + ref + `","amount":1500,"phone":"254712345678","outletCode":"` + testOutlet + `","resultCode":"0"}}`
}

func TestBadPhoneNeverReachesTheProvider(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		id := e.createCheckout("stk-bad")
		b := e.browser()
		p := e.pushSTK(b, id, "12345")
		if p.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.status)
		}
		in := p.doc.Find("form.stk-form input#phone")
		if in.AttrOr("aria-invalid", "") != "true" || in.AttrOr("value", "") != "12345" {
			t.Fatal("the phone field is not marked or not kept")
		}
		if !strings.Contains(p.body, payments.ErrPhone.Error()) {
			t.Fatal("no sentence for the bad number")
		}
		if n := len(e.sim.STKPrompts()); n != 0 {
			t.Fatalf("%d prompts reached the provider", n)
		}
		if co := e.checkout(id); co.Status != store.StatusOpen {
			t.Fatalf("status %s", co.Status)
		}
	})
}

func TestBusyPhoneLeavesTheOrderOpenWithAMessage(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		first := e.createCheckout("stk-busy-1")
		e.pushSTK(e.browser(), first, "0712345678")
		// Another amount: the same amount so soon is refused before the
		// provider is asked (M-Pesa's result code 17).
		st, obj := e.api(http.MethodPost, "/api/v1/checkouts",
			`{"amount": "1600", "currency": "KES", "reference": "stk-busy-2", "description": "Coffee"}`)
		if st != http.StatusCreated {
			t.Fatalf("second checkout: %d %v", st, obj)
		}
		second := obj["id"].(string)
		p := e.pushSTK(e.browser(), second, "0712 345 678")
		if p.status != http.StatusConflict {
			t.Fatalf("status %d, want 409", p.status)
		}
		co := e.checkout(second)
		if co.Status != store.StatusOpen || !strings.Contains(co.Message, "already has an M-Pesa prompt") {
			t.Fatalf("second checkout: %s %q", co.Status, co.Message)
		}
		if !strings.Contains(p.body, co.Message) {
			t.Fatal("the page does not show the message")
		}
		if a := e.stkAttempt(second); a.Status != store.AttemptFailed {
			t.Fatalf("the refused push left attempt %s", a.Status)
		}
	})
}

func TestSecondSubmitWhileAPromptIsActiveDoesNotPushAgain(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		id := e.createCheckout("stk-twice")
		b := e.browser()
		e.pushSTK(b, id, "0712345678")
		again := e.pushSTK(b, id, "0712345678")
		if !strings.HasSuffix(again.url, "/stk") {
			t.Fatalf("second submit landed at %s", again.url)
		}
		if n := len(e.sim.STKPrompts()); n != 1 {
			t.Fatalf("prompts = %d, want 1", n)
		}
	})
}

func TestSTKTokenIsRenewedWithoutTheCustomerNoticing(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		e.pushSTK(e.browser(), e.createCheckout("stk-tok-1"), "0712345678")
		logins := e.sim.STKLogins(provider)
		e.sim.ExpireSTKTokens()
		wait := e.pushSTK(e.browser(), e.createCheckout("stk-tok-2"), "0722345678")
		if !strings.HasSuffix(wait.url, "/stk") {
			t.Fatalf("second customer: %d at %s", wait.status, wait.url)
		}
		if e.sim.STKLogins(provider) != logins+1 {
			t.Fatalf("logins = %d, want %d", e.sim.STKLogins(provider), logins+1)
		}
	})
}

func TestCheckoutWithCentsDoesNotOfferSTK(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "99.50", "currency": "KES", "reference": "cents", "description": "Tea"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	if p.doc.Find("form.stk-form input#phone").Length() != 0 || !strings.Contains(p.body, "whole shillings") {
		t.Fatalf("STK offered for an amount with cents:\n%s", p.body)
	}
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/c/"+id+"/pay", strings.NewReader(url.Values{
		"method": {"stk"}, "phone": {"0712345678"}, "csrf_token": {csrfToken(p)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got := b.do(req); got.status != http.StatusUnprocessableEntity {
		t.Fatalf("posting stk anyway: %d", got.status)
	}
	if n := len(e.sim.STKPrompts()); n != 0 {
		t.Fatalf("%d prompts sent", n)
	}
}

func TestCheckoutPageOffersSTKOnlyThroughItsPhoneForm(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	p := e.browser().get(e.app.URL + "/c/" + e.createCheckout("stk-form"))
	if n := p.doc.Find(`button[name=method][value=stk]`).Length(); n != 0 {
		t.Fatalf("%d M-Pesa buttons without a phone field", n)
	}
	if p.doc.Find("form.stk-form input#phone").Length() != 1 {
		t.Fatal("no M-Pesa form")
	}
	if strings.Contains(p.doc.Find("form.method-choice").First().Text(), "continue") {
		t.Fatal("template code leaked into the page")
	}
}

func TestConcurrentSTKSubmitsPushOnePrompt(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		id := e.createCheckout("stk-race")
		b := e.browser()
		p := b.get(e.app.URL + "/c/" + id)
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.submit(p, "form.stk-form", url.Values{"phone": {"0712345678"}})
			}()
		}
		wg.Wait()
		if n := len(e.sim.STKPrompts()); n != 1 {
			t.Fatalf("prompts = %d, want 1", n)
		}
		as, err := e.store.Attempts(context.Background(), id)
		if err != nil || len(as) != 1 {
			t.Fatalf("attempts = %d (%v), want 1", len(as), err)
		}
	})
}

func TestAnotherNumberWhileAPromptIsOnAPhoneIsRefusedWithAReason(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	id := e.createCheckout("stk-other")
	b := e.browser()
	e.pushSTK(b, id, "0712345678")
	p := e.pushSTK(b, id, "0722000111")
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "already on 0712 345 678") {
		t.Fatalf("second number: %d\n%s", p.status, p.body)
	}
	if p.doc.Find("form.stk-form input#phone").AttrOr("aria-invalid", "") != "true" {
		t.Fatal("the phone field is not marked")
	}
	if n := len(e.sim.STKPrompts()); n != 1 {
		t.Fatalf("prompts = %d", n)
	}
}

func TestSilentPromptStaysPendingTellsTheCustomerAndIsPaidWhenApprovedLate(t *testing.T) {
	stkBackends(t, func(t *testing.T, e *env, provider string) {
		id := e.createCheckout("stk-silent")
		b := e.browser()
		e.pushSTK(b, id, "0712345678")
		a := e.stkAttempt(id)
		for i := 0; i < 6; i++ { // the reconciler keeps asking; M-Pesa says nothing yet
			e.clock.Advance(40 * time.Second)
			if err := e.svc.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		co := e.checkout(id)
		if co.Status != store.StatusPending || co.Message != "" {
			t.Fatalf("after 4 minutes of silence: %s %q, want pending", co.Status, co.Message)
		}
		if got := e.stkAttempt(id); got.Status != store.AttemptPending || got.NextCheckAt == nil {
			t.Fatalf("attempt %s next %v, want pending and still polled", got.Status, got.NextCheckAt)
		}

		// The waiting page says what is happening, and leads back to the
		// method choice.
		wait := b.get(e.app.URL + "/c/" + id + "/stk")
		if h := strings.TrimSpace(wait.doc.Find("h1").Text()); h != "Waiting for M-Pesa" {
			t.Errorf("heading %q", h)
		}
		if !strings.Contains(wait.doc.Find("#status").Text(), payments.STKNoAnswer) {
			t.Errorf("the waiting page does not say %q:\n%s", payments.STKNoAnswer, wait.body)
		}
		if href := wait.doc.Find("p.back a").AttrOr("href", ""); href != "/c/"+id {
			t.Errorf("another method links to %q", href)
		}
		// Its poll says the same, and keeps the page.
		req, _ := http.NewRequest(http.MethodGet, e.app.URL+wait.doc.Find("#status").AttrOr("hx-get", ""), nil)
		req.Header.Set("HX-Request", "true")
		partial := b.do(req)
		if partial.status != http.StatusOK || !strings.Contains(partial.body, payments.STKNoAnswer) {
			t.Errorf("status partial: %d\n%s", partial.status, partial.body)
		}
		// So does the JSON status.
		req, _ = http.NewRequest(http.MethodGet, e.app.URL+"/c/"+id+"/status", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || st["status"] != "pending" || st["message"] != payments.STKNoAnswer {
			t.Errorf("JSON status %v (%v)", st, err)
		}
		// The checkout page offers the other methods with the same words.
		choice := b.get(e.app.URL + "/c/" + id)
		if choice.doc.Find("form.method-choice").Length() == 0 || !strings.Contains(choice.body, payments.STKNoAnswer) {
			t.Errorf("checkout page:\n%s", choice.body)
		}

		// The customer had approved; M-Pesa's answer comes late, with no
		// callback: the next check finds it.
		if err := e.sim.STKAnswer(provider, a.ID, "0", false); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 12 && e.checkout(id).Status == store.StatusPending; i++ {
			e.clock.Advance(30 * time.Second)
			if err := e.svc.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if co := e.checkout(id); co.Status != store.StatusPaid || co.Receipt == "" || co.Review {
			t.Fatalf("after the late approval: %s receipt %q review %v", co.Status, co.Receipt, co.Review)
		}
	})
}

func TestWaitingPageLeavesWhenItsPromptEndsEvenIfAnotherPaymentIsPending(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	id := e.createCheckout("stk-mixed")
	e.startPokeaPay(id) // a PokeaPay page the customer walked away from
	b := e.browser()
	wait := e.pushSTK(b, id, "0712345678")
	a := e.stkAttempt(id)
	if err := e.sim.STKAnswer("pokeapay", a.ID, "2001", true); err != nil {
		t.Fatal(err)
	}
	e.sim.WaitIPNs()
	if co := e.checkout(id); co.Status != store.StatusPending {
		t.Fatalf("status %s; the PokeaPay attempt keeps the checkout pending", co.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+wait.doc.Find("#status").AttrOr("hx-get", ""), nil)
	req.Header.Set("HX-Request", "true")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("HX-Redirect"); got != "/c/"+id {
		t.Fatalf("HX-Redirect = %q: the waiting page would wait forever", got)
	}
}

func TestAPIRefusesASTKOnlyCheckoutWithCents(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts",
		`{"amount": "10.50", "currency": "KES", "reference": "stk-cents", "description": "Tea", "methods": ["stk"]}`)
	errObj, _ := obj["error"].(map[string]any)
	if status != http.StatusUnprocessableEntity || errObj["field"] != "amount" {
		t.Fatalf("status %d %v", status, obj)
	}
}
