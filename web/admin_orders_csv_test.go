package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/store"
	"checkout/web"
)

var (
	eat        = time.FixedZone("EAT", 3*3600)
	csvColumns = []string{"id", "created_at", "reference", "description", "amount", "currency", "status", "method",
		"provider", "receipt", "customer_name", "customer_email", "customer_phone", "paid_at", "payment_link", "review"}
)

// getCSV downloads u with the browser's session and parses the answer.
func getCSV(t *testing.T, b *browser, u string) (*http.Response, [][]string, string) {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, body)
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = len(csvColumns)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the export is not RFC 4180 CSV: %v\n%s", err, body)
	}
	return resp, recs, string(body)
}

// storeCheckout writes a checkout straight into the store, with fields no
// API call would let through (control characters), as a merchant's
// imported data or a future channel might.
func (e *env) storeCheckout(mod func(*store.Checkout)) *store.Checkout {
	e.t.Helper()
	co := &store.Checkout{ID: store.NewID("chk", e.clock.Now()), MerchantID: "default", Reference: "ref-" + e.clock.Now().Format("150405.000000"),
		Description: "Sugar", Amount: 150_000, Currency: "KES", ExpiresAt: e.clock.Now().Add(24 * time.Hour)}
	if mod != nil {
		mod(co)
	}
	if err := e.store.CreateCheckout(context.Background(), co, "test"); err != nil {
		e.t.Fatal(err)
	}
	return co
}

func TestAdminOrdersCSVHasTheColumnsQuotesSafelyAndNeutralisesFormulas(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	paidID := e.createCheckout("INV-1")
	e.payByIPN(paidID)
	e.clock.Advance(time.Second)
	const desc = "=cmd|' /C calc'!A0, \"quoted\", a comma,\nand a new line"
	nasty := e.storeCheckout(func(co *store.Checkout) {
		co.Reference, co.Description, co.Amount = "-1", desc, 5
		co.CustomerName, co.CustomerEmail, co.CustomerPhone = "\tTabbed, \"Mary\"", "@evil.example", "+254712345678"
		co.PaymentLinkID = "plink_x"
	})
	e.clock.Advance(time.Second)
	cr := e.storeCheckout(func(co *store.Checkout) { co.Description = "\rreturn"; co.CustomerName = "Plain Name" })

	resp, recs, body := getCSV(t, b, e.app.URL+"/admin/orders.csv")
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	wantDisp := `attachment; filename="orders-` + e.clock.Now().In(eat).Format("20060102-1504") + `.csv"`
	if cd := resp.Header.Get("Content-Disposition"); cd != wantDisp {
		t.Errorf("Content-Disposition = %q, want %q", cd, wantDisp)
	}
	if len(recs) != 4 || !slices.Equal(recs[0], csvColumns) {
		t.Fatalf("%d records, header %q; want 4 and %q", len(recs), recs[0], csvColumns)
	}
	if got := []string{recs[1][0], recs[2][0], recs[3][0]}; !slices.Equal(got, []string{cr.ID, nasty.ID, paidID}) {
		t.Errorf("rows %v, want newest first", got)
	}
	co := e.checkout(nasty.ID)
	want := []string{nasty.ID, co.CreatedAt.In(eat).Format(time.RFC3339), "'-1", "'" + desc, "0.05", "KES", "open", "", "",
		"", "'\tTabbed, \"Mary\"", "'@evil.example", "'+254712345678", "", "plink_x", "false"}
	if !slices.Equal(recs[2], want) {
		t.Errorf("the row of formula-like cells:\n got %q\nwant %q", recs[2], want)
	}
	if !strings.HasSuffix(recs[2][1], "+03:00") {
		t.Errorf("created_at %q is not in Nairobi time with its offset", recs[2][1])
	}
	if recs[1][3] != "'\rreturn" {
		t.Errorf("a description starting with a carriage return = %q", recs[1][3])
	}
	// The raw bytes: the description is one quoted cell whose quotes are
	// doubled, its new line inside the quotes.
	if !strings.Contains(body, `"'=cmd|' /C calc'!A0, ""quoted"", a comma,`+"\nand a new line\"") {
		t.Errorf("the description is not quoted as RFC 4180 says:\n%s", body)
	}
	paid := e.checkout(paidID)
	want = []string{paidID, paid.CreatedAt.In(eat).Format(time.RFC3339), "INV-1", "Two bags of coffee", "1500.00", "KES",
		"paid", "pesapal", "pesapal", paid.Receipt, "", "jane@example.com", "", paid.PaidAt.In(eat).Format(time.RFC3339), "", "false"}
	if !slices.Equal(recs[3], want) {
		t.Errorf("the paid row:\n got %q\nwant %q", recs[3], want)
	}

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"status=paid", []string{paidID}},
			{"link=plink_x", []string{nasty.ID}},
			{"q=INV-", []string{paidID}},
			{"provider=pesapal&status=open", nil},
			{"from=" + e.clock.Now().In(eat).Format("2006-01-02") + "&q=plain", []string{cr.ID}},
		} {
			_, recs, _ := getCSV(t, b, e.app.URL+"/admin/orders.csv?"+tc.query)
			var got []string
			for _, r := range recs[1:] {
				got = append(got, r[0])
			}
			if !slices.Equal(got, tc.want) || !slices.Equal(recs[0], csvColumns) {
				t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
			}
		}
	})
}

func TestAdminOrdersBadFiltersAre422OnTheListAndTheCSV(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	e.createCheckout("order-1")
	for _, tc := range []struct {
		name, query, field string
	}{
		{"status", "status=bogus", "#f-status"},
		{"method", "method=cash", "#f-method"},
		{"provider", "provider=mpesa", "#f-provider"},
		{"search too long", "q=" + strings.Repeat("x", 101), "#f-q"},
		{"from not a date", "from=2025-13-01", "#f-from"},
		{"to in another format", "to=14/03/2025", "#f-to"},
		{"to before from", "from=2025-03-15&to=2025-03-14", "#f-to"},
		{"paid_from not a date", "paid_from=yesterday", "#f-paid_from"},
		{"paid_to before paid_from", "paid_from=2025-03-15&paid_to=2025-03-01", "#f-paid_to"},
		{"link with spaces", "link=" + url.QueryEscape("plink x"), "#f-link"},
		{"link too long", "link=plink_" + strings.Repeat("a", 60), "#f-link"},
		{"review not 1", "review=yes", "#f-review"},
		{"stale not 1", "stale=2", "#f-stale"},
		{"failure too long", "failure=" + strings.Repeat("x", 201), "#f-failure"},
		{"failed_from not a date", "failure=Declined&failed_from=today", "#f-failed_from"},
		{"failed_to before failed_from", "failure=Declined&failed_from=2025-03-15&failed_to=2025-03-14", "#f-failed_to"},
		{"failed days without the failure", "failed_from=2025-03-15", "#f-failure"},
	} {
		for _, path := range []string{"/admin/orders", "/admin/orders.csv"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				p := b.get(e.app.URL + path + "?" + tc.query)
				if p.status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", p.status)
				}
				f := p.doc.Find(tc.field)
				if f.AttrOr("aria-invalid", "") != "true" {
					t.Fatalf("%s not marked aria-invalid", tc.field)
				}
				msgID := f.AttrOr("aria-describedby", "")
				if msgID == "" || strings.TrimSpace(p.doc.Find("#"+msgID).Text()) == "" {
					t.Fatalf("%s has no error message (aria-describedby %q)", tc.field, msgID)
				}
				if n := len(orderIDs(p)); n != 0 {
					t.Fatalf("a refused filter listed %d rows", n)
				}
			})
		}
	}
}

func TestAdminOrdersFormKeepsTheFiltersOnTheNextPageAndTheCSVLink(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	var linked []string // newest first
	for i := range 52 {
		e.clock.Advance(time.Millisecond)
		co := e.storeCheckout(func(co *store.Checkout) {
			co.Reference, co.PaymentLinkID = fmt.Sprintf("LNK-%03d", i), "plink_t"
		})
		linked = append([]string{co.ID}, linked...)
		e.storeCheckout(nil) // not from the link
	}
	today := e.clock.Now().In(eat).Format("2006-01-02")
	query := url.Values{"link": {"plink_t"}, "from": {today}, "to": {today}, "q": {"LNK-0"}, "provider": {""}}
	first := b.get(e.app.URL + "/admin/orders?" + query.Encode())
	if first.status != http.StatusOK || !slices.Equal(orderIDs(first), linked[:50]) {
		t.Fatalf("first page: %d, %d rows; want the 50 newest of the link", first.status, len(orderIDs(first)))
	}
	for sel, want := range map[string]string{"#f-link": "plink_t", "#f-from": today, "#f-to": today, "#f-q": "LNK-0"} {
		if got := first.doc.Find(sel).AttrOr("value", ""); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if first.doc.Find("#f-from").AttrOr("type", "") != "date" || first.doc.Find("#f-review").AttrOr("type", "") != "checkbox" {
		t.Error("the dates are not date inputs, or review is not a checkbox")
	}
	wantQuery := url.Values{"link": {"plink_t"}, "from": {today}, "to": {today}, "q": {"LNK-0"}}
	next := first.doc.Find("a[rel=next]").AttrOr("href", "")
	nu, err := url.Parse(next)
	if err != nil || nu.Path != "/admin/orders" || nu.Query().Get("after") != linked[49] {
		t.Fatalf("next page link %q", next)
	}
	nq := nu.Query()
	nq.Del("after")
	if nq.Encode() != wantQuery.Encode() {
		t.Errorf("next page keeps %q, want %q", nq.Encode(), wantQuery.Encode())
	}
	csvLink := first.doc.Find(`a:contains("Download CSV")`).AttrOr("href", "")
	cu, err := url.Parse(csvLink)
	if err != nil || cu.Path != "/admin/orders.csv" || cu.Query().Encode() != wantQuery.Encode() {
		t.Errorf("Download CSV link %q, want /admin/orders.csv?%s", csvLink, wantQuery.Encode())
	}
	second := b.get(e.app.URL + next)
	if !slices.Equal(orderIDs(second), linked[50:]) {
		t.Errorf("second page %v, want %v", orderIDs(second), linked[50:])
	}
	_, recs, _ := getCSV(t, b, e.app.URL+csvLink)
	var got []string
	for _, r := range recs[1:] {
		got = append(got, r[0])
	}
	if !slices.Equal(got, linked) {
		t.Errorf("the CSV link exported %d rows, want the link's %d", len(got), len(linked))
	}
	review := b.get(e.app.URL + "/admin/orders?review=1&stale=1")
	if review.doc.Find("#f-review[checked]").Length() != 1 || review.doc.Find("#f-stale[checked]").Length() != 1 {
		t.Error("review=1&stale=1 does not show the boxes ticked")
	}
	if href := review.doc.Find(`a:contains("Download CSV")`).AttrOr("href", ""); href != "/admin/orders.csv?review=1&stale=1" {
		t.Errorf("Download CSV link %q", href)
	}
}

// flushWatch sees an answer as the handler writes it: what was written
// before the first Flush, and a hook run at that moment.
type flushWatch struct {
	http.ResponseWriter
	before  bytes.Buffer
	flushed bool
	first   func(written []byte)
	// lines counts the line ends written in all.
	lines int
}

func (w *flushWatch) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte("\n"))
	if !w.flushed {
		w.before.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

func (w *flushWatch) Flush() {
	if !w.flushed {
		w.flushed = true
		if w.first != nil {
			w.first(w.before.Bytes())
		}
	}
	w.ResponseWriter.(http.Flusher).Flush()
}

// TestAdminOrdersCSVStreamsTenThousandOrdersAsItReadsThem: the first rows
// leave (flushed) before the last ones are read. At the first flush the
// test renames the oldest order's customer, straight in the database: an
// export that streams reads that row later and shows the new name; one
// that read every row before writing shows the old one.
func TestAdminOrdersCSVStreamsTenThousandOrdersAsItReadsThem(t *testing.T) {
	var mu sync.Mutex
	var onFirstFlush func([]byte)
	e := newEnv(t, envOptions{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hook := onFirstFlush
			mu.Unlock()
			if r.URL.Path != "/admin/orders.csv" || hook == nil {
				h.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(&flushWatch{ResponseWriter: w, first: hook}, r)
		})
	}})
	b := e.adminBrowser()
	const orders = 10_000
	if _, err := e.store.Seed(context.Background(), store.SeedOptions{Orders: orders, MerchantID: "default", Seed: 12,
		End: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+e.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var oldest string
	if err := db.QueryRow(`SELECT id FROM checkouts ORDER BY id LIMIT 1`).Scan(&oldest); err != nil {
		t.Fatal(err)
	}

	var linesAtFirstFlush int
	var renameErr error
	mu.Lock()
	onFirstFlush = func(written []byte) {
		linesAtFirstFlush = bytes.Count(written, []byte("\n"))
		_, renameErr = db.Exec(`UPDATE checkouts SET customer_name = 'Renamed While Streaming' WHERE id = ?`, oldest)
	}
	mu.Unlock()

	_, recs, _ := getCSV(t, b, e.app.URL+"/admin/orders.csv")
	if renameErr != nil {
		t.Fatal(renameErr)
	}
	if len(recs) != orders+1 {
		t.Fatalf("%d records, want a header and %d rows", len(recs), orders)
	}
	seen := map[string]bool{}
	for i, r := range recs[1:] {
		if seen[r[0]] || (i > 0 && r[0] >= recs[i][0]) {
			t.Fatalf("row %d (%s) repeats or is out of order", i+1, r[0])
		}
		seen[r[0]] = true
	}
	if linesAtFirstFlush == 0 || linesAtFirstFlush > orders/10 {
		t.Errorf("%d lines were written before the first flush, want a batch (at most %d)", linesAtFirstFlush, orders/10)
	}
	last := recs[len(recs)-1]
	if last[0] != oldest || last[10] != "Renamed While Streaming" {
		t.Errorf("the oldest row is %s named %q: the export read it before sending the first rows", last[0], last[10])
	}
	t.Run("a prefix of more orders than the search takes is left out, and said so", func(t *testing.T) {
		p := b.get(e.app.URL + "/admin/orders?q=ORD-")
		note := strings.TrimSpace(p.doc.Find(".search-note").Text())
		if p.status != http.StatusOK || len(orderIDs(p)) != 0 || !strings.Contains(note, "references") || !strings.Contains(note, "“ORD-”") {
			t.Errorf("q=ORD-: %d, %d rows, note %q; want 200, none, a note naming references", p.status, len(orderIDs(p)), note)
		}
		_, recs, _ := getCSV(t, b, e.app.URL+"/admin/orders.csv?q=ORD-")
		if len(recs) != 1 {
			t.Errorf("the CSV of q=ORD-: %d records, want the header alone", len(recs))
		}
		one := b.get(e.app.URL + "/admin/orders?q=ORD-000012")
		if one.status != http.StatusOK || len(orderIDs(one)) != 10 || one.doc.Find(".search-note").Length() != 0 {
			t.Errorf("q=ORD-000012: %d, %d rows; want the 10 orders ORD-0000120..129 and no note", one.status, len(orderIDs(one)))
		}
	})
}

// TestAdminOrdersCSVStopsWhenTheClientGoesAway: a download abandoned after
// its first batch ends the export (the request's context ends the next
// query), quietly, and frees its slot.
func TestAdminOrdersCSVStopsWhenTheClientGoesAway(t *testing.T) {
	logs := newRecords()
	served := make(chan int, 1) // lines written in all when the handler returned
	var mu sync.Mutex
	var cancelClient context.CancelFunc
	e := newEnv(t, envOptions{logs: web.LogHandler(logs), wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("leave") == "" {
				h.ServeHTTP(w, r)
				return
			}
			fw := &flushWatch{ResponseWriter: w}
			fw.first = func([]byte) {
				// The client hangs up at the first batch; the handler
				// goes on once the server has seen it go.
				mu.Lock()
				cancelClient()
				mu.Unlock()
				<-r.Context().Done()
			}
			h.ServeHTTP(fw, r)
			served <- fw.lines
		})
	}})
	b := e.adminBrowser()
	if _, err := e.store.Seed(context.Background(), store.SeedOptions{Orders: 1000, MerchantID: "default", Seed: 3,
		End: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mu.Lock()
	cancelClient = cancel
	mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.app.URL+"/admin/orders.csv?leave=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := b.c.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body) // ends with the cancel
		resp.Body.Close()
	}
	if lines := <-served; lines == 0 || lines > 300 {
		t.Errorf("%d lines written in all, want the header and the first batch (the export goes on after the client left)", lines)
	}
	if got := logs.find("orders export failed"); len(got) != 0 {
		t.Errorf("a download the client abandoned was logged as a failure: %v", got)
	}
	// Both slots are free again.
	for range 2 {
		if _, recs, _ := getCSV(t, b, e.app.URL+"/admin/orders.csv"); len(recs) != 1001 {
			t.Fatalf("an export after the abandoned one: %d records, want 1001", len(recs))
		}
	}
}
