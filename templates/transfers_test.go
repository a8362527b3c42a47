package templates

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

func sampleRefunds() TransfersPage {
	return TransfersPage{AdminPage: testAdmin, Kind: "refund", Action: "/admin/refunds",
		Statuses: []string{"pending", "succeeded", "failed"}, Stages: []string{"approval", "attention"},
		Filter: TransferFilter{Stage: "approval"},
		Rows: []TransferRow{
			{ID: "ref_1", URL: "/admin/refunds/ref_1", CreatedAt: "5 Dec 2026 10:00", Amount: "KES 12,000.00",
				Status: "pending", Stage: "approval", Provider: "pochipay", ProviderReference: "123456789012",
				RequestedBy: "a@example.com", Order: "INV-1001", OrderURL: "/admin/orders/co_1"},
			{ID: "ref_2", URL: "/admin/refunds/ref_2", CreatedAt: "5 Dec 2026 09:00", Amount: "KES 500.00",
				Status: "succeeded", Stage: "done", Provider: "pesapal", RequestedBy: "API", ApprovedBy: "b@example.com",
				Order: "INV-1000", OrderURL: "/admin/orders/co_0"},
		},
		FirstURL: "/admin/refunds?stage=approval", NextURL: "/admin/refunds?after=ref_2&stage=approval"}
}

func sampleTransfer() TransferPage {
	return TransferPage{AdminPage: testAdmin, Kind: "payout", ID: "po_1", Status: "pending", Stage: "approval",
		Amount: "KES 20,000.00", Details: []DetailRow{{Label: "Amount", Value: "KES 20,000.00"},
			{Label: "Phone", Value: "254712345678", Mono: true}, {Label: "Refund", Value: "ref_1", URL: "/admin/refunds/ref_1"},
			{Label: "Receipt", Value: ""}},
		Events:        []EventRow{{At: "10:00", Kind: "payout.created", Source: "admin:a@example.com", ToStatus: "pending"}},
		ApproveAction: "/admin/payouts/po_1/approve", DeclineAction: "/admin/payouts/po_1/decline",
		BackURL: "/admin/payouts", BackLabel: "Payouts"}
}

// TestTransferPagesAreCSPSafeAndCarryCSRF renders every new admin page and
// checks the shell, the CSP rules and the CSRF token in every POST form.
func TestTransferPagesAreCSPSafeAndCarryCSRF(t *testing.T) {
	attention := sampleTransfer()
	attention.Stage, attention.ApproveAction, attention.DeclineAction = "attention", "", ""
	attention.ResolveAction = "/admin/payouts/po_1/resolve"
	order := sampleOrder()
	order.Refunds = RefundsSection{Form: &RefundForm{Action: "/admin/orders/co_7Hq2/refunds", Amount: "1500.00", Left: "KES 1,500.00"}}
	tests := []struct {
		name      string
		c         templ.Component
		postForms int // logout + the page's own
	}{
		{"refunds", TransfersView(sampleRefunds()), 1},
		{"payout approval", TransferView(sampleTransfer()), 3},
		{"payout attention", TransferView(attention), 3},
		{"order with refund form", OrderView(order), 3},
		{"confirm", ConfirmView(ConfirmPage{AdminPage: testAdmin, Heading: "Refund?", Action: "/admin/orders/co_1/refunds", Button: "Refund", BackURL: "/admin/orders/co_1"}), 2},
		{"send money", PayoutNewView(PayoutNewPage{AdminPage: testAdmin, Provider: "pochipay"}), 2},
		{"send money without provider", PayoutNewView(PayoutNewPage{AdminPage: testAdmin}), 1},
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

func TestAdminNavShowsWaitingCounts(t *testing.T) {
	a := testAdmin
	a.RefundsWaiting = "3"
	doc, _ := render(t, TransfersView(TransfersPage{AdminPage: a, Kind: "refund", Action: "/admin/refunds"}))
	if got := text(doc.Find(`.admin-nav a[href="/admin/refunds"]`)); got != "Refunds 3 waiting" {
		t.Errorf("refunds nav = %q", got)
	}
	if got := text(doc.Find(`.admin-nav a[href="/admin/payouts"]`)); got != "Payouts" {
		t.Errorf("payouts nav = %q, want no count", got)
	}
	if n := doc.Find(".nav-count").Length(); n != 1 {
		t.Errorf("found %d counts, want 1", n)
	}
}

func TestTransfersViewListsAndFilters(t *testing.T) {
	doc, _ := render(t, TransfersView(sampleRefunds()))
	if got := text(doc.Find("h1")); got != "Refunds" {
		t.Errorf("h1 = %q", got)
	}
	if doc.Find(`a[href="/admin/payouts/new"].btn`).Length() != 0 {
		t.Error("refunds list offers Send money")
	}
	f := doc.Find(`form.filters[method="get"][action="/admin/refunds"]`)
	if got := f.Find(`select[name="stage"] option[selected]`).AttrOr("value", "?"); got != "approval" {
		t.Errorf("stage selected = %q", got)
	}
	if got := f.Find(`select[name="status"] option[selected]`).AttrOr("value", "?"); got != "" {
		t.Errorf("status selected = %q, want All", got)
	}
	var stages []string
	f.Find(`select[name="stage"] option`).Each(func(_ int, o *goquery.Selection) { stages = append(stages, text(o)) })
	if strings.Join(stages, "|") != "All|Waiting for approval|Needs attention" {
		t.Errorf("stage options = %q", stages)
	}
	var head []string
	doc.Find("table thead th").Each(func(_ int, th *goquery.Selection) { head = append(head, text(th)) })
	if strings.Join(head, "|") != "ID|Amount|Status|Order|Created|Provider|Provider reference|Asked by|Approved by" {
		t.Errorf("columns = %q", head)
	}
	rows := doc.Find("table tbody tr")
	if rows.Length() != 2 {
		t.Fatalf("rows = %d", rows.Length())
	}
	var cells []string
	rows.Eq(0).Find("td").Each(func(_ int, td *goquery.Selection) { cells = append(cells, text(td)) })
	want := []string{"ref_1", "KES 12,000.00", "Pending Waiting for approval", "INV-1001", "5 Dec 2026 10:00", "Pochipay", "123456789012", "a@example.com", ""}
	if strings.Join(cells, "|") != strings.Join(want, "|") {
		t.Errorf("row 1 = %q, want %q", cells, want)
	}
	if rows.Eq(0).Find(`a[href="/admin/refunds/ref_1"]`).Length() != 1 || rows.Eq(0).Find(`a[href="/admin/orders/co_1"]`).Length() != 1 {
		t.Error("row 1 links wrong")
	}
	if !rows.Eq(0).Find(".badge-stage").HasClass("badge-pending") {
		t.Error("approval stage not amber")
	}
	if rows.Eq(1).Find(".badge-stage").Length() != 0 {
		t.Error("done stage shown")
	}
	if got := text(rows.Eq(1).Find("td").Eq(8)); got != "b@example.com" {
		t.Errorf("approved by = %q", got)
	}
	if doc.Find(`.pager a[href="/admin/refunds?after=ref_2&stage=approval"][rel="next"]`).Length() != 1 ||
		doc.Find(`.pager a[href="/admin/refunds?stage=approval"]`).Length() != 1 {
		t.Error("pager links wrong")
	}

	v := TransfersPage{AdminPage: testAdmin, Kind: "payout", Action: "/admin/payouts", NewURL: "/admin/payouts/new",
		Filter: TransferFilter{Status: "nope"}, Statuses: []string{"pending"}, FieldErrors: map[string]string{"status": "Choose a status from the list."}}
	doc, _ = render(t, TransfersView(v))
	assertInvalid(t, doc, `select[name="status"]`, "status", "Choose a status from the list.")
	if doc.Find(`a[href="/admin/payouts/new"].btn`).Length() != 1 {
		t.Error("payouts list lacks Send money")
	}
	if got := text(doc.Find(".empty")); got != "No payouts match these filters." {
		t.Errorf("empty = %q", got)
	}
}

func TestTransferViewOffersTheActionsOfItsStage(t *testing.T) {
	doc, _ := render(t, TransferView(sampleTransfer()))
	if got := text(doc.Find("h1")); got != "Payout po_1 Pending" {
		t.Errorf("h1 = %q", got)
	}
	approve := doc.Find(`details.confirm form[method="post"][action="/admin/payouts/po_1/approve"]`)
	if approve.Length() != 1 || text(approve.Find("button")) != "Yes, approve KES 20,000.00" {
		t.Error("approve confirm wrong")
	}
	decline := doc.Find(`details.confirm form[method="post"][action="/admin/payouts/po_1/decline"]`)
	if decline.Find(`input[name="reason"]`).Length() != 1 {
		t.Error("decline has no reason field")
	}
	if doc.Find(`details.confirm[open]`).Length() != 0 {
		t.Error("a confirm step is open before it is asked for")
	}
	if got := text(doc.Find(".alert-warn")); !strings.HasPrefix(got, "Waiting for approval.") || strings.Contains(got, "You asked") {
		t.Errorf("approval note = %q", got)
	}
	got := map[string]string{}
	doc.Find("dl.details dt").Each(func(_ int, dt *goquery.Selection) { got[text(dt)] = text(dt.Next()) })
	if got["Phone"] != "254712345678" || got["Receipt"] != "—" || got["Refund"] != "ref_1" {
		t.Errorf("details = %v", got)
	}
	if doc.Find(`dd a[href="/admin/refunds/ref_1"]`).Length() != 1 {
		t.Error("refund link missing")
	}
	if got := text(doc.Find("ol.timeline .event-kind")); got != "payout.created" {
		t.Errorf("timeline = %q", got)
	}

	own := sampleTransfer()
	own.ApproveAction, own.OwnRequest = "", true
	doc, _ = render(t, TransferView(own))
	if doc.Find(`form[action="/admin/payouts/po_1/approve"]`).Length() != 0 {
		t.Error("the requester is offered Approve")
	}
	if got := text(doc.Find(".own-request")); got != "You asked for this one, so another admin approves it." {
		t.Errorf("own request note = %q", got)
	}

	att := sampleTransfer()
	att.Kind, att.Stage, att.ApproveAction, att.DeclineAction = "refund", "attention", "", ""
	att.Message, att.ResolveAction = "PokeaPay has no refund API for cards: refund by hand, then mark it refunded", "/admin/refunds/ref_9/resolve"
	doc, _ = render(t, TransferView(att))
	if got := text(doc.Find(".alert-error")); !strings.Contains(got, "PokeaPay has no refund API for cards") {
		t.Errorf("attention alert = %q", got)
	}
	forms := doc.Find(`form[action="/admin/refunds/ref_9/resolve"]`)
	if forms.Length() != 2 {
		t.Fatalf("resolve forms = %d", forms.Length())
	}
	if forms.Eq(0).Find(`input[name="outcome"]`).AttrOr("value", "") != "succeeded" || text(forms.Eq(0).Find("button")) != "Yes, mark refunded" {
		t.Error("mark refunded wrong")
	}
	if forms.Eq(1).Find(`input[name="outcome"]`).AttrOr("value", "") != "failed" || text(forms.Eq(1).Find("button")) != "Yes, mark failed" {
		t.Error("mark failed wrong")
	}
}

func TestOrderViewRefundsSection(t *testing.T) {
	v := sampleOrder()
	v.Refunds = RefundsSection{Refunded: "KES 500.00 of KES 1,500.00 refunded",
		Rows: []TransferRow{{ID: "ref_1", URL: "/admin/refunds/ref_1", Amount: "KES 500.00", Status: "succeeded", Stage: "done"}},
		Form: &RefundForm{Action: "/admin/orders/co_7Hq2/refunds", Amount: "1000.00", Left: "KES 1,000.00",
			Hints: []string{"M-Pesa refunds are whole shillings.", "Above KES 10,000.00 a second admin approves."}}}
	doc, _ := render(t, OrderView(v))
	sec := doc.Find("section.refunds")
	if got := text(sec.Find(".refunded")); got != "KES 500.00 of KES 1,500.00 refunded" {
		t.Errorf("refunded = %q", got)
	}
	if sec.Find(`tbody tr a[href="/admin/refunds/ref_1"]`).Length() != 1 {
		t.Error("refund row missing")
	}
	if strings.Contains(sec.Find("thead").Text(), "Order") {
		t.Error("the order page's refunds name the order again")
	}
	f := sec.Find(`form.refund-form[method="post"][action="/admin/orders/co_7Hq2/refunds"]`)
	amount := f.Find(`input[name="amount"]`)
	if amount.AttrOr("value", "") != "1000.00" {
		t.Errorf("amount = %q, want what is left", amount.AttrOr("value", ""))
	}
	if _, ro := amount.Attr("readonly"); ro {
		t.Error("amount read-only for a partial-refund payment")
	}
	if got := text(f.Find(`label[for="refund-amount"]`)); got != "Amount to refund (KES 1,000.00 left)" {
		t.Errorf("amount label = %q", got)
	}
	if f.Find(".refund-hints li").Length() != 2 {
		t.Error("hints missing")
	}

	v.Refunds.Form.FullOnly = true
	v.Refunds.Form.FieldErrors = map[string]string{"amount": "Pesapal refunds mobile money in full only."}
	doc, _ = render(t, OrderView(v))
	if _, ro := doc.Find(`#refund-amount`).Attr("readonly"); !ro {
		t.Error("amount not read-only for a full-only payment")
	}
	assertInvalid(t, doc, "#refund-amount", "amount", "Pesapal refunds mobile money in full only.")

	v.Refunds.Form = &RefundForm{Blocked: "Pesapal takes one refund per payment, and this one has one."}
	doc, _ = render(t, OrderView(v))
	if doc.Find("form.refund-form").Length() != 0 {
		t.Error("blocked refund still offers the form")
	}
	if got := text(doc.Find(".refund-blocked")); got != "Pesapal takes one refund per payment, and this one has one." {
		t.Errorf("blocked = %q", got)
	}

	v.Refunds = RefundsSection{}
	doc, _ = render(t, OrderView(v))
	if doc.Find("section.refunds table, section.refunds form").Length() != 0 {
		t.Error("an unpaid order without refunds shows a table or form")
	}
}

func TestConfirmViewPostsTheFieldsAgain(t *testing.T) {
	v := ConfirmPage{AdminPage: testAdmin, Heading: "Refund KES 500.00?", Details: []DetailRow{{Label: "To", Value: "254712345678"}},
		Notes: []string{"A second admin approves it before anything is sent."}, Action: "/admin/orders/co_1/refunds",
		Hidden: []HiddenField{{"amount", "500"}, {"reason", `"broken" <b>`}}, Button: "Refund KES 500.00", BackURL: "/admin/orders/co_1"}
	doc, _ := render(t, ConfirmView(v))
	f := doc.Find(`form.confirm-form[action="/admin/orders/co_1/refunds"]`)
	if f.Find(`input[type="hidden"][name="amount"]`).AttrOr("value", "") != "500" ||
		f.Find(`input[type="hidden"][name="reason"]`).AttrOr("value", "") != `"broken" <b>` {
		t.Error("hidden fields wrong")
	}
	ok := f.Find(`button[name="confirm"][value="1"]`)
	if text(ok) != "Refund KES 500.00" || f.Find(`button[name="edit"][value="1"]`).Length() != 1 {
		t.Error("buttons wrong")
	}
	if got := text(doc.Find(".confirm-note")); got != "A second admin approves it before anything is sent." {
		t.Errorf("note = %q", got)
	}
	if doc.Find(`.crumbs a[href="/admin/orders/co_1"]`).Length() != 1 {
		t.Error("cancel link missing")
	}
}

func TestPayoutNewViewShowsBalanceAndMarksFields(t *testing.T) {
	v := PayoutNewPage{AdminPage: testAdmin, Provider: "pochipay", Balance: "KES 2,000.00",
		Form:         PayoutForm{Phone: "0712", Amount: "5000", Name: "Wanjiku"},
		FieldErrors:  map[string]string{"phone": "Enter a Kenyan mobile number.", "amount": "More than the balance (KES 2,000.00)."},
		ApprovalNote: "Above KES 10,000.00 a second admin approves before anything is sent."}
	doc, _ := render(t, PayoutNewView(v))
	if got := text(doc.Find(".payout-balance")); got != "Balance: KES 2,000.00" {
		t.Errorf("balance = %q", got)
	}
	assertInvalid(t, doc, `input[name="phone"]`, "phone", "Enter a Kenyan mobile number.")
	assertInvalid(t, doc, `input[name="amount"]`, "amount", "More than the balance (KES 2,000.00).")
	if _, bad := doc.Find(`input[name="name"]`).Attr("aria-invalid"); bad {
		t.Error("name marked without an error")
	}
	if doc.Find(`input[name="name"]`).AttrOr("value", "") != "Wanjiku" {
		t.Error("typed name lost")
	}
	if got := text(doc.Find(`.alert-error`)); got != "Nothing was sent. Correct the marked fields." {
		t.Errorf("alert = %q", got)
	}

	doc, _ = render(t, PayoutNewView(PayoutNewPage{AdminPage: testAdmin, Provider: "pokeapay"}))
	if doc.Find(".payout-balance").Length() != 0 {
		t.Error("balance shown for a provider without one")
	}
}
