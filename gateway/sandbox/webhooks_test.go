package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

const inboxSecret = "whsec_" + "c2FuZGJveC13ZWJob29rLXNlY3JldC0zMi1ieXRlcyE=" // "sandbox-webhook-secret-32-bytes!"

// testSign is the signature the app's worker sends, written here again.
func testSign(secret, id string, ts int64, body string) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func paidBody(checkoutID string) string {
	return `{"type":"checkout.paid","timestamp":"2026-03-14T09:26:53Z","data":{"id":"` + checkoutID +
		`","object":"checkout","status":"paid","amount":"1500.00","currency":"KES"}}`
}

// postWebhook posts body to the inbox with the given headers ("" leaves
// one out) and returns the HTTP status and answer.
func (e *testEnv) postWebhook(id, ts, sig, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+WebhooksPath, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, b := e.send(req)
	return resp.StatusCode, string(b)
}

func newInboxEnv(t *testing.T, secret string) *testEnv {
	return newEnv(t, func(c *Config) { c.WebhookSecret = secret })
}

func TestWebhookInboxVerifiesTheSpecTestVector(t *testing.T) {
	e := newInboxEnv(t, specSecret)
	e.clock.mu.Lock()
	e.clock.t = time.Unix(specTimestamp+30, 0)
	e.clock.mu.Unlock()
	if got := testSign(specSecret, specID, specTimestamp, specBody); got != specSignature {
		t.Fatalf("test signer = %s, want the spec's %s", got, specSignature)
	}
	if code, body := e.postWebhook(specID, strconv.Itoa(specTimestamp), specSignature, specBody); code != http.StatusNoContent {
		t.Fatalf("spec vector: HTTP %d %s, want 204", code, body)
	}
	ds := e.sb.WebhookDeliveries()
	if len(ds) != 1 || !ds[0].Verified || ds[0].Reason != "" || ds[0].ID != specID || ds[0].Timestamp != specTimestamp ||
		string(ds[0].Body) != specBody {
		t.Fatalf("deliveries = %+v", ds)
	}
}

func TestWebhookInboxStoresASignedDeliveryVerified(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	now := e.clock.Now()
	ts := now.Unix()
	body := paidBody("chk_one")
	code, answer := e.postWebhook("msg_one", strconv.FormatInt(ts, 10), testSign(inboxSecret, "msg_one", ts, body), body)
	if code != http.StatusNoContent || answer != "" {
		t.Fatalf("HTTP %d %q, want 204 and no body", code, answer)
	}
	ds := e.sb.WebhookDeliveries()
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	d := ds[0]
	if !d.Verified || d.Reason != "" || d.Duplicate || d.ID != "msg_one" || d.Timestamp != ts || d.Type != "checkout.paid" ||
		d.CheckoutID != "chk_one" || d.Status != "paid" || !d.ReceivedAt.Equal(now) || string(d.Body) != body {
		t.Fatalf("delivery = %+v", d)
	}
}

func TestWebhookInboxRefusesWrongSignaturesAndKeepsThemUnverified(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	ts := e.clock.Now().Unix()
	tss := strconv.FormatInt(ts, 10)
	body := paidBody("chk_two")
	good := testSign(inboxSecret, "msg_two", ts, body)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-long!"))
	cases := []struct {
		name, id, ts, sig, body, reason string
	}{
		{"other secret", "msg_two", tss, testSign(other, "msg_two", ts, body), body, "no v1 signature matches"},
		{"changed body", "msg_two", tss, good, strings.Replace(body, "1500.00", "1.00", 1), "no v1 signature matches"},
		{"other id", "msg_three", tss, good, body, "no v1 signature matches"},
		{"no v1", "msg_two", tss, "v2," + strings.TrimPrefix(good, "v1,"), body, "no v1 signature"},
		{"no signature", "msg_two", tss, "", body, "no webhook-signature header"},
		{"no id", "", tss, good, body, "no webhook-id header"},
		{"no timestamp", "msg_two", "", good, body, "no webhook-timestamp header"},
		{"timestamp not a number", "msg_two", "soon", good, body, "not a number"},
	}
	for i, tc := range cases {
		code, answer := e.postWebhook(tc.id, tc.ts, tc.sig, tc.body)
		if code != http.StatusUnauthorized || !strings.Contains(answer, tc.reason) {
			t.Errorf("%s: HTTP %d %q, want 401 saying %q", tc.name, code, answer, tc.reason)
		}
		ds := e.sb.WebhookDeliveries()
		if len(ds) != i+1 {
			t.Fatalf("%s: %d deliveries, want %d", tc.name, len(ds), i+1)
		}
		if d := ds[0]; d.Verified || !strings.Contains(d.Reason, tc.reason) || string(d.Body) != tc.body || d.ID != tc.id {
			t.Errorf("%s: newest delivery = %+v", tc.name, d)
		}
	}
}

func TestWebhookInboxRefusesOldAndFutureTimestamps(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	now := e.clock.Now()
	body := paidBody("chk_old")
	for _, tc := range []struct {
		name string
		at   time.Time
		want int
	}{
		{"6 minutes old", now.Add(-6 * time.Minute), http.StatusUnauthorized},
		{"6 minutes ahead", now.Add(6 * time.Minute), http.StatusUnauthorized},
		{"4 minutes old", now.Add(-4 * time.Minute), http.StatusNoContent},
		{"4 minutes ahead", now.Add(4 * time.Minute), http.StatusNoContent},
	} {
		id := "msg_" + strings.ReplaceAll(tc.name, " ", "_")
		ts := tc.at.Unix()
		code, answer := e.postWebhook(id, strconv.FormatInt(ts, 10), testSign(inboxSecret, id, ts, body), body)
		if code != tc.want {
			t.Errorf("%s: HTTP %d %q, want %d", tc.name, code, answer, tc.want)
		}
		d := e.sb.WebhookDeliveries()[0]
		if d.Verified != (tc.want == http.StatusNoContent) || (!d.Verified && !strings.Contains(d.Reason, "more than 5 minutes")) {
			t.Errorf("%s: delivery = %+v", tc.name, d)
		}
	}
}

func TestWebhookInboxAcceptsWhenOneOfSeveralSignaturesMatches(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	ts := e.clock.Now().Unix()
	body := paidBody("chk_rot")
	old := "whsec_" + base64.StdEncoding.EncodeToString([]byte("the-old-secret-before-rotation!!"))
	// During a rotation the sender signs with both secrets; other schemes
	// are skipped.
	sig := testSign(old, "msg_rot", ts, body) + " v1a,bm90LWEtc2lnbmF0dXJl " + testSign(inboxSecret, "msg_rot", ts, body)
	if code, answer := e.postWebhook("msg_rot", strconv.FormatInt(ts, 10), sig, body); code != http.StatusNoContent {
		t.Fatalf("HTTP %d %q, want 204", code, answer)
	}
	if d := e.sb.WebhookDeliveries()[0]; !d.Verified {
		t.Fatalf("delivery = %+v", d)
	}
}

func TestWebhookInboxAcknowledgesADuplicateAndMarksIt(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	ts := e.clock.Now().Unix()
	body := paidBody("chk_dup")
	sig := testSign(inboxSecret, "msg_dup", ts, body)
	for i := range 2 {
		if code, answer := e.postWebhook("msg_dup", strconv.FormatInt(ts, 10), sig, body); code != http.StatusNoContent {
			t.Fatalf("try %d: HTTP %d %q, want 204", i+1, code, answer)
		}
	}
	ds := e.sb.WebhookDeliveries()
	if len(ds) != 2 || !ds[0].Verified || !ds[0].Duplicate || !ds[1].Verified || ds[1].Duplicate {
		t.Fatalf("deliveries = %+v", ds)
	}
	_, page := e.getInbox()
	if !strings.Contains(page, "duplicate: this webhook-id already arrived") {
		t.Errorf("page does not mark the duplicate:\n%s", page)
	}
}

func TestWebhookInboxWithoutSecretVerifiesNothingUntilOneIsSet(t *testing.T) {
	e := newInboxEnv(t, "")
	ts := e.clock.Now().Unix()
	body := paidBody("chk_late")
	sig := testSign(inboxSecret, "msg_late", ts, body)
	if code, answer := e.postWebhook("msg_late", strconv.FormatInt(ts, 10), sig, body); code != http.StatusUnauthorized ||
		!strings.Contains(answer, "no webhook secret") {
		t.Fatalf("HTTP %d %q, want 401 saying there is no secret", code, answer)
	}
	if _, page := e.getInbox(); !strings.Contains(page, "No webhook secret is set") {
		t.Errorf("page does not say the secret is missing:\n%s", page)
	}
	// Set concurrently with deliveries: the race detector watches.
	var wg sync.WaitGroup
	wg.Go(func() { e.sb.SetWebhookSecret(inboxSecret) })
	wg.Go(func() { _ = e.sb.WebhookDeliveries() })
	wg.Wait()
	if code, answer := e.postWebhook("msg_late", strconv.FormatInt(ts, 10), sig, body); code != http.StatusNoContent {
		t.Fatalf("after SetWebhookSecret: HTTP %d %q, want 204", code, answer)
	}
}

func TestWebhookInboxKeepsTheNewest200AndRefusesHugeBodies(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	ts := e.clock.Now().Unix()
	for i := range 205 {
		id := fmt.Sprintf("msg_%03d", i)
		body := paidBody(fmt.Sprintf("chk_%03d", i))
		e.postWebhook(id, strconv.FormatInt(ts, 10), testSign(inboxSecret, id, ts, body), body)
	}
	ds := e.sb.WebhookDeliveries()
	if len(ds) != 200 || ds[0].ID != "msg_204" || ds[199].ID != "msg_005" {
		t.Fatalf("%d deliveries, first %s, last %s; want 200 from msg_204 to msg_005", len(ds), ds[0].ID, ds[len(ds)-1].ID)
	}
	huge := `{"type":"checkout.paid","pad":"` + strings.Repeat("x", 1<<20) + `"}`
	if code, _ := e.postWebhook("msg_huge", strconv.FormatInt(ts, 10), testSign(inboxSecret, "msg_huge", ts, huge), huge); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over 1 MiB: HTTP %d, want 413", code)
	}
	if d := e.sb.WebhookDeliveries()[0]; d.ID != "msg_huge" || d.Verified || len(d.Body) != 0 {
		t.Fatalf("huge delivery = %+v", d)
	}
}

func (e *testEnv) getInbox() (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+WebhooksPath, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, b := e.send(req)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: HTTP %d\n%s", WebhooksPath, resp.StatusCode, b)
	}
	return resp, string(b)
}

// checkInboxHeaders checks the page's own CSP (no form anywhere) and
// headers, and that it has no script.
func checkInboxHeaders(t *testing.T, resp *http.Response, page string) {
	t.Helper()
	m := nonceRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no <style nonce=...> block in the page:\n%s", page)
	}
	wantCSP := "default-src 'self'; style-src 'self' 'nonce-" + m[1] +
		"'; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
	if got := resp.Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != wantCSP {
		t.Errorf("Content-Security-Policy = %q, want [%q]", got, wantCSP)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "SAMEORIGIN",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, banned := range []string{"<script", " style=", "javascript:", "<form"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
}

func TestWebhookInboxPageExplainsTheEmptyInbox(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	resp, page := e.getInbox()
	checkInboxHeaders(t, resp, page)
	for _, want := range []string{
		"<title>Sandbox webhook inbox</title>",
		`<meta http-equiv="refresh" content="3">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		"No webhooks yet.",
		"Pay a demo checkout",
		"<code>checkout.paid</code> event arrives here",
		`href="/sandbox/phone"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "No webhook secret") {
		t.Error("page says there is no secret")
	}
}

func TestWebhookInboxPageListsDeliveriesNewestFirst(t *testing.T) {
	e := newInboxEnv(t, inboxSecret)
	ts := e.clock.Now().Unix()
	good := paidBody("chk_good")
	e.postWebhook("msg_good", strconv.FormatInt(ts, 10), testSign(inboxSecret, "msg_good", ts, good), good)
	e.clock.Add(10 * time.Second)
	bad := `{"type":"checkout.expired","data":{"id":"chk_<b>bad</b>","status":"expired"}}`
	e.postWebhook("msg_bad", strconv.FormatInt(ts, 10), "v1,AAAA", bad)
	e.clock.Add(50 * time.Second)

	resp, page := e.getInbox()
	checkInboxHeaders(t, resp, page)
	for _, want := range []string{
		"checkout.paid", "<code>msg_good</code>", "✓ verified", "<code>chk_good</code>, paid",
		"checkout.expired", "<code>msg_bad</code>", "✗ not verified", "no v1 signature matches",
		"<code>chk_&lt;b&gt;bad&lt;/b&gt;</code>, expired",
		"<details>\n<summary>Body</summary>", "&#34;currency&#34;: &#34;KES&#34;", // indented JSON, escaped
		"2026-03-14 09:26:53 UTC (1 min ago)", "2026-03-14 09:27:03 UTC (50 s ago)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<b>bad</b>") {
		t.Error("the page does not escape the body")
	}
	if strings.Index(page, "msg_bad") > strings.Index(page, "msg_good") {
		t.Error("the newest delivery is not listed first")
	}
	if strings.Contains(page, "No webhooks yet") {
		t.Error("a full inbox shows the empty state")
	}
}
