package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhooksPath is the webhook inbox: POST receives a merchant webhook of the
// default merchant and verifies it, GET lists what arrived.
const WebhooksPath = "/sandbox/webhooks"

const (
	// webhookInboxSize is how many deliveries the inbox keeps (the newest).
	webhookInboxSize = 200
	// webhookBodyLimit is the largest body the inbox reads.
	webhookBodyLimit = 1 << 20
	// webhookUnverifiedKeep is how much of an unverified body is kept:
	// anyone can post to the inbox, so junk does not get to fill memory.
	webhookUnverifiedKeep = 16 << 10
	// webhookTolerance is how far webhook-timestamp may be from now
	// (Standard Webhooks' recommendation), against replays.
	webhookTolerance = 5 * time.Minute
	// webhookSecretPrefix starts every Standard Webhooks secret.
	webhookSecretPrefix = "whsec_"
)

// WebhookDelivery is one request the inbox received, as the test hooks and
// the page see it.
type WebhookDelivery struct {
	// ID and Timestamp are the webhook-id and webhook-timestamp headers
	// (Timestamp is 0 when missing or not a number).
	ID        string
	Timestamp int64
	// Type is the body's "type"; CheckoutID and Status are its data.id and
	// data.status ("" when the body is not such JSON).
	Type, CheckoutID, Status string
	// Verified reports a good signature with a fresh timestamp; Reason says
	// why not otherwise.
	Verified bool
	Reason   string
	// Duplicate reports that a verified delivery with this webhook-id had
	// already arrived (a retry, or an event sent twice): a receiver must
	// act on it only once, and still answer 2xx.
	Duplicate  bool
	ReceivedAt time.Time
	// Body is the body as received (an unverified one is cut after 16 KiB).
	Body []byte
}

// webhookInbox is the inbox's state, guarded by Sandbox.mu.
type webhookInbox struct {
	secret     string
	deliveries []WebhookDelivery // newest first, at most webhookInboxSize
}

// SetWebhookSecret sets the whsec_ secret the inbox verifies signatures
// with (Config.WebhookSecret until then). Safe for concurrent use.
func (s *Sandbox) SetWebhookSecret(secret string) {
	s.mu.Lock()
	s.inbox.secret = secret
	s.mu.Unlock()
}

// WebhookDeliveries returns the deliveries the inbox received, newest first.
// A hook for tests.
func (s *Sandbox) WebhookDeliveries() []WebhookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]WebhookDelivery, len(s.inbox.deliveries))
	for i, d := range s.inbox.deliveries {
		d.Body = bytes.Clone(d.Body)
		out[i] = d
	}
	return out
}

func (s *Sandbox) routeWebhooks(mux *http.ServeMux) {
	mux.HandleFunc("GET "+WebhooksPath, s.webhooksPage)
	mux.HandleFunc("POST "+WebhooksPath, s.webhooksReceive)
}

// webhookKey returns the HMAC key of a whsec_ secret: the base64-decoded
// part after the prefix.
func webhookKey(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.New("the inbox has no webhook secret to verify with")
	}
	b64, ok := strings.CutPrefix(secret, webhookSecretPrefix)
	if !ok {
		return nil, errors.New("the inbox's webhook secret does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, errors.New("the inbox's webhook secret is not base64 after whsec_")
		}
	}
	if len(key) == 0 {
		return nil, errors.New("the inbox's webhook secret is empty after whsec_")
	}
	return key, nil
}

// verifyWebhook checks a delivery as a merchant's server should (Standard
// Webhooks): the three headers, a timestamp within webhookTolerance of now,
// and at least one "v1,<base64>" in webhook-signature equal to
// base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)). It returns
// why not, or "".
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) string {
	key, err := webhookKey(secret)
	if err != nil {
		return err.Error()
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	switch {
	case id == "":
		return "no webhook-id header"
	case ts == "":
		return "no webhook-timestamp header"
	case sigs == "":
		return "no webhook-signature header"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "webhook-timestamp is not a number of seconds"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > webhookTolerance {
		return fmt.Sprintf("webhook-timestamp is %s old (more than 5 minutes): a replay?", d.Truncate(time.Second))
	} else if d < -webhookTolerance {
		return fmt.Sprintf("webhook-timestamp is %s in the future (more than 5 minutes)", (-d).Truncate(time.Second))
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	versions := 0
	for _, f := range strings.Fields(sigs) {
		b64, ok := strings.CutPrefix(f, "v1,")
		if !ok {
			continue // another scheme: skipped, as the spec says
		}
		versions++
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return ""
		}
	}
	if versions == 0 {
		return "webhook-signature has no v1 signature"
	}
	return "no v1 signature matches (another secret, or the body was changed)"
}

// webhookSummary is what the inbox reads from a body.
type webhookSummary struct {
	Type string `json:"type"`
	Data struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"data"`
}

func (s *Sandbox) webhooksReceive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhookBodyLimit))
	tooLarge := false
	if err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			http.Error(w, "sandbox: cannot read the body", http.StatusBadRequest)
			return
		}
		tooLarge, body = true, nil
	}
	d := WebhookDelivery{ID: r.Header.Get("webhook-id")}
	d.Timestamp, _ = strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	var sum webhookSummary
	if json.Unmarshal(body, &sum) == nil {
		d.Type, d.CheckoutID, d.Status = sum.Type, sum.Data.ID, sum.Data.Status
	}

	s.mu.Lock()
	now := s.now()
	d.ReceivedAt = now
	if tooLarge {
		d.Reason = "the body is larger than 1 MiB"
	} else {
		d.Reason = verifyWebhook(s.inbox.secret, r.Header, body, now)
	}
	d.Verified = d.Reason == ""
	if d.Verified {
		for _, old := range s.inbox.deliveries {
			if old.Verified && old.ID == d.ID {
				d.Duplicate = true
				break
			}
		}
	} else if len(body) > webhookUnverifiedKeep {
		body = body[:webhookUnverifiedKeep]
	}
	d.Body = body
	s.inbox.deliveries = append([]WebhookDelivery{d}, s.inbox.deliveries[:min(len(s.inbox.deliveries), webhookInboxSize-1)]...)
	s.mu.Unlock()

	s.log.Info("webhook received", "webhook_id", d.ID, "type", d.Type, "verified", d.Verified, "reason", d.Reason,
		"duplicate", d.Duplicate)
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case tooLarge:
		http.Error(w, "sandbox: body larger than 1 MiB", http.StatusRequestEntityTooLarge)
	case !d.Verified:
		http.Error(w, "sandbox: webhook not verified: "+d.Reason, http.StatusUnauthorized)
	default:
		// A duplicate is acknowledged too, or the sender would retry it.
		w.WriteHeader(http.StatusNoContent)
	}
}

// inboxCSPTail closes the inbox page's Content-Security-Policy: it has no
// form and no script.
const inboxCSPTail = "'; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"

// inboxPageData fills inboxPage.
type inboxPageData struct {
	Nonce     string
	NoSecret  bool
	PhonePath string
	Items     []inboxItem
}

// inboxItem is one delivery as the page shows it.
type inboxItem struct {
	Type, ID, Reason, Received, Age, CheckoutID, Status, Body string
	Verified, Duplicate                                       bool
}

// inboxPage lists the deliveries, made for a narrow screen. Like the
// phone, it has no script and no inline style attribute, and reloads
// itself with a meta refresh.
var inboxPage = template.Must(template.New("inbox").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="3">
<title>Sandbox webhook inbox</title>
<style nonce="{{.Nonce}}">
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f23;background:#eef1f6}
main{max-width:40rem;margin:0 auto;padding:.75rem}
h1{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:#1f4e8c;margin:0 0 .5rem}
.card{background:#fff;border:1px solid #d0d7e2;border-radius:.5rem;padding:1rem;margin-bottom:.75rem}
.head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.25rem .75rem;align-items:baseline}
.type{font-size:1.1rem;font-weight:700;margin:0;overflow-wrap:anywhere}
.ok{color:#1b6b34;font-weight:600}
.bad{color:#a4161a;font-weight:600}
.dup{color:#7a4d00;font-weight:600}
dl{margin:.5rem 0 0;display:grid;grid-template-columns:auto 1fr;gap:.15rem .75rem}
dt{font-size:.8rem;color:#57606a;padding-top:.15rem}
dd{margin:0;overflow-wrap:anywhere}
code{font:.85rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
details{margin-top:.5rem}
summary{cursor:pointer;color:#1f4e8c;min-height:2rem;padding-top:.25rem}
pre{margin:.25rem 0 0;padding:.5rem;background:#f6f8fa;border-radius:.375rem;overflow-x:auto;font:.8rem/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
.empty p{margin:0 0 .5rem}
.empty p:last-child{margin:0}
a{color:#1f4e8c}
.note{font-size:.8rem;color:#57606a;margin:.75rem 0 0}
summary:focus-visible,a:focus-visible{outline:3px solid #f0b429;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>Sandbox webhook inbox</h1>
{{- if .NoSecret}}
<div class="card"><p class="bad">No webhook secret is set for the inbox, so no delivery can be verified.</p></div>
{{- end}}
{{- range .Items}}
<section class="card">
<div class="head">
<p class="type">{{if .Type}}{{.Type}}{{else}}(no type){{end}}</p>
{{- if .Verified}}
<span class="ok">✓ verified</span>
{{- else}}
<span class="bad">✗ not verified</span>
{{- end}}
</div>
{{- if not .Verified}}
<p class="bad">{{.Reason}}</p>
{{- end}}
{{- if .Duplicate}}
<p class="dup">duplicate: this webhook-id already arrived; act on it once</p>
{{- end}}
<dl>
<dt>webhook-id</dt><dd><code>{{if .ID}}{{.ID}}{{else}}(none){{end}}</code></dd>
{{- if .CheckoutID}}
<dt>Checkout</dt><dd><code>{{.CheckoutID}}</code>{{with .Status}}, {{.}}{{end}}</dd>
{{- end}}
<dt>Received</dt><dd>{{.Received}} ({{.Age}})</dd>
</dl>
<details>
<summary>Body</summary>
<pre>{{.Body}}</pre>
</details>
</section>
{{- else}}
<div class="card empty">
<p>No webhooks yet.</p>
<p>Pay a demo checkout (Pesapal, PokeaPay or M-Pesa on the <a href="{{.PhonePath}}">sandbox phone</a>) and its signed <code>checkout.paid</code> event arrives here within a few seconds. Expired, cancelled and failed payments send their events here too.</p>
</div>
{{- end}}
<p class="note">The app signs each event with the default merchant's whsec_ secret (Standard Webhooks); this inbox checks the signature and the timestamp as your server should. The newest 200 are kept in memory. The page reloads every 3 seconds.</p>
</main>
</body>
</html>
`))

// prettyBody indents a JSON body for the page; anything else is shown as is.
func prettyBody(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.String()
	}
	return string(b)
}

func (s *Sandbox) webhooksPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	data := inboxPageData{Nonce: newNonce(), NoSecret: s.inbox.secret == "", PhonePath: PhonePath}
	for _, d := range s.inbox.deliveries {
		data.Items = append(data.Items, inboxItem{
			Type: d.Type, ID: d.ID, Reason: d.Reason, CheckoutID: d.CheckoutID, Status: d.Status,
			Received: d.ReceivedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Age: promptAge(now.Sub(d.ReceivedAt)),
			Body: prettyBody(d.Body), Verified: d.Verified, Duplicate: d.Duplicate,
		})
	}
	s.mu.Unlock()
	s.writeInbox(w, inboxPage, data, data.Nonce, "sandbox webhook inbox page")
}

// writeInbox renders an inbox page (webhooks, mail) with its nonce in the
// CSP, never cached nor framed by another origin.
func (s *Sandbox) writeInbox(w http.ResponseWriter, page *template.Template, data any, nonce, what string) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		s.log.Error(what, "err", err)
		http.Error(w, "sandbox: cannot render the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSPHead+nonce+inboxCSPTail)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
