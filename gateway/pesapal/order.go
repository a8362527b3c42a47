package pesapal

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
)

// Values of OrderRequest.RedirectMode: where Pesapal loads the callback URL.
const (
	RedirectTopWindow    = "TOP_WINDOW"
	RedirectParentWindow = "PARENT_WINDOW"
)

// Limits the document sets on SubmitOrderRequest fields.
const (
	maxOrderID          = 50
	maxOrderDescription = 100
	maxState            = 3
)

// OrderRequest is the SubmitOrderRequest body.
type OrderRequest struct {
	// ID is the merchant reference, unique for every order request (one per
	// payment attempt), at most 50 characters.
	ID string `json:"id"`
	// Currency is the ISO currency code, for example KES.
	Currency string `json:"currency"`
	// Amount is sent as a JSON number with two decimals ("Float" in the
	// document), written from cents without passing through a float.
	Amount gateway.Amount `json:"amount"`
	// Description describes the order, at most 100 characters.
	Description string `json:"description"`
	// RedirectMode is RedirectTopWindow or RedirectParentWindow; empty means
	// TOP_WINDOW. Sent even when empty, as in the document's sample.
	RedirectMode string `json:"redirect_mode"`
	// CallbackURL is where Pesapal sends the customer after the payment.
	CallbackURL string `json:"callback_url"`
	// CancellationURL, when set, adds a cancel link on the payment page.
	CancellationURL string `json:"cancellation_url,omitempty"`
	// NotificationID is the ipn_id of a registered IPN URL.
	NotificationID string `json:"notification_id"`
	// Branch names the store or branch the payment is credited to.
	Branch string `json:"branch,omitempty"`
	// BillingAddress describes the customer; it needs an email address or a
	// phone number.
	BillingAddress BillingAddress `json:"billing_address"`
}

// BillingAddress is the document's "Customer Address Object". Every field is
// optional except that EmailAddress or PhoneNumber must be set.
type BillingAddress struct {
	// EmailAddress is required when PhoneNumber is empty.
	EmailAddress string `json:"email_address,omitempty"`
	// PhoneNumber is required when EmailAddress is empty.
	PhoneNumber string `json:"phone_number,omitempty"`
	// CountryCode is the 2-letter ISO 3166-1 code, for example KE.
	CountryCode string `json:"country_code,omitempty"`
	// FirstName is the customer's first name.
	FirstName string `json:"first_name,omitempty"`
	// MiddleName is the customer's middle name.
	MiddleName string `json:"middle_name,omitempty"`
	// LastName is the customer's last name.
	LastName string `json:"last_name,omitempty"`
	// Line1 is the customer's main address.
	Line1 string `json:"line_1,omitempty"`
	// Line2 is the customer's alternative address.
	Line2 string `json:"line_2,omitempty"`
	// City is the customer's city.
	City string `json:"city,omitempty"`
	// State is the customer's state, at most 3 characters.
	State string `json:"state,omitempty"`
	// PostalCode is the customer's postal code. The document's table says
	// Integer but its sample sends a string; a string keeps leading zeros.
	PostalCode string `json:"postal_code,omitempty"`
	// ZipCode is the customer's zip code (a string, like PostalCode).
	ZipCode string `json:"zip_code,omitempty"`
}

// OrderResponse is the SubmitOrderRequest answer.
type OrderResponse struct {
	// OrderTrackingID is Pesapal's id for the order: the ProviderReference
	// to query its status with.
	OrderTrackingID string `json:"order_tracking_id"`
	// MerchantReference echoes OrderRequest.ID.
	MerchantReference string `json:"merchant_reference"`
	// RedirectURL is the payment page, to redirect to or load in an iframe.
	RedirectURL string `json:"redirect_url"`
	// Error is Pesapal's error object; nil when there is none.
	Error *ErrorObject `json:"error"`
	// Message is Pesapal's description of the answer.
	Message string `json:"message"`
	// Status is Pesapal's response code as text, "200" on success.
	Status string `json:"status"`
}

// SubmitOrderRequest creates the order and returns its tracking id and the
// payment page URL. The request is checked against the document's rules
// before anything is sent.
//
// It is never retried, not even on a timeout or a 5xx: Pesapal may have
// created the order, and a repeat would start a second payment. The caller
// starts a new attempt (with a new ID) instead. Only a 401, which means
// Pesapal refused the token before doing anything, is repeated once with a
// fresh token.
func (c *Client) SubmitOrderRequest(ctx context.Context, req OrderRequest) (OrderResponse, error) {
	const op = "submit order request"
	if err := req.validate(op); err != nil {
		return OrderResponse{}, err
	}
	a, err := c.call(ctx, op, http.MethodPost, pathSubmitOrder, nil, req)
	if err != nil {
		return OrderResponse{}, err
	}
	var resp OrderResponse
	if err := c.decode(op, a, &resp); err != nil {
		return OrderResponse{}, err
	}
	if err := c.bodyError(op, a, resp.Error, resp.Status, resp.Message); err != nil {
		return OrderResponse{}, err
	}
	switch {
	case resp.OrderTrackingID == "":
		return OrderResponse{}, &Error{Op: op, HTTPStatus: a.Status, Message: "answer has no order_tracking_id"}
	case resp.RedirectURL == "":
		return OrderResponse{}, &Error{Op: op, HTTPStatus: a.Status, Message: "answer has no redirect_url"}
	}
	return resp, nil
}

// validate applies the document's rules for SubmitOrderRequest.
func (r OrderRequest) validate(op string) error {
	chars := utf8.RuneCountInString
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	switch {
	case blank(r.ID):
		return invalid(op, "id is required")
	case chars(r.ID) > maxOrderID:
		return invalid(op, "id is longer than %d characters", maxOrderID)
	case blank(r.Currency):
		return invalid(op, "currency is required")
	case r.Amount <= 0:
		return invalid(op, "amount must be more than zero")
	case blank(r.Description):
		return invalid(op, "description is required")
	case chars(r.Description) > maxOrderDescription:
		return invalid(op, "description is longer than %d characters", maxOrderDescription)
	case r.RedirectMode != "" && r.RedirectMode != RedirectTopWindow && r.RedirectMode != RedirectParentWindow:
		return invalid(op, "redirect_mode must be TOP_WINDOW, PARENT_WINDOW or empty")
	case blank(r.CallbackURL):
		return invalid(op, "callback_url is required")
	case blank(r.NotificationID):
		return invalid(op, "notification_id is required")
	case blank(r.BillingAddress.EmailAddress) && blank(r.BillingAddress.PhoneNumber):
		return invalid(op, "billing_address needs an email_address or a phone_number")
	case r.BillingAddress.CountryCode != "" && chars(r.BillingAddress.CountryCode) != 2:
		return invalid(op, "billing_address.country_code must be 2 letters")
	case chars(r.BillingAddress.State) > maxState:
		return invalid(op, "billing_address.state is longer than %d characters", maxState)
	}
	return nil
}
