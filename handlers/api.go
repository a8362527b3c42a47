package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

const (
	keyMerchant = "merchant"
	maxAPIBody  = 64 << 10
)

// apiError writes the merchant API's error shape:
// {"error": {"code": "...", "message": "...", "field": "..." or null}}.
func apiError(c *gin.Context, status int, code, msg, field string) {
	c.AbortWithStatusJSON(status, errorBody(code, msg, field))
}

func errorBody(code, msg, field string) gin.H {
	var f any
	if field != "" {
		f = field
	}
	return gin.H{"error": gin.H{"code": code, "message": msg, "field": f}}
}

// APIAuth checks the Bearer API key and loads its merchant.
func (h *Handlers) APIAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		auth := c.GetHeader("Authorization")
		scheme, key, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="checkout"`)
			apiError(c, http.StatusUnauthorized, "unauthorized", "send your API key as 'Authorization: Bearer <key>'", "")
			return
		}
		m, err := h.svc.Authenticate(c.Request.Context(), key)
		if errors.Is(err, payments.ErrBadAPIKey) {
			c.Header("WWW-Authenticate", `Bearer realm="checkout", error="invalid_token"`)
			apiError(c, http.StatusUnauthorized, "unauthorized", "the API key is not valid", "")
			return
		}
		if err != nil {
			h.fail(c, err)
			return
		}
		c.Set(keyMerchant, m)
		c.Next()
	}
}

func merchant(c *gin.Context) *payments.Merchant {
	m, _ := c.MustGet(keyMerchant).(*payments.Merchant)
	return m
}

// CreateCheckout is POST /api/v1/checkouts. With an Idempotency-Key
// header, see createIdempotent.
func (h *Handlers) CreateCheckout(c *gin.Context) {
	key, hasKey, body, ok := apiBody(c)
	if !ok {
		return
	}
	if hasKey {
		h.createIdempotent(c, key, body, func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, bool, error) {
			return h.createOnce(c, body, claim)
		})
		return
	}
	status, answer, err := h.create(c, body)
	switch {
	case err != nil:
		h.fail(c, err)
	case status == http.StatusCreated:
		c.Header("Cache-Control", "no-store")
		c.JSON(status, answer)
	default:
		c.AbortWithStatusJSON(status, answer)
	}
}

// apiBody reads a creation's Idempotency-Key (when sent) and JSON body,
// answering the request itself (ok false) when either is refused.
func apiBody(c *gin.Context) (key string, hasKey bool, body []byte, ok bool) {
	key, hasKey, keyErr := idempotencyKey(c.Request.Header)
	if keyErr != "" {
		apiError(c, http.StatusBadRequest, "invalid", keyErr, headerIdempotencyKey)
		return "", false, nil, false
	}
	if ct := c.ContentType(); ct != "application/json" {
		apiError(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json", "")
		return "", false, nil, false
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxAPIBody+1))
	if err != nil {
		apiError(c, http.StatusBadRequest, "malformed", "the body could not be read", "")
		return "", false, nil, false
	}
	if len(body) > maxAPIBody {
		apiError(c, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than 64 KiB", "")
		return "", false, nil, false
	}
	return key, hasKey, body, true
}

// create decodes the body and creates the checkout. It returns the answer
// for the merchant (201 with the checkout object, or a 4xx with the error
// shape), or an error for a failure on our side.
func (h *Handlers) create(c *gin.Context, body []byte) (int, any, error) {
	var req payments.CreateRequest
	if code, msg, field := decodeStrict(body, &req); code != "" {
		return http.StatusBadRequest, errorBody(code, msg, field), nil
	}
	co, err := h.svc.CreateCheckout(c.Request.Context(), merchant(c), req, "api")
	if status, answer, ok := refusal(err); ok {
		return status, answer, nil
	}
	if err != nil {
		return 0, nil, err
	}
	obj, err := h.svc.Object(co)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, obj, nil
}

// refusal is the answer for a *payments.FieldError: 409 for a reference
// taken, else 422, with the error shape. ok is false for other errors.
func refusal(err error) (status int, answer any, ok bool) {
	var fe *payments.FieldError
	if !errors.As(err, &fe) {
		return 0, nil, false
	}
	status = http.StatusUnprocessableEntity
	if fe.Code == "duplicate" {
		status = http.StatusConflict
	}
	return status, errorBody(fe.Code, fe.Message, fe.Field), true
}

// createOnce is create for a request holding its Idempotency-Key: a 201
// is stored as the key's answer in the transaction that creates the
// checkout (stored is true), and so is the answer another request with
// the same key and body stored first (ans.Replayed); a refusal is returned
// encoded, for the caller to store.
func (h *Handlers) createOnce(c *gin.Context, body []byte, claim *payments.IdempotencyClaim) (ans payments.StoredAnswer, stored bool, err error) {
	var req payments.CreateRequest
	if code, msg, field := decodeStrict(body, &req); code != "" {
		out, err := json.Marshal(errorBody(code, msg, field))
		return payments.StoredAnswer{Status: http.StatusBadRequest, Body: out}, false, err
	}
	_, ans, err = h.svc.CreateCheckoutOnce(c.Request.Context(), merchant(c), req, "api", claim,
		func(co *payments.Checkout) (int, []byte, error) {
			obj, err := h.svc.Object(co)
			if err != nil {
				return 0, nil, err
			}
			b, err := json.Marshal(obj)
			return http.StatusCreated, b, err
		})
	return createdOrRefused(ans, err)
}

const headerIdempotencyKey = "Idempotency-Key"

// msgIdempotencyInProgress answers a request whose key another request
// with the same body holds.
const msgIdempotencyInProgress = "a request with this Idempotency-Key is still being processed; retry shortly"

// idempotencyKey reads the Idempotency-Key header: 1 to 255 printable
// ASCII characters, sent once. bad is the message for a key refused.
func idempotencyKey(hdr http.Header) (key string, ok bool, bad string) {
	vals := hdr.Values(headerIdempotencyKey)
	switch {
	case len(vals) == 0:
		return "", false, ""
	case len(vals) > 1:
		return "", false, "send one Idempotency-Key header"
	}
	key = vals[0]
	if key == "" || len(key) > payments.MaxIdempotencyKey {
		return "", false, fmt.Sprintf("Idempotency-Key must be 1 to %d characters", payments.MaxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", false, "Idempotency-Key must be printable ASCII characters"
		}
	}
	return key, true, ""
}

// createIdempotent is a creation (once) with an Idempotency-Key: the
// first request with a key runs and its answer is stored, byte for byte;
// the same key and body answer that again, another body or a request still
// running with the key answer 409 (see payments.Service.CreateIdempotent).
// body is what identifies the request (the checkout's body, or a payment
// link's with its endpoint before it).
func (h *Handlers) createIdempotent(c *gin.Context, key string, body []byte, once payments.CreateOnce) {
	res, err := h.svc.CreateIdempotent(c.Request.Context(), merchant(c).ID, key, body, once)
	if err != nil {
		h.fail(c, err)
		return
	}
	switch res.Outcome {
	case payments.IdempotentMismatch:
		apiError(c, http.StatusConflict, "idempotency_error",
			"this Idempotency-Key was used with a different request", headerIdempotencyKey)
		return
	case payments.IdempotentInProgress:
		c.Header("Retry-After", "1")
		apiError(c, http.StatusConflict, "idempotency_error", msgIdempotencyInProgress, headerIdempotencyKey)
		return
	}
	if res.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	writeStored(c, res.Status, res.Body)
}

// writeStored sends an API answer as the exact bytes given (what was
// stored for the idempotency key), never encoded again.
func writeStored(c *gin.Context, status int, body []byte) {
	c.Header("Cache-Control", "no-store")
	c.Data(status, "application/json; charset=utf-8", body)
	c.Abort()
}

// decodeStrict decodes one JSON object, refusing unknown fields, and names
// the field at fault when it can.
func decodeStrict(body []byte, dst any) (code, msg, field string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		return "malformed", "the body must be one JSON object", ""
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return "malformed", "the body must be one JSON object", ""
		}
		return "", "", ""
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return "malformed", typeErr.Field + " has the wrong type (" + typeErr.Value + " where " + typeErr.Type.String() + " was expected)", typeErr.Field
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed", "the body is not valid JSON", ""
	case errors.Is(err, io.EOF):
		return "malformed", "the body is empty; send a JSON object", ""
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return "malformed", "unknown field " + f, f
	}
	return "malformed", "the body is not a valid checkout request", ""
}

// GetCheckout is GET /api/v1/checkouts/{id}.
func (h *Handlers) GetCheckout(c *gin.Context) {
	co, err := h.svc.CheckoutForMerchant(c.Request.Context(), merchant(c).ID, c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		apiError(c, http.StatusNotFound, "not_found", "no checkout with this id", "id")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.writeCheckout(c, http.StatusOK, co)
}

// ListCheckouts is GET /api/v1/checkouts: the merchant's checkouts,
// newest first, ?limit= after ?starting_after=, optionally only those
// with one ?status= or the one with a ?reference=. Each item is the
// checkout object GetCheckout answers. A starting_after that is not one
// of the merchant's checkouts is 404 (field starting_after), as Stripe
// answers one naming no object: another merchant's id shows nothing of
// theirs, not even where it would fall in the list.
func (h *Handlers) ListCheckouts(c *gin.Context) {
	limit, ok := listLimit(c)
	if !ok {
		return
	}
	status, hasStatus := c.GetQuery("status")
	reference, hasReference := c.GetQuery("reference")
	cos, more, err := h.svc.MerchantCheckouts(c.Request.Context(), merchant(c).ID, payments.CheckoutList{
		Status: status, HasStatus: hasStatus, Reference: reference, HasReference: hasReference,
		After: c.Query("starting_after"), Limit: limit,
	})
	if st, answer, ok := refusal(err); ok {
		c.AbortWithStatusJSON(st, answer)
		return
	}
	if unknownCursor(c, err, "checkouts") {
		return
	}
	answerList(h, c, cos, more, err, h.svc.Object)
}

func (h *Handlers) writeCheckout(c *gin.Context, status int, co *payments.Checkout) {
	obj, err := h.svc.Object(co)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, obj)
}

// createdOrRefused is the outcome of an idempotent create: the stored
// answer (stored is true), a refusal encoded for the caller to store, or
// an error.
func createdOrRefused(ans payments.StoredAnswer, err error) (payments.StoredAnswer, bool, error) {
	if st, answer, ok := refusal(err); ok {
		out, err := json.Marshal(answer)
		return payments.StoredAnswer{Status: st, Body: out}, false, err
	}
	if err != nil {
		return payments.StoredAnswer{}, false, err
	}
	return ans, true, nil
}
