package templates

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"checkout/reqctx"
	"checkout/static"
)

const (
	testNonce = "bm9uY2UtMTIz"
	testCSRF  = "csrf-token-abc"
)

// The asset URLs pages link: fingerprinted, so browsers cache them for good.
var (
	htmxSrc = static.URL("htmx-2.0.11.min.js")
	cssHref = static.URL("app.css")
)

// testMasked is testCSRF masked, as the handlers put it in Page.CSRF.
var testMasked = reqctx.MaskCSRF(testCSRF)

var testPage = Page{Title: "Pay Duka La Mama", Nonce: testNonce, CSRF: testMasked, RequestID: "req-42"}

var testAdmin = AdminPage{Page: Page{Title: "Orders", Nonce: testNonce, CSRF: testMasked}, AdminEmail: "admin@example.com"}

var testSummary = Summary{
	ID:           "co_7Hq2",
	MerchantName: "Duka La Mama",
	Description:  "2 kg sugar & 1 l milk",
	Reference:    "INV-1001",
	Amount:       "KES 1,500.00",
}

// render renders c and parses the result.
func render(t *testing.T, c templ.Component) (*goquery.Document, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	out := buf.String()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(out))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc, out
}

// assertCSPSafe checks what the strict CSP needs of every page: a nonce on
// every script, no inline style of either kind, no inline event handler.
func assertCSPSafe(t *testing.T, doc *goquery.Document) {
	t.Helper()
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if n, _ := s.Attr("nonce"); n != testNonce {
			t.Errorf("script %q: nonce = %q, want %q", s.AttrOr("src", "inline"), n, testNonce)
		}
	})
	if n := doc.Find("style").Length(); n != 0 {
		t.Errorf("found %d <style> elements", n)
	}
	if n := doc.Find("[style]").Length(); n != 0 {
		t.Errorf("found %d elements with a style attribute", n)
	}
	for _, n := range doc.Nodes {
		walk(n, func(n *html.Node) {
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("<%s> has inline event handler %s", n.Data, a.Key)
				}
			}
		})
	}
}

func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// assertPostForms checks that the page has want POST forms and that each
// carries the CSRF token.
func assertPostForms(t *testing.T, doc *goquery.Document, want int) {
	t.Helper()
	got := 0
	doc.Find("form").Each(func(_ int, f *goquery.Selection) {
		if !strings.EqualFold(f.AttrOr("method", "get"), "post") {
			return
		}
		got++
		tok := f.Find(`input[type="hidden"][name="csrf_token"]`)
		if tok.Length() != 1 {
			t.Errorf("POST form %q: %d csrf_token inputs, want 1", f.AttrOr("action", ""), tok.Length())
			return
		}
		// The page's token as the handlers masked it (BREACH: never the
		// bare token), the same in every form of the answer, unmasking to
		// the session's.
		if v := tok.AttrOr("value", ""); v != testMasked || reqctx.UnmaskCSRF(v) != testCSRF {
			t.Errorf("POST form %q: csrf_token = %q, want %q (%q masked)", f.AttrOr("action", ""), v, testMasked, testCSRF)
		}
	})
	if got != want {
		t.Errorf("found %d POST forms, want %d", got, want)
	}
}

// assertFullPage checks the document shell both layouts share.
func assertFullPage(t *testing.T, doc *goquery.Document) {
	t.Helper()
	if lang := doc.Find("html").AttrOr("lang", ""); lang != "en" {
		t.Errorf(`html lang = %q, want "en"`, lang)
	}
	if vp := doc.Find(`meta[name="viewport"]`).AttrOr("content", ""); !strings.Contains(vp, "width=device-width") {
		t.Errorf("viewport meta = %q", vp)
	}
	if cfg := doc.Find(`meta[name="htmx-config"]`).AttrOr("content", ""); cfg != `{"allowEval":false,"includeIndicatorStyles":false,"allowScriptTags":false}` {
		t.Errorf("htmx-config = %q", cfg)
	}
	if doc.Find(`script[src="`+htmxSrc+`"]`).Length() != 1 {
		t.Errorf("htmx script %s not loaded once", htmxSrc)
	}
	if doc.Find(`link[rel="stylesheet"][href="`+cssHref+`"]`).Length() != 1 {
		t.Errorf("stylesheet %s not linked", cssHref)
	}
	if icon := doc.Find(`link[rel="icon"]`).AttrOr("href", ""); icon != static.URL("favicon.svg") {
		t.Errorf("icon = %q, want %q", icon, static.URL("favicon.svg"))
	}
	if n := doc.Find("h1").Length(); n != 1 {
		t.Errorf("found %d h1 elements, want 1", n)
	}
}

// assertInvalid checks that the field sel is marked invalid and points at
// its error message, which says msg.
func assertInvalid(t *testing.T, doc *goquery.Document, sel, field, msg string) {
	t.Helper()
	f := doc.Find(sel)
	if f.Length() != 1 {
		t.Fatalf("%s: found %d elements, want 1", sel, f.Length())
	}
	if v := f.AttrOr("aria-invalid", ""); v != "true" {
		t.Errorf("%s: aria-invalid = %q, want true", sel, v)
	}
	id := f.AttrOr("aria-describedby", "")
	if id != field+"-error" {
		t.Errorf("%s: aria-describedby = %q, want %q", sel, id, field+"-error")
	}
	e := doc.Find("#" + id)
	if !e.HasClass("field-error") {
		t.Errorf("%s: #%s is not a .field-error", sel, id)
	}
	if got := strings.TrimSpace(e.Text()); got != msg {
		t.Errorf("%s: error text = %q, want %q", sel, got, msg)
	}
}

func text(s *goquery.Selection) string {
	return strings.Join(strings.Fields(s.Text()), " ")
}

func sampleCheckout() CheckoutPage {
	return CheckoutPage{
		Page:    testPage,
		Summary: testSummary,
		Methods: []MethodOption{
			{Key: "pesapal", Label: "Pay with Pesapal", Hint: "Card, M-Pesa, Airtel Money"},
			{Key: "stk", Label: "Pay with M-Pesa", Hint: "STK push", Disabled: true, DisabledReason: "Not available right now"},
		},
		Status:       StatusView{ID: "co_7Hq2", Status: "open", PollURL: "/c/co_7Hq2/status"},
		CancelAction: "/c/co_7Hq2/cancel",
		PayAction:    "/c/co_7Hq2/pay",
	}
}

func sampleOrder() OrderPage {
	return OrderPage{
		AdminPage: testAdmin, Summary: testSummary,
		Status: "pending", Method: "pesapal", Provider: "pesapal", ProviderReference: "b945e4af-80a5",
		Message: "Amount mismatch", Currency: "KES", CreatedAt: "2025-01-02 10:00", ExpiresAt: "2025-01-03 10:00",
		Customer: "Wanjiku, +254712345678", SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cancel",
		Metadata: "cart=42", Review: true,
		Attempts: []AttemptRow{{ID: "at_1", Provider: "pesapal", Method: "pesapal", Status: "pending", ProviderReference: "b945e4af-80a5",
			Phone: "+254712345678", CreatedAt: "10:01", UpdatedAt: "10:02", Review: true, ReviewReason: "amount 1400.00 != 1500.00"}},
		Events: []EventRow{
			{At: "10:02", Kind: "ipn", Source: "pesapal", Summary: "IPN received", Payload: `{"OrderTrackingId":"b945e4af-80a5"}`},
			{At: "10:01", Kind: "attempt.started", Source: "customer", FromStatus: "open", ToStatus: "pending"},
		},
		RecheckAction: "/admin/orders/co_7Hq2/recheck",
		Flash:         "Re-checked: still pending.",
	}
}

// TestPagesAreCSPSafeAndCarryCSRF renders every full page and checks the
// shell, the CSP rules and the CSRF token in every POST form.
func TestPagesAreCSPSafeAndCarryCSRF(t *testing.T) {
	pending := sampleCheckout()
	pending.Pending = true
	pending.Status = StatusView{ID: "co_7Hq2", Status: "pending", PollURL: "/c/co_7Hq2/status"}
	tests := []struct {
		name      string
		c         templ.Component
		postForms int // pay + cancel, logout, recheck ...
	}{
		{"checkout", CheckoutView(sampleCheckout()), 2},
		{"checkout pending", CheckoutView(pending), 2},
		{"pesapal frame", PesapalFrameView(PesapalFramePage{Page: testPage, Summary: testSummary, FrameURL: "https://pay.pesapal.com/iframe/x", BackURL: "/c/co_7Hq2", Status: pending.Status}), 0},
		{"result", ResultView(ResultPage{Page: testPage, Summary: testSummary, Status: pending.Status, BreakOut: true}), 0},
		{"receipt", ReceiptView(ReceiptPage{Page: testPage, Summary: testSummary, Receipt: "QK12ABC", Method: "pesapal"}), 0},
		{"notice", NoticeView(NoticePage{Page: testPage, Heading: "Checkout expired", Text: "This checkout has expired."}), 0},
		{"login", LoginView(LoginPage{Page: testPage, Email: "a@b.c"}), 1},
		{"orders", OrdersView(OrdersPage{AdminPage: testAdmin, Rows: []OrderRow{{ID: "co_1", URL: "/admin/orders/co_1", Status: "paid"}}}), 1},
		{"order", OrderView(sampleOrder()), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := render(t, tt.c)
			assertFullPage(t, doc)
			assertCSPSafe(t, doc)
			assertPostForms(t, doc, tt.postForms)
		})
	}
}

func TestCheckoutViewShowsSummaryAndMethods(t *testing.T) {
	doc, _ := render(t, CheckoutView(sampleCheckout()))

	if got := text(doc.Find(".summary .amount")); got != "KES 1,500.00" {
		t.Errorf("amount = %q", got)
	}
	if got := text(doc.Find(".summary .merchant")); got != "Duka La Mama" {
		t.Errorf("merchant = %q", got)
	}
	if got := text(doc.Find(".summary .description")); got != "2 kg sugar & 1 l milk" {
		t.Errorf("description = %q", got)
	}
	if got := text(doc.Find(".summary .reference")); got != "Reference INV-1001" {
		t.Errorf("reference = %q", got)
	}

	form := doc.Find("form.method-choice")
	if form.AttrOr("method", "") != "post" || form.AttrOr("action", "") != "/c/co_7Hq2/pay" {
		t.Errorf("pay form method=%q action=%q", form.AttrOr("method", ""), form.AttrOr("action", ""))
	}
	buttons := form.Find(`button[name="method"]`)
	if buttons.Length() != 2 {
		t.Fatalf("found %d method buttons, want 2", buttons.Length())
	}
	pesapal := buttons.Eq(0)
	if pesapal.AttrOr("value", "") != "pesapal" || pesapal.AttrOr("type", "") != "submit" {
		t.Errorf("pesapal button value=%q type=%q", pesapal.AttrOr("value", ""), pesapal.AttrOr("type", ""))
	}
	if _, disabled := pesapal.Attr("disabled"); disabled {
		t.Error("pesapal button is disabled")
	}
	if got := text(pesapal); got != "Pay with Pesapal Card, M-Pesa, Airtel Money" {
		t.Errorf("pesapal button text = %q", got)
	}
	stk := buttons.Eq(1)
	if _, disabled := stk.Attr("disabled"); !disabled {
		t.Error("disabled method is not disabled")
	}
	if got := text(stk); got != "Pay with M-Pesa Not available right now" {
		t.Errorf("disabled button text = %q", got)
	}

	if n := doc.Find("#status").Length(); n != 0 {
		t.Errorf("not pending, but found %d #status", n)
	}
	if n := doc.Find(".alert").Length(); n != 0 {
		t.Errorf("no message, but found %d alerts", n)
	}
	if n := doc.Find("[aria-invalid]").Length(); n != 0 {
		t.Errorf("no field errors, but %d elements marked invalid", n)
	}
	cancel := doc.Find("form.cancel-form")
	if cancel.AttrOr("action", "") != "/c/co_7Hq2/cancel" || text(cancel.Find("button")) != "Cancel and return" {
		t.Errorf("cancel form action=%q button=%q", cancel.AttrOr("action", ""), text(cancel.Find("button")))
	}
}

func TestCheckoutViewMarksMethodErrorAndMessage(t *testing.T) {
	v := sampleCheckout()
	v.Message = "The payment was declined."
	v.FieldErrors = map[string]string{"method": "Choose a payment method."}
	v.CancelAction = ""
	doc, _ := render(t, CheckoutView(v))

	assertInvalid(t, doc, "fieldset.methods", "method", "Choose a payment method.")
	if got := doc.Find(`button[value="pesapal"]`).AttrOr("aria-describedby", ""); got != "method-error" {
		t.Errorf("method button aria-describedby = %q", got)
	}
	alert := doc.Find(`.alert[role="alert"]`)
	if got := text(alert); got != "The payment was declined." {
		t.Errorf("alert = %q", got)
	}
	if n := doc.Find("form.cancel-form").Length(); n != 0 {
		t.Errorf("CancelAction empty, but found %d cancel forms", n)
	}
}

func TestCheckoutViewPendingShowsPollingStatus(t *testing.T) {
	v := sampleCheckout()
	v.Pending = true
	v.Status = StatusView{ID: "co_7Hq2", Status: "pending", Method: "pesapal", PollURL: "/c/co_7Hq2/status"}
	doc, _ := render(t, CheckoutView(v))

	st := doc.Find(".pay-area > #status")
	if st.Length() != 1 {
		t.Fatalf("found %d #status in .pay-area", st.Length())
	}
	if got := st.AttrOr("hx-get", ""); got != "/c/co_7Hq2/status" {
		t.Errorf("hx-get = %q", got)
	}
	// The status comes before the choice, so the stylesheet can hide the
	// choice when a swap brings a final status.
	if st.NextAllFiltered("form.method-choice").Length() != 1 {
		t.Error("method choice does not follow #status")
	}
	if got := text(st.NextFiltered(".pending-note")); !strings.HasPrefix(got, "A payment is in progress") {
		t.Errorf("pending note = %q", got)
	}
}

func TestCheckoutViewFinalStatusHidesChoice(t *testing.T) {
	v := sampleCheckout()
	v.Status = StatusView{ID: "co_7Hq2", Status: "paid", Receipt: "QK12ABC", ReceiptURL: "/c/co_7Hq2/receipt", Final: true}
	doc, _ := render(t, CheckoutView(v))
	if n := doc.Find("form").Length(); n != 0 {
		t.Errorf("final status, but found %d forms", n)
	}
	if doc.Find("#status").Length() != 1 {
		t.Error("final status not shown")
	}
}

func TestStatusPartial(t *testing.T) {
	tests := []struct {
		name        string
		v           StatusView
		wantPoll    bool
		wantBadge   string
		wantText    string // a sentence the partial must contain
		wantLink    string // href of the no-JS refresh link; "" means none
		wantReceipt string // href of the receipt link; "" means none
	}{
		{
			name:     "open without message",
			v:        StatusView{ID: "co_1", Status: "open", PollURL: "/c/co_1/status"},
			wantPoll: true, wantBadge: "badge-open", wantText: "Not paid yet.", wantLink: "/c/co_1",
		},
		{
			name:     "open after a failed attempt",
			v:        StatusView{ID: "co_1", Status: "open", Message: "Insufficient funds", PollURL: "/c/co_1/status", PageURL: "/return/pesapal?x=1"},
			wantPoll: true, wantBadge: "badge-failed", wantText: "The last payment did not go through: Insufficient funds", wantLink: "/return/pesapal?x=1",
		},
		{
			name:     "pending",
			v:        StatusView{ID: "co_1", Status: "pending", Method: "pesapal", PollURL: "/c/co_1/status"},
			wantPoll: true, wantBadge: "badge-pending", wantText: "Waiting for your payment…", wantLink: "/c/co_1",
		},
		{
			name:     "pending stk",
			v:        StatusView{ID: "co_1", Status: "pending", Method: "stk", PollURL: "/c/co_1/status"},
			wantPoll: true, wantBadge: "badge-pending", wantText: "enter your M-Pesa PIN", wantLink: "/c/co_1",
		},
		{
			name:      "paid",
			v:         StatusView{ID: "co_1", Status: "paid", Receipt: "QK12ABC", ReceiptURL: "/c/co_1/receipt", PollURL: "/c/co_1/status", Final: true},
			wantBadge: "badge-paid", wantText: "Receipt QK12ABC", wantReceipt: "/c/co_1/receipt",
		},
		{
			name:      "expired",
			v:         StatusView{ID: "co_1", Status: "expired", PollURL: "/c/co_1/status", Final: true},
			wantBadge: "badge-expired", wantText: "This checkout has expired.",
		},
		{
			name:      "cancelled",
			v:         StatusView{ID: "co_1", Status: "cancelled", PollURL: "/c/co_1/status", Final: true},
			wantBadge: "badge-cancelled", wantText: "This checkout was cancelled.",
		},
		{
			name:      "reversed",
			v:         StatusView{ID: "co_1", Status: "reversed", PollURL: "/c/co_1/status", Final: true},
			wantBadge: "badge-reversed", wantText: "This payment was reversed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, out := render(t, StatusPartial(tt.v))
			if strings.Contains(out, "<html") || strings.Contains(out, "<body") {
				t.Error("partial renders the layout")
			}
			st := doc.Find("div#status")
			if st.Length() != 1 {
				t.Fatalf("found %d div#status", st.Length())
			}
			if st.AttrOr("role", "") != "status" || st.AttrOr("aria-live", "") != "polite" {
				t.Errorf("role=%q aria-live=%q", st.AttrOr("role", ""), st.AttrOr("aria-live", ""))
			}
			hxGet, polls := st.Attr("hx-get")
			if polls != tt.wantPoll {
				t.Errorf("hx-get present = %v, want %v", polls, tt.wantPoll)
			}
			if tt.wantPoll {
				if hxGet != tt.v.PollURL {
					t.Errorf("hx-get = %q, want %q", hxGet, tt.v.PollURL)
				}
				if st.AttrOr("hx-trigger", "") != "every 3s" || st.AttrOr("hx-swap", "") != "outerHTML" {
					t.Errorf("hx-trigger=%q hx-swap=%q", st.AttrOr("hx-trigger", ""), st.AttrOr("hx-swap", ""))
				}
			} else {
				for _, a := range []string{"hx-trigger", "hx-swap"} {
					if _, ok := st.Attr(a); ok {
						t.Errorf("final status carries %s", a)
					}
				}
				if !st.HasClass("status-final") {
					t.Error("final status lacks class status-final")
				}
			}
			if !st.Find(".badge").HasClass(tt.wantBadge) {
				t.Errorf("badge class = %q, want %s", st.Find(".badge").AttrOr("class", ""), tt.wantBadge)
			}
			if got := text(st); !strings.Contains(got, tt.wantText) {
				t.Errorf("text = %q, want it to contain %q", got, tt.wantText)
			}
			refresh := st.Find(".status-refresh a")
			if tt.wantLink == "" {
				if refresh.Length() != 0 {
					t.Error("final status has a refresh link")
				}
			} else if got := refresh.AttrOr("href", ""); got != tt.wantLink || text(refresh) != "Refresh" {
				t.Errorf("refresh link = %q %q, want %q", got, text(refresh), tt.wantLink)
			}
			receipt := st.Find(`a.btn`)
			if tt.wantReceipt == "" {
				if receipt.Length() != 0 {
					t.Errorf("unexpected receipt link %q", receipt.AttrOr("href", ""))
				}
			} else if got := receipt.AttrOr("href", ""); got != tt.wantReceipt || text(receipt) != "View receipt" {
				t.Errorf("receipt link = %q %q, want %q", got, text(receipt), tt.wantReceipt)
			}
		})
	}
}

func TestPesapalFrameView(t *testing.T) {
	v := PesapalFramePage{
		Page: testPage, Summary: testSummary,
		FrameURL: "https://cybqa.pesapal.com/pesapaliframe/PesapalIframe3/Index?OrderTrackingId=b945e4af",
		BackURL:  "/c/co_7Hq2",
		Status:   StatusView{ID: "co_7Hq2", Status: "pending", PollURL: "/c/co_7Hq2/status"},
	}
	doc, _ := render(t, PesapalFrameView(v))

	f := doc.Find("iframe.pay-frame")
	if f.AttrOr("src", "") != v.FrameURL || f.AttrOr("title", "") != "Pesapal payment" || f.AttrOr("allow", "") != "payment" {
		t.Errorf("iframe src=%q title=%q allow=%q", f.AttrOr("src", ""), f.AttrOr("title", ""), f.AttrOr("allow", ""))
	}
	if got := text(doc.Find(".summary-line")); !strings.Contains(got, "KES 1,500.00 · 2 kg sugar & 1 l milk") {
		t.Errorf("summary line = %q", got)
	}
	back := doc.Find(`a[href="/c/co_7Hq2"]`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return text(s) == "Choose another method"
	})
	if back.Length() != 1 {
		t.Error(`no "Choose another method" link`)
	}
	if doc.Find("iframe ~ #status[hx-get]").Length() != 1 {
		t.Error("no polling status below the frame")
	}

	v.FrameURL = "javascript:alert(1)"
	doc, _ = render(t, PesapalFrameView(v))
	if src := doc.Find("iframe").AttrOr("src", ""); strings.HasPrefix(src, "javascript:") {
		t.Errorf("iframe src not sanitized: %q", src)
	}
}

func TestResultViewBreakOut(t *testing.T) {
	for _, breakOut := range []bool{false, true} {
		doc, _ := render(t, ResultView(ResultPage{
			Page: testPage, Summary: testSummary, BreakOut: breakOut,
			Status: StatusView{ID: "co_7Hq2", Status: "pending", PollURL: "/c/co_7Hq2/status"},
		}))
		inline := doc.Find("script:not([src])")
		if !breakOut {
			if inline.Length() != 0 {
				t.Errorf("BreakOut false: found %d inline scripts", inline.Length())
			}
			continue
		}
		if inline.Length() != 1 {
			t.Fatalf("BreakOut true: found %d inline scripts, want 1", inline.Length())
		}
		if n := inline.AttrOr("nonce", ""); n != testNonce {
			t.Errorf("break-out script nonce = %q", n)
		}
		if got := inline.Text(); !strings.Contains(got, "window.top.location.href = window.location.href") {
			t.Errorf("break-out script = %q", got)
		}
	}
}

func TestResultViewLinks(t *testing.T) {
	tests := []struct {
		name       string
		v          ResultPage
		wantRetry  bool   // "Try again" in the page
		wantReturn string // link text; "" means no return link
	}{
		{
			name: "open with retry and label",
			v: ResultPage{Status: StatusView{ID: "co_7Hq2", Status: "open", Message: "Declined"}, RetryURL: "/c/co_7Hq2",
				ReturnURL: "https://shop.example/cart", ReturnLabel: "Back to the shop"},
			wantRetry: true, wantReturn: "Back to the shop",
		},
		{
			name:      "paid falls back to merchant name",
			v:         ResultPage{Status: StatusView{ID: "co_7Hq2", Status: "paid", Final: true}, RetryURL: "/c/co_7Hq2", ReturnURL: "https://shop.example/ok"},
			wantRetry: false, wantReturn: "Return to Duka La Mama",
		},
		{
			// Rendered for the stylesheet to show once a poll brings "open".
			name:      "pending without return",
			v:         ResultPage{Status: StatusView{ID: "co_7Hq2", Status: "pending"}, RetryURL: "/c/co_7Hq2"},
			wantRetry: true,
		},
		{
			name:      "open without retry URL",
			v:         ResultPage{Status: StatusView{ID: "co_7Hq2", Status: "open"}},
			wantRetry: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.v.Page, tt.v.Summary = testPage, testSummary
			doc, _ := render(t, ResultView(tt.v))
			if got := text(doc.Find(".summary .amount")); got != "KES 1,500.00" {
				t.Errorf("amount = %q", got)
			}
			retry := doc.Find(".actions a").FilterFunction(func(_ int, s *goquery.Selection) bool { return text(s) == "Try again" })
			if (retry.Length() == 1) != tt.wantRetry {
				t.Errorf("try again shown = %v, want %v", retry.Length() == 1, tt.wantRetry)
			}
			if tt.wantRetry {
				if retry.AttrOr("href", "") != tt.v.RetryURL {
					t.Errorf("retry href = %q", retry.AttrOr("href", ""))
				}
				// The stylesheet hides it unless #status says open.
				if doc.Find("#status ~ p.retry").Length() != 1 {
					t.Error("try again is not a .retry sibling after #status")
				}
			}
			links := 0
			if tt.wantRetry {
				links++
			}
			if tt.wantReturn != "" {
				links++
			}
			if n := doc.Find(".actions a").Length(); n != links {
				t.Errorf("found %d action links, want %d", n, links)
			}
			if tt.wantReturn == "" {
				return
			}
			ret := doc.Find(`.actions a[href="` + tt.v.ReturnURL + `"]`)
			if got := text(ret); got != tt.wantReturn {
				t.Errorf("return link = %q, want %q", got, tt.wantReturn)
			}
			if ret.AttrOr("target", "") != "_top" {
				t.Error("return link does not leave the frame")
			}
		})
	}
}

func TestReceiptView(t *testing.T) {
	doc, _ := render(t, ReceiptView(ReceiptPage{
		Page: testPage, Summary: testSummary,
		Receipt: "QK12ABC", Method: "pesapal", Provider: "pesapal", PaidAt: "2 Jan 2025, 10:03",
		ReturnURL: "https://shop.example/ok", ReturnLabel: "Return to Duka La Mama",
	}))
	if got := text(doc.Find("h1")); got != "Payment received" {
		t.Errorf("heading = %q", got)
	}
	if got := text(doc.Find(".receipt .amount")); got != "KES 1,500.00" {
		t.Errorf("amount = %q", got)
	}
	want := map[string]string{
		"Paid to": "Duka La Mama", "For": "2 kg sugar & 1 l milk", "Reference": "INV-1001",
		"Receipt": "QK12ABC", "Method": "Pesapal", "Paid at": "2 Jan 2025, 10:03", "Checkout": "co_7Hq2",
	}
	got := map[string]string{}
	doc.Find(".receipt dt").Each(func(_ int, dt *goquery.Selection) {
		got[text(dt)] = text(dt.Next())
	})
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("receipt rows = %v", got)
	}
	if text(doc.Find(`a[href="https://shop.example/ok"]`)) != "Return to Duka La Mama" {
		t.Error("no return link")
	}
}

func TestNoticeView(t *testing.T) {
	doc, _ := render(t, NoticeView(NoticePage{Page: testPage, Text: "Please try again later.", Code: 500}))
	if got := text(doc.Find("h1")); got != "Something went wrong" {
		t.Errorf("heading = %q", got)
	}
	if got := text(doc.Find(".request-id")); got != "Request id (quote it if you contact support): req-42" {
		t.Errorf("request id = %q", got)
	}

	p := testPage
	p.RequestID = ""
	doc, _ = render(t, NoticeView(NoticePage{Page: p, Heading: "Checkout not found", Text: "Check the link.", Code: 404}))
	if got := text(doc.Find("h1")); got != "Checkout not found" {
		t.Errorf("heading = %q", got)
	}
	if doc.Find(".request-id").Length() != 0 {
		t.Error("request id shown without one")
	}
}

func TestLoginViewMarksFields(t *testing.T) {
	doc, _ := render(t, LoginView(LoginPage{
		Page: testPage, Email: "admin@example.com", Error: "Wrong email or password.",
		FieldErrors: map[string]string{"password": "Enter your password."},
	}))
	form := doc.Find(`form[action="/admin/login"]`)
	if form.AttrOr("method", "") != "post" {
		t.Errorf("login form method = %q", form.AttrOr("method", ""))
	}
	if got := text(doc.Find(`.alert[role="alert"]`)); got != "Wrong email or password." {
		t.Errorf("error = %q", got)
	}
	assertInvalid(t, doc, "input#password", "password", "Enter your password.")
	email := doc.Find("input#email")
	if email.AttrOr("value", "") != "admin@example.com" || email.AttrOr("type", "") != "email" {
		t.Errorf("email value=%q type=%q", email.AttrOr("value", ""), email.AttrOr("type", ""))
	}
	if _, ok := email.Attr("aria-invalid"); ok {
		t.Error("email marked invalid without an error")
	}
	if v := doc.Find("input#password").AttrOr("value", ""); v != "" {
		t.Errorf("password echoed: %q", v)
	}
	for _, id := range []string{"email", "password"} {
		if doc.Find(`label[for="`+id+`"]`).Length() != 1 {
			t.Errorf("no label for %s", id)
		}
	}
}

func TestOrdersView(t *testing.T) {
	v := OrdersPage{
		AdminPage:  testAdmin,
		Filter:     OrderFilter{Status: "paid", Method: "", Q: "INV-1001"},
		Statuses:   []string{"open", "pending", "paid", "expired", "cancelled", "reversed"},
		MethodKeys: []string{"pesapal", "pokeapay", "stk"},
		Rows: []OrderRow{
			{ID: "co_1", URL: "/admin/orders/co_1", CreatedAt: "2025-01-02 10:00", Reference: "INV-1001", Description: "Sugar",
				Amount: "KES 1,500.00", Status: "paid", Method: "pesapal", Receipt: "QK12ABC", Phone: "+254712345678"},
			{ID: "co_2", URL: "/admin/orders/co_2", Reference: "INV-1002", Amount: "KES 20.00", Status: "pending", Review: true},
		},
		NextURL:     "/admin/orders?after=co_2&status=paid",
		FirstURL:    "/admin/orders?status=paid",
		FieldErrors: map[string]string{"q": "Too long."},
	}
	doc, _ := render(t, OrdersView(v))

	filter := doc.Find("form.filters")
	if filter.AttrOr("method", "") != "get" {
		t.Errorf("filter form method = %q", filter.AttrOr("method", ""))
	}
	if got := filter.Find(`select[name="status"] option[selected]`).AttrOr("value", "-"); got != "paid" {
		t.Errorf("selected status = %q", got)
	}
	if got := text(filter.Find(`select[name="status"] option`).First()); got != "All" {
		t.Errorf("first status option = %q", got)
	}
	if got := filter.Find(`select[name="method"] option[selected]`); got.Length() != 1 || got.AttrOr("value", "-") != "" {
		t.Errorf("selected method = %q", got.AttrOr("value", "-"))
	}
	if filter.Find(`select[name="method"] option`).Length() != 4 {
		t.Error("method options are not All + 3")
	}
	if got := text(doc.Find(`label[for="f-q"]`)); got != "Reference, id, receipt, phone, email or name" {
		t.Errorf("q label = %q", got)
	}
	if got := filter.Find(`input[name="q"]`).AttrOr("value", ""); got != "INV-1001" {
		t.Errorf("q = %q", got)
	}
	assertInvalid(t, doc, `input[name="q"]`, "q", "Too long.")

	rows := doc.Find("table tbody tr")
	if rows.Length() != 2 {
		t.Fatalf("found %d rows", rows.Length())
	}
	first := rows.Eq(0)
	if a := first.Find(`a[href="/admin/orders/co_1"]`); text(a) != "co_1" {
		t.Errorf("id link = %q", text(a))
	}
	if !first.Find(".badge").HasClass("badge-paid") {
		t.Error("row 1 badge is not paid")
	}
	if !strings.Contains(text(first), "KES 1,500.00") || !strings.Contains(text(first), "QK12ABC") || !strings.Contains(text(first), "+254712345678") {
		t.Errorf("row 1 = %q", text(first))
	}
	if first.Find(".badge-review").Length() != 0 || rows.Eq(1).Find(".badge-review").Length() != 1 {
		t.Error("review flags wrong")
	}
	if doc.Find(`a[href="`+v.NextURL+`"]`).Text() != "Next page" || doc.Find(`a[href="`+v.FirstURL+`"]`).Text() != "First page" {
		t.Error("paging links missing")
	}
	if doc.Find(".empty").Length() != 0 {
		t.Error("empty state shown with rows")
	}
	if got := text(doc.Find(".admin-email")); got != "admin@example.com" {
		t.Errorf("admin email = %q", got)
	}
	if doc.Find(`nav a[href="/admin/orders"]`).Length() != 1 {
		t.Error("no Orders nav link")
	}
	if doc.Find(`form[action="/admin/logout"][method="post"]`).Length() != 1 {
		t.Error("no logout form")
	}

	v.Rows, v.NextURL, v.FirstURL = nil, "", ""
	doc, _ = render(t, OrdersView(v))
	if doc.Find("table").Length() != 0 || doc.Find(".empty").Length() != 1 || doc.Find(".pager").Length() != 0 {
		t.Error("empty state wrong")
	}
}

// TestOrdersViewIssue12Filters: the provider, date, link, review and
// stale fields show the filter as typed, the failure field appears only
// with a failure filter, each refused field is marked, and the CSV link is
// the one given.
func TestOrdersViewIssue12Filters(t *testing.T) {
	v := OrdersPage{
		AdminPage: testAdmin,
		Filter: OrderFilter{Provider: "pochipay", From: "2025-03-01", To: "2025-03-31", PaidFrom: "2025-03-02",
			PaidTo: "bad", Link: "plink_1", Review: true},
		Statuses:     []string{"open", "paid"},
		MethodKeys:   []string{"pesapal", "pokeapay", "stk"},
		ProviderKeys: []string{"pesapal", "pokeapay", "pochipay"},
		CSVURL:       "/admin/orders.csv?provider=pochipay",
		FieldErrors:  map[string]string{"paid_to": "Enter a date."},
	}
	doc, _ := render(t, OrdersView(v))
	form := doc.Find("form.filters")
	if got := form.Find(`select[name="provider"] option[selected]`).AttrOr("value", "-"); got != "pochipay" {
		t.Errorf("selected provider = %q", got)
	}
	if got := text(form.Find(`select[name="provider"] option[value="pokeapay"]`)); got != "PokeaPay" {
		t.Errorf("provider label = %q", got)
	}
	for name, want := range map[string]string{"from": "2025-03-01", "to": "2025-03-31", "paid_from": "2025-03-02", "paid_to": "bad"} {
		in := form.Find(`input[name="` + name + `"]`)
		if in.AttrOr("type", "") != "date" || in.AttrOr("value", "") != want {
			t.Errorf("%s: type %q value %q, want a date input with %q", name, in.AttrOr("type", ""), in.AttrOr("value", ""), want)
		}
	}
	if got := form.Find(`input[name="link"]`).AttrOr("value", ""); got != "plink_1" {
		t.Errorf("link = %q", got)
	}
	if form.Find(`input[name="review"][type="checkbox"][value="1"][checked]`).Length() != 1 {
		t.Error("review box not ticked")
	}
	if form.Find(`input[name="stale"][type="checkbox"]`).Length() != 1 || form.Find(`input[name="stale"][checked]`).Length() != 0 {
		t.Error("stale box missing or ticked")
	}
	if form.Find(`input[name="failure"]`).Length() != 0 {
		t.Error("a failure field without a failure filter")
	}
	assertInvalid(t, doc, `input[name="paid_to"]`, "paid_to", "Enter a date.")
	if a := doc.Find(`a[href="/admin/orders.csv?provider=pochipay"]`); text(a) != "Download CSV" {
		t.Errorf("CSV link = %q", text(a))
	}

	if doc.Find(".search-note").Length() != 0 {
		t.Error("a search note without one")
	}

	v.Filter.Failure = "Request cancelled by user."
	v.SearchNote = "More than 5,000 references start with “ORD-”."
	doc, _ = render(t, OrdersView(v))
	if got := text(doc.Find(`.search-note[role="status"]`)); got != v.SearchNote {
		t.Errorf("search note = %q", got)
	}
	if got := doc.Find(`input[name="failure"]`).AttrOr("value", ""); got != v.Filter.Failure {
		t.Errorf("failure = %q", got)
	}
}

func TestOrderView(t *testing.T) {
	doc, _ := render(t, OrderView(sampleOrder()))

	if got := text(doc.Find(`.alert[role="alert"]`)); !strings.HasPrefix(got, "Needs review.") {
		t.Errorf("review alert = %q", got)
	}
	if got := text(doc.Find(".alert-info")); got != "Re-checked: still pending." {
		t.Errorf("flash = %q", got)
	}
	recheck := doc.Find(`form[action="/admin/orders/co_7Hq2/recheck"]`)
	if recheck.AttrOr("method", "") != "post" || text(recheck.Find("button")) != "Re-check with provider" {
		t.Error("recheck form wrong")
	}

	got := map[string]string{}
	doc.Find("dl.details dt").Each(func(_ int, dt *goquery.Selection) { got[text(dt)] = text(dt.Next()) })
	want := map[string]string{
		"ID": "co_7Hq2", "Status": "Pending", "Amount": "KES 1,500.00", "Currency": "KES", "Merchant": "Duka La Mama",
		"Reference": "INV-1001", "Description": "2 kg sugar & 1 l milk", "Method": "Pesapal", "Provider": "pesapal",
		"Provider reference": "b945e4af-80a5", "Receipt": "—", "Message": "Amount mismatch",
		"Customer": "Wanjiku, +254712345678", "Created": "2025-01-02 10:00", "Expires": "2025-01-03 10:00", "Paid at": "—",
		"Success URL": "https://shop.example/ok", "Cancel URL": "https://shop.example/cancel", "Metadata": "cart=42",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("details rows = %d, want %d", len(got), len(want))
	}

	attempts := doc.Find("#attempts-heading ~ .table-scroll tbody tr")
	if attempts.Length() != 1 {
		t.Fatalf("found %d attempt rows", attempts.Length())
	}
	if got := text(attempts.Find(".review-reason")); got != "amount 1400.00 != 1500.00" {
		t.Errorf("review reason = %q", got)
	}

	events := doc.Find("ol.timeline > li")
	if events.Length() != 2 {
		t.Fatalf("found %d events", events.Length())
	}
	if got := text(events.Eq(0).Find(".event-kind")); got != "ipn" {
		t.Errorf("first event = %q (want newest first, as given)", got)
	}
	if got := events.Eq(0).Find("details > pre").Text(); got != `{"OrderTrackingId":"b945e4af-80a5"}` {
		t.Errorf("payload = %q", got)
	}
	if events.Eq(1).Find("details").Length() != 0 {
		t.Error("event without payload has a details element")
	}
	if tr := events.Eq(1).Find(".event-transition .badge"); tr.Length() != 2 || !tr.Eq(0).HasClass("badge-open") || !tr.Eq(1).HasClass("badge-pending") {
		t.Error("transition badges wrong")
	}

	v := sampleOrder()
	v.RecheckAction, v.Review, v.Flash = "", false, ""
	doc, _ = render(t, OrderView(v))
	assertPostForms(t, doc, 1) // logout only
	if doc.Find(".alert").Length() != 0 {
		t.Error("alerts shown without review or flash")
	}
}

// TestValuesAreEscaped feeds markup and script URLs through every customer
// value that reaches a page.
func TestValuesAreEscaped(t *testing.T) {
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	s := Summary{ID: "co_1", MerchantName: evil, Description: evil, Reference: evil, Amount: evil}
	v := sampleCheckout()
	v.Summary, v.Message = s, evil
	v.Pending = true
	v.Status = StatusView{ID: "co_1", Status: "open", Message: evil, PollURL: "/c/co_1/status"}

	doc, _ := render(t, CheckoutView(v))
	if n := doc.Find("script").Length(); n != 1 {
		t.Errorf("found %d scripts, want only htmx", n)
	}
	if doc.Find("img").Length() != 0 {
		t.Error("markup from values was rendered")
	}
	assertCSPSafe(t, doc)
	if got := text(doc.Find(".alert")); got != evil {
		t.Errorf("message = %q", got)
	}

	doc, _ = render(t, ResultView(ResultPage{Page: testPage, Summary: s, Status: v.Status, ReturnURL: "javascript:alert(1)"}))
	doc.Find("a").Each(func(_ int, a *goquery.Selection) {
		if strings.HasPrefix(strings.ToLower(a.AttrOr("href", "")), "javascript:") {
			t.Errorf("javascript: URL rendered: %q", a.AttrOr("href", ""))
		}
	})
}

// TestEscapedWritesWhatAnExpressionWrites: @escaped(s) writes exactly what
// templ writes for { s } in text (the notice page's text is one such
// expression), and it reads back as s: no markup gets through.
func TestEscapedWritesWhatAnExpressionWrites(t *testing.T) {
	for _, s := range []string{"", "Duka La Mama", `<script>alert("x")</script>`, "Tom & Jerry's", "a\"b'c<d>e&f", "KES 1,500.00 · ü"} {
		var got bytes.Buffer
		if err := escaped(s).Render(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		_, page := render(t, NoticeView(NoticePage{Page: testPage, Heading: "h", Text: s}))
		if !strings.Contains(page, ">"+got.String()+"<") {
			t.Errorf("escaped(%q) = %q, not what { } wrote in the notice page:\n%s", s, got.String(), page)
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader("<p>" + got.String() + "</p>"))
		if err != nil {
			t.Fatal(err)
		}
		if text := doc.Find("p").Text(); text != s {
			t.Errorf("escaped(%q) reads back as %q", s, text)
		}
	}
}
