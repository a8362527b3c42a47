package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// PokeaPaySTKPath is the base path of PokeaPay's STK API simulator; it
// stands for https://saf.pokeapay.com/api/v1 (PokeaPaySTKURL).
const PokeaPaySTKPath = "/sandbox/pokeapay/stk/api/v1"

// Fixed texts of the PokeaPay STK answers. The busy text keeps the
// document's typo ("Unableto").
const (
	pokeaPaySTKBadLogin     = "The credentials you provided are incorrect"
	pokeaPaySTKUnauthorized = "Unauthorized"
	pokeaPaySTKBusy         = "Unableto lock subscriber, a transaction is already in process for the current subscriber"
	pokeaPaySTKNotFound     = "Transaction not found"
	pokeaPaySTKBadOutlet    = "Invalid outletCode: it is not an outlet of this account"
	pokeaPaySTKDuplicateRef = "Duplicate orderRef: every STK push needs a new orderRef"
	pokeaPaySTKUnavailable  = "Service temporarily unavailable, try again"
	pokeaPaySTKPhoneRule    = `/^(254(7|1)\d{8})$/`
)

// PokeaPaySTKURL is the STK API's base URL, standing for
// https://saf.pokeapay.com/api/v1: PublicURL + "/sandbox/pokeapay/stk/api/v1".
func (s *Sandbox) PokeaPaySTKURL() string { return s.baseURL + PokeaPaySTKPath }

func (s *Sandbox) routePokeaPaySTK(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PokeaPaySTKPath+"/login", s.pokeaPaySTKLogin)
	mux.HandleFunc("POST "+PokeaPaySTKPath+"/stkPush/transaction", s.pokeaPaySTKPush)
	mux.HandleFunc("POST "+PokeaPaySTKPath+"/transaction/query", s.pokeaPaySTKQuery)
}

// pokeaPaySTKAnswer is every answer of the STK API: success, then message
// (successes) or error (failures), then data.
type pokeaPaySTKAnswer struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	Data    any    `json:"data,omitempty"`
}

func writePokeaPaySTKError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, pokeaPaySTKAnswer{Error: msg})
}

// pokeaPaySTKRead reads a JSON body; on failure it has answered 400.
func pokeaPaySTKRead(w http.ResponseWriter, r *http.Request) (*jsonObject, bool) {
	o, err := readJSONObject(w, r, false)
	if err != nil {
		writePokeaPaySTKError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return o, true
}

func (s *Sandbox) pokeaPaySTKLogin(w http.ResponseWriter, r *http.Request) {
	o, err := readJSONObject(w, r, false)
	if err != nil {
		writePokeaPaySTKError(w, http.StatusBadRequest, pokeaPaySTKBadLogin)
		return
	}
	email, _ := o.str("email")
	password, _ := o.str("password")
	if !credentialsMatch(email, password, s.cfg.PokeaPaySTKEmail, s.cfg.PokeaPaySTKPassword) {
		writePokeaPaySTKError(w, http.StatusBadRequest, pokeaPaySTKBadLogin)
		return
	}
	token, _ := s.stkIssueToken(STKPokeaPay, s.cfg.STKTokenTTL)
	writeJSON(w, http.StatusOK, pokeaPaySTKAnswer{
		Success: true,
		Message: "Login successful",
		Data: struct {
			Token string `json:"token"`
		}{token},
	})
}

// pokeaPaySTKAuthorized reports whether r carries a valid PokeaPay STK
// token; if not, it has answered 401. Only the document's form is taken:
// the bare token, "Authorization: <token>", as its Transaction Query
// example sends it ("Bearer <token>" is refused, so that a client that
// sends it is caught here rather than in production).
func (s *Sandbox) pokeaPaySTKAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if s.stkTokenValid(STKPokeaPay, r.Header.Get("Authorization")) {
		return true
	}
	writePokeaPaySTKError(w, http.StatusUnauthorized, pokeaPaySTKUnauthorized)
	return false
}

// joiMessage writes a field problem the way PokeaPay's validator (Joi)
// does.
func joiMessage(name string, p fieldProblem, want string) string {
	q := `"` + name + `"`
	switch p {
	case fieldMissing:
		return q + " is required"
	case fieldEmpty:
		return q + " is not allowed to be empty"
	case fieldNegative:
		return q + " must be a positive number"
	case fieldFraction:
		return q + " must be an integer"
	}
	return q + " must be a " + want
}

// pokeaPaySTKFields are a push's or a query's fields once checked.
type pokeaPaySTKFields struct {
	prompt STKPrompt
	err    string // the first problem, as Joi writes it; "" when valid
}

// pokeaPaySTKCheck checks the fields of a push (query false) or of a query
// (query true: amount, phone, outletCode and orderRef only), in the
// document's order, and returns the first problem as Joi writes it.
func pokeaPaySTKCheck(o *jsonObject, query bool) pokeaPaySTKFields {
	var p STKPrompt
	fail := func(msg string) pokeaPaySTKFields { return pokeaPaySTKFields{err: msg} }
	var prob fieldProblem
	if p.Amount, prob = o.wholeAmount("amount"); prob != fieldOK {
		return fail(joiMessage("amount", prob, "number"))
	}
	if p.Phone, prob = o.str("phone"); prob != fieldOK {
		return fail(joiMessage("phone", prob, "string"))
	}
	if !stkPhonePattern.MatchString(p.Phone) {
		return fail(`"phone" with value "` + p.Phone + `" fails to match the required pattern: ` + pokeaPaySTKPhoneRule)
	}
	if !query {
		if p.CallbackURL, prob = o.str("callBackUrl"); prob != fieldOK {
			return fail(joiMessage("callBackUrl", prob, "string"))
		}
		if !validURL(p.CallbackURL) {
			return fail(`"callBackUrl" must be a valid uri`)
		}
	}
	if p.OutletCode, prob = o.str("outletCode"); prob != fieldOK {
		return fail(joiMessage("outletCode", prob, "string"))
	}
	if p.Reference, prob = o.str("orderRef"); prob != fieldOK {
		return fail(joiMessage("orderRef", prob, "string"))
	}
	if query {
		return pokeaPaySTKFields{prompt: p}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"variable1", &p.Variable1},
		{"variable2", &p.Variable2},
		{"customerName", &p.CustomerName},
		{"customerEmail", &p.CustomerEmail},
	} {
		if *f.dst, prob = o.optionalStr(f.name); prob != fieldOK {
			return fail(joiMessage(f.name, prob, "string"))
		}
	}
	return pokeaPaySTKFields{prompt: p}
}

// pokeaPaySTKInvalid answers 422 with the Joi message and the request
// echoed as data, as the document's "Invalid/Missing Inputs" sample does.
func pokeaPaySTKInvalid(w http.ResponseWriter, o *jsonObject, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, pokeaPaySTKAnswer{Error: msg, Data: json.RawMessage(o.raw)})
}

// pokeaPaySTKPushData is the data of an accepted push.
type pokeaPaySTKPushData struct {
	OrderRef string      `json:"orderRef"`
	Amount   json.Number `json:"amount"`
	Phone    string      `json:"phone"`
}

func (s *Sandbox) pokeaPaySTKPush(w http.ResponseWriter, r *http.Request) {
	if !s.pokeaPaySTKAuthorized(w, r) {
		return
	}
	o, ok := pokeaPaySTKRead(w, r)
	if !ok {
		return
	}
	f := pokeaPaySTKCheck(o, false)
	if f.err != "" {
		pokeaPaySTKInvalid(w, o, f.err)
		return
	}
	p := f.prompt
	if s.cfg.PokeaPayOutletCode == "" || !hashEqual(p.OutletCode, s.cfg.PokeaPayOutletCode) {
		writePokeaPaySTKError(w, http.StatusBadRequest, pokeaPaySTKBadOutlet)
		return
	}
	p.Provider = STKPokeaPay
	s.mu.Lock()
	if _, dup := s.stk.byRef[stkKey{STKPokeaPay, p.Reference}]; dup {
		s.mu.Unlock()
		writePokeaPaySTKError(w, http.StatusBadRequest, pokeaPaySTKDuplicateRef)
		return
	}
	if s.stk.phoneBusy(p.Phone) {
		s.mu.Unlock()
		writePokeaPaySTKError(w, http.StatusBadRequest, pokeaPaySTKBusy)
		return
	}
	p.CreatedAt = s.now()
	s.stk.add(&p)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, pokeaPaySTKAnswer{
		Success: true,
		Message: "Transaction initiated successfully",
		Data:    pokeaPaySTKPushData{OrderRef: p.Reference, Amount: jsonAmount(p.Amount), Phone: p.Phone},
	})
}

// The transaction query answers with the document's shapes
// (gateway/pokeapay/testdata/ASSUMED.md): a completed prompt with the
// "Transaction Query Success" example (the success callback's body), a
// prompt still waiting with the "stkPush Transaction POST Success" example
// (the push answer, no receipt), a failed prompt with the failed callback's
// body, and an unknown prompt with {"success": false, "error":
// "Transaction not found"} and HTTP 404 (assumed).

func (s *Sandbox) pokeaPaySTKQuery(w http.ResponseWriter, r *http.Request) {
	if s.stkQueryStart(STKPokeaPay) {
		writePokeaPaySTKError(w, http.StatusServiceUnavailable, pokeaPaySTKUnavailable)
		return
	}
	if !s.pokeaPaySTKAuthorized(w, r) {
		return
	}
	o, ok := pokeaPaySTKRead(w, r)
	if !ok {
		return
	}
	f := pokeaPaySTKCheck(o, true)
	if f.err != "" {
		pokeaPaySTKInvalid(w, o, f.err)
		return
	}
	q := f.prompt
	if s.cfg.PokeaPayOutletCode == "" || !hashEqual(q.OutletCode, s.cfg.PokeaPayOutletCode) {
		writePokeaPaySTKError(w, http.StatusBadRequest, pokeaPaySTKBadOutlet)
		return
	}
	p, ok := s.STKPrompt(STKPokeaPay, q.Reference)
	// The query names the push by all four values: a phone or an amount
	// other than the push's finds nothing.
	if !ok || p.Phone != q.Phone || p.Amount != q.Amount {
		writePokeaPaySTKError(w, http.StatusNotFound, pokeaPaySTKNotFound)
		return
	}
	switch p.Status {
	case STKPending:
		writeJSON(w, http.StatusOK, pokeaPaySTKAnswer{
			Success: true,
			Message: "Transaction initiated successfully",
			Data:    pokeaPaySTKPushData{OrderRef: p.Reference, Amount: jsonAmount(p.Amount), Phone: p.Phone},
		})
	default:
		writeJSON(w, http.StatusOK, pokeaPaySTKCallbackBody(&p))
	}
}

// pokeaPaySTKCallbackData is the data of a callback (and of the query's
// answer about an answered prompt): the document's fields, the receipt and
// the names only on success.
type pokeaPaySTKCallbackData struct {
	Receipt    string      `json:"receipt,omitempty"`
	Firstname  *string     `json:"firstname,omitempty"`
	Middlename *string     `json:"middlename,omitempty"`
	Lastname   *string     `json:"lastname,omitempty"`
	OrderRef   string      `json:"orderRef"`
	Amount     json.Number `json:"amount"`
	Phone      string      `json:"phone"`
	OutletCode string      `json:"outletCode"`
	Variable1  string      `json:"variable1"`
	Variable2  string      `json:"variable2"`
}

// pokeaPaySTKCallbackBody is the callback of an answered prompt: on
// success {"success": true, "message": "Transaction completed
// successfully", "data": {receipt, names, ...}}, on failure
// {"success": false, "message": <M-Pesa's sentence>, "data": {...}}.
func pokeaPaySTKCallbackBody(p *STKPrompt) pokeaPaySTKAnswer {
	data := pokeaPaySTKCallbackData{
		OrderRef:   p.Reference,
		Amount:     jsonAmount(p.Amount),
		Phone:      p.Phone,
		OutletCode: p.OutletCode,
		Variable1:  p.Variable1,
		Variable2:  p.Variable2,
	}
	if p.Status != STKCompleted {
		return pokeaPaySTKAnswer{Message: p.ResultDesc, Data: data}
	}
	first, middle, last := subscriberNames(p.CustomerName)
	data.Receipt = p.Receipt
	data.Firstname, data.Middlename, data.Lastname = &first, &middle, &last
	data.Amount = jsonAmount(p.PaidAmount)
	return pokeaPaySTKAnswer{Success: true, Message: "Transaction completed successfully", Data: data}
}

// subscriberNames are the M-Pesa subscriber's names a success callback
// reports: the customer name pushed, split into first, middle and last
// names, or "Sandbox" "" "Customer" when none was given.
func subscriberNames(name string) (first, middle, last string) {
	parts := strings.Fields(name)
	switch len(parts) {
	case 0:
		return "Sandbox", "", "Customer"
	case 1:
		return parts[0], "", ""
	}
	return parts[0], strings.Join(parts[1:len(parts)-1], " "), parts[len(parts)-1]
}
