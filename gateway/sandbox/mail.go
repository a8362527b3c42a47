package sandbox

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"checkout/gateway"
)

// MailPath is the mail inbox: in sandbox mode (with no SMTP server
// configured) the app's emails, receipts to customers, are "sent" here
// instead of to anyone. GET lists them; MailPath/{n} is message n's HTML
// part on its own, shown in a frame that runs no script.
const MailPath = "/sandbox/mail"

// mailInboxSize is how many messages the inbox keeps (the newest).
const mailInboxSize = 200

// Mail is one message the inbox received, as the test hooks and the page
// see it.
type Mail struct {
	gateway.Mail
	// N numbers the messages in the order they came, from 1.
	N          int
	ReceivedAt time.Time
}

// mailInbox is the inbox's state, guarded by Sandbox.mu.
type mailInbox struct {
	next  int
	mails []Mail // newest first, at most mailInboxSize
}

// SendMail puts m in the mail inbox; it is the app's mailer in sandbox
// mode (gateway.Mailer). It never fails: nothing leaves the process.
func (s *Sandbox) SendMail(_ context.Context, m gateway.Mail) error {
	s.mu.Lock()
	s.mail.next++
	got := Mail{Mail: m, N: s.mail.next, ReceivedAt: s.now()}
	s.mail.mails = append([]Mail{got}, s.mail.mails[:min(len(s.mail.mails), mailInboxSize-1)]...)
	s.mu.Unlock()
	s.log.Info("mail received", "n", got.N, "message_id", m.MessageID, "subject", m.Subject)
	return nil
}

// Mails returns the messages the inbox received, newest first. A hook for
// tests.
func (s *Sandbox) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail.mails...)
}

func (s *Sandbox) routeMail(mux *http.ServeMux) {
	mux.HandleFunc("GET "+MailPath, s.mailPage)
	mux.HandleFunc("GET "+MailPath+"/{n}", s.mailHTML)
}

// mailPageData fills mailPage.
type mailPageData struct {
	Nonce string
	Items []mailItem
}

// mailItem is one message as the page shows it.
type mailItem struct {
	N                                                 int
	To, From, Subject, MessageID, Received, Age, Text string
	HTML                                              string
	HTMLPath                                          string
}

// mailPage lists the messages, made for a narrow screen, like the webhook
// inbox: no script, no inline style attribute, a meta refresh. The HTML
// part is shown in a sandboxed frame (no script, no forms, no top
// navigation) from MailPath/{n}, and as source.
var mailPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="5">
<title>Sandbox mail inbox</title>
<style nonce="{{.Nonce}}">
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f23;background:#eef1f6}
main{max-width:40rem;margin:0 auto;padding:.75rem}
h1{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:#1f4e8c;margin:0 0 .5rem}
.card{background:#fff;border:1px solid #d0d7e2;border-radius:.5rem;padding:1rem;margin-bottom:.75rem}
.subject{font-size:1.1rem;font-weight:700;margin:0;overflow-wrap:anywhere}
dl{margin:.5rem 0 0;display:grid;grid-template-columns:auto 1fr;gap:.15rem .75rem}
dt{font-size:.8rem;color:#57606a;padding-top:.15rem}
dd{margin:0;overflow-wrap:anywhere}
code{font:.85rem ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
h2{font-size:.8rem;color:#57606a;margin:.75rem 0 .25rem;font-weight:600}
pre{margin:0;padding:.5rem;background:#f6f8fa;border-radius:.375rem;overflow-x:auto;font:.8rem/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
iframe{width:100%;height:28rem;border:1px solid #d0d7e2;border-radius:.375rem;background:#fff}
details{margin-top:.5rem}
summary{cursor:pointer;color:#1f4e8c;min-height:2rem;padding-top:.25rem}
.empty p{margin:0 0 .5rem}
.empty p:last-child{margin:0}
.note{font-size:.8rem;color:#57606a;margin:.75rem 0 0}
summary:focus-visible,a:focus-visible{outline:3px solid #f0b429;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>Sandbox mail inbox</h1>
{{- range .Items}}
<section class="card mail">
<p class="subject">{{.Subject}}</p>
<dl>
<dt>To</dt><dd class="to">{{.To}}</dd>
<dt>From</dt><dd>{{.From}}</dd>
<dt>Message-ID</dt><dd><code>&lt;{{.MessageID}}&gt;</code></dd>
<dt>Received</dt><dd>{{.Received}} ({{.Age}})</dd>
</dl>
<h2>Text</h2>
<pre class="text">{{.Text}}</pre>
{{- if .HTML}}
<h2>HTML</h2>
<iframe sandbox src="{{.HTMLPath}}" title="The HTML part of message {{.N}}" loading="lazy"></iframe>
<details>
<summary>HTML source</summary>
<pre class="html">{{.HTML}}</pre>
</details>
{{- end}}
</section>
{{- else}}
<div class="card empty">
<p>No mail yet.</p>
<p>Pay a demo checkout that has a customer email, and its receipt arrives here within a few seconds.</p>
</div>
{{- end}}
<p class="note">In sandbox mode, with no CHECKOUT_SMTP_URL, the app's emails come here instead of going out. The newest 200 are kept in memory. The page reloads every 5 seconds.</p>
</main>
</body>
</html>
`))

func (s *Sandbox) mailPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	data := mailPageData{Nonce: newNonce()}
	for _, m := range s.mail.mails {
		data.Items = append(data.Items, mailItem{N: m.N, To: m.To, From: m.From, Subject: m.Subject, MessageID: m.MessageID,
			Received: m.ReceivedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Age: promptAge(now.Sub(m.ReceivedAt)),
			Text: m.Text, HTML: m.HTML, HTMLPath: MailPath + "/" + strconv.Itoa(m.N)})
	}
	s.mu.Unlock()
	s.writeInbox(w, mailPage, data, data.Nonce, "sandbox mail inbox page")
}

// mailHTMLCSP lets a message's HTML part show as a mail client would:
// its own inline styles, no script, no request to anywhere (a receipt
// loads nothing), sandboxed, framed only by the inbox.
const mailHTMLCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

// mailHTML serves message n's HTML part on its own, for the inbox's frame.
func (s *Sandbox) mailHTML(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	html, found := "", false
	if err == nil {
		s.mu.Lock()
		for _, m := range s.mail.mails {
			if m.N == n {
				html, found = m.HTML, true
				break
			}
		}
		s.mu.Unlock()
	}
	if !found {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", mailHTMLCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(html))
}
