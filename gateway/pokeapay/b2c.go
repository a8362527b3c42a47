package pokeapay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"

	"checkout/gateway"
)

// The wire types of PokeaPay's B2C remittance (shared/providers/
// pokeapay-b2c-remittance.txt): a payment from the merchant's PokeaPay
// account to an M-Pesa number, sent by B2C (b2c_client.go). The names are
// the document's, held by the fixtures in testdata/ (doc-b2c-*). What the document leaves open is in
// testdata/ASSUMED.md, "B2C remittance".

// B2CPath is the request's path under the B2C base URL: the document's
// example posts to https://here-prod-api-url.com/remittance/momo/mpesa.
const B2CPath = "/remittance/momo/mpesa"

// B2CChannelMPesa is transfer.channel for M-Pesa B2C ("use 234432 for mpesa
// b2c"). The document's table calls the field numeric; its example sends
// the string "234432", which is what is sent.
const B2CChannelMPesa = "234432"

// B2CRequest is the body of POST {B2C URL}/remittance/momo/mpesa. It goes
// with "Authorization: Bearer <token>" and a "signature" header (see
// SignB2C).
type B2CRequest struct {
	// Source is the sender: the merchant's PokeaPay account.
	Source B2CSource `json:"source"`
	// Destination is the recipient.
	Destination B2CDestination `json:"destination"`
	// Transfer is the payment itself.
	Transfer B2CTransfer `json:"transfer"`
	// ResultURL is where PokeaPay posts the result (B2CResult).
	ResultURL string `json:"result_url"`
}

// B2CSource is the request's "source".
type B2CSource struct {
	// CustomerCode is the sender business code assigned by PokeaPay.
	CustomerCode string `json:"customer_code"`
	// AccountNo is the sender account number; it ends the signed string.
	AccountNo string `json:"account_no"`
}

// B2CDestination is the request's "destination".
type B2CDestination struct {
	// CountryCode is "the recipient's ISO country code"; the document's
	// example sends "KES" (a currency code), see ASSUMED.md.
	CountryCode string `json:"country_code"`
	// Name is the recipient's full name.
	Name string `json:"name"`
	// MobileNumber is the recipient's mobile number.
	MobileNumber string `json:"mobile_number"`
}

// B2CTransfer is the request's "transfer".
type B2CTransfer struct {
	// Reference is the sender's reference: unique, at least 6 characters.
	Reference string `json:"reference"`
	// Currency is USD or KES.
	Currency string `json:"currency"`
	// Amount is a string ("100"); at most USD 10,000 or its equivalent.
	Amount string `json:"amount"`
	// Date is the transfer date, YYYY-MM-DD.
	Date string `json:"date"`
	// Description is any additional payment detail.
	Description string `json:"description"`
	// Channel is B2CChannelMPesa for M-Pesa.
	Channel string `json:"channel"`
}

// B2CAnswer is the request's immediate answer: {"code": 0, "success":
// true, "message": "The service request is submitted successfully."}. It
// says the request was taken, not that money moved: the result comes later
// to result_url.
type B2CAnswer struct {
	Code    json.Number `json:"code"`
	Success bool        `json:"success"`
	Message string      `json:"message"`
}

// Accepted reports an answer that took the request: success true and code
// 0.
func (a B2CAnswer) Accepted() bool { return a.Success && a.Code == "0" }

// B2CResult is the result PokeaPay posts to result_url. The success example
// carries every field; the failure example only channel, result_code,
// reference, result_description and hash.
type B2CResult struct {
	Channel       string `json:"channel"`
	Reference     string `json:"reference"`
	TransactionID string `json:"transaction_id"`
	Currency      string `json:"currency"`
	Amount        string `json:"amount"`
	Fees          string `json:"fees"`
	// ResultCode is 0 on success; the failure example has 1032.
	ResultCode        json.Number `json:"result_code"`
	ResultDescription string      `json:"result_description"`
	// Hash is 64 hex digits whose construction the document does not give:
	// it cannot be checked (ASSUMED.md, "B2C result hash"), so a result is a
	// notification, not proof.
	Hash string `json:"hash"`
}

// Succeeded reports a result_code of 0. A missing code is not a success.
func (r B2CResult) Succeeded() bool { return r.ResultCode == "0" }

// AmountCents is the result's amount in cents; an error when it has none or
// it is not a decimal amount.
func (r B2CResult) AmountCents() (gateway.Amount, error) {
	if r.Amount == "" {
		return 0, errors.New("pokeapay: B2C result has no amount")
	}
	return gateway.ParseProviderAmount(r.Amount)
}

// B2CSigningString is the text the "signature" header signs: "a String of
// concatenated values of the request fields with the following order:
// transfer.amount, transfer.currency, transfer.reference,
// source.account_no", with no separators.
func B2CSigningString(r B2CRequest) string {
	return r.Transfer.Amount + r.Transfer.Currency + r.Transfer.Reference + r.Source.AccountNo
}

// SignB2C is the "signature" header of r: B2CSigningString(r) "signed with
// Private Key and Base64 encoded". Assumed (ASSUMED.md, "B2C signature"):
// RSA PKCS #1 v1.5 over its SHA-256 digest (PHP's openssl_sign with
// OPENSSL_ALGO_SHA256), standard Base64 with padding.
func SignB2C(key *rsa.PrivateKey, r B2CRequest) (string, error) {
	sum := sha256.Sum256([]byte(B2CSigningString(r)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
