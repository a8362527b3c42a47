package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"checkout/gateway"
)

// PokeaPayB2CPath is the base path of PokeaPay's B2C remittance simulator
// (the document's https://here-prod-api-url.com): sends are POSTed to
// PokeaPayB2CPath + "/remittance/momo/mpesa".
const PokeaPayB2CPath = "/sandbox/pokeapay-b2c"

// The B2C remittance's fixed values and texts. The failure is the
// document's "Failed Transaction" example.
const (
	b2cChannel     = "234432"
	b2cAccepted    = "The service request is submitted successfully."
	b2cProcessed   = "The service request is processed successfully."
	b2cFailCode    = "1032"
	b2cFailDesc    = "Bad Request - Invalid Account number"
	b2cKeyBits     = 2048
	b2cMinRefChars = 6
)

// Maximum of one B2C remittance: the document's "USD 10,000 or currency
// equivalent", with an ASSUMED KES 130 to the dollar.
var b2cMax = map[string]gateway.Amount{
	"USD": 10_000_00,
	"KES": 1_300_000_00,
}

// b2cAmountPattern is transfer.amount: digits with at most two decimals.
var b2cAmountPattern = regexp.MustCompile(`^\d{1,13}(\.\d{1,2})?$`)

// b2cState holds the B2C key pair, made on first use (a 2048-bit key takes
// a noticeable time to generate: no Sandbox that never sends a B2C pays
// for it).
type b2cState struct {
	once sync.Once
	key  *rsa.PrivateKey
}

// B2CKey returns the private half of the B2C signing key pair the
// simulator made (on the first call, or the first B2C request). The app's
// sandbox wiring signs its B2C requests with it; the simulator verifies
// every signature with the public half. It is nil only if the key could
// not be made.
func (s *Sandbox) B2CKey() *rsa.PrivateKey {
	s.b2c.once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, b2cKeyBits)
		if err != nil {
			s.log.Error("PokeaPay B2C key not made: every B2C request will be refused", "err", err)
			return
		}
		s.b2c.key = k
	})
	return s.b2c.key
}

// PokeaPayB2CURL is the B2C remittance's base URL: PublicURL +
// "/sandbox/pokeapay-b2c".
func (s *Sandbox) PokeaPayB2CURL() string { return s.baseURL + PokeaPayB2CPath }

func (s *Sandbox) routePokeaPayB2C(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PokeaPayB2CPath+"/remittance/momo/mpesa", s.pokeaPayB2C)
}

// b2cAnswer is every answer of the B2C remittance: the document's success
// {"code": 0, "success": true, "message": ...}, and (ASSUMED: the document
// shows no refusal) the same fields for a refusal, with code the HTTP
// status and success false.
type b2cAnswer struct {
	Code    int    `json:"code"`
	Success bool   `json:"success"`
	Message string `json:"message"`
}

func writeB2CError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, b2cAnswer{Code: status, Success: false, Message: msg})
}

// b2cRequest is a send once its fields are checked.
type b2cRequest struct {
	customerCode, accountNo         string
	countryCode, name, phone        string
	reference, currency, amountText string
	amount                          gateway.Amount
	date, description, resultURL    string
	signature                       []byte
}

// b2cSub reads field name of o as a JSON object.
func b2cSub(o *jsonObject, name string) (*jsonObject, string) {
	raw, ok := o.get(name)
	if !ok {
		return nil, `"` + name + `" is required`
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, `"` + name + `" must be of type object`
	}
	return &jsonObject{raw: raw, fields: fields}, ""
}

// b2cCheck checks a send's body in the order of the document's table and
// returns the first problem, as PokeaPay's validator (Joi) writes it.
func b2cCheck(o *jsonObject) (b2cRequest, string) {
	var req b2cRequest
	str := func(sub *jsonObject, parent, name string, dst *string) string {
		v, p := sub.str(name)
		if p != fieldOK {
			return joiMessage(parent+"."+name, p, "string")
		}
		*dst = v
		return ""
	}
	src, msg := b2cSub(o, "source")
	if msg != "" {
		return req, msg
	}
	if msg := str(src, "source", "customer_code", &req.customerCode); msg != "" {
		return req, msg
	}
	if msg := str(src, "source", "account_no", &req.accountNo); msg != "" {
		return req, msg
	}
	dst, msg := b2cSub(o, "destination")
	if msg != "" {
		return req, msg
	}
	if msg := str(dst, "destination", "country_code", &req.countryCode); msg != "" {
		return req, msg
	}
	// An ISO country code says the table; the example sends "KES".
	if req.countryCode != "KE" && req.countryCode != "KES" {
		return req, `"destination.country_code" must be one of [KE, KES]`
	}
	if msg := str(dst, "destination", "name", &req.name); msg != "" {
		return req, msg
	}
	if msg := str(dst, "destination", "mobile_number", &req.phone); msg != "" {
		return req, msg
	}
	if !stkPhonePattern.MatchString(req.phone) {
		return req, `"destination.mobile_number" with value "` + req.phone + `" fails to match the required pattern: ` + pokeaPaySTKPhoneRule
	}
	tr, msg := b2cSub(o, "transfer")
	if msg != "" {
		return req, msg
	}
	if msg := str(tr, "transfer", "reference", &req.reference); msg != "" {
		return req, msg
	}
	if len(req.reference) < b2cMinRefChars || strings.Trim(req.reference, "0123456789") != "" {
		return req, `"transfer.reference" must be a string of at least 6 digits`
	}
	if msg := str(tr, "transfer", "currency", &req.currency); msg != "" {
		return req, msg
	}
	limit, known := b2cMax[req.currency]
	if !known {
		return req, `"transfer.currency" must be one of [USD, KES]`
	}
	if msg := str(tr, "transfer", "amount", &req.amountText); msg != "" {
		return req, msg
	}
	a, err := gateway.ParseProviderAmount(req.amountText)
	switch {
	case !b2cAmountPattern.MatchString(req.amountText) || err != nil:
		return req, `"transfer.amount" must be a number written as a string, with at most 2 decimals`
	case a <= 0:
		return req, `"transfer.amount" must be greater than 0`
	case !a.Whole():
		return req, `"transfer.amount" must be whole shillings: M-Pesa takes no cents`
	case a > limit:
		return req, `"transfer.amount" must be at most ` + req.currency + " " + limit.Grouped() + " (USD 10,000 or currency equivalent)"
	}
	req.amount = a
	if msg := str(tr, "transfer", "date", &req.date); msg != "" {
		return req, msg
	}
	if _, err := time.Parse(time.DateOnly, req.date); err != nil {
		return req, `"transfer.date" must be a date written YYYY-MM-DD`
	}
	if msg := str(tr, "transfer", "description", &req.description); msg != "" {
		return req, msg
	}
	// "numeric" says the table; the example sends the string "234432".
	raw, ok := tr.get("channel")
	if !ok {
		return req, `"transfer.channel" is required`
	}
	if ch := strings.Trim(string(raw), `"`); ch != b2cChannel {
		return req, `"transfer.channel" must be [234432]`
	}
	var p fieldProblem
	if req.resultURL, p = o.str("result_url"); p != fieldOK {
		return req, joiMessage("result_url", p, "string")
	}
	if !validURL(req.resultURL) {
		return req, `"result_url" must be a valid uri`
	}
	return req, ""
}

// b2cSignedText is what the signature covers: transfer.amount,
// transfer.currency, transfer.reference and source.account_no, as sent,
// concatenated with no separator (the document's order).
func b2cSignedText(amount, currency, reference, accountNo string) string {
	return amount + currency + reference + accountNo
}

// b2cVerify reports whether sig is the key's RSA PKCS #1 v1.5 signature,
// over SHA-256, of the request's signed text (ASSUMED: the document says
// "SHA-256 ... signed with Private Key and Base64 encoded").
func (s *Sandbox) b2cVerify(req *b2cRequest, sigHeader string) bool {
	key := s.B2CKey()
	if key == nil {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sigHeader))
	if err != nil || len(sig) == 0 {
		return false
	}
	sum := sha256.Sum256([]byte(b2cSignedText(req.amountText, req.currency, req.reference, req.accountNo)))
	return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) == nil
}

// pokeaPayB2CAuthorized reports whether r carries "Authorization: Bearer
// <token>" with a token of PokeaPay's API login (the STK simulator's
// /login), as the document's example sends it; if not, it has answered
// 401.
func (s *Sandbox) pokeaPayB2CAuthorized(w http.ResponseWriter, r *http.Request) bool {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") && s.stkTokenValid(STKPokeaPay, strings.TrimSpace(token)) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeB2CError(w, http.StatusUnauthorized, "Unauthorized")
	return false
}

func (s *Sandbox) pokeaPayB2C(w http.ResponseWriter, r *http.Request) {
	s.countSend(PayoutPokeaPay)
	if !s.pokeaPayB2CAuthorized(w, r) {
		return
	}
	o, err := readJSONObject(w, r, false)
	if err != nil {
		// The document's example, as printed, has a comma after
		// mobile_number: it is not JSON, and is refused here.
		status := http.StatusBadRequest
		if err == errNotJSONType {
			status = http.StatusUnsupportedMediaType
		}
		writeB2CError(w, status, err.Error())
		return
	}
	req, msg := b2cCheck(o)
	if msg != "" {
		writeB2CError(w, http.StatusUnprocessableEntity, msg)
		return
	}
	if (s.cfg.PokeaPayB2CCustomerCode != "" && !hashEqual(req.customerCode, s.cfg.PokeaPayB2CCustomerCode)) ||
		(s.cfg.PokeaPayB2CAccountNo != "" && !hashEqual(req.accountNo, s.cfg.PokeaPayB2CAccountNo)) {
		writeB2CError(w, http.StatusBadRequest, "Invalid source: the customer code or account number is not this merchant's")
		return
	}
	sig := r.Header.Get("signature")
	if sig == "" {
		writeB2CError(w, http.StatusForbidden, "Missing signature header")
		return
	}
	if !s.b2cVerify(&req, sig) {
		writeB2CError(w, http.StatusForbidden, "Invalid signature: it does not verify with the merchant's public key")
		return
	}
	po := &Payout{
		Provider:    PayoutPokeaPay,
		Reference:   req.reference,
		Phone:       req.phone,
		Name:        req.name,
		Amount:      req.amount,
		Currency:    req.currency,
		Description: req.description,
		CallbackURL: req.resultURL,
		Fees:        b2cFees(req.amount),
		wireAmount:  req.amountText,
		hash:        hex.EncodeToString(randomBytes(32)),
	}
	s.mu.Lock()
	if _, dup := s.payout.byRef[stkKey{PayoutPokeaPay, req.reference}]; dup {
		s.mu.Unlock()
		writeB2CError(w, http.StatusConflict, "Duplicate reference: every transaction needs a new unique reference")
		return
	}
	f := s.payout.takeFault(req.phone)
	s.payout.add(po, f, s.now(), b2cFailCode, b2cFailDesc)
	s.mu.Unlock()
	s.afterSend(w, r, PayoutPokeaPay, []sendPlan{{req.reference, f}},
		b2cAnswer{Code: 0, Success: true, Message: b2cAccepted})
}

// b2cFees is the fee a B2C remittance reports, in cents: ASSUMED KES 2 up
// to KES 1,000 (the document's example: 2 for 100), KES 10 up to KES
// 10,000, KES 20 above.
func b2cFees(a gateway.Amount) gateway.Amount {
	switch {
	case a <= 1_000_00:
		return 2_00
	case a <= 10_000_00:
		return 10_00
	}
	return 20_00
}

// b2cSuccessResult is the document's "Success Transaction on the Return
// Url" body.
type b2cSuccessResult struct {
	Channel           string `json:"channel"`
	Reference         string `json:"reference"`
	TransactionID     string `json:"transaction_id"`
	Currency          string `json:"currency"`
	Amount            string `json:"amount"`
	Fees              string `json:"fees"`
	ResultCode        int    `json:"result_code"`
	ResultDescription string `json:"result_description"`
	Hash              string `json:"hash"`
}

// b2cFailedResult is the document's "Failed Transaction on the Return Url"
// body, as valid JSON (the printed example lacks a comma).
type b2cFailedResult struct {
	Channel           string `json:"channel"`
	ResultCode        int    `json:"result_code"`
	Reference         string `json:"reference"`
	ResultDescription string `json:"result_description"`
	Hash              string `json:"hash"`
}

// b2cResultBody is the result posted to result_url. Its hash is 64 random
// hex digits, fixed per payout: the document does not say what it is made
// of.
func b2cResultBody(p *Payout) any {
	if p.Status == PayoutCompleted {
		return b2cSuccessResult{
			Channel:           b2cChannel,
			Reference:         p.Reference,
			TransactionID:     p.Receipt,
			Currency:          p.Currency,
			Amount:            p.wireAmount,
			Fees:              strings.TrimSuffix(p.Fees.String(), ".00"),
			ResultCode:        0,
			ResultDescription: b2cProcessed,
			Hash:              p.hash,
		}
	}
	code, err := strconv.Atoi(p.ResultCode)
	if err != nil {
		code = 1
	}
	return b2cFailedResult{
		Channel:           b2cChannel,
		ResultCode:        code,
		Reference:         p.Reference,
		ResultDescription: p.ResultDesc,
		Hash:              p.hash,
	}
}
