package pesapal

import (
	"bytes"
	"context"
	"net/http"
	"strings"
)

// Values of ipn_notification_type: the HTTP method Pesapal uses for the IPN.
const (
	IPNGet  = "GET"
	IPNPost = "POST"
)

// IPNRegistration is one registered IPN URL, as RegisterIPN and GetIpnList
// answer it. GetIpnList fills only URL, CreatedDate, IPNID, Error and Status.
type IPNRegistration struct {
	// URL is the notification URL Pesapal sends status alerts to.
	URL string `json:"url"`
	// CreatedDate is when the URL was registered (UTC), as Pesapal wrote it.
	CreatedDate string `json:"created_date"`
	// IPNID identifies the registration (a GUID); it is the notification_id
	// of SubmitOrderRequest.
	IPNID string `json:"ipn_id"`
	// NotificationType is 0 or 1 (the document does not say which is which;
	// IPNNotificationTypeDescription says it in words).
	NotificationType int `json:"notification_type"`
	// IPNNotificationTypeDescription is the HTTP method registered: GET or POST.
	IPNNotificationTypeDescription string `json:"ipn_notification_type_description"`
	// IPNStatus is 1 (active) or 0 (inactive).
	IPNStatus int `json:"ipn_status"`
	// IPNStatusDescription is IPNStatus in words: Active or Inactive. (The
	// document's table spells the key "ipn_status_decription"; its sample,
	// followed here, "ipn_status_description".)
	IPNStatusDescription string `json:"ipn_status_description"`
	// Error is Pesapal's error object; nil when there is none.
	Error *ErrorObject `json:"error"`
	// Status is Pesapal's response code as text, "200" on success.
	Status string `json:"status"`
}

// registerIPNRequest is the RegisterIPN body.
type registerIPNRequest struct {
	URL                 string `json:"url"`
	IPNNotificationType string `json:"ipn_notification_type"`
}

// RegisterIPN registers url as an IPN endpoint that Pesapal calls with the
// given HTTP method (IPNGet or IPNPost) and returns the registration, whose
// IPNID is the notification_id of SubmitOrderRequest. It is not retried.
func (c *Client) RegisterIPN(ctx context.Context, url, notificationType string) (IPNRegistration, error) {
	const op = "register IPN"
	method := strings.ToUpper(strings.TrimSpace(notificationType))
	switch {
	case strings.TrimSpace(url) == "":
		return IPNRegistration{}, invalid(op, "url is required")
	case method != IPNGet && method != IPNPost:
		return IPNRegistration{}, invalid(op, "ipn_notification_type must be GET or POST")
	}
	a, err := c.call(ctx, op, http.MethodPost, pathRegisterIPN, nil, registerIPNRequest{URL: url, IPNNotificationType: method})
	if err != nil {
		return IPNRegistration{}, err
	}
	var reg IPNRegistration
	if err := c.decode(op, a, &reg); err != nil {
		return IPNRegistration{}, err
	}
	if err := c.bodyError(op, a, reg.Error, reg.Status, ""); err != nil {
		return IPNRegistration{}, err
	}
	if reg.IPNID == "" {
		return IPNRegistration{}, &Error{Op: op, HTTPStatus: a.Status, Message: "answer has no ipn_id"}
	}
	return reg, nil
}

// GetIPNList returns every IPN URL registered for the merchant account.
func (c *Client) GetIPNList(ctx context.Context) ([]IPNRegistration, error) {
	const op = "get IPN list"
	a, err := c.call(ctx, op, http.MethodGet, pathIPNList, nil, nil)
	if err != nil {
		return nil, err
	}
	// The list is a JSON array; a failure comes back as an object, even
	// with HTTP 200.
	if t := bytes.TrimSpace(a.Body); a.Status >= 200 && a.Status <= 299 && len(t) > 0 && t[0] == '{' {
		e := c.answerError(op, a)
		if e.Message == "" {
			e.Message = "answer is an object, not the list"
		}
		return nil, e
	}
	var list []IPNRegistration
	if err := c.decode(op, a, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// EnsureIPN returns the ipn_id for url: that of an existing registration
// whose url equals url exactly, or else that of a new registration with the
// given method (IPNGet or IPNPost). It lets the app register its IPN URL at
// start-up without piling up duplicates. GetIpnList does not say which
// method a URL was registered with, so an existing registration is reused
// whatever its method.
func (c *Client) EnsureIPN(ctx context.Context, url, notificationType string) (ipnID string, err error) {
	list, err := c.GetIPNList(ctx)
	if err != nil {
		return "", err
	}
	for _, reg := range list {
		if reg.URL == url && reg.IPNID != "" && reg.Error.empty() {
			return reg.IPNID, nil
		}
	}
	reg, err := c.RegisterIPN(ctx, url, notificationType)
	if err != nil {
		return "", err
	}
	return reg.IPNID, nil
}
