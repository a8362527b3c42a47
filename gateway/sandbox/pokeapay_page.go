package sandbox

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
)

// pokeaPayPageData fills pokeaPayPage.
type pokeaPayPageData struct {
	Nonce string
	// Order is shown when the page has one; Form adds the choice of method
	// and the buttons (a pending order).
	Order *pokeaPayPageOrder
	Form  bool
	// Heading, Message, Problems, Fields and Hashed explain a refusal or a
	// final order.
	Heading  string
	Message  string
	Problems []string
	Fields   []pokeaPayField
	Hashed   string
	// ReturnURL sends the customer back to the merchant (a final order).
	ReturnURL string
}

type pokeaPayPageOrder struct {
	Ref, Name, Amount string
	Demo              bool
}

// pokeaPayPage is the simulated PokeaPay checkout page, a full page on a
// narrow phone screen (360px and up). It has no script and no inline style
// attribute: its only style block carries the CSP nonce.
var pokeaPayPage = template.Must(template.New("pokeapay").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>PokeaPay sandbox</title>
<style nonce="{{.Nonce}}">
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f23;background:#f6f3f1}
main{max-width:28rem;margin:0 auto;padding:.75rem}
h1{font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;color:#a8360f;margin:0 0 .5rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
.card{background:#fff;border:1px solid #e0d8d3;border-radius:.5rem;padding:1rem}
.amount{font-size:1.6rem;font-weight:700;margin:0 0 .75rem;overflow-wrap:anywhere}
dl{margin:0 0 1rem}
dt{font-size:.8rem;color:#57606a}
dd{margin:0 0 .5rem;overflow-wrap:anywhere}
ul{margin:0 0 1rem;padding-left:1.25rem}
li{margin-bottom:.35rem}
code{font:.9rem/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere;word-break:break-all}
fieldset{border:0;margin:0 0 1rem;padding:0}
legend{font-weight:600;padding:0;margin-bottom:.5rem}
label{display:flex;align-items:center;gap:.6rem;min-height:2.75rem;padding:.5rem .75rem;border:1px solid #c9c0ba;border-radius:.375rem;margin-bottom:.5rem}
input[type=radio]{width:1.15rem;height:1.15rem;margin:0}
button{display:block;width:100%;min-height:2.75rem;font:inherit;font-weight:600;border-radius:.375rem;border:1px solid #a8360f;margin:0 0 .5rem;cursor:pointer}
.pay{background:#a8360f;color:#fff}
.decline{background:#fff;color:#a4161a;border-color:#a4161a}
.cancel{background:#fff;color:#1b1f23;border-color:#8c959f}
.link{display:block;text-align:center;padding:.6rem;color:#1b1f23}
.note{font-size:.8rem;color:#57606a;margin:.75rem 0 0}
button:focus-visible,.link:focus-visible,input:focus-visible{outline:3px solid #f0b429;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>PokeaPay sandbox</h1>
<div class="card">
{{- with .Order}}
<p class="amount">{{.Amount}}</p>
<dl>
{{- if .Name}}
<dt>Customer</dt><dd>{{.Name}}</dd>
{{- end}}
<dt>Order reference</dt><dd>{{.Ref}}</dd>
</dl>
{{- end}}
{{- if .Form}}
<form method="post" action="/sandbox/pokeapay/pay">
<input type="hidden" name="oref" value="{{.Order.Ref}}">
<fieldset>
<legend>Pay with</legend>
<label><input type="radio" name="type" value="m" checked> M-Pesa</label>
<label><input type="radio" name="type" value="c"> Card</label>
</fieldset>
<button class="pay" type="submit" name="action" value="pay">Pay</button>
<button class="decline" type="submit" name="action" value="decline">Decline</button>
<button class="cancel" type="submit" name="action" value="cancel">Cancel</button>
</form>
<p class="note">Simulated payment: no money moves. Pay approves it, Decline fails it, Cancel abandons it.{{if .Order.Demo}} Demo mode (live=0).{{end}}</p>
{{- else}}
{{- with .Heading}}
<h2>{{.}}</h2>
{{- end}}
{{- with .Message}}
<p>{{.}}</p>
{{- end}}
{{- with .Problems}}
<ul>
{{- range .}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
{{- with .Fields}}
<dl>
{{- range .}}
<dt>{{.Name}}</dt><dd>{{if .Value}}<code>{{.Value}}</code>{{else}}(empty){{end}}</dd>
{{- end}}
</dl>
{{- end}}
{{- with .Hashed}}
<p>String hashed: <code>{{.}}</code></p>
{{- end}}
{{- if .ReturnURL}}
<a class="link" href="{{.ReturnURL}}">Return to the merchant</a>
{{- end}}
{{- end}}
</div>
</main>
</body>
</html>
`))

// renderPokeaPayPage writes the page with its own security headers. It
// replaces any Content-Security-Policy set by outer middleware; form-action
// allows any target, since the form's answer redirects to the merchant's cb.
func (s *Sandbox) renderPokeaPayPage(w http.ResponseWriter, status int, data pokeaPayPageData) {
	data.Nonce = newNonce()
	var buf bytes.Buffer
	if err := pokeaPayPage.Execute(&buf, data); err != nil {
		s.log.Error("pokeapay checkout page", "err", err)
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

// renderPokeaPayRefusal shows why a checkout URL or a form was refused.
func (s *Sandbox) renderPokeaPayRefusal(w http.ResponseWriter, r *pokeaPayRefusal) {
	s.renderPokeaPayPage(w, r.Status, pokeaPayPageData{
		Heading:  r.Heading,
		Message:  r.Message,
		Problems: r.Problems,
		Fields:   r.Fields,
		Hashed:   r.Hashed,
	})
}

// pokeaPayFinalMessage tells the customer why a final order cannot be paid.
func pokeaPayFinalMessage(o *PokeaPayOrder) string {
	switch {
	case o.Status == PokeaPayPaid:
		return "This order is already paid."
	case o.Cancelled:
		return "This payment was cancelled. Go back to the merchant to try again."
	default:
		return "This payment was declined. Go back to the merchant to try again."
	}
}

func (s *Sandbox) pokeaPayPage(w http.ResponseWriter, r *http.Request) {
	o, refusal := s.pokeaPayOpen(r.URL.Query())
	if refusal != nil {
		s.renderPokeaPayRefusal(w, refusal)
		return
	}
	data := pokeaPayPageData{
		Order: &pokeaPayPageOrder{
			Ref:    o.OrderRef,
			Name:   o.CustomerName,
			Amount: o.Currency + " " + o.Amount.Grouped(),
			Demo:   !o.Live,
		},
	}
	if o.Status == PokeaPayPending {
		data.Form = true
	} else {
		data.Heading = "Payment finished"
		data.Message = pokeaPayFinalMessage(&o)
		data.ReturnURL = s.pokeaPayReturn(&o)
	}
	s.renderPokeaPayPage(w, http.StatusOK, data)
}

func (s *Sandbox) pokeaPaySubmit(w http.ResponseWriter, r *http.Request) {
	bad := func(status int, heading, message string) {
		s.renderPokeaPayPage(w, status, pokeaPayPageData{Heading: heading, Message: message})
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		bad(http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	oref := r.PostForm.Get("oref")
	if _, ok := s.PokeaPayOrder(oref); !ok {
		bad(http.StatusNotFound, "Unknown order",
			"No order has this reference. Start the payment again from the merchant's checkout.")
		return
	}
	typ := r.PostForm.Get("type")
	if typ == "" {
		typ = PokeaPayTypeMpesa
	}
	if typ != PokeaPayTypeMpesa && typ != PokeaPayTypeCard {
		bad(http.StatusBadRequest, "Bad request", "Choose M-Pesa or Card.")
		return
	}
	var err error
	switch r.PostForm.Get("action") {
	case "pay":
		err = s.pokeaPayFinish(oref, PokeaPayPaid, typ, nil, false, true)
	case "decline":
		err = s.pokeaPayFinish(oref, PokeaPayFailed, typ, nil, false, false)
	case "cancel":
		err = s.pokeaPayFinish(oref, PokeaPayFailed, typ, nil, true, false)
	default:
		bad(http.StatusBadRequest, "Bad request", "Choose Pay, Decline or Cancel.")
		return
	}
	if err != nil && !errors.Is(err, ErrPokeaPayOrderFinal) {
		bad(http.StatusNotFound, "Unknown order", "No order has this reference.")
		return
	}
	// A final order changes nothing: the customer is only sent back again,
	// with the status it already has.
	o, _ := s.PokeaPayOrder(oref)
	http.Redirect(w, r, s.pokeaPayReturn(&o), http.StatusSeeOther)
}
