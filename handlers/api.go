package handlers

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/store"
)

const (
	keyMerchant = "merchant"
	maxAPIBody  = 64 << 10
)

// apiError writes the merchant API's error shape:
// {"error": {"code": "...", "message": "...", "field": "..." or null}}.
func apiError(c *gin.Context, status int, code, msg, field string) {
	var f any
	if field != "" {
		f = field
	}
	c.AbortWithStatusJSON(status, gin.H{"error": gin.H{"code": code, "message": msg, "field": f}})
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
		m, err := h.svc.Store().MerchantByAPIKey(c.Request.Context(), strings.TrimSpace(key))
		if errors.Is(err, store.ErrNotFound) {
			c.Header("WWW-Authenticate", `Bearer realm="checkout", error="invalid_token"`)
			apiError(c, http.StatusUnauthorized, "unauthorized", "the API key is not valid", "")
			return
		}
		if err != nil {
			fail(c, err)
			return
		}
		// The lookup is by hash; compare again in constant time for good measure.
		if subtle.ConstantTimeCompare([]byte(m.APIKeyHash), []byte(store.HashAPIKey(strings.TrimSpace(key)))) != 1 {
			apiError(c, http.StatusUnauthorized, "unauthorized", "the API key is not valid", "")
			return
		}
		c.Set(keyMerchant, m)
		c.Next()
	}
}

func merchant(c *gin.Context) *store.Merchant {
	m, _ := c.MustGet(keyMerchant).(*store.Merchant)
	return m
}

// CreateCheckout is POST /api/v1/checkouts.
func (h *Handlers) CreateCheckout(c *gin.Context) {
	if ct := c.ContentType(); ct != "application/json" {
		apiError(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxAPIBody+1))
	if err != nil {
		apiError(c, http.StatusBadRequest, "malformed", "the body could not be read", "")
		return
	}
	if len(body) > maxAPIBody {
		apiError(c, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than 64 KiB", "")
		return
	}
	var req payments.CreateRequest
	if code, msg, field := decodeStrict(body, &req); code != "" {
		apiError(c, http.StatusBadRequest, code, msg, field)
		return
	}
	co, err := h.svc.CreateCheckout(c.Request.Context(), merchant(c), req, "api")
	var fe *payments.FieldError
	switch {
	case errors.As(err, &fe):
		status := http.StatusUnprocessableEntity
		if fe.Code == "duplicate" {
			status = http.StatusConflict
		}
		apiError(c, status, fe.Code, fe.Message, fe.Field)
		return
	case err != nil:
		fail(c, err)
		return
	}
	h.writeCheckout(c, http.StatusCreated, co)
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
	co, err := h.svc.Store().CheckoutForMerchant(c.Request.Context(), merchant(c).ID, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		apiError(c, http.StatusNotFound, "not_found", "no checkout with this id", "id")
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	h.writeCheckout(c, http.StatusOK, co)
}

func (h *Handlers) writeCheckout(c *gin.Context, status int, co *store.Checkout) {
	obj, err := h.svc.Object(co)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, obj)
}
