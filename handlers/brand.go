package handlers

import (
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// branded is p with merchant merchantID's brand: its logo, name, colour
// and support contacts, from the service's cache (payments.Brand: no read
// per view, at most BrandMaxAge stale).
func (h *Handlers) branded(c *gin.Context, p templates.Page, merchantID string) templates.Page {
	p.Brand = brandView(h.svc.Brand(c.Request.Context(), merchantID))
	return p
}

func brandView(b payments.Brand) templates.Brand {
	return templates.Brand{Name: b.Name, LogoURL: b.LogoURL, Color: b.Color, TextColor: b.TextColor,
		SupportPhone: b.SupportPhone, SupportEmail: b.SupportEmail}
}

// plainID reports whether s could be one of our ids (letters, digits, _
// and -, at most 64): what a ?merchant= filter takes.
func plainID(s string) bool {
	return len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	})
}

// sep is what joins another query parameter to u: "?" or "&".
func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}
