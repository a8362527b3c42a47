package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// PochipayPath is the base path of the Pochipay simulator; it stands for
// https://app.pochipay.com/api/v1 (PochipayURL).
const PochipayPath = "/sandbox/pochipay/api/v1"

// Fixed texts of the Pochipay answers.
const (
	pochipayBadLogin     = "Invalid credentials"
	pochipayUnauthorized = "Unauthorized"
	pochipayBusy         = "A transaction is already in process for this subscriber"
	pochipayNotFound     = "Collection not found"
	pochipayDuplicate    = "OrderId already exists: use a new orderId for every collection"
	pochipayUnavailable  = "Service temporarily unavailable, try again"
	pochipayManyProblems = "One or more validation errors occurred."
)

// PochipayURL is the API's base URL, standing for
// https://app.pochipay.com/api/v1: PublicURL + "/sandbox/pochipay/api/v1".
func (s *Sandbox) PochipayURL() string { return s.baseURL + PochipayPath }

func (s *Sandbox) routePochipay(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PochipayPath+"/account/token", s.pochipayToken)
	mux.HandleFunc("POST "+PochipayPath+"/collections/mpesa", s.pochipayCollect)
	mux.HandleFunc("POST "+PochipayPath+"/collections/mpesa/transaction-status", s.pochipayTransactionStatus)
	mux.HandleFunc("GET "+PochipayPath+"/collections/mpesa/collection-query", s.pochipayCollectionQuery)
}

// pochipayAnswer is every Pochipay answer: result (null on failure), an
// optional message, and errors (always an array).
type pochipayAnswer struct {
	Result  any      `json:"result"`
	Message string   `json:"message,omitempty"`
	Errors  []string `json:"errors"`
}

// writePochipayError answers status with a null result; message is the
// first error, or pochipayManyProblems when there are several.
func writePochipayError(w http.ResponseWriter, status int, errs ...string) {
	msg := pochipayManyProblems
	if len(errs) == 1 {
		msg = errs[0]
	}
	writeJSON(w, status, pochipayAnswer{Message: msg, Errors: errs})
}

// pochipayRead reads a JSON body (field names in any case, as ASP.NET
// reads them); on failure it has answered 415 or 400.
func pochipayRead(w http.ResponseWriter, r *http.Request) (*jsonObject, bool) {
	o, err := readJSONObject(w, r, true)
	switch err {
	case nil:
		return o, true
	case errNotJSONType:
		writePochipayError(w, http.StatusUnsupportedMediaType, err.Error())
	default:
		writePochipayError(w, http.StatusBadRequest, err.Error())
	}
	return nil, false
}

// pochipayTokenResult is the token answer's result.
type pochipayTokenResult struct {
	AccessToken string `json:"accessToken"`
	TokenType   string `json:"tokenType"`
	ExpiresIn   int64  `json:"expiresIn"`
}

func (s *Sandbox) pochipayToken(w http.ResponseWriter, r *http.Request) {
	o, ok := pochipayRead(w, r)
	if !ok {
		return
	}
	email, _ := o.str("email")
	password, _ := o.str("password")
	if !credentialsMatch(email, password, s.cfg.PochipayEmail, s.cfg.PochipayPassword) {
		writePochipayError(w, http.StatusUnauthorized, pochipayBadLogin)
		return
	}
	token, ttl := s.stkIssueToken(STKPochipay, s.cfg.PochipayTokenTTL)
	writeJSON(w, http.StatusOK, pochipayAnswer{
		Result: pochipayTokenResult{AccessToken: token, TokenType: "Bearer", ExpiresIn: ttl},
		Errors: []string{},
	})
}

// pochipayAuthorized reports whether r carries "Authorization: Bearer
// <token>" with a valid Pochipay token; if not, it has answered 401.
func (s *Sandbox) pochipayAuthorized(w http.ResponseWriter, r *http.Request) bool {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") && s.stkTokenValid(STKPochipay, strings.TrimSpace(token)) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writePochipayError(w, http.StatusUnauthorized, pochipayUnauthorized)
	return false
}

// pochipayFieldMessage writes a field problem in ASP.NET's manner.
func pochipayFieldMessage(name string, p fieldProblem) string {
	switch p {
	case fieldMissing, fieldEmpty:
		return name + " is required"
	case fieldNegative, fieldFraction:
		return name + " must be a whole number of shillings greater than 0"
	}
	if name == "Amount" {
		return name + " must be a number"
	}
	return name + " must be a string"
}

// pochipayCheck checks a collection request and lists every problem.
func pochipayCheck(o *jsonObject) (STKPrompt, []string) {
	var p STKPrompt
	var errs []string
	var prob fieldProblem
	if p.Reference, prob = o.str("orderId"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("OrderId", prob))
	}
	if p.BillRefNumber, prob = o.str("billRefNumber"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("BillRefNumber", prob))
	}
	if p.Phone, prob = o.str("phoneNumber"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("PhoneNumber", prob))
	} else if !stkPhonePattern.MatchString(p.Phone) {
		errs = append(errs, "PhoneNumber must be 2547XXXXXXXX or 2541XXXXXXXX (254, then 7 or 1, then 8 digits)")
	}
	if p.Amount, prob = o.wholeAmount("amount"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("Amount", prob))
	}
	if p.Narration, prob = o.optionalStr("narration"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("Narration", prob))
	}
	if p.CallbackURL, prob = o.str("callbackUrl"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("CallbackUrl", prob))
	} else if !validURL(p.CallbackURL) {
		errs = append(errs, "CallbackUrl must be an absolute http or https URL")
	}
	return p, errs
}

// pochipayCollectResult is the result of an accepted collection.
type pochipayCollectResult struct {
	CollectionID string `json:"collectionId"`
	IsProcessing bool   `json:"isProcessing"`
}

func (s *Sandbox) pochipayCollect(w http.ResponseWriter, r *http.Request) {
	if !s.pochipayAuthorized(w, r) {
		return
	}
	o, ok := pochipayRead(w, r)
	if !ok {
		return
	}
	p, errs := pochipayCheck(o)
	if len(errs) > 0 {
		writePochipayError(w, http.StatusBadRequest, errs...)
		return
	}
	p.Provider = STKPochipay
	p.CollectionID = newGUID()
	s.mu.Lock()
	if _, dup := s.stk.byRef[stkKey{STKPochipay, p.Reference}]; dup {
		s.mu.Unlock()
		writePochipayError(w, http.StatusBadRequest, pochipayDuplicate)
		return
	}
	if s.stk.phoneBusy(p.Phone) {
		s.mu.Unlock()
		writePochipayError(w, http.StatusBadRequest, pochipayBusy)
		return
	}
	p.CreatedAt = s.now()
	s.stk.add(&p)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, pochipayAnswer{
		Result:  pochipayCollectResult{CollectionID: p.CollectionID, IsProcessing: true},
		Message: "Request accepted",
		Errors:  []string{},
	})
}

// pochipayStatusResult is the result of both status calls, in the shape
// of gateway/pochipay/testdata/assumed-collections-status-*.json (the
// page lost its bodies; ASSUMED.md there says where each name comes
// from). A text with no value is null.
type pochipayStatusResult struct {
	Status         string  `json:"status"` // Pending, Complete or Failed
	IsSuccessful   bool    `json:"isSuccessful"`
	MpesaReference *string `json:"mpesaReference"`
	// Amount is in no documented shape: it is reported only when
	// STKAnswerAmount made the provider take another amount than asked
	// (the assumed-collections-*-complete-amount.json example), so that a
	// test can show a mismatch; otherwise a success carries no amount.
	Amount            *json.Number `json:"amount,omitempty"`
	FailReason        *string      `json:"failReason"`
	ResultDescription *string      `json:"resultDescription"`
}

// pochipayStatusWords are the status per prompt status.
var pochipayStatusWords = map[string]string{
	STKPending:   "Pending",
	STKCompleted: "Complete",
	STKFailed:    "Failed",
}

// nullable is s, or nil (JSON null) when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// pochipayStatusFor builds a status result: the receipt once complete,
// M-Pesa's sentence once answered, failReason on failure, and the amount
// only when it differs from the one asked.
func pochipayStatusFor(p *STKPrompt) pochipayStatusResult {
	res := pochipayStatusResult{
		Status:            pochipayStatusWords[p.Status],
		ResultDescription: nullable(p.ResultDesc),
	}
	switch p.Status {
	case STKCompleted:
		res.IsSuccessful = true
		res.MpesaReference = nullable(p.Receipt)
		if p.PaidAmount != p.Amount {
			a := jsonAmount(p.PaidAmount)
			res.Amount = &a
		}
	case STKFailed:
		res.FailReason = nullable(p.ResultDesc)
	}
	return res
}

// writePochipayStatus answers a status call with the prompt, or 404.
func writePochipayStatus(w http.ResponseWriter, p *STKPrompt) {
	if p == nil {
		writePochipayError(w, http.StatusNotFound, pochipayNotFound)
		return
	}
	writeJSON(w, http.StatusOK, pochipayAnswer{
		Result:  pochipayStatusFor(p),
		Message: "Success",
		Errors:  []string{},
	})
}

// pochipayStatusStart counts a status call and checks FailSTKQueries and
// the token; it reports false once it has answered.
func (s *Sandbox) pochipayStatusStart(w http.ResponseWriter, r *http.Request) bool {
	if s.stkQueryStart(STKPochipay) {
		writePochipayError(w, http.StatusServiceUnavailable, pochipayUnavailable)
		return false
	}
	return s.pochipayAuthorized(w, r)
}

func (s *Sandbox) pochipayTransactionStatus(w http.ResponseWriter, r *http.Request) {
	if !s.pochipayStatusStart(w, r) {
		return
	}
	o, ok := pochipayRead(w, r)
	if !ok {
		return
	}
	id, prob := o.str("collectionId")
	if prob != fieldOK {
		writePochipayError(w, http.StatusBadRequest, pochipayFieldMessage("CollectionId", prob))
		return
	}
	s.mu.Lock()
	var found *STKPrompt
	if p, ok := s.stk.byCollection[strings.TrimSpace(id)]; ok {
		c := *p
		found = &c
	}
	s.mu.Unlock()
	writePochipayStatus(w, found)
}

func (s *Sandbox) pochipayCollectionQuery(w http.ResponseWriter, r *http.Request) {
	if !s.pochipayStatusStart(w, r) {
		return
	}
	orderID := queryValue(r, "OrderId")
	receipt := queryValue(r, "MpesaReference")
	billRef := queryValue(r, "BillReferenceNumber")
	if orderID == "" && receipt == "" && billRef == "" {
		writePochipayError(w, http.StatusBadRequest, "Provide OrderId, MpesaReference or BillReferenceNumber")
		return
	}
	s.mu.Lock()
	var found *STKPrompt
	// The newest collection that matches every parameter given.
	for i := len(s.stk.prompts) - 1; i >= 0; i-- {
		p := s.stk.prompts[i]
		if p.Provider != STKPochipay ||
			(orderID != "" && p.Reference != orderID) ||
			(receipt != "" && p.Receipt != receipt) ||
			(billRef != "" && p.BillRefNumber != billRef) {
			continue
		}
		c := *p
		found = &c
		break
	}
	s.mu.Unlock()
	writePochipayStatus(w, found)
}

// pochipayCallbackPayload is the collection callback, in the shape of
// gateway/pochipay/testdata/assumed-collections-callback-*.json. A text
// with no value is null.
type pochipayCallbackPayload struct {
	OrderID       string      `json:"orderId"`
	BillRefNumber string      `json:"billRefNumber"`
	PhoneNumber   string      `json:"phoneNumber"`
	Amount        json.Number `json:"amount"`
	// ThirdPartyReference is the M-Pesa receipt; null on failure.
	ThirdPartyReference *string `json:"thirdPartyReference"`
	IsSuccessful        bool    `json:"isSuccessful"`
	FailReason          *string `json:"failReason"`
	ResultDescription   *string `json:"resultDescription"`
}

// pochipayCallbackBody is the callback of an answered collection: the
// amount paid (the amount asked unless STKAnswerAmount said otherwise).
func pochipayCallbackBody(p *STKPrompt) pochipayCallbackPayload {
	res := pochipayStatusFor(p)
	amount := p.Amount
	if p.Status == STKCompleted {
		amount = p.PaidAmount
	}
	return pochipayCallbackPayload{
		OrderID:             p.Reference,
		BillRefNumber:       p.BillRefNumber,
		PhoneNumber:         p.Phone,
		Amount:              jsonAmount(amount),
		ThirdPartyReference: res.MpesaReference,
		IsSuccessful:        res.IsSuccessful,
		FailReason:          res.FailReason,
		ResultDescription:   res.ResultDescription,
	}
}
