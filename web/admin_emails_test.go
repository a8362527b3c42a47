package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"checkout/gateway"
	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/store"
)

// refusableMailer hands mails to the sandbox inbox, or, while refusing,
// answers them with a permanent SMTP refusal.
type refusableMailer struct {
	mu      sync.Mutex
	refuse  bool
	refused int
	next    payments.Mailer
}

func (m *refusableMailer) SendMail(ctx context.Context, ml gateway.Mail) error {
	m.mu.Lock()
	refuse := m.refuse
	if refuse {
		m.refused++
	}
	m.mu.Unlock()
	if refuse {
		return fmt.Errorf("smtp: %w: 550 5.1.1 mailbox unavailable", gateway.ErrMailRefused)
	}
	return m.next.SendMail(ctx, ml)
}

func (m *refusableMailer) setRefuse(on bool) {
	m.mu.Lock()
	m.refuse = on
	m.mu.Unlock()
}

// mailEnv is the app with receipt emails through m to the sandbox inbox.
func mailEnv(t *testing.T) (*env, *refusableMailer) {
	m := &refusableMailer{}
	e := newEnv(t, envOptions{mailer: func(sb *sandbox.Sandbox) payments.Mailer {
		m.next = sb
		return m
	}})
	return e, m
}

func (e *env) sendEmails() {
	e.t.Helper()
	if err := e.svc.SendEmails(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) email(checkoutID string) store.EmailDelivery {
	e.t.Helper()
	ds, err := e.store.EmailDeliveries(context.Background(), checkoutID)
	if err != nil || len(ds) != 1 {
		e.t.Fatalf("emails of %s: %v, %v; want one", checkoutID, ds, err)
	}
	return ds[0]
}

// mailsTo counts the inbox's mails to addr.
func (e *env) mailsTo(addr string) int {
	n := 0
	for _, m := range e.sim.Mails() {
		if strings.Contains(m.Mail.To, addr) {
			n++
		}
	}
	return n
}

// events is the checkout's timeline.
func (e *env) events(checkoutID string) []store.Event {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), checkoutID)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// TestAdminOrderPageShowsReceiptEmailAndSendAgainResendsAFailedOneOnce: a
// receipt refused by the mail server shows as failed with its error and a
// "Send again" button; sending it again queues the same row (pending,
// attempts reset, a timeline line naming the admin), and the next worker
// pass puts exactly one mail in the inbox; the page then shows it sent,
// without the button.
func TestAdminOrderPageShowsReceiptEmailAndSendAgainResendsAFailedOneOnce(t *testing.T) {
	e, m := mailEnv(t)
	b := e.adminBrowser()
	id := e.createCheckout("order-1")
	m.setRefuse(true)
	e.payByIPN(id)
	e.sendEmails()
	failed := e.email(id)
	if failed.Status != store.EmailFailed || failed.Attempts != 1 {
		t.Fatalf("refused receipt: %+v", failed)
	}

	p := b.get(e.app.URL + "/admin/orders/" + id)
	li := p.doc.Find("li.email[data-email-id='" + failed.ID + "']")
	if p.status != http.StatusOK || li.Length() != 1 {
		t.Fatalf("order page %d without the email %s:\n%s", p.status, failed.ID, p.body)
	}
	if got := strings.TrimSpace(li.Find(".email-status").Text()); got != "Failed" {
		t.Fatalf("status %q, want Failed", got)
	}
	if got := li.Find(".email-recipient").Text(); got != "jane@example.com" {
		t.Fatalf("recipient %q", got)
	}
	if got := li.Find(".email-attempts").Text(); got != "1" {
		t.Fatalf("attempts %q", got)
	}
	if got := li.Find(".email-error").Text(); !strings.Contains(got, "550 5.1.1 mailbox unavailable") {
		t.Fatalf("last error %q", got)
	}
	if li.Find("form.email-resend").Length() != 1 {
		t.Fatal("a failed receipt has no Send again button")
	}

	m.setRefuse(false)
	after := b.submit(p, "li.email form.email-resend", nil)
	if after.status != http.StatusOK || !strings.HasSuffix(after.url, "/admin/orders/"+id+"?flash=email-resent") ||
		alert(after, "info") == "" {
		t.Fatalf("after send again: %d at %s, flash %q", after.status, after.url, alert(after, "info"))
	}
	d := e.email(id)
	if d.ID != failed.ID || d.Status != store.EmailPending || d.Attempts != 0 || d.NextAttemptAt == nil ||
		d.NextAttemptAt.After(e.clock.Now()) {
		t.Fatalf("after send again: %+v, want the same row pending, 0 attempts, due now", d)
	}
	if !strings.Contains(after.body, "queued again by admin:"+adminEmail) {
		t.Fatalf("no timeline line naming the admin:\n%s", after.body)
	}
	e.wantAudit("email.resend", "email", failed.ID, adminEmail)
	if n := e.mailsTo("jane@example.com"); n != 0 {
		t.Fatalf("%d mails before the worker ran", n)
	}
	e.sendEmails()
	e.sendEmails()
	if n := e.mailsTo("jane@example.com"); n != 1 {
		t.Fatalf("%d mails in the inbox after the worker, want exactly 1", n)
	}
	if d := e.email(id); d.Status != store.EmailSent || d.Attempts != 1 || d.SentAt == nil {
		t.Fatalf("after the worker: %+v, want sent", d)
	}
	p = b.get(e.app.URL + "/admin/orders/" + id)
	li = p.doc.Find("li.email[data-email-id='" + failed.ID + "']")
	if got := strings.TrimSpace(li.Find(".email-status").Text()); got != "Sent" || li.Find(".email-sent").Text() == "" ||
		li.Find("form.email-resend").Length() != 0 {
		t.Fatalf("sent receipt shows %q, sent %q, %d buttons", got, li.Find(".email-sent").Text(), li.Find("form.email-resend").Length())
	}
}

// createCheckoutFor creates a KES 1,500.00 checkout for a customer with
// this email and returns its id.
func (e *env) createCheckoutFor(ref, email string) string {
	e.t.Helper()
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts",
		`{"amount": "1500", "currency": "KES", "reference": "`+ref+`", "description": "Two bags of coffee", "customer": {"email": "`+email+`"}}`)
	if status != http.StatusCreated {
		e.t.Fatalf("create checkout: %d %v", status, obj)
	}
	return obj["id"].(string)
}

// TestAdminSendAgainRefusesSentPendingAndAnotherOrdersEmail: posting "Send
// again" with a valid token for a sent receipt, a pending one, or another
// order's failed one answers with a message and changes nothing; the sent
// receipt is never sent again. Without the token the post is refused, and
// without a session it goes to the login page.
func TestAdminSendAgainRefusesSentPendingAndAnotherOrdersEmail(t *testing.T) {
	e, m := mailEnv(t)
	b := e.adminBrowser()
	failedID := e.createCheckoutFor("order-failed", "failed@example.com")
	m.setRefuse(true)
	e.payByIPN(failedID)
	e.sendEmails()
	m.setRefuse(false)
	sentID := e.createCheckoutFor("order-sent", "sent@example.com")
	e.payByIPN(sentID)
	e.sendEmails()
	pendingID := e.createCheckoutFor("order-pending", "pending@example.com")
	e.payByIPN(pendingID)
	failed, sent, pending := e.email(failedID), e.email(sentID), e.email(pendingID)
	if failed.Status != store.EmailFailed || sent.Status != store.EmailSent || pending.Status != store.EmailPending ||
		e.mailsTo("sent@example.com") != 1 {
		t.Fatalf("receipts: failed %s, sent %s (%d mails), pending %s", failed.Status, sent.Status,
			e.mailsTo("sent@example.com"), pending.Status)
	}
	eventsBefore := map[string]int{}
	for _, id := range []string{failedID, sentID, pendingID} {
		eventsBefore[id] = len(e.events(id))
	}

	token := b.get(e.app.URL+"/admin/orders/"+sentID).doc.Find("input[name=csrf_token]").First().AttrOr("value", "")
	if token == "" {
		t.Fatal("no CSRF token on the order page")
	}
	resend := func(orderID, emailID string) string {
		return e.app.URL + "/admin/orders/" + orderID + "/emails/" + emailID + "/resend"
	}
	for _, tc := range []struct {
		name, order, email, flash string
	}{
		{"sent", sentID, sent.ID, "email-not-failed"},
		{"pending", pendingID, pending.ID, "email-not-failed"},
		{"another order's", sentID, failed.ID, "email-not-found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.noFollow().post(resend(tc.order, tc.email), url.Values{"csrf_token": {token}}, nil)
			if want := "/admin/orders/" + tc.order + "?flash=" + tc.flash; r.status != http.StatusSeeOther ||
				r.header.Get("Location") != want {
				t.Fatalf("answer %d to %q, want 303 to %q", r.status, r.header.Get("Location"), want)
			}
			if msg := alert(b.get(e.app.URL+r.header.Get("Location")), "info"); !strings.Contains(msg, "Nothing changed") {
				t.Fatalf("flash %q", msg)
			}
		})
	}
	t.Run("without token", func(t *testing.T) {
		if r := b.noFollow().post(resend(failedID, failed.ID), url.Values{}, nil); r.status != http.StatusForbidden {
			t.Fatalf("without token: %d, want 403", r.status)
		}
	})
	t.Run("without session", func(t *testing.T) {
		anon := e.browser().noFollow().post(resend(failedID, failed.ID), url.Values{}, nil)
		if anon.status != http.StatusSeeOther || anon.header.Get("Location") != "/admin/login" {
			t.Fatalf("without session: %d to %q", anon.status, anon.header.Get("Location"))
		}
	})

	for _, want := range []store.EmailDelivery{failed, sent, pending} {
		if got := e.email(want.CheckoutID); !reflect.DeepEqual(got, want) {
			t.Fatalf("refused posts changed %s:\n got %+v\nwant %+v", want.ID, got, want)
		}
		if n := len(e.events(want.CheckoutID)); n != eventsBefore[want.CheckoutID] {
			t.Fatalf("refused posts added %d timeline lines to %s", n-eventsBefore[want.CheckoutID], want.CheckoutID)
		}
	}
	e.sendEmails()
	if n, f := e.mailsTo("sent@example.com"), e.mailsTo("failed@example.com"); n != 1 || f != 0 {
		t.Fatalf("after the worker: %d mails to the sent receipt's customer (want 1), %d to the failed one's (want 0)", n, f)
	}
}
