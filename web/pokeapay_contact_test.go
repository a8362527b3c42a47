package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"checkout/store"
)

// createCheckoutWith creates a KES 1,500.00 checkout with the given
// "customer" and "methods" JSON (either may be empty) and returns its id.
func (e *env) createCheckoutWith(ref, customer, methods string) string {
	e.t.Helper()
	body := `{"amount": "1500", "currency": "KES", "reference": "` + ref + `", "description": "Two bags of coffee"`
	if customer != "" {
		body += `, "customer": ` + customer
	}
	if methods != "" {
		body += `, "methods": ` + methods
	}
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", body+"}")
	if status != http.StatusCreated {
		e.t.Fatalf("create checkout: %d %v", status, obj)
	}
	return obj["id"].(string)
}

// attempts counts a checkout's payment attempts.
func (e *env) attempts(id string) int {
	e.t.Helper()
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(as)
}

// field describes one input of a page for the assertions below.
type field struct {
	present             bool
	value, invalid, err string
}

func inputOf(p page, name string) field {
	in := p.doc.Find("form.contact-step input[name=" + name + "]")
	if in.Length() == 0 {
		return field{}
	}
	f := field{present: true, value: in.AttrOr("value", ""), invalid: in.AttrOr("aria-invalid", "")}
	if id := in.AttrOr("aria-describedby", ""); id != "" {
		f.err = strings.TrimSpace(p.doc.Find("#" + id).Text())
	}
	return f
}

func TestPokeaPayAsksOnlyForTheMissingPhoneAndKeepsIt(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("pk-contact-1") // the merchant sent an email, no phone
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	if p.doc.Find("input#contact").Length() != 0 {
		t.Fatal("the method choice asks for a contact the checkout already has")
	}

	step := b.submit(p, "form.method-choice", url.Values{"method": {"pokeapay"}})
	if step.status != http.StatusOK {
		t.Fatalf("choosing PokeaPay: %d, want the question with 200", step.status)
	}
	if got := inputOf(step, "customer_phone"); got != (field{present: true}) {
		t.Fatalf("phone field %+v, want an empty field with no error", got)
	}
	if got := inputOf(step, "customer_email"); got.present {
		t.Fatal("the step asks for the email the checkout already has")
	}
	if step.doc.Find("form.contact-step input[name=customer_phone][type=tel][autocomplete=tel]").Length() != 1 {
		t.Fatal("the phone field is not a telephone field")
	}
	if n := e.attempts(id); n != 0 {
		t.Fatalf("%d attempts before the phone was given", n)
	}

	bad := b.submit(step, "form.contact-step", url.Values{"customer_phone": {"0812 345"}})
	if bad.status != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong phone: %d, want 422", bad.status)
	}
	if got := inputOf(bad, "customer_phone"); got.value != "0812 345" || got.invalid != "true" || !strings.Contains(got.err, "0712 345 678") {
		t.Fatalf("phone field after a wrong number: %+v", got)
	}
	if co := e.checkout(id); co.CustomerPhone != "" || co.Status != store.StatusOpen || e.attempts(id) != 0 {
		t.Fatalf("a wrong phone changed the order: phone %q status %s attempts %d", co.CustomerPhone, co.Status, e.attempts(id))
	}

	hosted := b.submit(bad, "form.contact-step", url.Values{"customer_phone": {"+254 712-345-678"}})
	if hosted.status != http.StatusOK || !strings.HasPrefix(hosted.url, e.sim.PokeaPayCheckoutURL()) {
		t.Fatalf("with a phone: %d at %s\n%s", hosted.status, hosted.url, hosted.body)
	}
	u, err := url.Parse(hosted.url)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("tel") != "254712345678" || q.Get("eml") != "jane@example.com" {
		t.Fatalf("PokeaPay got tel %q eml %q", q.Get("tel"), q.Get("eml"))
	}
	co := e.checkout(id)
	if co.CustomerPhone != "254712345678" || co.CustomerEmail != "jane@example.com" || co.Status != store.StatusPending {
		t.Fatalf("order after the step: phone %q email %q status %s", co.CustomerPhone, co.CustomerEmail, co.Status)
	}
}

func TestPokeaPayWithNoContactAsksForBothAndUsesWhatWasTypedForPesapal(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckoutWith("pk-contact-2", "", "")
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	if p.doc.Find("input#contact").Length() != 1 {
		t.Fatal("the method choice does not ask Pesapal's email or phone")
	}

	// An email typed in the method choice's field is not asked again.
	step := b.submit(p, "form.method-choice", url.Values{"method": {"pokeapay"}, "contact": {"jane@example.com"}})
	if step.status != http.StatusOK {
		t.Fatalf("choosing PokeaPay: %d", step.status)
	}
	if got := inputOf(step, "customer_phone"); got != (field{present: true}) {
		t.Fatalf("phone field %+v", got)
	}
	if got := inputOf(step, "customer_email"); got != (field{present: true, value: "jane@example.com"}) {
		t.Fatalf("email field %+v, want what was typed, unmarked", got)
	}

	bad := b.submit(step, "form.contact-step", url.Values{"customer_phone": {""}, "customer_email": {"jane@example"}})
	if bad.status != http.StatusUnprocessableEntity {
		t.Fatalf("missing phone and wrong email: %d, want 422", bad.status)
	}
	if got := inputOf(bad, "customer_phone"); got.value != "" || got.invalid != "true" || !strings.Contains(got.err, "phone number") {
		t.Fatalf("phone field %+v", got)
	}
	if got := inputOf(bad, "customer_email"); got.value != "jane@example" || got.invalid != "true" || !strings.Contains(got.err, "jane@example.com") {
		t.Fatalf("email field %+v", got)
	}
	if co := e.checkout(id); co.CustomerPhone != "" || co.CustomerEmail != "" || e.attempts(id) != 0 {
		t.Fatalf("wrong details changed the order: %q %q, %d attempts", co.CustomerPhone, co.CustomerEmail, e.attempts(id))
	}

	hosted := b.submit(bad, "form.contact-step", url.Values{"customer_phone": {"0112345678"}, "customer_email": {"jane@example.com"}})
	if hosted.status != http.StatusOK || !strings.HasPrefix(hosted.url, e.sim.PokeaPayCheckoutURL()) {
		t.Fatalf("with both: %d at %s\n%s", hosted.status, hosted.url, hosted.body)
	}
	co := e.checkout(id)
	if co.CustomerPhone != "254112345678" || co.CustomerEmail != "jane@example.com" {
		t.Fatalf("order after the step: phone %q email %q", co.CustomerPhone, co.CustomerEmail)
	}
}

func TestWrongContactInTheMethodChoiceIsMarkedThereForPokeaPay(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckoutWith("pk-contact-3", "", "")
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	again := b.submit(p, "form.method-choice", url.Values{"method": {"pokeapay"}, "contact": {"not a contact"}})
	if again.status != http.StatusUnprocessableEntity || again.doc.Find("form.contact-step").Length() != 0 {
		t.Fatalf("status %d, contact step shown %v", again.status, again.doc.Find("form.contact-step").Length() != 0)
	}
	in := again.doc.Find("input#contact")
	if in.AttrOr("aria-invalid", "") != "true" || in.AttrOr("value", "") != "not a contact" {
		t.Fatalf("contact field not marked or not kept: %v", in.Nodes)
	}
	if e.attempts(id) != 0 {
		t.Fatal("an attempt was started")
	}
}

func TestPokeaPayOnlyCheckoutAsksNothingUpFrontAndNothingWhenItHasBoth(t *testing.T) {
	e := newEnv(t, envOptions{})

	onlyPokeaPay := e.createCheckoutWith("pk-contact-4", "", `["pokeapay"]`)
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + onlyPokeaPay)
	if p.doc.Find("input#contact").Length() != 0 {
		t.Fatal("the method choice asks Pesapal's contact on a checkout Pesapal cannot pay")
	}

	both := e.createCheckoutWith("pk-contact-5", `{"email": "jane@example.com", "phone": "0712345678"}`, "")
	p = b.get(e.app.URL + "/c/" + both)
	hosted := b.submit(p, "form.method-choice", url.Values{"method": {"pokeapay"}})
	if hosted.status != http.StatusOK || !strings.HasPrefix(hosted.url, e.sim.PokeaPayCheckoutURL()) {
		t.Fatalf("a checkout with both went to %s (%d)", hosted.url, hosted.status)
	}
	u, err := url.Parse(hosted.url)
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); q.Get("tel") != "254712345678" || q.Get("eml") != "jane@example.com" {
		t.Fatalf("PokeaPay got tel %q eml %q", q.Get("tel"), q.Get("eml"))
	}
}
