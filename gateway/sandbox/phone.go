package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"
)

// PhonePath is the simulated phone: GET lists the pending STK prompts of
// both providers, POST answers one.
const PhonePath = "/sandbox/phone"

// phoneActions map the phone page's buttons to M-Pesa result codes.
var phoneActions = map[string]string{
	"approve":   STKCodeSuccess,
	"decline":   STKCodeCancelled,
	"wrong_pin": STKCodeWrongPIN,
	"no_answer": STKCodeUnreachable,
}

// phoneCSPTail closes the phone page's Content-Security-Policy (after the
// same head as the payment pages): its form posts only to itself.
const phoneCSPTail = "'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"

// phoneRecent is how many answered prompts the page lists;
// phoneReceivedMax how many payouts it lists under Money received.
const (
	phoneRecent      = 5
	phoneReceivedMax = 30
)

// nairobi is the people's time zone (Kenya keeps no daylight saving time).
var nairobi = time.FixedZone("EAT", 3*60*60)

// payoutLabels are the payout providers' names for people.
var payoutLabels = map[string]string{
	PayoutPokeaPay: "PokeaPay B2C",
	PayoutPochipay: "Pochipay",
	PayoutPesapal:  "Pesapal (refund)",
}

// phoneReceived groups the latest completed payouts by phone, the phone
// with the latest money first. The caller holds Sandbox.mu.
func (s *Sandbox) phoneReceived() []phoneMoney {
	var out []phoneMoney
	at := map[string]int{}
	n := 0
	for _, p := range s.payout.newestFirst() {
		if p.Status != PayoutCompleted {
			continue
		}
		if n++; n > phoneReceivedMax {
			break
		}
		i, ok := at[p.Phone]
		if !ok {
			i = len(out)
			at[p.Phone] = i
			out = append(out, phoneMoney{Phone: p.Phone})
		}
		amount := p.Currency + " " + p.Amount.Grouped()
		if p.Currency == "KES" {
			amount = shillings(p.Amount)
		}
		out[i].Items = append(out[i].Items, phoneMoneyItem{
			Amount:      amount,
			From:        payoutLabels[p.Provider],
			Receipt:     p.Receipt,
			Time:        p.CompletedAt.In(nairobi).Format("2 Jan 15:04:05") + " EAT",
			Description: p.Description,
		})
	}
	return out
}

// phonePageData fills phonePage.
type phonePageData struct {
	Nonce string
	// Heading and Message replace the phone with an explanation (a refused
	// form); Refresh is off then.
	Heading, Message string
	Refresh          bool
	Pending          []phonePrompt // newest first
	Recent           []phonePrompt // answered, latest answer first
	// Received is the money each phone received, the phone with the latest
	// money first.
	Received []phoneMoney
}

// phoneMoney is the money one phone received, newest first.
type phoneMoney struct {
	Phone string
	Items []phoneMoneyItem
}

// phoneMoneyItem is one payout as the page shows it.
type phoneMoneyItem struct {
	Amount, From, Receipt, Time, Description string
}

// phonePrompt is one prompt as the page shows it.
type phonePrompt struct {
	ID, Provider, Phone, Amount, Merchant, Age string
	Details                                    []pokeaPayField
	Outcome                                    string // answered prompts: what happened
}

// phonePage is the simulated M-Pesa phone, made for a narrow screen. It has
// no script and no inline style attribute: its only style block carries
// the CSP nonce; it reloads itself with a meta refresh.
var phonePage = template.Must(template.New("phone").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
{{- if .Refresh}}
<meta http-equiv="refresh" content="3">
{{- end}}
<title>Sandbox phone</title>
<style nonce="{{.Nonce}}">
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f23;background:#eef2ee}
main{max-width:28rem;margin:0 auto;padding:.75rem}
h1{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:#1b6b34;margin:0 0 .5rem}
h2{font-size:1rem;margin:1rem 0 .5rem}
.card{background:#fff;border:1px solid #d3ddd5;border-radius:.5rem;padding:1rem;margin-bottom:.75rem}
.from{font-size:.8rem;font-weight:600;color:#1b6b34;margin:0}
.amount{font-size:1.6rem;font-weight:700;margin:.25rem 0 .5rem;overflow-wrap:anywhere}
.ask{margin:0 0 .75rem;overflow-wrap:anywhere}
dl{margin:0 0 1rem}
dt{font-size:.8rem;color:#57606a}
dd{margin:0 0 .5rem;overflow-wrap:anywhere}
.buttons{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}
button{display:block;width:100%;min-height:2.75rem;font:inherit;font-weight:600;border-radius:.375rem;border:1px solid #1b6b34;cursor:pointer}
.approve{background:#1b6b34;color:#fff}
.decline{background:#fff;color:#a4161a;border-color:#a4161a}
.other{background:#fff;color:#1b1f23;border-color:#8c959f}
.empty{margin:0}
ul{margin:0;padding-left:1.25rem}
li{margin-bottom:.35rem;overflow-wrap:anywhere}
.link{display:block;text-align:center;padding:.6rem;color:#1b1f23}
.note{font-size:.8rem;color:#57606a;margin:.75rem 0 0}
button:focus-visible,.link:focus-visible{outline:3px solid #f0b429;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>Sandbox phone</h1>
{{- if .Message}}
<div class="card">
<h2>{{.Heading}}</h2>
<p>{{.Message}}</p>
<a class="link" href="/sandbox/phone">Back to the phone</a>
</div>
{{- else}}
{{- range .Pending}}
<section class="card">
<p class="from">{{.Provider}} M-Pesa prompt</p>
<p class="amount">{{.Amount}}</p>
<p class="ask">Pay {{.Amount}} to {{.Merchant}}? Enter your M-Pesa PIN.</p>
<dl>
<dt>Phone</dt><dd>{{.Phone}}</dd>
{{- range .Details}}
<dt>{{.Name}}</dt><dd>{{.Value}}</dd>
{{- end}}
<dt>Sent</dt><dd>{{.Age}}</dd>
</dl>
<form method="post" action="/sandbox/phone">
<input type="hidden" name="id" value="{{.ID}}">
<div class="buttons">
<button class="approve" type="submit" name="action" value="approve">Approve</button>
<button class="decline" type="submit" name="action" value="decline">Decline</button>
<button class="other" type="submit" name="action" value="wrong_pin">Wrong PIN</button>
<button class="other" type="submit" name="action" value="no_answer">No answer</button>
</div>
</form>
</section>
{{- else}}
<div class="card"><p class="empty">No prompts waiting. Start an M-Pesa payment on a checkout page.</p></div>
{{- end}}
{{- with .Received}}
<h2>Money received</h2>
{{- range .}}
<section class="card">
<p class="from">{{.Phone}}</p>
<ul>
{{- range .Items}}
<li><strong>{{.Amount}}</strong> from {{.From}}, receipt {{.Receipt}}, {{.Time}}{{with .Description}}: {{.}}{{end}}</li>
{{- end}}
</ul>
</section>
{{- end}}
{{- end}}
{{- with .Recent}}
<h2>Recently answered</h2>
<div class="card">
<ul>
{{- range .}}
<li>{{.Provider}}, {{.Phone}}, {{.Amount}}: {{.Outcome}}</li>
{{- end}}
</ul>
</div>
{{- end}}
<p class="note">Simulated M-Pesa phone: no money moves. Approve pays, Decline cancels, Wrong PIN and No answer fail the payment. Money received lists refunds and payouts sent to each phone. The page reloads every 3 seconds.</p>
{{- end}}
</main>
</body>
</html>
`))

// stkProviderLabels are the providers' names for people.
var stkProviderLabels = map[string]string{STKPokeaPay: "PokeaPay", STKPochipay: "Pochipay"}

// promptAge says how long ago t was, for people.
func promptAge(d time.Duration) string {
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	}
	return fmt.Sprintf("%d h ago", int(d/time.Hour))
}

// phoneView is a prompt as the page shows it.
func phoneView(p *STKPrompt, now time.Time) phonePrompt {
	v := phonePrompt{
		ID:       p.ID,
		Provider: stkProviderLabels[p.Provider],
		Phone:    p.Phone,
		Amount:   shillings(p.Amount),
		Age:      promptAge(now.Sub(p.CreatedAt)),
	}
	if p.Provider == STKPokeaPay {
		v.Merchant = "outlet " + p.OutletCode
		v.Details = append(v.Details, pokeaPayField{"Order reference", p.Reference})
		if p.CustomerName != "" {
			v.Details = append(v.Details, pokeaPayField{"Customer", p.CustomerName})
		}
	} else {
		v.Merchant = "the Pochipay merchant"
		if p.Narration != "" {
			v.Merchant = p.Narration
		}
		v.Details = append(v.Details,
			pokeaPayField{"Account", p.BillRefNumber},
			pokeaPayField{"Order id", p.Reference})
	}
	switch {
	case p.Status == STKCompleted:
		v.Outcome = "approved, receipt " + p.Receipt
	case p.Status == STKFailed:
		v.Outcome = fmt.Sprintf("%s (%s)", p.ResultDesc, p.ResultCode)
	}
	return v
}

func (s *Sandbox) routePhone(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PhonePath, s.phonePage)
	mux.HandleFunc("POST "+PhonePath, s.phoneAnswer)
}

// renderPhonePage writes the page with its own security headers. It
// replaces any Content-Security-Policy set by outer middleware.
func (s *Sandbox) renderPhonePage(w http.ResponseWriter, status int, data phonePageData) {
	data.Nonce = newNonce()
	var buf bytes.Buffer
	if err := phonePage.Execute(&buf, data); err != nil {
		s.log.Error("sandbox phone page", "err", err)
		http.Error(w, "sandbox: cannot render the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSPHead+data.Nonce+phoneCSPTail)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Sandbox) phonePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	data := phonePageData{Refresh: true}
	var answered []*STKPrompt
	for i := len(s.stk.prompts) - 1; i >= 0; i-- {
		p := s.stk.prompts[i]
		if p.Status == STKPending {
			data.Pending = append(data.Pending, phoneView(p, now))
		} else {
			answered = append(answered, p)
		}
	}
	slices.SortStableFunc(answered, func(a, b *STKPrompt) int { return b.AnsweredAt.Compare(a.AnsweredAt) })
	for _, p := range answered[:min(len(answered), phoneRecent)] {
		data.Recent = append(data.Recent, phoneView(p, now))
	}
	data.Received = s.phoneReceived()
	s.mu.Unlock()
	s.renderPhonePage(w, http.StatusOK, data)
}

func (s *Sandbox) phoneAnswer(w http.ResponseWriter, r *http.Request) {
	bad := func(status int, heading, message string) {
		s.renderPhonePage(w, status, phonePageData{Heading: heading, Message: message})
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		bad(http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	code, ok := phoneActions[r.PostForm.Get("action")]
	if !ok {
		bad(http.StatusBadRequest, "Bad request", "Choose Approve, Decline, Wrong PIN or No answer.")
		return
	}
	s.mu.Lock()
	p, ok := s.stk.byID[r.PostForm.Get("id")]
	var provider, reference string
	if ok {
		provider, reference = p.Provider, p.Reference
	}
	s.mu.Unlock()
	if !ok {
		bad(http.StatusNotFound, "Unknown prompt",
			"This phone has no such prompt. It may belong to another sandbox run: start the payment again from a checkout page.")
		return
	}
	// An answered prompt changes nothing: the phone is only shown again.
	if err := s.stkFinish(provider, reference, code, nil, true); err != nil && !errors.Is(err, ErrSTKPromptFinal) {
		bad(http.StatusInternalServerError, "Not answered", err.Error())
		return
	}
	http.Redirect(w, r, PhonePath, http.StatusSeeOther)
}
