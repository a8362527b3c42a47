package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"checkout/payments"
	"checkout/store"
	"checkout/web"
)

// post sends body to u and returns the status and the answer. Safe in
// goroutines: failures are reported with t.Error.
func post(t *testing.T, u, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	resp, err := http.Post(u, contentType, body)
	if err != nil {
		t.Errorf("POST %s: %v", u, err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("POST %s: read answer: %v", u, err)
	}
	return resp.StatusCode, b
}

// dbSize is the size of the SQLite database with its WAL and shared
// memory files.
func dbSize(t *testing.T, path string) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// padded is a JSON object of fields plus a "padding" field that brings the
// body to exactly size bytes.
func padded(t *testing.T, fields map[string]string, size int) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	head := string(b[:len(b)-1]) + `,"padding":"`
	fill := size - len(head) - len(`"}`)
	if fill < 0 {
		t.Fatalf("cannot pad %d bytes to %d", len(head), size)
	}
	return head + strings.Repeat("x", fill) + `"}`
}

// orphanEvents are the events that belong to no checkout: what a
// notification for a reference we never issued used to leave behind.
func (e *env) orphanEvents() []store.Event {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func TestJunkNotificationFloodGrowsTheDatabaseLittleAndARealPaymentIsPaid(t *testing.T) {
	// The flood comes from one address: the per-IP rate limit would turn
	// most of it away (TestEachLimitAnswers429WithRetryAfterAndRecovers).
	// Here every request gets through it, so that what the flood costs
	// the database is measured, not the limiter.
	loose := web.Rate{Every: time.Microsecond, Burst: 10000}
	e := newEnv(t, envOptions{limits: web.Limits{Notify: loose, Reference: loose}})
	id := e.createCheckout("flood-1")
	_, _, order := e.startPesapal(id)
	before := dbSize(t, e.dbPath)

	type junk struct {
		path, body string
		want       int
	}
	const perVariant = 300 // per provider: 600 padded far over the limit, 600 just under it
	var jobs []junk
	for i := range perVariant {
		for _, size := range []int{60 << 10, web.FormBodyLimit - 100} {
			tooLarge := size > web.FormBodyLimit
			pesapalWant, pokeapayWant := http.StatusInternalServerError, http.StatusNotFound
			if tooLarge {
				pesapalWant, pokeapayWant = http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge
			}
			jobs = append(jobs,
				junk{"/ipn/pesapal", padded(t, map[string]string{"OrderNotificationType": "IPNCHANGE",
					"OrderTrackingId": fmt.Sprintf("junk-%d-%d", size, i), "OrderMerchantReference": fmt.Sprintf("pay_junk%d_%d", size, i)}, size), pesapalWant},
				junk{"/ipn/pokeapay", padded(t, map[string]string{"billreference": fmt.Sprintf("pay_junk%d_%d", size, i),
					"amount": "1500.00", "referenceno": "RJUNK", "method": "MPESA"}, size), pokeapayWant})
		}
	}

	var (
		next    atomic.Int64
		started = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
	)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				if i == len(jobs)/4 {
					once.Do(func() { close(started) })
				}
				j := jobs[i]
				status, answer := post(t, e.app.URL+j.path, "application/json", strings.NewReader(j.body))
				if status != j.want {
					t.Errorf("%s with a %d-byte body for a reference we never issued: %d %s, want %d", j.path, len(j.body), status, answer, j.want)
				}
			}
		}()
	}

	// A real payment, confirmed by its IPN in the middle of the flood.
	<-started
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	if status, ack := e.ipn(order); status != http.StatusOK || ack["status"] != float64(200) {
		t.Errorf("the real IPN during the flood: %d %v", status, ack)
	}
	wg.Wait()

	co := e.checkout(id)
	if co.Status != store.StatusPaid || co.Receipt == "" {
		t.Errorf("the real payment: status %s receipt %q, want paid with a receipt", co.Status, co.Receipt)
	}
	if n := e.transitions(id, store.StatusPaid); n != 1 {
		t.Errorf("transitions to paid = %d, want 1", n)
	}
	grown := dbSize(t, e.dbPath) - before
	if grown >= 5<<20 {
		t.Errorf("the flood grew the database by %d bytes, want under 5 MB", grown)
	}
	t.Logf("the database grew by %d bytes", grown)
	if evs := e.orphanEvents(); len(evs) != 0 {
		t.Errorf("%d events stored for references we never issued, want none (first: %s %q)", len(evs), evs[0].Source, evs[0].Message)
	}
	// Only the notifications within the limit were read, and each is a
	// count.
	if n, err := e.svc.UnknownNotifications(context.Background()); err != nil || n != 2*perVariant {
		t.Errorf("unknown notifications counted = %d, %v; want %d", n, err, 2*perVariant)
	}
	// The real notification is kept, parsed and small.
	evs, err := e.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == store.EventNotification && len(ev.Payload) > 2<<10 {
			t.Errorf("stored notification payload of %d bytes, want at most 2 KB", len(ev.Payload))
		}
	}
}

func TestBodiesOverTheLimitsAre413AndChangeNothing(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay"})
	id := e.createCheckout("limits-1")
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil || len(as) != 1 {
		t.Fatalf("attempts: %v %d", err, len(as))
	}
	eventsBefore, err := e.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	pesapalIPN := padded(t, map[string]string{"OrderNotificationType": "IPNCHANGE", "OrderTrackingId": order.TrackingID,
		"OrderMerchantReference": order.MerchantReference}, web.FormBodyLimit+1)
	pokeapayIPN := padded(t, map[string]string{"billreference": as[0].ID, "amount": "1500.00"}, web.FormBodyLimit+1)
	stk := padded(t, map[string]string{"reference": as[0].ID}, web.FormBodyLimit+1)

	for _, tc := range []struct {
		name, path, body string
		// chunked sends the body without a Content-Length, so only the
		// read finds it too large.
		chunked bool
		// wantKey and wantValue are a field of the JSON answer.
		wantKey   string
		wantValue any
	}{
		{"Pesapal IPN", "/ipn/pesapal", pesapalIPN, false, "status", float64(413)},
		{"Pesapal IPN, chunked", "/ipn/pesapal", pesapalIPN, true, "status", float64(413)},
		{"PokeaPay IPN", "/ipn/pokeapay", pokeapayIPN, false, "status", "error"},
		{"PokeaPay IPN, chunked", "/ipn/pokeapay", pokeapayIPN, true, "status", "error"},
		{"STK callback", "/callback/pochipay", stk, false, "status", "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body)
			}
			status, answer := post(t, e.app.URL+tc.path, "application/json", body)
			var obj map[string]any
			if err := json.Unmarshal(answer, &obj); err != nil {
				t.Fatalf("answer is not JSON: %v: %s", err, answer)
			}
			if status != http.StatusRequestEntityTooLarge || obj[tc.wantKey] != tc.wantValue {
				t.Errorf("%d %v, want 413 with %s = %v", status, obj, tc.wantKey, tc.wantValue)
			}
		})
	}

	t.Run("merchant API", func(t *testing.T) {
		big := `{"amount": "1500", "currency": "KES", "reference": "limits-big", "description": "` +
			strings.Repeat("x", web.APIBodyLimit) + `"}`
		status, obj := e.api(http.MethodPost, "/api/v1/checkouts", big)
		errObj, _ := obj["error"].(map[string]any)
		if status != http.StatusRequestEntityTooLarge || errObj["code"] != "request_too_large" || errObj["message"] == "" {
			t.Errorf("%d %v, want 413 with the error object", status, obj)
		}
		if rows, _, err := e.svc.ListOrders(context.Background(), payments.OrderFilter{Q: "limits-big", Limit: 10}); err != nil || len(rows) != 0 {
			t.Errorf("checkouts with the refused body's reference: %d %v, want none", len(rows), err)
		}
	})

	t.Run("customer form", func(t *testing.T) {
		b := e.browser()
		id2 := e.createCheckout("limits-2")
		p := b.get(e.app.URL + "/c/" + id2)
		form := url.Values{"csrf_token": {csrfToken(p)}, "method": {"pesapal"}, "pad": {strings.Repeat("x", web.FormBodyLimit)}}
		req, err := http.NewRequest(http.MethodPost, e.app.URL+"/c/"+id2+"/pay", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		got := b.do(req)
		if got.status != http.StatusRequestEntityTooLarge || !strings.Contains(got.doc.Find("h1").Text(), "Request refused") {
			t.Errorf("%d %q, want 413 and the refusal page", got.status, got.doc.Find("h1").Text())
		}
		if as, err := e.store.Attempts(context.Background(), id2); err != nil || len(as) != 0 {
			t.Errorf("attempts after the refused form: %d %v, want none", len(as), err)
		}
	})

	// Nothing of the first checkout moved: Pesapal says paid, but no
	// refused notification was read.
	if co := e.checkout(id); co.Status != store.StatusPending {
		t.Errorf("status after refused notifications = %s, want pending", co.Status)
	}
	eventsAfter, err := e.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(eventsAfter) != len(eventsBefore) {
		t.Errorf("events: %d before, %d after the refused requests", len(eventsBefore), len(eventsAfter))
	}
	if evs := e.orphanEvents(); len(evs) != 0 {
		t.Errorf("%d events without a checkout", len(evs))
	}
}

func TestLongQueryStringsAre414AndMultipartIs415(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("limits-3")
	long := strings.Repeat("a", web.QueryLimit)

	b := e.browser()
	got := b.get(e.app.URL + "/return/pesapal?OrderTrackingId=x&pad=" + long)
	if got.status != http.StatusRequestURITooLong || !strings.Contains(got.body, "query string is over 4 KB") {
		t.Errorf("long return query: %d, want 414 with a clear answer:\n%s", got.status, got.body)
	}
	status, obj := e.api(http.MethodGet, "/api/v1/checkouts/"+id+"?pad="+long, "")
	if errObj, _ := obj["error"].(map[string]any); status != http.StatusRequestURITooLong || errObj["code"] != "query_too_long" {
		t.Errorf("long API query: %d %v, want 414 with the error object", status, obj)
	}
	status, answer := post(t, e.app.URL+"/ipn/pesapal?pad="+long, "application/json", strings.NewReader(`{}`))
	if status != http.StatusRequestURITooLong || !strings.Contains(string(answer), `"status":414`) {
		t.Errorf("long IPN query: %d %s, want 414 in Pesapal's shape", status, answer)
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("method", "pesapal"); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	p := b.get(e.app.URL + "/c/" + id)
	req, err := http.NewRequest(http.MethodPost, e.app.URL+"/c/"+id+"/pay?csrf_token="+url.QueryEscape(csrfToken(p)), &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if got := b.do(req); got.status != http.StatusUnsupportedMediaType {
		t.Errorf("multipart form: %d, want 415", got.status)
	}
	if as, err := e.store.Attempts(context.Background(), id); err != nil || len(as) != 0 {
		t.Errorf("attempts after the multipart form: %d %v, want none", len(as), err)
	}
}

func TestOrdersPageCountsNotificationsForReferencesWeNeverIssued(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	if p := b.get(e.app.URL + "/admin/orders"); p.doc.Find(".unknown-notifications").Length() != 0 {
		t.Fatalf("the line shows with no unknown notifications: %q", p.doc.Find(".unknown-notifications").Text())
	}
	for i := range 3 {
		if status, _ := e.ipn(sandboxOrder(fmt.Sprintf("never-%d", i), fmt.Sprintf("pay_never%d", i))); status != http.StatusInternalServerError {
			t.Fatalf("unknown Pesapal IPN answered %d", status)
		}
	}
	if status, _ := e.pokeapayIPN(ipnBody("pay_nobody", "1500.00", "RX1")); status != http.StatusNotFound {
		t.Fatalf("unknown PokeaPay IPN answered %d", status)
	}
	p := b.get(e.app.URL + "/admin/orders")
	if got := strings.TrimSpace(p.doc.Find(".unknown-notifications").Text()); got != "4 notifications for references we never issued (last 24 h)" {
		t.Errorf("orders page line = %q", got)
	}
	if evs := e.orphanEvents(); len(evs) != 0 {
		t.Errorf("%d events stored for unknown references, want none", len(evs))
	}
	// The count covers the last 24 hours (the page asks the service).
	e.clock.Advance(26 * time.Hour)
	if n, err := e.svc.UnknownNotifications(context.Background()); err != nil || n != 0 {
		t.Errorf("unknown notifications a day later = %d, %v; want 0", n, err)
	}
}
