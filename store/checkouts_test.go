package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestCreateCheckoutStoresAnOpenCheckoutWithItsCreatedEvent(t *testing.T) {
	s, _ := newTestEnv(t)
	nairobi := time.FixedZone("EAT", 3*60*60)
	in := &Checkout{
		ID: NewID("chk", t0), MerchantID: testMerchantID, Reference: "INV-1", Description: "Two bags of maize",
		Amount: 150_050, Currency: "KES", Status: StatusPaid, // ignored: a new checkout is open
		CustomerName: "Achieng Otieno", CustomerEmail: "achieng@example.com", CustomerPhone: "254712345678",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cancel",
		Methods: "stk,pesapal", Metadata: `{"order":"1"}`,
		ExpiresAt: t0.Add(2 * time.Hour).In(nairobi),
	}
	if err := s.CreateCheckout(context.Background(), in, "api"); err != nil {
		t.Fatalf("CreateCheckout: %v", err)
	}

	want := Checkout{
		ID: in.ID, MerchantID: testMerchantID, Reference: "INV-1", Description: "Two bags of maize",
		Amount: 150_050, Currency: "KES", Status: StatusOpen,
		CustomerName: "Achieng Otieno", CustomerEmail: "achieng@example.com", CustomerPhone: "254712345678",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cancel",
		Methods: "stk,pesapal", Metadata: `{"order":"1"}`,
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour),
	}
	assertFields(t, "the caller's copy", *in, want)
	got := loadCheckout(t, s, in.ID)
	assertFields(t, "stored checkout", got, want)
	if got.ExpiresAt.Location() != time.UTC {
		t.Errorf("expires_at read back in %s, want UTC", got.ExpiresAt.Location())
	}

	evs := eventsOf(t, s, in.ID, "")
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	assertFields(t, "created event", evs[0], Event{ID: evs[0].ID, CheckoutID: in.ID, Kind: EventCreated, Source: "api",
		ToStatus: "open", Message: "checkout created for KES 1500.50", CreatedAt: t0})
}

func TestCreateCheckoutReferenceIsUniquePerMerchant(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	if _, err := s.EnsureMerchant(ctx, "m_other", "Other shop", "sk_other_key_0000"); err != nil {
		t.Fatal(err)
	}
	first := newCheckout(t, s, func(co *Checkout) { co.Reference = "INV-7" })

	dup := &Checkout{ID: NewID("chk", t0), MerchantID: testMerchantID, Reference: "INV-7", Description: "again",
		Amount: 100, Currency: "KES", ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateCheckout(ctx, dup, "api"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("same merchant, same reference: %v, want ErrDuplicate", err)
	}
	if _, err := s.Checkout(ctx, dup.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the duplicate was stored (err %v)", err)
	}
	if evs := eventsOf(t, s, dup.ID, ""); len(evs) != 0 {
		t.Errorf("the refused duplicate left %d events", len(evs))
	}

	other := newCheckout(t, s, func(co *Checkout) { co.MerchantID, co.Reference = "m_other", "INV-7" })
	if other.ID == first.ID {
		t.Fatal("the fixture reused an id")
	}
}

func TestCheckoutLookupsAnswerNotFound(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	co := newCheckout(t, s, nil)

	if got, err := s.Checkout(ctx, "chk_missing"); !errors.Is(err, ErrNotFound) || got != nil {
		t.Errorf("Checkout(missing) = %v, %v; want nil, ErrNotFound", got, err)
	}
	if got, err := s.CheckoutForMerchant(ctx, "m_other", co.ID); !errors.Is(err, ErrNotFound) || got != nil {
		t.Errorf("CheckoutForMerchant(another merchant) = %v, %v; want nil, ErrNotFound", got, err)
	}
	got, err := s.CheckoutForMerchant(ctx, testMerchantID, co.ID)
	if err != nil {
		t.Fatalf("CheckoutForMerchant(owner): %v", err)
	}
	assertFields(t, "checkout for its merchant", *got, loadCheckout(t, s, co.ID))
	if got, err := s.Attempt(ctx, "att_missing"); !errors.Is(err, ErrNotFound) || got != nil {
		t.Errorf("Attempt(missing) = %v, %v; want nil, ErrNotFound", got, err)
	}
	if got, err := s.AttemptByProviderReference(ctx, "pesapal", "nope"); !errors.Is(err, ErrNotFound) || got != nil {
		t.Errorf("AttemptByProviderReference(missing) = %v, %v; want nil, ErrNotFound", got, err)
	}
}

func TestStartAttemptCopiesTheAmountAndSchedulesTheFirstCheck(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	clk.Advance(time.Minute)
	a := &Attempt{ID: NewID("att", clk.Now()), CheckoutID: co.ID, Provider: "pokeapay", Method: "stk",
		Phone: "254712345678", Amount: 1, Currency: "USD", Status: AttemptSucceeded} // amount, currency, status ignored
	if err := s.StartAttempt(context.Background(), a, 20*time.Second, "customer"); err != nil {
		t.Fatalf("StartAttempt: %v", err)
	}

	want := Attempt{ID: a.ID, CheckoutID: co.ID, Provider: "pokeapay", Method: "stk", Status: AttemptPending,
		Amount: testAmount, Currency: "KES", Phone: "254712345678", NextCheckAt: ptr(clk.Now().Add(20 * time.Second)),
		CreatedAt: clk.Now(), UpdatedAt: clk.Now()}
	assertFields(t, "the caller's copy", *a, want)
	assertFields(t, "stored attempt", loadAttempt(t, s, a.ID), want)

	wantCheckout := *co
	wantCheckout.Status = StatusPending
	wantCheckout.Method, wantCheckout.Provider = "stk", "pokeapay"
	wantCheckout.UpdatedAt = clk.Now()
	assertFields(t, "checkout", loadCheckout(t, s, co.ID), wantCheckout)

	evs := eventsOf(t, s, co.ID, EventTransition)
	assertFields(t, "events", evs, []Event{{ID: evs[0].ID, CheckoutID: co.ID, AttemptID: a.ID, Kind: EventTransition,
		Source: "customer", FromStatus: "open", ToStatus: "pending", Message: "pokeapay payment started", CreatedAt: clk.Now()}})
}

func TestSecondAttemptOnPendingCheckoutSwitchesMethodWithoutTransition(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	first := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(time.Minute)
	second := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)

	got := loadCheckout(t, s, co.ID)
	if got.Status != StatusPending || got.Method != "pesapal" || got.Provider != "pesapal" || !got.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("checkout = %s %s/%s updated %s; want pending, pesapal/pesapal, %s",
			got.Status, got.Provider, got.Method, got.UpdatedAt, clk.Now())
	}
	if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending"}) {
		t.Errorf("transitions = %q, want only open->pending", tr)
	}
	evs := eventsOf(t, s, co.ID, EventAttempt)
	assertFields(t, "attempt events", evs, []Event{{ID: evs[0].ID, CheckoutID: co.ID, AttemptID: second.ID,
		Kind: EventAttempt, Source: "test", Message: "pesapal payment started", CreatedAt: clk.Now()}})

	pending, err := s.PendingAttempts(context.Background(), co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := attemptIDs(pending); !slices.Equal(got, []string{first.ID, second.ID}) {
		t.Errorf("PendingAttempts = %v, want oldest first %v", got, []string{first.ID, second.ID})
	}
	all, err := s.Attempts(context.Background(), co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := attemptIDs(all); !slices.Equal(got, []string{second.ID, first.ID}) {
		t.Errorf("Attempts = %v, want newest first", got)
	}
}

func TestStartAttemptOnUnknownCheckoutIsNotFound(t *testing.T) {
	s, _ := newTestEnv(t)
	a := &Attempt{ID: NewID("att", t0), CheckoutID: "chk_missing", Provider: "pesapal", Method: "pesapal"}
	if err := s.StartAttempt(context.Background(), a, time.Minute, "test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("StartAttempt = %v, want ErrNotFound", err)
	}
}

func TestAttemptStartedRecordsTheProviderReference(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	clk.Advance(time.Second)
	before := loadAttempt(t, s, a.ID)

	err := s.AttemptStarted(context.Background(), a.ID, "b945e4af-80a5-4ec1-8706-e03f8332fb04",
		"https://pay.pesapal.com/iframe/x", `{"status":"200"}`)
	if err != nil {
		t.Fatalf("AttemptStarted: %v", err)
	}

	want := before
	want.ProviderReference = "b945e4af-80a5-4ec1-8706-e03f8332fb04"
	want.RedirectURL = "https://pay.pesapal.com/iframe/x"
	want.UpdatedAt = clk.Now()
	assertFields(t, "attempt", loadAttempt(t, s, a.ID), want)
	found, err := s.AttemptByProviderReference(context.Background(), "pesapal", "b945e4af-80a5-4ec1-8706-e03f8332fb04")
	if err != nil {
		t.Fatalf("AttemptByProviderReference: %v", err)
	}
	assertFields(t, "attempt by provider reference", *found, want)
	if _, err := s.AttemptByProviderReference(context.Background(), "pokeapay", "b945e4af-80a5-4ec1-8706-e03f8332fb04"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the reference under another provider: %v, want ErrNotFound", err)
	}
	if got := loadCheckout(t, s, co.ID); got.ProviderReference != "b945e4af-80a5-4ec1-8706-e03f8332fb04" {
		t.Errorf("checkout provider_reference = %q", got.ProviderReference)
	}
	evs := eventsOf(t, s, co.ID, EventAttempt)
	assertFields(t, "events", evs, []Event{{ID: evs[0].ID, CheckoutID: co.ID, AttemptID: a.ID, Kind: EventAttempt,
		Source: "pesapal", Message: "provider accepted the order, reference b945e4af-80a5-4ec1-8706-e03f8332fb04",
		Payload: `{"status":"200"}`, CreatedAt: clk.Now()}})
}

func TestAttemptNotStartedFailsItAndReopensTheCheckout(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pochipay", "stk", 20*time.Second)
	clk.Advance(time.Second)

	if failed, err := s.AttemptNotStarted(context.Background(), a.ID, "M-Pesa is not available now.", `{"error":"x"}`); err != nil || !failed {
		t.Fatalf("AttemptNotStarted = %v, %v; want it failed", failed, err)
	}
	got := loadAttempt(t, s, a.ID)
	if got.Status != AttemptFailed || got.Message != "M-Pesa is not available now." || got.NextCheckAt != nil {
		t.Errorf("attempt = %s %q next %v; want failed with the message and no next check", got.Status, got.Message, got.NextCheckAt)
	}
	if got := loadCheckout(t, s, co.ID); got.Status != StatusOpen || got.Message != "M-Pesa is not available now." {
		t.Errorf("checkout = %s %q; want open with the message", got.Status, got.Message)
	}
	if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending", "pending->open"}) {
		t.Errorf("transitions = %q", tr)
	}
	if evs := eventsOf(t, s, co.ID, EventError); len(evs) != 1 || evs[0].Payload != `{"error":"x"}` {
		t.Errorf("error events = %+v, want one with the payload", evs)
	}

	// A second call for the same attempt changes nothing.
	before := takeSnapshot(t, s, co.ID)
	if failed, err := s.AttemptNotStarted(context.Background(), a.ID, "again", ""); err != nil || failed {
		t.Fatalf("AttemptNotStarted again = %v, %v; want nothing failed", failed, err)
	}
	assertFields(t, "after the repeat", takeSnapshot(t, s, co.ID), before)
}

func TestAttemptStartedAndNotStartedForUnknownAttemptAreNotFound(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	if err := s.AttemptStarted(ctx, "att_missing", "ref", "", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("AttemptStarted = %v, want ErrNotFound", err)
	}
	if _, err := s.AttemptNotStarted(ctx, "att_missing", "msg", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("AttemptNotStarted = %v, want ErrNotFound", err)
	}
}

func TestAddEventKeepsTheNotificationAndEventsListNewestFirst(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	clk.Advance(time.Second)
	ev := &Event{CheckoutID: co.ID, Kind: EventNotification, Source: "ipn:pesapal",
		Payload: `{"OrderTrackingId":"x"}`}
	if err := s.AddEvent(context.Background(), ev); err != nil {
		t.Fatalf("AddEvent: %v", err)
	}
	if ev.ID == 0 || !ev.CreatedAt.Equal(clk.Now()) {
		t.Errorf("AddEvent left id %d created_at %s, want an id and %s", ev.ID, ev.CreatedAt, clk.Now())
	}
	evs, err := s.Events(context.Background(), co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	assertFields(t, "newest event", evs[0], *ev)
	if evs[1].Kind != EventCreated {
		t.Errorf("oldest event kind = %s, want created", evs[1].Kind)
	}
}

func TestSetCustomerContactFillsOnlyWhatTheCheckoutLacks(t *testing.T) {
	cases := []struct {
		name                 string
		hadEmail, hadPhone   string
		email, phone         string
		wantEmail, wantPhone string
		wantEvent            string // "" when nothing is recorded
	}{
		{"neither before, both given", "", "", "jane@example.com", "254712345678",
			"jane@example.com", "254712345678", "the customer gave jane@example.com and 254712345678 for the receipt"},
		{"email before, phone given", "shop@example.com", "", "other@example.com", "254712345678",
			"shop@example.com", "254712345678", "the customer gave 254712345678 for the receipt"},
		{"phone before, email given", "", "254700000001", "jane@example.com", "254712345678",
			"jane@example.com", "254700000001", "the customer gave jane@example.com for the receipt"},
		{"both before", "shop@example.com", "254700000001", "jane@example.com", "254712345678",
			"shop@example.com", "254700000001", ""},
		{"nothing given", "", "", "", "", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestEnv(t)
			ctx := context.Background()
			co := newCheckout(t, s, func(c *Checkout) { c.CustomerEmail, c.CustomerPhone = tc.hadEmail, tc.hadPhone })
			before, err := s.Events(ctx, co.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetCustomerContact(ctx, co.ID, tc.email, tc.phone); err != nil {
				t.Fatalf("SetCustomerContact: %v", err)
			}
			got, err := s.Checkout(ctx, co.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.CustomerEmail != tc.wantEmail || got.CustomerPhone != tc.wantPhone {
				t.Fatalf("contact = %q %q, want %q %q", got.CustomerEmail, got.CustomerPhone, tc.wantEmail, tc.wantPhone)
			}
			evs, err := s.Events(ctx, co.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.wantEvent == "" && len(evs) != len(before):
				t.Fatalf("an event was recorded: %q", evs[0].Message)
			case tc.wantEvent != "" && (len(evs) != len(before)+1 || evs[0].Message != tc.wantEvent ||
				evs[0].Kind != EventAttempt || evs[0].Source != "customer"):
				t.Fatalf("events %d (before %d), newest %+v, want %q", len(evs), len(before), evs[0], tc.wantEvent)
			}
		})
	}
}

func TestCheckoutPageCarriesTheMerchantNameAndTheNewestPhoneTried(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	co := newCheckout(t, s, nil)

	p, err := s.CheckoutPage(ctx, co.ID)
	if err != nil {
		t.Fatalf("CheckoutPage: %v", err)
	}
	assertFields(t, "page before any attempt", *p, CheckoutPage{Checkout: pageOf(t, loadCheckout(t, s, co.ID)), MerchantName: "Test shop"})

	// A Pesapal attempt has no phone; of two prompts, the newer one's
	// phone is the one shown.
	for _, a := range []*Attempt{
		{Provider: "pokeapay", Method: "stk", Phone: "254711000001"},
		{Provider: "pokeapay", Method: "stk", Phone: "254711000002"},
		{Provider: "pesapal", Method: "pesapal"},
	} {
		clk.Advance(time.Second)
		a.ID, a.CheckoutID = NewID("pay", clk.Now()), co.ID
		if err := s.StartAttempt(ctx, a, time.Minute, "customer"); err != nil {
			t.Fatal(err)
		}
	}
	p, err = s.CheckoutPage(ctx, co.ID)
	if err != nil {
		t.Fatalf("CheckoutPage: %v", err)
	}
	assertFields(t, "page after three attempts", *p, CheckoutPage{Checkout: pageOf(t, loadCheckout(t, s, co.ID)),
		MerchantName: "Test shop", LastPhone: "254711000002"})

	if got, err := s.CheckoutPage(ctx, "chk_missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CheckoutPage(missing) = %v, %v; want nil, ErrNotFound", got, err)
	}
}

// TestCheckoutPageReadsThePagesFields: CheckoutPage scans its columns by
// hand; a checkout with a value in every field reads back through it with
// every one of pageFields as through GORM, and nothing else: the fields the
// customer pages do not read stay zero.
func TestCheckoutPageReadsThePagesFields(t *testing.T) {
	s, _ := newTestEnv(t)
	var co Checkout
	v := reflect.ValueOf(&co).Elem()
	at := t0.Add(time.Hour)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String:
			f.SetString("v-" + name)
		case f.Kind() == reflect.Int64:
			f.SetInt(int64(1000 + i))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Minute)))
		case f.Type() == reflect.TypeOf(&time.Time{}):
			f.Set(reflect.ValueOf(ptr(at.Add(time.Duration(i) * time.Minute))))
		default:
			t.Fatalf("field %s of type %s: teach this test to fill it", name, f.Type())
		}
	}
	co.ID, co.MerchantID, co.Status = "chk_every_field", testMerchantID, StatusPaid
	if err := s.w.Create(&co).Error; err != nil {
		t.Fatal(err)
	}
	// The first view reads every page field; the second reads the live
	// ones and takes the fixed ones from the first.
	for _, view := range []string{"first view", "second view"} {
		p, err := s.CheckoutPage(context.Background(), co.ID)
		if err != nil {
			t.Fatalf("CheckoutPage, %s: %v", view, err)
		}
		got := reflect.ValueOf(p.Checkout)
		for _, name := range pageFields {
			if got.FieldByName(name).IsZero() {
				t.Errorf("%s: page field %s was not read", view, name)
			}
		}
		assertFields(t, view, p.Checkout, pageOf(t, loadCheckout(t, s, co.ID)))
		assertFields(t, view, p.Checkout, pageOf(t, co))
	}
	if n := len(fixedFields) + len(liveFields); n != len(pageFields) || len(pageFields) != 19 {
		t.Errorf("pageFields has %d fields, fixed and live %d", len(pageFields), n)
	}
}

// TestCheckoutPageShowsWhatChangedSinceItsFirstView: after a checkout's
// page was viewed (its fixed fields remembered), every live field changed
// in the database, the merchant renamed and a phone tried show on the next
// view.
func TestCheckoutPageShowsWhatChangedSinceItsFirstView(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	co := newCheckout(t, s, nil)
	if _, err := s.CheckoutPage(ctx, co.ID); err != nil {
		t.Fatalf("CheckoutPage: %v", err)
	}
	a := &Attempt{ID: NewID("pay", clk.Now()), CheckoutID: co.ID, Provider: "pokeapay", Method: "stk", Phone: "254711000009"}
	if err := s.StartAttempt(ctx, a, time.Minute, "customer"); err != nil {
		t.Fatal(err)
	}
	paid := t0.Add(time.Minute)
	if err := s.w.Model(&Checkout{}).Where("id = ?", co.ID).Updates(map[string]any{
		"status": StatusPaid, "method": "card", "provider": "pesapal", "receipt": "RCPT1", "message": "paid by card",
		"customer_email": "jane@example.com", "customer_phone": "254722000000", "paid_at": paid,
	}).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.w.Model(&Merchant{}).Where("id = ?", testMerchantID).Update("name", "Renamed shop").Error; err != nil {
		t.Fatal(err)
	}
	p, err := s.CheckoutPage(ctx, co.ID)
	if err != nil {
		t.Fatalf("CheckoutPage: %v", err)
	}
	assertFields(t, "page after the changes", *p, CheckoutPage{Checkout: pageOf(t, loadCheckout(t, s, co.ID)),
		MerchantName: "Renamed shop", LastPhone: "254711000009"})
	if p.Status != StatusPaid || p.Receipt != "RCPT1" || p.PaidAt == nil || !p.PaidAt.Equal(paid) {
		t.Errorf("page after the changes: status %s, receipt %q, paid at %v", p.Status, p.Receipt, p.PaidAt)
	}
}

// TestFixedCacheIsBounded: the page cache of a store keeps at most
// fixedCacheSize checkouts, the most recently added.
func TestFixedCacheIsBounded(t *testing.T) {
	c := newPageQueries().fixed
	for i := range 3 * fixedCacheSize {
		c.Add(fmt.Sprintf("chk_%d", i), checkoutFixed{Amount: int64(i)})
	}
	if n := c.Len(); n > fixedCacheSize {
		t.Fatalf("cache holds %d checkouts, want at most %d", n, fixedCacheSize)
	}
	last := fmt.Sprintf("chk_%d", 3*fixedCacheSize-1)
	if f, ok := c.Get(last); !ok || f.Amount != int64(3*fixedCacheSize-1) {
		t.Fatalf("newest entry: %+v, %v", f, ok)
	}
	if _, ok := c.Get("chk_0"); ok {
		t.Fatal("the oldest entry is still held")
	}
}

// pageOf is co with only the fields CheckoutPage reads (pageFields).
func pageOf(t *testing.T, co Checkout) Checkout {
	t.Helper()
	var p Checkout
	src, dst := reflect.ValueOf(co), reflect.ValueOf(&p).Elem()
	for _, name := range pageFields {
		f := src.FieldByName(name)
		if !f.IsValid() {
			t.Fatalf("pageFields names %s, which Checkout does not have", name)
		}
		dst.FieldByName(name).Set(f)
	}
	return p
}
