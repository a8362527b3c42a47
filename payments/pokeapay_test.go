package payments

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pokeapay"
	"checkout/store"
	"checkout/store/storetest"
)

const (
	pkOutlet  = "OCT00001"
	pkHashKey = "pk-test-hash-key-0123"
)

// fakePokeaPay is PokeaPay at the provider boundary: the real client builds
// checkout links (no network), and the payment verification answers what
// the test sets.
type fakePokeaPay struct {
	*pokeapay.Client
	mu      sync.Mutex
	answer  gateway.Result
	queries []gateway.Query
}

func (f *fakePokeaPay) Confirm(_ context.Context, q gateway.Query) (gateway.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	return f.answer, nil
}

func (f *fakePokeaPay) answers(r gateway.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = r
}

type pkEnv struct {
	t   *testing.T
	st  *store.Store
	svc *Service
	pk  *fakePokeaPay
	now func() time.Time
}

func newPKEnv(t *testing.T) *pkEnv {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: testNow()}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	client, err := pokeapay.New(pokeapay.Config{CheckoutURL: "https://pay.example/", CoreURL: "https://core.example",
		OutletCode: pkOutlet, HashKey: pkHashKey})
	if err != nil {
		t.Fatal(err)
	}
	pk := &fakePokeaPay{Client: client, answer: gateway.Result{Status: gateway.StatusPending}}
	svc, err := New(Config{PublicURL: "http://shop.example", Store: st, PokeaPay: pk, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &pkEnv{t: t, st: st, svc: svc, pk: pk, now: c.now}
}

// checkout creates a KES 1,500.00 checkout with the given customer email
// and phone.
func (e *pkEnv) checkout(email, phone string) *store.Checkout {
	e.t.Helper()
	co := &store.Checkout{ID: store.NewID("chk", e.now()), MerchantID: "m", Reference: store.NewID("r", e.now()),
		Description: "Coffee", Amount: 150000, Currency: "KES", ExpiresAt: e.now().Add(time.Hour),
		CustomerEmail: email, CustomerPhone: phone}
	if err := e.st.CreateCheckout(context.Background(), co, "test"); err != nil {
		e.t.Fatal(err)
	}
	return co
}

// started creates a checkout with both contacts and starts PokeaPay on it.
func (e *pkEnv) started() (*store.Checkout, *store.Attempt) {
	e.t.Helper()
	co := e.checkout("jane@example.com", "254712345678")
	if _, err := e.svc.StartPokeaPay(context.Background(), co.ID, CustomerContact{}); err != nil {
		e.t.Fatal(err)
	}
	as, err := e.st.Attempts(context.Background(), co.ID)
	if err != nil || len(as) != 1 {
		e.t.Fatalf("attempts: %v %d", err, len(as))
	}
	return co, &as[0]
}

func TestPokeaPayContactAsksOnlyForWhatTheCheckoutLacks(t *testing.T) {
	cases := []struct {
		name             string
		hadEmail         string
		hadPhone         string
		in               CustomerContact
		wantEmail        string
		wantPhone        string
		wantFieldErr     string            // the *FieldError's field, "" for none
		wantMissing      []string          // the *ContactNeeded's fields, nil for none
		wantValues       map[string]string // its values
		wantErrorsFields []string          // the fields its Errors name
	}{
		{name: "both on the checkout, nothing typed", hadEmail: "jane@example.com", hadPhone: "254712345678",
			wantEmail: "jane@example.com", wantPhone: "254712345678"},
		{name: "the merchant's phone in another form is normalised", hadEmail: "jane@example.com", hadPhone: "+254 712 345 678",
			wantEmail: "jane@example.com", wantPhone: "254712345678"},
		{name: "a typed value never replaces the merchant's", hadEmail: "jane@example.com", hadPhone: "254712345678",
			in: CustomerContact{Email: "x@example.com", Phone: "0799999999"}, wantEmail: "jane@example.com", wantPhone: "254712345678"},
		{name: "phone missing, typed", hadEmail: "jane@example.com", in: CustomerContact{Phone: "0712 345-678"},
			wantEmail: "jane@example.com", wantPhone: "254712345678"},
		{name: "phone missing, not typed", hadEmail: "jane@example.com",
			wantMissing: []string{FieldCustomerPhone}, wantValues: map[string]string{FieldCustomerPhone: ""},
			wantErrorsFields: []string{FieldCustomerPhone}},
		{name: "phone missing, wrong", hadEmail: "jane@example.com", in: CustomerContact{Phone: "0812345678"},
			wantMissing: []string{FieldCustomerPhone}, wantValues: map[string]string{FieldCustomerPhone: "0812345678"},
			wantErrorsFields: []string{FieldCustomerPhone}},
		{name: "email missing, typed", hadPhone: "254712345678", in: CustomerContact{Email: " jane@example.com "},
			wantEmail: "jane@example.com", wantPhone: "254712345678"},
		{name: "email missing, wrong", hadPhone: "254712345678", in: CustomerContact{Email: "jane@example"},
			wantMissing: []string{FieldCustomerEmail}, wantValues: map[string]string{FieldCustomerEmail: "jane@example"},
			wantErrorsFields: []string{FieldCustomerEmail}},
		{name: "neither, both typed", in: CustomerContact{Email: "jane@example.com", Phone: "0112345678"},
			wantEmail: "jane@example.com", wantPhone: "254112345678"},
		{name: "neither, an email in the method choice's field", in: CustomerContact{Contact: "jane@example.com"},
			wantMissing: []string{FieldCustomerPhone, FieldCustomerEmail},
			wantValues:  map[string]string{FieldCustomerPhone: "", FieldCustomerEmail: "jane@example.com"}, wantErrorsFields: []string{FieldCustomerPhone}},
		{name: "neither, a phone in the method choice's field and an email typed",
			in:        CustomerContact{Contact: "0712345678", Email: "jane@example.com"},
			wantEmail: "jane@example.com", wantPhone: "254712345678"},
		{name: "neither, wrong text in the method choice's field", in: CustomerContact{Contact: "not a contact"},
			wantFieldErr: "contact"},
		{name: "neither, a wrong email in the method choice's field", in: CustomerContact{Contact: "jane@"},
			wantFieldErr: "contact"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			co := &store.Checkout{CustomerEmail: tc.hadEmail, CustomerPhone: tc.hadPhone}
			email, phone, err := pokeapayContact(co, tc.in)
			if email != tc.wantEmail || phone != tc.wantPhone {
				t.Errorf("email %q phone %q, want %q %q", email, phone, tc.wantEmail, tc.wantPhone)
			}
			var fe *FieldError
			var need *ContactNeeded
			switch {
			case tc.wantFieldErr != "":
				if !errors.As(err, &fe) || fe.Field != tc.wantFieldErr || fe.Code != "invalid" || fe.Message == "" {
					t.Fatalf("err = %v, want a field error on %q", err, tc.wantFieldErr)
				}
			case tc.wantMissing != nil:
				if !errors.As(err, &need) {
					t.Fatalf("err = %v, want *ContactNeeded", err)
				}
				var errFields []string
				for _, f := range need.Missing {
					if need.Errors[f] != "" {
						errFields = append(errFields, f)
					}
				}
				if need.Method != MethodPokeaPay || !reflect.DeepEqual(need.Missing, tc.wantMissing) ||
					!reflect.DeepEqual(need.Values, tc.wantValues) || !reflect.DeepEqual(errFields, tc.wantErrorsFields) ||
					len(need.Errors) != len(tc.wantErrorsFields) {
					t.Fatalf("need = %+v, want missing %v values %v errors on %v", need, tc.wantMissing, tc.wantValues, tc.wantErrorsFields)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			}
		})
	}
}

func TestStartPokeaPaySignsWithBothContactsAndKeepsWhatWasTyped(t *testing.T) {
	e := newPKEnv(t)
	ctx := context.Background()
	co := e.checkout("jane@example.com", "")
	u, err := e.svc.StartPokeaPay(ctx, co.ID, CustomerContact{Phone: "0712 345 678"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := link.Query()
	want := pokeapay.CheckoutHash(pkHashKey, "0", q.Get("oref"), "1500.00", "254712345678", "jane@example.com", pkOutlet)
	if q.Get("tel") != "254712345678" || q.Get("eml") != "jane@example.com" || q.Get("hsh") != want {
		t.Fatalf("link tel %q eml %q hsh %q (want %q)", q.Get("tel"), q.Get("eml"), q.Get("hsh"), want)
	}
	got, err := e.st.Checkout(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CustomerPhone != "254712345678" || got.CustomerEmail != "jane@example.com" || got.Status != store.StatusPending {
		t.Fatalf("checkout phone %q email %q status %s", got.CustomerPhone, got.CustomerEmail, got.Status)
	}
}

func TestStartPokeaPayWithoutTheContactItNeedsChangesNothing(t *testing.T) {
	e := newPKEnv(t)
	ctx := context.Background()
	co := e.checkout("", "")
	before, err := e.st.Events(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.StartPokeaPay(ctx, co.ID, CustomerContact{Email: "jane@example.com", Phone: "12"})
	var need *ContactNeeded
	if !errors.As(err, &need) || need.Errors[FieldCustomerPhone] == "" || need.Errors[FieldCustomerEmail] != "" {
		t.Fatalf("err = %v, want the phone asked again", err)
	}
	got, err := e.st.Checkout(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	as, err := e.st.Attempts(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.st.Events(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CustomerEmail != "" || got.CustomerPhone != "" || got.Status != store.StatusOpen || len(as) != 0 || len(after) != len(before) {
		t.Fatalf("changed: email %q phone %q status %s attempts %d events %d -> %d",
			got.CustomerEmail, got.CustomerPhone, got.Status, len(as), len(before), len(after))
	}
}

func TestPokeaPayIPNIsAClaimAndTheVerificationDecides(t *testing.T) {
	cases := []struct {
		name string
		// ipnAmount and ipnReceipt are what the IPN claims.
		ipnAmount, ipnReceipt string
		// verification is the payment verification's answer (Reference
		// and Currency are filled in).
		verification gateway.Result
		wantOutcome  store.Outcome
		wantStatus   store.Status
		wantAttempt  store.AttemptStatus
		wantReceipt  string
		wantReview   bool
	}{
		// The client reports a verified success without an amount of its
		// own at the amount it asked about (gateway/pokeapay, Confirm).
		{name: "success at the amount asked pays the order and takes no receipt from the IPN",
			ipnAmount: "1.00", ipnReceipt: "RX1",
			verification: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true},
			wantOutcome:  store.OutcomePaid, wantStatus: store.StatusPaid, wantAttempt: store.AttemptSucceeded},
		{name: "success with its own receipt: that receipt, not the IPN's",
			ipnAmount: "1500.00", ipnReceipt: "RX2",
			verification: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Receipt: "QK2"},
			wantOutcome:  store.OutcomePaid, wantStatus: store.StatusPaid, wantAttempt: store.AttemptSucceeded, wantReceipt: "QK2"},
		{name: "success carrying another amount goes to review, whatever the IPN says",
			ipnAmount: "1500.00", ipnReceipt: "RX3",
			verification: gateway.Result{Status: gateway.StatusSucceeded, Amount: 100, HasAmount: true, Receipt: "QK3"},
			wantOutcome:  store.OutcomeReview, wantStatus: store.StatusPending, wantAttempt: store.AttemptPending, wantReview: true},
		{name: "pending with an IPN of another amount changes nothing",
			ipnAmount: "1.00", ipnReceipt: "RX4",
			verification: gateway.Result{Status: gateway.StatusPending},
			wantOutcome:  store.OutcomeUnchanged, wantStatus: store.StatusPending, wantAttempt: store.AttemptPending},
		{name: "failed with an IPN of another amount fails the attempt",
			ipnAmount: "1.00", ipnReceipt: "RX5",
			verification: gateway.Result{Status: gateway.StatusFailed, Message: "PokeaPay did not receive this payment."},
			wantOutcome:  store.OutcomeFailed, wantStatus: store.StatusOpen, wantAttempt: store.AttemptFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newPKEnv(t)
			ctx := context.Background()
			co, a := e.started()
			v := tc.verification
			v.Reference, v.ProviderReference, v.Currency = a.ID, a.ID, "KES"
			e.pk.answers(v)
			n := pokeapay.IPN{BillReference: a.ID, Amount: tc.ipnAmount, ReferenceNo: tc.ipnReceipt, AccountName: "Jane",
				AccountNo: "254712345678", Method: "MPESA", Fees: "0.00"}
			out, err := e.svc.pokeapayIPN(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.st.Checkout(ctx, co.ID)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.wantOutcome || got.Status != tc.wantStatus || got.Receipt != tc.wantReceipt || got.Review != tc.wantReview {
				t.Fatalf("outcome %s status %s receipt %q review %v, want %s %s %q %v",
					out, got.Status, got.Receipt, got.Review, tc.wantOutcome, tc.wantStatus, tc.wantReceipt, tc.wantReview)
			}
			att, err := e.st.Attempt(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if att.Status != tc.wantAttempt || att.Review != tc.wantReview || att.Receipt != tc.wantReceipt {
				t.Fatalf("attempt %s review %v receipt %q", att.Status, att.Review, att.Receipt)
			}
			if tc.wantReview && !strings.Contains(att.ReviewReason, "1.00") {
				t.Fatalf("review reason %q does not name the verified amount", att.ReviewReason)
			}
			if len(e.pk.queries) != 1 || e.pk.queries[0] != (gateway.Query{AttemptID: a.ID, ProviderReference: a.ID,
				Amount: 150000, Currency: "KES"}) {
				t.Fatalf("verification queries %+v", e.pk.queries)
			}
			evs, err := e.st.Events(ctx, co.ID)
			if err != nil {
				t.Fatal(err)
			}
			var claims string
			for _, ev := range evs {
				if ev.Kind == store.EventNotification && ev.Source == "ipn:pokeapay" {
					claims = ev.Message
				}
			}
			for _, c := range []string{`amount "` + tc.ipnAmount + `"`, `referenceno "` + tc.ipnReceipt + `"`,
				`accountname "Jane"`, `accountno "254712345678"`, `method "MPESA"`, `fees "0.00"`} {
				if !strings.Contains(claims, c) {
					t.Fatalf("the IPN's event %q lacks %s", claims, c)
				}
			}
		})
	}
}

func TestPokeaPayIPNAfterAVerifiedSuccessKeepsTheVerifiedReceipt(t *testing.T) {
	e := newPKEnv(t)
	ctx := context.Background()
	co, a := e.started()
	e.pk.answers(gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Reference: a.ID,
		ProviderReference: a.ID, Currency: "KES"})
	if _, out, err := e.svc.Recheck(ctx, a, "return:pokeapay"); err != nil || out != store.OutcomePaid {
		t.Fatalf("verified success: %s %v", out, err)
	}
	// A verification that now carries a receipt fills it; an IPN's never does.
	for _, tc := range []struct{ verified, claimed, want string }{
		{"", "RX1", ""},
		{"QK1", "RX2", "QK1"},
		{"", "RX3", "QK1"},
	} {
		e.pk.answers(gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Reference: a.ID,
			ProviderReference: a.ID, Currency: "KES", Receipt: tc.verified})
		if _, err := e.svc.pokeapayIPN(ctx, pokeapay.IPN{BillReference: a.ID, Amount: "1.00", ReferenceNo: tc.claimed}); err != nil {
			t.Fatal(err)
		}
		got, err := e.st.Checkout(ctx, co.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.StatusPaid || got.Receipt != tc.want || got.Review {
			t.Fatalf("after an IPN claiming %q (verified %q): %s receipt %q review %v, want receipt %q",
				tc.claimed, tc.verified, got.Status, got.Receipt, got.Review, tc.want)
		}
	}
	if got, err := e.st.Checkout(ctx, co.ID); err != nil || got.PaidAt == nil {
		t.Fatalf("checkout %v %+v", err, got)
	}
}

func TestIPNClaimsQuotedInTheTimelineAreClippedEach(t *testing.T) {
	long := strings.Repeat("9", 255)
	got := ipnClaims(pokeapay.IPN{Amount: long, ReferenceNo: "RX1", AccountName: strings.Repeat("é", 100)})
	want := ` (unverified claims: amount "` + strings.Repeat("9", maxClaim) + `…", referenceno "RX1", accountname "` +
		strings.Repeat("é", maxClaim) + `…")`
	if got != want {
		t.Fatalf("ipnClaims =\n %s\nwant\n %s", got, want)
	}
	if ipnClaims(pokeapay.IPN{}) != "" {
		t.Fatal("an IPN that claims nothing adds nothing to the message")
	}
}

// TestRefusedSingleUseLinkPaymentKeepsNoContact: a customer of a
// single-use link already being paid in another browser is refused
// (ErrLinkUsed) before anything they typed is kept on their checkout.
func TestRefusedSingleUseLinkPaymentKeepsNoContact(t *testing.T) {
	e := newPKEnv(t)
	ctx := context.Background()
	l := &store.PaymentLink{ID: store.NewID("plink", e.now()), MerchantID: "m", Amount: 150000, Currency: "KES",
		Description: "Coffee", SingleUse: true, CreatedBy: "api"}
	if err := e.st.CreatePaymentLink(ctx, l); err != nil {
		t.Fatal(err)
	}
	var cos []*Checkout
	for range 2 {
		co, err := e.svc.CheckoutFromLink(ctx, l, "")
		if err != nil {
			t.Fatal(err)
		}
		cos = append(cos, co)
	}
	if _, err := e.svc.StartPokeaPay(ctx, cos[0].ID, CustomerContact{Email: "jane@example.com", Phone: "0712345678"}); err != nil {
		t.Fatal(err)
	}
	before, err := e.st.Events(ctx, cos[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.StartPokeaPay(ctx, cos[1].ID, CustomerContact{Email: "amina@example.com", Phone: "0722000000"})
	if !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("second browser's PokeaPay: %v, want ErrLinkUsed", err)
	}
	got, err := e.st.Checkout(ctx, cos[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.st.Events(ctx, cos[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CustomerEmail != "" || got.CustomerPhone != "" || len(after) != len(before) {
		t.Fatalf("refused payment kept email %q phone %q, events %d -> %d", got.CustomerEmail, got.CustomerPhone, len(before), len(after))
	}
}
