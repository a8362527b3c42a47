package sandbox

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
)

// pageCSP is the payment page's Content-Security-Policy, around its nonce:
// no script at all, styles only from the nonced block, forms may go (and
// redirect) anywhere, and only our own pages may frame it.
const (
	pageCSPHead = "default-src 'self'; style-src 'self' 'nonce-"
	pageCSPTail = "'; form-action *; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
)

// payPageData fills payPage.
type payPageData struct {
	Nonce   string
	Heading string // for pages without an order
	Message string
	Order   *payPageOrder
	Form    bool   // the order is pending: show the methods and buttons
	Target  string // _top or _parent, after redirect_mode
	// CancelURL is the order's cancellation_url; ReturnURL its callback, for
	// an order already final.
	CancelURL, ReturnURL string
	// Refunded says what a RefundRequest gave back ("" when nothing).
	Refunded string
}

type payPageOrder struct {
	TrackingID, Reference, Description, Amount string
}

// payPage is the simulated Pesapal payment page, made for an iframe on a
// narrow phone screen. It has no script and no inline style attribute.
var payPage = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Pesapal sandbox</title>
<style nonce="{{.Nonce}}">
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f23;background:#f3f5f7}
main{max-width:28rem;margin:0 auto;padding:.75rem}
h1{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:#0b6e4f;margin:0 0 .5rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
.card{background:#fff;border:1px solid #d8dee4;border-radius:.5rem;padding:1rem}
.amount{font-size:1.6rem;font-weight:700;margin:0 0 .75rem;overflow-wrap:anywhere}
dl{margin:0 0 1rem}
dt{font-size:.8rem;color:#57606a}
dd{margin:0 0 .5rem;overflow-wrap:anywhere}
fieldset{border:0;margin:0 0 1rem;padding:0}
legend{font-weight:600;padding:0;margin-bottom:.5rem}
label{display:flex;align-items:center;gap:.6rem;min-height:2.75rem;padding:.5rem .75rem;border:1px solid #c4ccd4;border-radius:.375rem;margin-bottom:.5rem}
input[type=radio]{width:1.15rem;height:1.15rem;margin:0}
button{display:block;width:100%;min-height:2.75rem;font:inherit;font-weight:600;border-radius:.375rem;border:1px solid #0b6e4f;margin:0 0 .5rem;cursor:pointer}
.pay{background:#0b6e4f;color:#fff}
.decline{background:#fff;color:#a4161a;border-color:#a4161a}
.link{display:block;text-align:center;padding:.6rem;color:#1b1f23}
.note{font-size:.8rem;color:#57606a;margin:.75rem 0 0}
button:focus-visible,.link:focus-visible,input:focus-visible{outline:3px solid #f0b429;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>Pesapal sandbox</h1>
<div class="card">
{{- with .Order}}
<p class="amount">{{.Amount}}</p>
<dl>
<dt>Merchant reference</dt><dd>{{.Reference}}</dd>
<dt>Description</dt><dd>{{.Description}}</dd>
</dl>
{{- end}}
{{- if .Form}}
<form method="post" action="/sandbox/pesapal/pay" target="{{.Target}}">
<input type="hidden" name="OrderTrackingId" value="{{.Order.TrackingID}}">
<fieldset>
<legend>Pay with</legend>
<label><input type="radio" name="method" value="mpesa" checked> M-Pesa</label>
<label><input type="radio" name="method" value="visa"> Visa</label>
</fieldset>
<button class="pay" type="submit" name="action" value="pay">Pay</button>
<button class="decline" type="submit" name="action" value="decline">Decline</button>
</form>
{{- if .CancelURL}}
<a class="link" href="{{.CancelURL}}" target="{{.Target}}">Cancel</a>
{{- end}}
<p class="note">Simulated payment: no money moves. Pay approves it, Decline fails it.</p>
{{- else}}
{{- with .Heading}}
<h2>{{.}}</h2>
{{- end}}
<p>{{.Message}}</p>
{{- with .Refunded}}
<p>{{.}}</p>
{{- end}}
{{- if .ReturnURL}}
<a class="link" href="{{.ReturnURL}}" target="{{.Target}}">Return to the merchant</a>
{{- end}}
{{- end}}
</div>
</main>
</body>
</html>
`))

// finalMessages tell the customer why a final order cannot be paid again.
var finalMessages = map[int]string{
	PesapalStatusCompleted: "This order is already paid.",
	PesapalStatusFailed:    "This payment was declined. Go back to the merchant to try again.",
	PesapalStatusReversed:  "This payment was reversed.",
}

// windowTarget is the form and link target for a redirect_mode.
func windowTarget(redirectMode string) string {
	if redirectMode == "PARENT_WINDOW" {
		return "_parent"
	}
	return "_top"
}

// renderPayPage writes the page with its own security headers. It replaces
// any Content-Security-Policy set by outer middleware.
func (s *Sandbox) renderPayPage(w http.ResponseWriter, status int, data payPageData) {
	data.Nonce = newNonce()
	var buf bytes.Buffer
	if err := payPage.Execute(&buf, data); err != nil {
		s.log.Error("pesapal pay page", "err", err)
		http.Error(w, "sandbox: cannot render the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSPHead+data.Nonce+pageCSPTail)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderPayMessage writes the page with a heading and a message only.
func (s *Sandbox) renderPayMessage(w http.ResponseWriter, status int, heading, message string) {
	s.renderPayPage(w, status, payPageData{Heading: heading, Message: message})
}

func (s *Sandbox) pesapalPayPage(w http.ResponseWriter, r *http.Request) {
	id := queryValue(r, "OrderTrackingId")
	if id == "" {
		s.renderPayMessage(w, http.StatusBadRequest, "No order",
			"This link has no OrderTrackingId: open the payment page from the merchant's checkout.")
		return
	}
	o, ok := s.PesapalOrder(id)
	if !ok {
		s.renderPayMessage(w, http.StatusNotFound, "Unknown order",
			"No order has this tracking id. It may belong to another sandbox run: start the payment again from the merchant's checkout.")
		return
	}
	data := payPageData{
		Order: &payPageOrder{
			TrackingID:  o.TrackingID,
			Reference:   o.MerchantReference,
			Description: o.Description,
			Amount:      o.Currency + " " + o.Amount.Grouped(),
		},
		Target: windowTarget(o.RedirectMode),
	}
	if o.StatusCode == PesapalStatusInvalid {
		data.Form = true
		data.CancelURL = o.CancellationURL
	} else {
		data.Heading = "Payment finished"
		data.Message = finalMessages[o.StatusCode]
		data.ReturnURL = pesapalCallback(&o, "CALLBACKURL")
		if o.RefundedAmount > 0 {
			data.Refunded = "Refunded " + o.Currency + " " + o.RefundedAmount.Grouped() + " on " +
				o.RefundedAt.UTC().Format("2 Jan 2006 15:04") + " UTC."
		}
	}
	s.renderPayPage(w, http.StatusOK, data)
}

func (s *Sandbox) pesapalPaySubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderPayMessage(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	id := r.PostForm.Get("OrderTrackingId")
	o, ok := s.PesapalOrder(id)
	if !ok {
		s.renderPayMessage(w, http.StatusNotFound, "Unknown order", "No order has this tracking id.")
		return
	}
	code := 0
	switch r.PostForm.Get("action") {
	case "pay":
		code = PesapalStatusCompleted
	case "decline":
		code = PesapalStatusFailed
	default:
		s.renderPayMessage(w, http.StatusBadRequest, "Bad request", "Choose Pay or Decline.")
		return
	}
	method := r.PostForm.Get("method")
	if method == "" {
		method = "mpesa"
	}
	if _, ok := paymentMethods[method]; !ok {
		s.renderPayMessage(w, http.StatusBadRequest, "Bad request", "Choose M-Pesa or Visa.")
		return
	}
	err := s.pesapalFinish(id, code, method, nil, true)
	if err != nil && !errors.Is(err, ErrOrderFinal) {
		s.renderPayMessage(w, http.StatusNotFound, "Unknown order", "No order has this tracking id.")
		return
	}
	// A final order changes nothing: the customer is only sent back again.
	http.Redirect(w, r, pesapalCallback(&o, "CALLBACKURL"), http.StatusSeeOther)
}
