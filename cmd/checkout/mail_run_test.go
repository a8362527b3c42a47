package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"checkout/gateway/sandbox"
	"checkout/gateway/smtpmail"
	"checkout/store"
)

// TestConfigReadsSMTPURLAndMailFrom: CHECKOUT_SMTP_URL is read into the
// server's settings, and CHECKOUT_MAIL_FROM is kept as given; without it
// the sender is receipts@ the public URL's host.
func TestConfigReadsSMTPURLAndMailFrom(t *testing.T) {
	env := map[string]string{"CHECKOUT_PUBLIC_URL": "http://127.0.0.1:8080",
		"CHECKOUT_SMTP_URL": " smtps://shop:p%40ss@mail.example.com ", "CHECKOUT_MAIL_FROM": "Duka Bora <receipts@duka.example>"}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := smtpmail.Config{Host: "mail.example.com", Port: 465, Username: "shop", Password: "p@ss", ImplicitTLS: true}
	if c.SMTP == nil || *c.SMTP != want {
		t.Fatalf("SMTP %+v, want %+v", c.SMTP, want)
	}
	if c.MailFrom != "Duka Bora <receipts@duka.example>" {
		t.Errorf("MailFrom %q", c.MailFrom)
	}
	delete(env, "CHECKOUT_MAIL_FROM")
	if c, err = loadConfig(func(k string) string { return env[k] }); err != nil || c.MailFrom != "receipts@127.0.0.1" {
		t.Fatalf("default MailFrom %q, %v; want receipts@127.0.0.1", c.MailFrom, err)
	}
}

// TestSandboxPaidCheckoutSendsItsReceiptToTheMailInbox: in sandbox mode
// with no CHECKOUT_SMTP_URL, paying a checkout that has a customer email
// puts one receipt in /sandbox/mail, and the page shows it.
func TestSandboxPaidCheckoutSendsItsReceiptToTheMailInbox(t *testing.T) {
	a, _ := runWith(t, sandboxEnv(t, filepath.Join(t.TempDir(), "checkout.db")), runOptions{})
	if !a.Service.MailEnabled() {
		t.Fatal("mail is off in sandbox mode")
	}
	obj := apiCall(t, a.URL, http.MethodPost, "/api/v1/checkouts",
		`{"amount": "1500", "currency": "KES", "reference": "mail-1", "description": "Two bags of maize", "customer": {"email": "amina@example.com"}}`)
	id, _ := obj["id"].(string)
	if id == "" {
		t.Fatalf("create: %v", obj)
	}
	attempt, err := a.Service.StartPesapal(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sandbox.PesapalComplete(attempt.ProviderReference, true); err != nil {
		t.Fatal(err)
	}
	// The running worker sends the receipt; once its row is marked sent,
	// one more pass (ours, as a second worker would make) must find
	// nothing left to send.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ds, err := a.Store.EmailDeliveries(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].Status == store.EmailSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt deliveries of %s: %+v, want one sent", id, ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := a.Service.SendEmails(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mails []sandbox.Mail
	for _, m := range a.Sandbox.Mails() {
		if m.To == "amina@example.com" {
			mails = append(mails, m)
		}
	}
	if len(mails) != 1 {
		t.Fatalf("%d receipts to amina@example.com in the inbox, want 1", len(mails))
	}
	if !strings.Contains(mails[0].Text, id) || !strings.Contains(mails[0].Subject, "KES 1,500.00") {
		t.Errorf("receipt %+v", mails[0].Mail)
	}
	resp, err := http.Get(a.URL + sandbox.MailPath)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "amina@example.com") || !strings.Contains(string(page), id) {
		t.Fatalf("mail inbox page: HTTP %d\n%s", resp.StatusCode, page)
	}
}

// TestLiveModeWithoutSMTPHasNoMailInboxAndQueuesNoReceipt: outside
// sandbox mode there is no /sandbox/mail, and with no CHECKOUT_SMTP_URL
// no receipt is queued.
func TestLiveModeWithoutSMTPHasNoMailInboxAndQueuesNoReceipt(t *testing.T) {
	a, _ := runWith(t, liveEnv(t, filepath.Join(t.TempDir(), "checkout.db")), runOptions{})
	if a.Service.MailEnabled() {
		t.Fatal("mail is on in live mode without CHECKOUT_SMTP_URL")
	}
	resp, err := http.Get(a.URL + sandbox.MailPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET %s in live mode: HTTP %d, want 404", sandbox.MailPath, resp.StatusCode)
	}
}
