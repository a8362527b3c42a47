// Package sandbox simulates the payment providers' APIs so that the app can
// run, and be tested, with no provider account anywhere.
//
// In sandbox mode the app mounts Handler under /sandbox/ on its own server
// (without stripping the prefix); tests serve the same handler from an
// httptest.Server. The simulators follow the provider documents in
// shared/providers, including their quirks, and call the app back the way the
// providers do: asynchronously, sometimes twice, retrying when the app does not
// acknowledge.
//
// Pesapal API 3.0 is served under /sandbox/pesapal/v3 (see PesapalBaseURL):
//
//	POST /api/Auth/RequestToken                 consumer_key + consumer_secret -> token (expires after TokenTTL)
//	POST /api/URLSetup/RegisterIPN              url + ipn_notification_type (GET or POST) -> ipn_id
//	GET  /api/URLSetup/GetIpnList               the registered IPN URLs
//	POST /api/Transactions/SubmitOrderRequest   an order -> order_tracking_id and redirect_url
//	GET  /api/Transactions/GetTransactionStatus ?orderTrackingId= -> the payment status
//
// Every endpoint but RequestToken needs "Authorization: Bearer <token>".
// The redirect_url points at the simulated payment page,
// GET /sandbox/pesapal/pay?OrderTrackingId=..., which the app shows in an
// iframe. Its Pay and Decline buttons record the outcome, send the customer
// to the order's callback_url (in the window that redirect_mode names) and,
// after Config.IPNDelay, send the IPN to the URL registered for the order.
//
// Where the document is silent the simulator chooses as follows (the real
// client must not depend on more than the document says):
//
//   - Error answers carry the document's error object. Because the document
//     names its first field "type" in one place and "error_type" in others,
//     the generic error object carries both.
//   - Validation errors answer HTTP 400, a duplicate order id HTTP 409, a
//     missing, unknown or expired token HTTP 401, an unknown tracking id
//     HTTP 404, a POST body that is not Content-Type application/json
//     HTTP 415; the body's "status" repeats the HTTP status.
//   - While an order is neither paid nor declined, GetTransactionStatus answers
//     HTTP 200 with status "500", status_code 0, payment_status_description
//     "INVALID", amount 0, null details and the error
//     {"error_type":"api_error","code":"payment_details_not_found","message":"Pending Payment",...}:
//     the amount is known only once the payment is final.
//   - payment_status_description is written as in the document's sample
//     ("Completed", "Failed", "Reversed"); created_date has no zone (UTC).
//   - A declined payment, like the document's sample, still carries a
//     confirmation_code, payment_method and payment_account.
//   - Registering the same IPN URL with the same method again returns the
//     first registration.
//
// The PokeaPay web checkout is served under /sandbox/pokeapay/ (see
// PokeaPayCheckoutURL and PokeaPayCoreURL):
//
//	GET  /sandbox/pokeapay/?oc=&live=&cn=&eml=&tel=&curr=&oref=&cb=&amt=&hsh=&v1=&v2=
//	                                   the hosted checkout page (stands for https://pay.pokeapay.com/)
//	POST /sandbox/pokeapay/pay         the page's Pay, Decline and Cancel buttons
//	GET  /sandbox/pokeapay/core/api/payment/status?amount=&hash=&type=&bill_ref=&oc=
//	                                   the payment verification (core stands for https://core.pokeapay.com)
//
// The page accepts only Config.PokeaPayOutletCode, and hsh must be the
// lowercase hex HMAC-SHA1, with Config.PokeaPayHashKey, of live . oref . amt
// . tel . eml . oc; a wrong hash is shown as such (HTTP 400) and records
// nothing. The buttons send the customer to cb with oref, hsh (HMAC-SHA1 of
// oref . oc), type (m or c), amount (amt as sent) and status (1 paid, 0
// not). A payment also sends the IPN, a JSON POST of the document's body, to
// Config.PokeaPayIPNURL after Config.IPNDelay (PokeaPay's IPN URL is set on
// PokeaPay's side, not per order); a decline or a cancel sends none. The
// verification answers {"status": <opaque value>, "oref": bill_ref}: success
// only for a paid order whose amount and type match the query, failed for a
// failed order or a mismatch, pending for an unknown or pending order.
//
// Where the PokeaPay document is silent the simulator chooses as follows:
//
//   - The verification's hash is ASSUMED to be HMAC-SHA1 of bill_ref . oc
//     (the return URL's construction); a wrong hash or oc answers HTTP 401
//     {"error": "..."}, a missing bill_ref HTTP 400.
//   - live must be sent, as 1 or 0, since it is hashed; curr may be omitted
//     (KES) but nothing else is accepted; amt is digits with at most two
//     decimals; the outlet code is compared in uppercase (New uppercases
//     Config.PokeaPayOutletCode).
//   - Opening the same oref again shows the same order (a pending one takes
//     the new customer details); with another amount it answers HTTP 409.
//   - The return URL's status parameter is written "status" (the document's
//     example also says "sstatus"); amount repeats amt as sent, also for a
//     decline. The IPN is acknowledged by any 2xx answer.
//
// Two M-Pesa STK push APIs share one simulated phone. PokeaPay's STK API is
// served under /sandbox/pokeapay/stk/api/v1 (see PokeaPaySTKURL; it stands
// for https://saf.pokeapay.com/api/v1):
//
//	POST /login                {"email","password"} -> {"success":true,"message":"Login successful","data":{"token":<JWT>}}
//	POST /stkPush/transaction  {amount, phone, callBackUrl, outletCode, orderRef, variable1, variable2,
//	                           customerName, customerEmail} -> {"success":true,"message":"Transaction initiated successfully",
//	                           "data":{"orderRef","amount","phone"}}
//	POST /transaction/query    {amount, phone, outletCode, orderRef} -> the prompt's status
//
// Only Config.PokeaPaySTKEmail and PokeaPaySTKPassword log in (a wrong pair
// answers 400 {"success":false,"error":"The credentials you provided are
// incorrect"}); the token is a JWT (HS256, payload iat, exp and a random
// jti) that expires after Config.STKTokenTTL. The other two calls need it
// in "Authorization: Bearer <token>" (the bare token, as the document's
// query example sends it, is accepted too); a missing, unknown or expired
// token answers 401 {"success":false,"error":"Unauthorized"}. A push is
// checked as the document's validator does, in the order of its fields,
// and the first problem answers 422 with Joi's sentence and the request
// echoed as data (a phone must match /^(254(7|1)\d{8})$/, the amount is a
// positive whole number, callBackUrl an absolute http(s) URL). Then an
// outletCode other than Config.PokeaPayOutletCode answers 400, an orderRef
// already pushed 400, and a phone that already has a pending prompt (from
// either provider: M-Pesa locks the subscriber) 400 with the document's
// sentence, typo kept: "Unableto lock subscriber, a transaction is already
// in process for the current subscriber".
//
// The transaction query's answer is NOT in the document (its "Transaction
// Query Success" example is a copy of the success callback, with no
// status): the simulator answers the shape the app's client assumes,
//
//	{"success": true, "message": "...", "data": {"status": "PENDING" | "COMPLETED" | "FAILED",
//	 "receipt" (completed only), "amount", "phone", "orderRef", "resultCode", "resultDesc"}}
//
// (resultCode and resultDesc are "" while pending). It needs the push's
// orderRef, phone and amount and the outlet code; an unknown orderRef, or a
// phone or amount other than the push's, answers 404 {"success":false,
// "error":"Transaction not found"}. After the phone answers, the callback
// is a JSON POST to callBackUrl: the document's success body (receipt,
// firstname, middlename, lastname from customerName, orderRef, amount,
// phone, outletCode, variable1, variable2) or failure body (success false,
// message M-Pesa's sentence, no receipt or names), each with an ASSUMED
// extra data.resultCode.
//
// Pochipay is served under /sandbox/pochipay/api/v1 (see PochipayURL; it
// stands for https://app.pochipay.com/api/v1). Its page lost its sample
// bodies: every body here has the shape of an example in
// gateway/pochipay/testdata (the token answer documented, the rest
// assumed and listed in ASSUMED.md there), every answer wrapped as
// {"result", "message", "errors"}, a text with no value null:
//
//	POST /account/token                          {"email","password"} -> result {accessToken, tokenType "Bearer", expiresIn}
//	POST /collections/mpesa                      {orderId, billRefNumber, phoneNumber, amount, narration, callbackUrl}
//	                                             -> result {collectionId (a GUID), isProcessing true}
//	POST /collections/mpesa/transaction-status   {collectionId} -> result {status, isSuccessful, mpesaReference,
//	                                             failReason, resultDescription}, and amount only after STKAnswerAmount
//	GET  /collections/mpesa/collection-query     ?OrderId= or ?MpesaReference= or ?BillReferenceNumber= -> the same result
//
// Only Config.PochipayEmail and PochipayPassword get a token (else 401,
// "Invalid credentials"); it expires after Config.PochipayTokenTTL
// (expiresIn, 3600 s by default) and the other calls need "Authorization:
// Bearer <token>" (else 401, "Unauthorized"; a Pochipay token is no good
// on PokeaPay, nor the reverse). Body field names match in any
// case, as ASP.NET reads them. A collection needs orderId, billRefNumber,
// a phoneNumber matching ^254(7|1)\d{8}$, a positive whole amount and an
// absolute callbackUrl (narration is optional); every problem is listed in
// errors with HTTP 400. A used orderId answers 400, and a phone with a
// pending prompt 400 "A transaction is already in process for this
// subscriber". Status is "Pending", "Complete" or "Failed"; the
// collection-query finds the newest collection that matches every
// parameter given; an unknown collection answers 404
// {"result":null,"message":"Collection not found","errors":["Collection
// not found"]}. The callback is a JSON POST to callbackUrl of {orderId,
// billRefNumber, phoneNumber, amount, thirdPartyReference (the receipt,
// null on failure), isSuccessful, failReason, resultDescription}.
//
// Money going out (see payout.go). Pesapal's RefundRequest, which API
// 3.0's document lacks, is served with the other Pesapal calls:
//
//	POST /api/Transactions/RefundRequest   {confirmation_code, amount, username, remarks} -> {"status":"200","message":"Refund request successfully"}
//
// It takes only a COMPLETED payment, once (409 refund_exists after that),
// an amount up to the amount paid, and from a mobile-money payment
// (payment_method anything but a card: "MPESA" from the payment page's
// M-Pesa choice) only the whole amount (400 partial_refund_not_allowed); a
// "Visa" payment may be refunded in part. Refusals carry the document's
// Error Object (400, 404 for an unknown confirmation_code). An M-Pesa
// refund goes back to the order's billing phone at once.
//
// PokeaPay's B2C remittance is served under /sandbox/pokeapay-b2c
// (PokeaPayB2CPath, standing for the document's API host):
//
//	POST /remittance/momo/mpesa   the document's body, "Authorization: Bearer <token>" (a token of the STK API's
//	                              /login), "signature" -> {"code":0,"success":true,"message":"The service request is submitted successfully."}
//
// The signature must be the standard Base64 of an RSA PKCS #1 v1.5
// signature over SHA-256 of transfer.amount . transfer.currency .
// transfer.reference . source.account_no (as sent, no separator), made
// with B2CKey (a 2048-bit key made on first use). Refusals are
// {"code": <HTTP status>, "success": false, "message": ...}: 400 for a body
// that is not one JSON object (the document's example as printed, with its
// comma after mobile_number) or a source other than
// Config.PokeaPayB2CCustomerCode / PokeaPayB2CAccountNo, 401 for the token,
// 403 for a missing or wrong signature, 409 for a reference already used
// (even by a failed send: nothing is ever paid twice), 422 with Joi's
// sentence for the first field the table forbids (reference at least 6
// digits, channel 234432 as a string or a number, currency KES or USD,
// amount a string of whole shillings up to USD 10,000 or KES 1,300,000,
// date YYYY-MM-DD, mobile_number 254 and 9 digits, result_url absolute).
// The result is then POSTed to result_url: the document's success body
// (transaction_id the receipt, fees 2, 10 or 20 shillings, hash 64 random
// hex digits: the document does not say how it is made) or its failure
// body as valid JSON (result_code 1032, "Bad Request - Invalid Account
// number").
//
// Pochipay's disbursements are served with its other calls:
//
//	POST /disbursement/send-to-mobile        {callbackUrl, requestId, disbursementTitle, recipients: [{amount, remarks,
//	                                         trackingReference, phoneNumber}]} -> result {requestId, isProcessing true}
//	POST /disbursement/transaction-status    {trackingReference} -> result {trackingReference, status (Pending, Completed,
//	                                         Failed), thirdPartyReference, narrationId, failReason}; 404 when unknown
//	POST /disbursement/cancel                {trackingReference} -> result null, "Transaction cancelled"
//	GET  /account/balance                    result {currency "KES", balance}
//
// The balance starts at Config.PochipayBalance (KES 1,000,000); each send
// takes its amount, a failed or cancelled one gives it back, and a send
// above the balance answers 400 "Insufficient balance". A used requestId
// or trackingReference answers 400. Cancel takes only a send pending for
// at least 24 hours (by Config.Now); it then reads Failed, "Cancelled by
// the sender", with no callback. The callback is {successful, requestId,
// trackingReference, thirdPartyReference (the receipt), failReason}.
//
// A send is paid at once and its result posted after IPNDelay (retried as
// STK callbacks are; twice with DuplicateIPNRate). PayoutNext makes the
// next send to a phone fail, answer late (taken and paid, the answer held
// until the client gives up), stay pending, or call back never or twice;
// PhoneReceived and Payouts read what each phone got, and the phone page
// lists it under "Money received".
//
// The phone, GET /sandbox/phone (PhonePath), lists the pending prompts of
// both providers, newest first, with Approve (result code 0 and a receipt,
// "SBX" and 7 letters or digits), Decline (1032 "Request cancelled by
// user"), Wrong PIN (2001 "The initiator information is invalid.") and No
// answer (1037 "DS timeout user cannot be reached"); it reloads itself
// every 3 seconds with a meta refresh (no script). A button records the
// answer, schedules the callback (IPNDelay, DuplicateIPNRate, IPNRetries as
// for IPNs; any 2xx acknowledges it) and answers 303 back to the phone. A
// prompt nobody answers stays pending. STKAnswer also answers 1 ("The
// balance is insufficient for the transaction."), 1001 and 1019. In both
// APIs amounts are JSON numbers of shillings (1500, not "1500.00").
//
// The webhook inbox, /sandbox/webhooks (WebhooksPath), stands for a
// merchant's server: in sandbox mode the app points the default merchant's
// webhook at it. POST receives a delivery (body up to 1 MiB) and verifies it
// as Standard Webhooks says, with Config.WebhookSecret (or the one given to
// SetWebhookSecret): webhook-timestamp within 5 minutes of now, and one of
// the space-separated "v1,<base64>" in webhook-signature equal to
// base64(HMAC-SHA256(key after "whsec_", id.timestamp.body)). A verified
// delivery answers 204, also when its webhook-id already arrived (it is
// then marked duplicate); anything else answers 401. Either way the
// delivery is kept, newest first, the last 200. GET is a page listing them
// (event type, webhook-id, verified or why not, checkout id and status,
// the body) that reloads itself every 3 seconds.
//
// The mail inbox, /sandbox/mail (MailPath), stands for the customers'
// mailboxes: in sandbox mode without an SMTP server the app's mailer is
// the Sandbox itself (SendMail), and the page lists each message's To,
// From, Subject, Message-ID, text, and HTML (in a frame that runs no
// script, from MailPath/{n}), the newest 200.
//
// The exported Pesapal*, PokeaPay*, STK*, Payout*, Webhook* and Mail*
// methods and counters are hooks for tests. All methods are safe for concurrent use.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"checkout/gateway"
)

// Defaults for Config fields left at their zero value (each field says
// whether New applies it).
const (
	DefaultTokenTTL   = 5 * time.Minute
	DefaultIPNDelay   = 300 * time.Millisecond
	DefaultIPNRetries = 3
	// DefaultDuplicateIPNRate is the chance of a second IPN that the app
	// should configure in sandbox mode. New does not apply it: a zero
	// DuplicateIPNRate means no duplicates, so that tests stay deterministic.
	DefaultDuplicateIPNRate = 0.3
	// DefaultHTTPTimeout is the timeout of the client used to send IPNs when
	// Config.HTTPClient is nil.
	DefaultHTTPTimeout = 10 * time.Second
	// DefaultPochipayBalance is the Pochipay account's balance at start:
	// KES 1,000,000.
	DefaultPochipayBalance gateway.Amount = 1_000_000_00
)

// Config configures a Sandbox.
type Config struct {
	// PublicURL is the base URL where Handler is reachable, for example
	// http://localhost:8080. The payment page's redirect_url and
	// PesapalBaseURL are built from it.
	PublicURL string
	// ConsumerKey and ConsumerSecret are the only Pesapal credentials
	// accepted by RequestToken. Both must be set; empty credentials are
	// always refused.
	ConsumerKey, ConsumerSecret string
	// TokenTTL is how long an issued token is valid (DefaultTokenTTL when 0).
	TokenTTL time.Duration
	// IPNDelay is the wait before an IPN or an STK callback is sent, and the
	// first backoff between tries (DefaultIPNDelay when 0; negative means no
	// wait).
	IPNDelay time.Duration
	// DuplicateIPNRate is the chance, from 0 to 1, that an IPN or an STK
	// callback is sent a second time. Zero means never (see
	// DefaultDuplicateIPNRate).
	DuplicateIPNRate float64
	// IPNRetries is the number of extra tries when the IPN endpoint does not
	// acknowledge with HTTP 200 and a JSON status of 200 (DefaultIPNRetries
	// when 0; negative means no retry). The backoff starts at IPNDelay and
	// doubles. The same retries apply to PokeaPay IPNs and STK callbacks,
	// which any 2xx answer acknowledges.
	IPNRetries int
	// PokeaPayOutletCode and PokeaPayHashKey are the only PokeaPay outlet
	// code and hash key accepted. When either is empty the PokeaPay
	// simulator refuses every checkout and verification. New uppercases the
	// outlet code (PokeaPay assigns uppercase codes).
	PokeaPayOutletCode, PokeaPayHashKey string
	// PokeaPayIPNURL is where PokeaPay IPNs are posted (PokeaPay's IPN URL is
	// set on PokeaPay's side, not per order). Empty means no IPN is sent.
	// IPNDelay, DuplicateIPNRate and IPNRetries apply (any 2xx answer
	// acknowledges a PokeaPay IPN).
	PokeaPayIPNURL string
	// PokeaPaySTKEmail and PokeaPaySTKPassword are the only credentials the
	// PokeaPay STK API's login accepts (empty ones accept nothing). Its
	// pushes and queries must name PokeaPayOutletCode as outletCode.
	PokeaPaySTKEmail, PokeaPaySTKPassword string
	// STKTokenTTL is how long a PokeaPay STK token is valid, rounded up to
	// whole seconds (DefaultSTKTokenTTL when 0).
	STKTokenTTL time.Duration
	// PochipayEmail and PochipayPassword are the only credentials Pochipay's
	// /account/token accepts (empty ones accept nothing).
	PochipayEmail, PochipayPassword string
	// PochipayTokenTTL is how long a Pochipay token is valid, rounded up to
	// whole seconds (DefaultPochipayTokenTTL when 0).
	PochipayTokenTTL time.Duration
	// PochipayBalance is the Pochipay account's balance at start, in cents
	// (DefaultPochipayBalance when 0): every disbursement taken decreases
	// it, a failed or cancelled one gives its amount back, and a send above
	// it is refused.
	PochipayBalance gateway.Amount
	// PokeaPayB2CCustomerCode and PokeaPayB2CAccountNo are the only
	// source.customer_code and source.account_no PokeaPay's B2C remittance
	// accepts; when empty, any non-empty value is taken.
	PokeaPayB2CCustomerCode, PokeaPayB2CAccountNo string
	// WebhookSecret is the default merchant's whsec_ secret, which the
	// webhook inbox verifies signatures with (see WebhooksPath). It may be
	// set later with SetWebhookSecret; while empty nothing verifies.
	WebhookSecret string
	// HTTPClient sends IPNs and STK callbacks (a client with
	// DefaultHTTPTimeout when nil).
	HTTPClient *http.Client
	// Now is the clock for tokens and dates (time.Now when nil). Delays and
	// backoffs use real time.
	Now func() time.Time
	// Logger receives a line per IPN try and failure (discarded when nil).
	Logger *slog.Logger
}

// Sandbox holds the simulated providers' state. Create it with New, serve
// Handler, and Close it to stop pending notifications.
type Sandbox struct {
	cfg     Config
	baseURL string // PublicURL without a trailing slash
	log     *slog.Logger
	now     func() time.Time
	client  *http.Client

	ctx    context.Context // cancelled by Close; every async send uses it
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	inflight int
	idle     chan struct{} // closed whenever inflight is 0

	pesapal  pesapalState  // guarded by mu
	pokeapay pokeaPayState // guarded by mu
	stk      stkState      // guarded by mu: both STK simulators
	inbox    webhookInbox  // guarded by mu: the webhook inbox
	mail     mailInbox     // guarded by mu: the mail inbox
	payout   payoutState   // guarded by mu: money going out, per phone
	b2c      b2cState      // PokeaPay B2C's key (its own lock)
}

// New returns a Sandbox for cfg, with defaults for the zero fields.
func New(cfg Config) *Sandbox {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.STKTokenTTL <= 0 {
		cfg.STKTokenTTL = DefaultSTKTokenTTL
	}
	if cfg.PochipayTokenTTL <= 0 {
		cfg.PochipayTokenTTL = DefaultPochipayTokenTTL
	}
	if cfg.PochipayBalance <= 0 {
		cfg.PochipayBalance = DefaultPochipayBalance
	}
	if cfg.IPNDelay == 0 {
		cfg.IPNDelay = DefaultIPNDelay
	} else if cfg.IPNDelay < 0 {
		cfg.IPNDelay = 0
	}
	if cfg.IPNRetries == 0 {
		cfg.IPNRetries = DefaultIPNRetries
	} else if cfg.IPNRetries < 0 {
		cfg.IPNRetries = 0
	}
	cfg.DuplicateIPNRate = min(max(cfg.DuplicateIPNRate, 0), 1)
	cfg.PokeaPayOutletCode = strings.ToUpper(cfg.PokeaPayOutletCode)
	s := &Sandbox{
		cfg:     cfg,
		baseURL: strings.TrimRight(cfg.PublicURL, "/"),
		log:     cfg.Logger,
		now:     cfg.Now,
		client:  cfg.HTTPClient,
		idle:    make(chan struct{}),
	}
	close(s.idle)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "sandbox")
	if s.now == nil {
		s.now = time.Now
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.pesapal.init()
	s.pokeapay.init()
	s.stk.init()
	s.payout.init(cfg.PochipayBalance)
	s.inbox.secret = cfg.WebhookSecret
	return s
}

// Handler serves every simulator at its full path under /sandbox/. Mount it
// at /sandbox/ without stripping the prefix.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routePesapal(mux)
	s.routePokeaPay(mux)
	s.routePokeaPaySTK(mux)
	s.routePochipay(mux)
	s.routePochipayPayouts(mux)
	s.routePokeaPayB2C(mux)
	s.routePhone(mux)
	s.routeWebhooks(mux)
	s.routeMail(mux)
	return mux
}

// Close stops the notifications still waiting or under way (their requests
// are cancelled) and waits until every goroutine the Sandbox started has
// returned. Nothing is sent afterwards. Close may be called more than once.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.WaitIPNs()
}

// WaitIPNs blocks until no notification is waiting or under way: every IPN
// and STK callback scheduled so far has been acknowledged or given up
// (after its retries).
func (s *Sandbox) WaitIPNs() {
	s.mu.Lock()
	idle := s.idle
	s.mu.Unlock()
	<-idle
}

// goAsync runs f in a goroutine that Close cancels and waits for. It reports
// false, and runs nothing, once the Sandbox is closed.
func (s *Sandbox) goAsync(f func(ctx context.Context)) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	if s.inflight == 0 {
		s.idle = make(chan struct{})
	}
	s.inflight++
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			s.inflight--
			if s.inflight == 0 {
				close(s.idle)
			}
			s.mu.Unlock()
		}()
		f(s.ctx)
	}()
	return true
}

// sleepCtx waits d, or less when ctx ends; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// randomBytes returns n bytes from crypto/rand (which never fails).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// newGUID returns a random (version 4) GUID in its usual text form.
func newGUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newToken returns an opaque random bearer token.
func newToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// newNonce returns a random CSP nonce (base64url: nothing for HTML to escape).
func newNonce() string { return base64.RawURLEncoding.EncodeToString(randomBytes(16)) }

// newCode returns n (at most 26) random characters from A-Z and 2-7.
func newCode(n int) string { return rand.Text()[:n] }

// writeJSON writes v as the JSON answer with the given HTTP status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "sandbox: cannot encode answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
