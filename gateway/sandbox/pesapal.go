package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"checkout/gateway"
)

// Paths of the Pesapal simulator, as Handler serves them.
const (
	// PesapalAPIPath is the API base path: PesapalBaseURL is PublicURL
	// followed by it.
	PesapalAPIPath = "/sandbox/pesapal/v3"
	// PesapalPayPath is the payment page that redirect_url points at.
	PesapalPayPath = "/sandbox/pesapal/pay"
)

// Pesapal status_code values, as GetTransactionStatus reports them.
const (
	PesapalStatusInvalid   = 0 // not paid or declined yet (INVALID)
	PesapalStatusCompleted = 1 // COMPLETED
	PesapalStatusFailed    = 2 // FAILED
	PesapalStatusReversed  = 3 // REVERSED
)

// Errors returned by the Pesapal test hooks.
var (
	// ErrUnknownOrder: no order has this tracking id.
	ErrUnknownOrder = errors.New("sandbox: unknown Pesapal order tracking id")
	// ErrOrderFinal: the order was already paid, declined or reversed.
	ErrOrderFinal = errors.New("sandbox: Pesapal order is already final")
)

// Fixed texts of the simulated answers.
const (
	msgProcessed    = "Request processed successfully"
	msgDeclined     = "Unable to Authorize Transaction.Kindly contact your bank for assistance"
	msgReversed     = "Transaction reversed"
	errTypeAPI      = "api_error"
	pesapalDateUTC  = "2006-01-02T15:04:05.0000000Z" // expiryDate, created_date of an IPN
	pesapalDateBare = "2006-01-02T15:04:05.9999999"  // created_date of a payment: no zone
	maxBody         = 1 << 20
)

// Order is a copy of one order submitted to the Pesapal simulator, as the
// test hooks return it.
type Order struct {
	TrackingID        string // order_tracking_id, a GUID
	MerchantReference string // the request's id
	Amount            gateway.Amount
	Currency          string
	Description       string
	CallbackURL       string
	CancellationURL   string // empty when the request had none
	NotificationID    string // the registered ipn_id
	RedirectMode      string // "", TOP_WINDOW or PARENT_WINDOW, as sent
	Email, Phone      string // billing_address email_address and phone_number
	StatusCode        int    // a PesapalStatus* value
	ConfirmationCode  string // set once paid or declined
	PaymentMethod     string // "MPESA" or "Visa" once paid or declined
	PaymentAccount    string // masked phone or card number
	// PaidAmount is the amount GetTransactionStatus reports once the order is
	// final: Amount, unless PesapalCompleteAmount said otherwise.
	PaidAmount gateway.Amount
	CreatedAt  time.Time // when SubmitOrderRequest accepted it
	// ProcessedAt is when the payment was made or declined (the status
	// answer's created_date); zero while pending.
	ProcessedAt time.Time
	UpdatedAt   time.Time // when StatusCode last changed
	// PendingTopLevel is set on every other order submitted, the first
	// included: while it is pending, GetTransactionStatus answers it with
	// Pesapal's bare "Pending Payment" error object and HTTP 500. The other
	// orders are answered, while pending, with the full status answer
	// carrying that object under "error", with HTTP 200. Both forms are
	// Pesapal's; a client must read each as pending.
	PendingTopLevel bool
	// RefundedAmount is what an accepted RefundRequest gave back (zero
	// when none), and RefundedAt when.
	RefundedAmount gateway.Amount
	RefundedAt     time.Time
}

// ipnRegistration is one registered IPN URL.
type ipnRegistration struct {
	ID      string
	URL     string
	Method  string // GET or POST
	Created time.Time
}

// pesapalState is the Pesapal simulator's data, guarded by Sandbox.mu.
type pesapalState struct {
	tokens        map[string]time.Time // token -> expiry
	tokensIssued  int
	ipns          []*ipnRegistration // in registration order
	ipnByID       map[string]*ipnRegistration
	orders        map[string]*Order // by tracking id
	byRef         map[string]string // merchant reference -> tracking id
	failStatus    int               // GetTransactionStatus calls still to answer 503
	ordersTaken   int               // orders accepted so far
	statusQueries int
	ipnsSent      int
	refunds       []*PesapalRefund          // accepted RefundRequests, oldest first
	refundByCode  map[string]*PesapalRefund // by confirmation_code
	failRefunds   int                       // RefundRequests still to answer 503
	lateRefunds   int                       // accepted RefundRequests still to answer late
}

func (p *pesapalState) init() {
	p.tokens = map[string]time.Time{}
	p.ipnByID = map[string]*ipnRegistration{}
	p.orders = map[string]*Order{}
	p.byRef = map[string]string{}
	p.refundByCode = map[string]*PesapalRefund{}
}

// PesapalBaseURL is the base URL a Pesapal client is configured with:
// PublicURL + "/sandbox/pesapal/v3".
func (s *Sandbox) PesapalBaseURL() string { return s.baseURL + PesapalAPIPath }

func (s *Sandbox) routePesapal(mux *http.ServeMux) {
	api := PesapalAPIPath + "/api"
	mux.HandleFunc("POST "+api+"/Auth/RequestToken", s.pesapalRequestToken)
	mux.HandleFunc("POST "+api+"/URLSetup/RegisterIPN", s.pesapalAuthorized(s.pesapalRegisterIPN))
	mux.HandleFunc("GET "+api+"/URLSetup/GetIpnList", s.pesapalAuthorized(s.pesapalIPNList))
	mux.HandleFunc("POST "+api+"/Transactions/SubmitOrderRequest", s.pesapalAuthorized(s.pesapalSubmitOrder))
	mux.HandleFunc("GET "+api+"/Transactions/GetTransactionStatus", s.pesapalTransactionStatus)
	mux.HandleFunc("POST "+api+"/Transactions/RefundRequest", s.pesapalRefundRequest)
	mux.HandleFunc("GET "+PesapalPayPath, s.pesapalPayPage)
	mux.HandleFunc("POST "+PesapalPayPath, s.pesapalPaySubmit)
}

// apiError is the inside of the document's Error Object, which names its
// first field "type". Success answers carry an "error" that is null.
type apiError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorAnswer is the document's Error Object, the answer of every call that
// fails ({"error": {"type", "code", "message"}}, nothing else), whatever
// the endpoint.
type errorAnswer struct {
	Error apiError `json:"error"`
}

func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorAnswer{Error: apiError{Type: errTypeAPI, Code: code, Message: message}})
}

// decodeBody reads a JSON request body into v. On failure it has answered
// with an error and reports false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeAPIError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid_json", "the body is not valid JSON for this request: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeAPIError(w, http.StatusBadRequest, "invalid_json", "the body must hold one JSON object")
		return false
	}
	return true
}

// tokenRequest is RequestToken's body.
type tokenRequest struct {
	ConsumerKey    string `json:"consumer_key"`
	ConsumerSecret string `json:"consumer_secret"`
}

// tokenAnswer is RequestToken's answer.
type tokenAnswer struct {
	Token      *string   `json:"token"`
	ExpiryDate *string   `json:"expiryDate"`
	Error      *apiError `json:"error"`
	Status     string    `json:"status"`
	Message    string    `json:"message"`
}

func (s *Sandbox) pesapalRequestToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	keyOK := subtle.ConstantTimeCompare([]byte(req.ConsumerKey), []byte(s.cfg.ConsumerKey)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(req.ConsumerSecret), []byte(s.cfg.ConsumerSecret)) == 1
	if !keyOK || !secretOK || req.ConsumerKey == "" || req.ConsumerSecret == "" {
		writeAPIError(w, http.StatusUnauthorized, "invalid_consumer_key_or_secret_provided",
			"Invalid consumer_key or consumer_secret")
		return
	}
	token := newToken()
	s.mu.Lock()
	now := s.now()
	for t, exp := range s.pesapal.tokens { // forget expired tokens
		if !now.Before(exp) {
			delete(s.pesapal.tokens, t)
		}
	}
	expiry := now.Add(s.cfg.TokenTTL)
	s.pesapal.tokens[token] = expiry
	s.pesapal.tokensIssued++
	s.mu.Unlock()
	date := expiry.UTC().Format(pesapalDateUTC)
	writeJSON(w, http.StatusOK, tokenAnswer{Token: &token, ExpiryDate: &date, Status: "200", Message: msgProcessed})
}

// pesapalAuthorized wraps h with the bearer token check.
func (s *Sandbox) pesapalAuthorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.pesapalCheckToken(w, r) {
			h(w, r)
		}
	}
}

// pesapalCheckToken reports whether r carries a valid, unexpired token; if
// not, it has answered 401.
func (s *Sandbox) pesapalCheckToken(w http.ResponseWriter, r *http.Request) bool {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	code, msg := "", ""
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		code, msg = "missing_token", "an Authorization: Bearer <token> header is required"
	} else {
		s.mu.Lock()
		exp, known := s.pesapal.tokens[token]
		now := s.now()
		s.mu.Unlock()
		switch {
		case !known:
			code, msg = "invalid_token", "the bearer token is not one this server issued"
		case !now.Before(exp):
			code, msg = "token_expired", "the bearer token has expired: request a new one"
		default:
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeAPIError(w, http.StatusUnauthorized, code, msg)
	return false
}

// validURL reports whether s is an absolute http or https URL with a host.
func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// registerIPNRequest is RegisterIPN's body.
type registerIPNRequest struct {
	URL  string `json:"url"`
	Type string `json:"ipn_notification_type"`
}

// ipnAnswer is RegisterIPN's answer, as in the document's sample.
type ipnAnswer struct {
	URL                   string    `json:"url"`
	CreatedDate           string    `json:"created_date"`
	IPNID                 string    `json:"ipn_id"`
	NotificationType      int       `json:"notification_type"`
	NotificationTypeDescr string    `json:"ipn_notification_type_description"`
	IPNStatus             int       `json:"ipn_status"`
	IPNStatusDescription  string    `json:"ipn_status_description"`
	Error                 *apiError `json:"error"`
	Status                string    `json:"status"`
}

// ipnListItem is one element of GetIpnList's answer, as in the sample.
type ipnListItem struct {
	URL         string    `json:"url"`
	CreatedDate string    `json:"created_date"`
	IPNID       string    `json:"ipn_id"`
	Error       *apiError `json:"error"`
	Status      string    `json:"status"`
}

func (s *Sandbox) pesapalRegisterIPN(w http.ResponseWriter, r *http.Request) {
	var req registerIPNRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !validURL(req.URL) {
		writeAPIError(w, http.StatusBadRequest, "invalid_ipn_url", "url is required and must be an absolute http or https URL")
		return
	}
	if req.Type != http.MethodGet && req.Type != http.MethodPost {
		writeAPIError(w, http.StatusBadRequest, "invalid_ipn_notification_type", "ipn_notification_type must be GET or POST")
		return
	}
	s.mu.Lock()
	var reg *ipnRegistration
	for _, existing := range s.pesapal.ipns {
		if existing.URL == req.URL && existing.Method == req.Type {
			reg = existing
			break
		}
	}
	if reg == nil {
		reg = &ipnRegistration{ID: newGUID(), URL: req.URL, Method: req.Type, Created: s.now()}
		s.pesapal.ipns = append(s.pesapal.ipns, reg)
		s.pesapal.ipnByID[reg.ID] = reg
	}
	answer := ipnAnswer{
		URL:                   reg.URL,
		CreatedDate:           reg.Created.UTC().Format(pesapalDateUTC),
		IPNID:                 reg.ID,
		NotificationTypeDescr: reg.Method,
		IPNStatus:             1,
		IPNStatusDescription:  "Active",
		Status:                "200",
	}
	if reg.Method == http.MethodPost {
		answer.NotificationType = 1
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

func (s *Sandbox) pesapalIPNList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	list := make([]ipnListItem, 0, len(s.pesapal.ipns))
	for _, reg := range s.pesapal.ipns {
		list = append(list, ipnListItem{
			URL:         reg.URL,
			CreatedDate: reg.Created.UTC().Format(pesapalDateUTC),
			IPNID:       reg.ID,
			Status:      "200",
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// orderRequest is SubmitOrderRequest's body.
type orderRequest struct {
	ID              string          `json:"id"`
	Currency        string          `json:"currency"`
	Amount          json.RawMessage `json:"amount"`
	Description     string          `json:"description"`
	CallbackURL     string          `json:"callback_url"`
	CancellationURL string          `json:"cancellation_url"`
	RedirectMode    string          `json:"redirect_mode"`
	NotificationID  string          `json:"notification_id"`
	Branch          string          `json:"branch"`
	BillingAddress  *struct {
		Email       string `json:"email_address"`
		Phone       string `json:"phone_number"`
		CountryCode string `json:"country_code"`
		State       string `json:"state"`
	} `json:"billing_address"`
}

// orderAnswer is SubmitOrderRequest's answer.
type orderAnswer struct {
	OrderTrackingID   *string   `json:"order_tracking_id"`
	MerchantReference *string   `json:"merchant_reference"`
	RedirectURL       *string   `json:"redirect_url"`
	Error             *apiError `json:"error"`
	Status            string    `json:"status"`
}

// validateOrder checks req as the document describes the fields, in the
// document's order, and returns the first problem (code and message) or the
// amount.
func validateOrder(req *orderRequest) (gateway.Amount, string, string) {
	switch {
	case strings.TrimSpace(req.ID) == "":
		return 0, "invalid_merchant_reference", "id is required"
	case utf8.RuneCountInString(req.ID) > 50:
		return 0, "invalid_merchant_reference", "id must be at most 50 characters"
	}
	if len(req.Currency) != 3 || strings.Trim(req.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return 0, "invalid_currency", "currency is required and must be an ISO 4217 code such as KES"
	}
	var amount gateway.Amount
	if raw := strings.TrimSpace(string(req.Amount)); raw == "" || raw == "null" {
		return 0, "invalid_amount", "amount is required"
	} else if err := amount.UnmarshalJSON([]byte(raw)); err != nil || amount <= 0 {
		return 0, "invalid_amount", "amount must be a number greater than 0 with at most 2 decimals"
	}
	switch {
	case strings.TrimSpace(req.Description) == "":
		return 0, "invalid_description", "description is required"
	case utf8.RuneCountInString(req.Description) > 100:
		return 0, "invalid_description", "description must be at most 100 characters"
	}
	if req.RedirectMode != "" && req.RedirectMode != "TOP_WINDOW" && req.RedirectMode != "PARENT_WINDOW" {
		return 0, "invalid_redirect_mode", "redirect_mode must be empty, TOP_WINDOW or PARENT_WINDOW"
	}
	if !validURL(req.CallbackURL) {
		return 0, "invalid_callback_url", "callback_url is required and must be an absolute http or https URL"
	}
	if req.CancellationURL != "" && !validURL(req.CancellationURL) {
		return 0, "invalid_cancellation_url", "cancellation_url must be an absolute http or https URL"
	}
	if strings.TrimSpace(req.NotificationID) == "" {
		return 0, "invalid_notification_id", "notification_id is required: register an IPN URL first"
	}
	b := req.BillingAddress
	switch {
	case b == nil:
		return 0, "invalid_billing_address", "billing_address is required"
	case strings.TrimSpace(b.Email) == "" && strings.TrimSpace(b.Phone) == "":
		return 0, "invalid_billing_address", "billing_address needs an email_address or a phone_number"
	case b.CountryCode != "" && utf8.RuneCountInString(b.CountryCode) != 2:
		return 0, "invalid_billing_address", "billing_address.country_code must be 2 characters"
	case utf8.RuneCountInString(b.State) > 3:
		return 0, "invalid_billing_address", "billing_address.state must be at most 3 characters"
	}
	return amount, "", ""
}

func (s *Sandbox) pesapalSubmitOrder(w http.ResponseWriter, r *http.Request) {
	var req orderRequest
	if !decodeBody(w, r, &req) {
		return
	}
	fail := func(status int, code, message string) { writeAPIError(w, status, code, message) }
	amount, code, msg := validateOrder(&req)
	if code != "" {
		fail(http.StatusBadRequest, code, msg)
		return
	}
	s.mu.Lock()
	if _, ok := s.pesapal.ipnByID[req.NotificationID]; !ok {
		s.mu.Unlock()
		fail(http.StatusBadRequest, "invalid_notification_id", "notification_id is not a registered ipn_id")
		return
	}
	if _, dup := s.pesapal.byRef[req.ID]; dup {
		s.mu.Unlock()
		fail(http.StatusConflict, "duplicate_merchant_reference",
			"an order with this id already exists: id must be unique for every order request")
		return
	}
	o := &Order{
		TrackingID:        newGUID(),
		MerchantReference: req.ID,
		Amount:            amount,
		Currency:          req.Currency,
		Description:       req.Description,
		CallbackURL:       req.CallbackURL,
		CancellationURL:   req.CancellationURL,
		NotificationID:    req.NotificationID,
		RedirectMode:      req.RedirectMode,
		Email:             req.BillingAddress.Email,
		Phone:             req.BillingAddress.Phone,
		CreatedAt:         s.now(),
		PendingTopLevel:   s.pesapal.ordersTaken%2 == 0,
	}
	s.pesapal.ordersTaken++
	o.UpdatedAt = o.CreatedAt
	s.pesapal.orders[o.TrackingID] = o
	s.pesapal.byRef[o.MerchantReference] = o.TrackingID
	s.mu.Unlock()
	redirect := s.baseURL + PesapalPayPath + "?OrderTrackingId=" + url.QueryEscape(o.TrackingID)
	writeJSON(w, http.StatusOK, orderAnswer{
		OrderTrackingID:   &o.TrackingID,
		MerchantReference: &o.MerchantReference,
		RedirectURL:       &redirect,
		Status:            "200",
	})
}

// statusError is the error object of GetTransactionStatus, with the
// document's fields (all null when there is no error).
type statusError struct {
	ErrorType   *string `json:"error_type"`
	Code        *string `json:"code"`
	Message     *string `json:"message"`
	CallBackURL *string `json:"call_back_url"`
}

// statusAnswer is GetTransactionStatus's answer, with the sample's fields
// and kinds: strings for what is not known yet are empty, never null.
type statusAnswer struct {
	PaymentMethod            string      `json:"payment_method"`
	Amount                   json.Number `json:"amount"`
	CreatedDate              string      `json:"created_date"`
	ConfirmationCode         string      `json:"confirmation_code"`
	PaymentStatusDescription string      `json:"payment_status_description"`
	Description              string      `json:"description"`
	Message                  string      `json:"message"`
	PaymentAccount           string      `json:"payment_account"`
	CallBackURL              string      `json:"call_back_url"`
	StatusCode               int         `json:"status_code"`
	MerchantReference        string      `json:"merchant_reference"`
	PaymentStatusCode        string      `json:"payment_status_code"`
	Currency                 string      `json:"currency"`
	Error                    statusError `json:"error"`
	Status                   string      `json:"status"`
}

// pendingError is Pesapal's "Pending Payment" error object, which
// GetTransactionStatus sends alone, as the whole body, for some pending
// orders (see Order.PendingTopLevel).
type pendingError struct {
	ErrorType string `json:"error_type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// The pending error object's code and message.
const (
	codePendingPayment = "payment_details_not_found"
	msgPendingPayment  = "Pending Payment"
)

// statusDescriptions are payment_status_description per status_code, with
// the casing of the document's sample ("Failed").
var statusDescriptions = map[int]string{
	PesapalStatusInvalid:   "INVALID",
	PesapalStatusCompleted: "Completed",
	PesapalStatusFailed:    "Failed",
	PesapalStatusReversed:  "Reversed",
}

// jsonAmount writes an amount as .NET writes a decimal: 1500, 1500.5, 1500.55.
func jsonAmount(a gateway.Amount) json.Number {
	s := a.String()
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" {
		s = "0"
	}
	return json.Number(s)
}

func ptr[T any](v T) *T { return &v }

// pesapalCallback is the order's callback_url with the callback parameters
// appended; notificationType is "" for the status answer's call_back_url.
func pesapalCallback(o *Order, notificationType string) string {
	kv := []string{"OrderTrackingId", o.TrackingID, "OrderMerchantReference", o.MerchantReference}
	if notificationType != "" {
		kv = append(kv, "OrderNotificationType", notificationType)
	}
	return appendQuery(o.CallbackURL, kv...)
}

// appendQuery appends the key/value pairs to raw's query, keeping its
// existing parameters (and their order) and its fragment.
func appendQuery(raw string, kv ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	var b strings.Builder
	b.WriteString(u.RawQuery)
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	u.RawQuery = b.String()
	return u.String()
}

// queryValue returns the query parameter name, matched without regard to case
// as ASP.NET does when an exact match is missing.
func queryValue(r *http.Request, name string) string {
	q := r.URL.Query()
	if v := q.Get(name); v != "" {
		return v
	}
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (s *Sandbox) pesapalTransactionStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.pesapal.statusQueries++
	failing := s.pesapal.failStatus > 0
	if failing {
		s.pesapal.failStatus--
	}
	s.mu.Unlock()
	if failing {
		writeAPIError(w, http.StatusServiceUnavailable, "service_unavailable", "the service is temporarily unavailable: try again")
		return
	}
	if !s.pesapalCheckToken(w, r) {
		return
	}
	id := queryValue(r, "orderTrackingId")
	if id == "" {
		writeAPIError(w, http.StatusBadRequest, "missing_order_tracking_id", "the orderTrackingId query parameter is required")
		return
	}
	s.mu.Lock()
	o, ok := s.pesapal.orders[id]
	var order Order
	if ok {
		order = *o
	}
	s.mu.Unlock()
	if !ok {
		writeAPIError(w, http.StatusNotFound, "order_not_found", "no order has this orderTrackingId")
		return
	}
	if order.StatusCode == PesapalStatusInvalid && order.PendingTopLevel {
		// A payment still pending, answered as the bare error object
		// (testdata/assumed-gettransactionstatus-pending-toplevel.json in
		// gateway/pesapal) with HTTP 500: not a server failure.
		writeJSON(w, http.StatusInternalServerError, pendingError{
			ErrorType: errTypeAPI, Code: codePendingPayment, Message: msgPendingPayment,
		})
		return
	}
	writeJSON(w, http.StatusOK, statusFor(&order))
}

// statusFor builds GetTransactionStatus's answer for an order: the
// document's sample for a final order, and while it is pending the same
// answer with nothing known yet and the pending error object under "error"
// (testdata/assumed-gettransactionstatus-pending-nested.json in
// gateway/pesapal).
func statusFor(o *Order) statusAnswer {
	callback := pesapalCallback(o, "")
	if o.StatusCode == PesapalStatusInvalid {
		return statusAnswer{
			Amount:                   "0",
			CreatedDate:              "0001-01-01T00:00:00",
			PaymentStatusDescription: statusDescriptions[PesapalStatusInvalid],
			Message:                  msgProcessed,
			CallBackURL:              callback,
			StatusCode:               PesapalStatusInvalid,
			MerchantReference:        o.MerchantReference,
			Currency:                 o.Currency,
			Error: statusError{
				ErrorType:   ptr(errTypeAPI),
				Code:        ptr(codePendingPayment),
				Message:     ptr(msgPendingPayment),
				CallBackURL: &callback,
			},
			Status: "500",
		}
	}
	description := ""
	switch o.StatusCode {
	case PesapalStatusFailed:
		description = msgDeclined
	case PesapalStatusReversed:
		description = msgReversed
	}
	return statusAnswer{
		PaymentMethod:            o.PaymentMethod,
		Amount:                   jsonAmount(o.PaidAmount),
		CreatedDate:              o.ProcessedAt.UTC().Format(pesapalDateBare),
		ConfirmationCode:         o.ConfirmationCode,
		PaymentStatusDescription: statusDescriptions[o.StatusCode],
		Description:              description,
		Message:                  msgProcessed,
		PaymentAccount:           o.PaymentAccount,
		CallBackURL:              callback,
		StatusCode:               o.StatusCode,
		MerchantReference:        o.MerchantReference,
		PaymentStatusCode:        "",
		Currency:                 o.Currency,
		Status:                   "200",
	}
}
