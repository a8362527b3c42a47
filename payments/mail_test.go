package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/gateway/sandbox"
	"checkout/store"
	"checkout/store/storetest"
)

// mailEnv is a store, a scripted provider, and services that send
// receipts through mailer (the sandbox's inbox unless a test swaps it).
type mailEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	path  string
	fake  *scripted
	inbox *sandbox.Sandbox
	st    *store.Store
	svc   *Service
}

func newMailEnv(t *testing.T, mailer Mailer) *mailEnv {
	t.Helper()
	e := &mailEnv{t: t, ctx: context.Background(), clock: &clock{t: webhookT0}, path: storetest.DSN(t),
		fake: &scripted{results: map[string]gateway.Result{}}}
	e.inbox = sandbox.New(sandbox.Config{PublicURL: "http://shop.test", Now: e.clock.now})
	t.Cleanup(e.inbox.Close)
	if mailer == nil {
		mailer = e.inbox
	}
	e.svc = e.open(mailer)
	e.st = e.svc.st
	if _, err := e.st.EnsureMerchant(e.ctx, "m", "Duka Bora", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	return e
}

// open opens the database again and builds a service on it: another
// instance sharing the database.
func (e *mailEnv) open(mailer Mailer) *Service {
	e.t.Helper()
	st, err := store.Open(e.ctx, e.path, store.Options{Now: e.clock.now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	svc, err := New(Config{PublicURL: "https://pay.shop.test", Store: st, Now: e.clock.now, Pesapal: e.fake,
		Logger: slog.New(slog.DiscardHandler), PesapalIPN: func(context.Context) (string, error) { return "ipn-1", nil },
		Mailer: mailer})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// pay creates a checkout for KES 1,500.00 with a Pesapal attempt
// under way, scripted to be paid, and has the IPN arrive.
func (e *mailEnv) pay(ref, email string) *store.Checkout {
	e.t.Helper()
	co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: ref, Description: "Two bags of maize",
		Amount: 150000, Currency: "KES", CustomerEmail: email, ExpiresAt: e.clock.now().Add(time.Hour)}
	if err := e.st.CreateCheckout(e.ctx, co, "test"); err != nil {
		e.t.Fatal(err)
	}
	a := &store.Attempt{ID: store.NewID("pay", e.clock.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := e.st.StartAttempt(e.ctx, a, time.Hour, "test"); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.AttemptStarted(e.ctx, a.ID, "trk-"+ref, "http://pay", ""); err != nil {
		e.t.Fatal(err)
	}
	e.fake.mu.Lock()
	e.fake.results["trk-"+ref] = gateway.Result{Status: gateway.StatusSucceeded, Receipt: "QK12345678",
		Amount: 150000, HasAmount: true, Currency: "KES", Reference: a.ID}
	e.fake.mu.Unlock()
	e.notify(ref)
	return co
}

func (e *mailEnv) notify(ref string) {
	e.t.Helper()
	if _, _, err := e.svc.PesapalNotification(e.ctx, pesapal.Notification{OrderTrackingID: "trk-" + ref,
		OrderNotificationType: "IPNCHANGE"}, "ipn:pesapal"); err != nil {
		e.t.Fatal(err)
	}
}

func (e *mailEnv) emails(checkoutID string) []store.EmailDelivery {
	e.t.Helper()
	ds, err := e.st.EmailDeliveries(e.ctx, checkoutID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func (e *mailEnv) send(svc *Service) {
	e.t.Helper()
	if err := svc.SendEmails(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// TestPaidCheckoutWithEmailSendsExactlyOneReceiptToTheSandboxInbox: the
// paid result applied twice, and two workers of two instances sending at
// once and again, put one receipt in the inbox, with the receipt page's
// facts in both parts, to the customer, from receipts@<public host>, with
// a Message-ID made of the delivery's id; the delivery is sent and the
// timeline says so.
func TestPaidCheckoutWithEmailSendsExactlyOneReceiptToTheSandboxInbox(t *testing.T) {
	e := newMailEnv(t, nil)
	other := e.open(e.inbox)
	co := e.pay("ord-1", "amina@example.com")
	e.notify("ord-1") // the same result again
	var wg sync.WaitGroup
	for _, svc := range []*Service{e.svc, other, e.svc, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.SendEmails(e.ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	e.send(e.svc)
	e.send(other)

	mails := e.inbox.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d emails in the inbox, want 1", len(mails))
	}
	ds := e.emails(co.ID)
	if len(ds) != 1 || ds[0].Status != store.EmailSent || ds[0].Attempts != 1 || ds[0].SentAt == nil {
		t.Fatalf("deliveries %+v, want one sent at the first attempt", ds)
	}
	m := mails[0].Mail
	if m.To != "amina@example.com" || m.From != "receipts@pay.shop.test" || m.MessageID != ds[0].ID+"@pay.shop.test" {
		t.Errorf("To %q, From %q, Message-ID %q", m.To, m.From, m.MessageID)
	}
	if m.Subject != "Receipt from Duka Bora: KES 1,500.00" {
		t.Errorf("Subject %q", m.Subject)
	}
	// webhookT0 is 09:30:00 UTC: 12:30 in Nairobi.
	facts := []string{"Duka Bora", "KES 1,500.00", "Two bags of maize", "ord-1", "QK12345678", "Pesapal",
		"14 Mar 2025, 12:30 EAT", co.ID, "https://pay.shop.test/c/" + co.ID}
	for _, f := range facts {
		if !strings.Contains(m.Text, f) {
			t.Errorf("the text part lacks %q:\n%s", f, m.Text)
		}
		if !strings.Contains(m.HTML, f) {
			t.Errorf("the HTML part lacks %q", f)
		}
	}
	for _, bad := range []string{"<img", "<script", "key-0123456789", "whsec_"} {
		if strings.Contains(m.HTML, bad) || strings.Contains(m.Text, bad) {
			t.Errorf("the receipt contains %q", bad)
		}
	}
	evs, err := e.st.Events(e.ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, ev := range evs {
		if ev.Kind == store.EventEmail && strings.Contains(ev.Message, "sent to amina@example.com") {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("%d timeline lines say the receipt was sent, want 1", sent)
	}
}

// TestCheckoutWithoutEmailQueuesNoReceipt: no customer email, or no
// mailer at all, queues nothing and sends nothing.
func TestCheckoutWithoutEmailQueuesNoReceipt(t *testing.T) {
	e := newMailEnv(t, nil)
	co := e.pay("ord-1", "")
	e.send(e.svc)
	if ds := e.emails(co.ID); len(ds) != 0 {
		t.Fatalf("deliveries %+v, want none", ds)
	}
	if n := len(e.inbox.Mails()); n != 0 {
		t.Fatalf("%d emails sent, want none", n)
	}

	// A service without a mailer (no SMTP, not sandbox) queues none.
	off := newMailEnv(t, nil)
	off.svc = off.open(nil)
	off.st = off.svc.st
	co = off.pay("ord-2", "amina@example.com")
	if ds := off.emails(co.ID); len(ds) != 0 {
		t.Fatalf("without a mailer: deliveries %+v, want none", ds)
	}
	if off.svc.MailEnabled() {
		t.Error("MailEnabled with no mailer")
	}
}

// flakyMailer fails its first `fails` sends, then hands over to next.
type flakyMailer struct {
	mu    sync.Mutex
	fails int
	tries []gateway.Mail
	next  Mailer
}

func (f *flakyMailer) SendMail(ctx context.Context, m gateway.Mail) error {
	f.mu.Lock()
	f.tries = append(f.tries, m)
	fail := len(f.tries) <= f.fails
	f.mu.Unlock()
	if fail {
		return errors.New("smtp: 451 4.3.0 try again later")
	}
	return f.next.SendMail(ctx, m)
}

// TestFailingMailerIsRetriedThenSucceedsOnce: a send that fails is tried
// again after 1 minute, then 2, with the same Message-ID; the third try
// succeeds and nothing is sent after it.
func TestFailingMailerIsRetriedThenSucceedsOnce(t *testing.T) {
	flaky := &flakyMailer{fails: 2}
	e := newMailEnv(t, flaky)
	flaky.next = e.inbox
	co := e.pay("ord-1", "amina@example.com")
	paidAt := e.clock.now()

	e.send(e.svc)
	ds := e.emails(co.ID)
	if ds[0].Status != store.EmailPending || ds[0].Attempts != 1 || !ds[0].NextAttemptAt.Equal(paidAt.Add(time.Minute)) ||
		ds[0].LastError != "smtp: 451 4.3.0 try again later" {
		t.Fatalf("after the first failure: %+v", ds[0])
	}
	e.send(e.svc) // not due yet
	e.clock.add(time.Minute)
	e.send(e.svc)
	ds = e.emails(co.ID)
	if ds[0].Attempts != 2 || !ds[0].NextAttemptAt.Equal(paidAt.Add(3*time.Minute)) {
		t.Fatalf("after the second failure: %+v", ds[0])
	}
	e.clock.add(2 * time.Minute)
	e.send(e.svc)
	e.clock.add(time.Hour)
	e.send(e.svc)

	if len(flaky.tries) != 3 {
		t.Fatalf("%d tries, want 3", len(flaky.tries))
	}
	for _, m := range flaky.tries {
		if m.MessageID != flaky.tries[0].MessageID {
			t.Errorf("Message-ID %q changed from %q", m.MessageID, flaky.tries[0].MessageID)
		}
	}
	if n := len(e.inbox.Mails()); n != 1 {
		t.Fatalf("%d emails delivered, want 1", n)
	}
	ds = e.emails(co.ID)
	if ds[0].Status != store.EmailSent || ds[0].Attempts != 3 || ds[0].LastError != "" {
		t.Fatalf("at the end: %+v", ds[0])
	}
}

// TestEmailGivesUpAfterADayAndSaysSoInTheTimeline: a send that keeps
// failing is tried on a schedule that doubles up to an hour, and fails
// after 24 hours with a line in the order's timeline.
func TestEmailGivesUpAfterADayAndSaysSoInTheTimeline(t *testing.T) {
	flaky := &flakyMailer{fails: 1 << 30}
	e := newMailEnv(t, flaky)
	co := e.pay("ord-1", "amina@example.com")
	for i := 0; i < 100; i++ {
		e.send(e.svc)
		ds := e.emails(co.ID)
		if ds[0].Status != store.EmailPending {
			break
		}
		e.clock.add(ds[0].NextAttemptAt.Sub(e.clock.now()))
	}
	ds := e.emails(co.ID)
	// 1, 2, 4, 8, 16, 32 min, then hourly: 63 min after 7 tries, then 22
	// more hourly ones reach 23 h 3 min, the 30th try comes at 24 h 3 min.
	if ds[0].Status != store.EmailFailed || ds[0].Attempts != 30 {
		t.Fatalf("at the end: %+v", ds[0])
	}
	evs, err := e.st.Events(e.ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range evs {
		if ev.Kind == store.EventEmail {
			lines = append(lines, ev.Message)
		}
	}
	want := "receipt email to amina@example.com (" + ds[0].ID + ") failed after 30 attempts: smtp: 451 4.3.0 try again later"
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("email lines in the timeline %q, want [%q]", lines, want)
	}
}

func TestMailRetryDoublesUpToAnHour(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := mailRetryAfter(i + 1); got != w {
			t.Errorf("after failure %d: %s, want %s", i+1, got, w)
		}
	}
}

// TestNoReceiptForACheckoutReversedBeforeTheEmailWentOut: a receipt that
// could not be sent at once waits for its retry; a payment reversed in
// the meantime gets no "Payment received" email: the email fails with
// the reason, in the timeline, and nothing is sent.
func TestNoReceiptForACheckoutReversedBeforeTheEmailWentOut(t *testing.T) {
	flaky := &flakyMailer{fails: 1}
	e := newMailEnv(t, flaky)
	flaky.next = e.inbox
	co := e.pay("ord-1", "amina@example.com")
	e.send(e.svc) // the SMTP server is down: retried in a minute

	e.fake.mu.Lock()
	e.fake.results["trk-ord-1"] = gateway.Result{Status: gateway.StatusReversed}
	e.fake.mu.Unlock()
	e.notify("ord-1")
	if got, err := e.st.Checkout(e.ctx, co.ID); err != nil || got.Status != store.StatusReversed {
		t.Fatalf("checkout %v %v, want reversed", got, err)
	}

	e.clock.add(time.Minute)
	e.send(e.svc)
	if n := len(e.inbox.Mails()); n != 0 || len(flaky.tries) != 1 {
		t.Fatalf("%d emails delivered after %d tries; a reversed checkout gets none", n, len(flaky.tries))
	}
	ds := e.emails(co.ID)
	if ds[0].Status != store.EmailFailed || ds[0].LastError != "checkout is reversed" {
		t.Fatalf("the receipt of a reversed checkout: %+v, want failed: checkout is reversed", ds[0])
	}
	if lines := emailLines(t, e, co.ID); len(lines) != 1 || !strings.HasSuffix(lines[0], "failed after 2 attempts: checkout is reversed") {
		t.Fatalf("email lines in the timeline %q", lines)
	}
}

// refusingMailer answers every send with a permanent SMTP refusal, as
// smtpmail reports a 5xx answer.
type refusingMailer struct{ tries int }

func (r *refusingMailer) SendMail(context.Context, gateway.Mail) error {
	r.tries++
	return fmt.Errorf("smtpmail: smtp://mail.shop.test:587: send: %w: 550 5.1.1 no such mailbox", gateway.ErrMailRefused)
}

// TestPermanentMailFailuresFailAtOnce: an SMTP 5xx answer, and an address
// that does not parse (never handed to the mailer), fail the email at the
// first try with the reason in the timeline; they are not retried. (A 4xx
// answer is retried: TestFailingMailerIsRetriedThenSucceedsOnce.)
func TestPermanentMailFailuresFailAtOnce(t *testing.T) {
	refusing := &refusingMailer{}
	e := newMailEnv(t, refusing)
	refused := e.pay("ord-1", "amina@example.com")
	garbled := e.pay("ord-2", "amina at example dot com")
	e.send(e.svc)
	e.clock.add(time.Hour)
	e.send(e.svc)
	if refusing.tries != 1 {
		t.Fatalf("%d sends, want 1: the refused one once, the garbled address never", refusing.tries)
	}
	for _, tc := range []struct {
		co   *store.Checkout
		want string
	}{
		{refused, "550 5.1.1 no such mailbox"},
		{garbled, `the address "amina at example dot com" does not parse`},
	} {
		ds := e.emails(tc.co.ID)
		if ds[0].Status != store.EmailFailed || ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, tc.want) {
			t.Errorf("%s: %+v, want failed after one attempt with %q", tc.co.Reference, ds[0], tc.want)
		}
		if lines := emailLines(t, e, tc.co.ID); len(lines) != 1 || !strings.Contains(lines[0], "failed after 1 attempt: ") ||
			!strings.Contains(lines[0], tc.want) {
			t.Errorf("%s: email lines in the timeline %q", tc.co.Reference, lines)
		}
	}
}

func emailLines(t *testing.T, e *mailEnv, checkoutID string) []string {
	t.Helper()
	evs, err := e.st.Events(e.ctx, checkoutID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range evs {
		if ev.Kind == store.EventEmail {
			lines = append(lines, ev.Message)
		}
	}
	return lines
}

// TestReceiptEmailIsInTheCheckoutsLocale: a checkout made with locale sw
// gets its receipt in Swahili (subject, labels, the date with its Swahili
// month, the amount written for Kenya, <html lang="sw">); its facts are
// the same.
func TestReceiptEmailIsInTheCheckoutsLocale(t *testing.T) {
	e := newMailEnv(t, nil)
	co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: "ord-sw", Description: "Two bags of maize",
		Amount: 150000, Currency: "KES", CustomerEmail: "amina@example.com", ExpiresAt: e.clock.now().Add(time.Hour), Locale: "sw"}
	if err := e.st.CreateCheckout(e.ctx, co, "test"); err != nil {
		t.Fatal(err)
	}
	a := &store.Attempt{ID: store.NewID("pay", e.clock.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := e.st.StartAttempt(e.ctx, a, time.Hour, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.AttemptStarted(e.ctx, a.ID, "trk-ord-sw", "http://pay", ""); err != nil {
		t.Fatal(err)
	}
	e.fake.mu.Lock()
	e.fake.results["trk-ord-sw"] = gateway.Result{Status: gateway.StatusSucceeded, Receipt: "QK12345678",
		Amount: 150000, HasAmount: true, Currency: "KES", Reference: a.ID}
	e.fake.mu.Unlock()
	e.notify("ord-sw")
	e.send(e.svc)

	mails := e.inbox.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d emails, want 1", len(mails))
	}
	m := mails[0].Mail
	if m.Subject != "Risiti kutoka Duka Bora: KES 1,500.00" {
		t.Errorf("Subject %q", m.Subject)
	}
	// webhookT0 is 09:30:00 UTC on 14 March 2025: 12:30 in Nairobi.
	if !strings.Contains(m.Text, "Umelipa KES 1,500.00 kwa Duka Bora.") {
		t.Errorf("the text part lacks its first sentence:\n%s", m.Text)
	}
	for _, f := range []string{"Malipo yamepokelewa", "Imelipwa kwa", "Kumbukumbu",
		"Risiti", "Wakati wa malipo", "Ijumaa, 14 Machi 2025, 12:30 EAT", "QK12345678", "https://pay.shop.test/c/" + co.ID} {
		if !strings.Contains(m.Text, f) {
			t.Errorf("the text part lacks %q:\n%s", f, m.Text)
		}
		if !strings.Contains(m.HTML, f) {
			t.Errorf("the HTML part lacks %q", f)
		}
	}
	if !strings.Contains(m.HTML, `<html lang="sw">`) {
		t.Error(`the HTML part is not <html lang="sw">`)
	}
	for _, english := range []string{"Payment received", "You paid", "Paid to", "Keep this email", "Mar 2025"} {
		if strings.Contains(m.Text, english) || strings.Contains(m.HTML, english) {
			t.Errorf("English left in the Swahili receipt: %q", english)
		}
	}
}
