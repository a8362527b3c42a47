package payments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"checkout/store"
)

// MaxLogoBytes is the largest logo a merchant may upload.
const MaxLogoBytes = 200 << 10

// MerchantForm is what the admin's merchant form posts.
type MerchantForm struct {
	Name, BrandColor, SupportPhone, SupportEmail, SuccessURL, CancelURL string
	// Methods are the methods ticked; none ticked is refused.
	Methods []string
	// Logo is the uploaded file's bytes, nil when none was chosen.
	Logo []byte
	// RemoveLogo drops the merchant's logo (when no new one is given).
	RemoveLogo bool
}

// FieldErrors is bad input in several fields at once: field name to a
// sentence for people.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	return fmt.Sprintf("%d fields are not valid", len(e))
}

var (
	colorPattern        = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	supportPhonePattern = regexp.MustCompile(`^\+?[0-9][0-9 ]{5,18}[0-9]$`)
)

// checkMerchant validates f into the profile to store and the logo (nil
// when none was uploaded).
func (s *Service) checkMerchant(f MerchantForm) (store.MerchantProfile, *store.Logo, error) {
	errs := FieldErrors{}
	p := store.MerchantProfile{Name: strings.TrimSpace(f.Name), BrandColor: strings.ToLower(strings.TrimSpace(f.BrandColor)),
		SupportPhone: strings.TrimSpace(f.SupportPhone), SupportEmail: strings.TrimSpace(f.SupportEmail),
		SuccessURL: strings.TrimSpace(f.SuccessURL), CancelURL: strings.TrimSpace(f.CancelURL)}
	switch {
	case p.Name == "":
		errs["name"] = "Give the merchant a name: customers see it."
	case len([]rune(p.Name)) > 100:
		errs["name"] = "A name is at most 100 characters."
	}
	if p.BrandColor != "" && !colorPattern.MatchString(p.BrandColor) {
		errs["brand_color"] = "A colour is # and six hex digits, such as #0a7d32."
	}
	if p.SupportPhone != "" && !supportPhonePattern.MatchString(p.SupportPhone) {
		errs["support_phone"] = "A phone number such as 0712 345 678 or +254 20 123 4567."
	}
	if p.SupportEmail != "" && !PlainEmail(p.SupportEmail) {
		errs["support_email"] = "An email address such as help@shop.co.ke (letters, digits, and . _ + - only)."
	}
	for _, u := range []struct{ field, v string }{{"success_url", p.SuccessURL}, {"cancel_url", p.CancelURL}} {
		if u.v == "" {
			continue
		}
		if err := CheckMerchantURL(u.v); err != nil {
			errs[u.field] = "The " + err.Error() + "."
		}
	}
	var keep []string
	for _, m := range AllMethods {
		for _, x := range f.Methods {
			if x == m {
				keep = append(keep, m)
				break
			}
		}
	}
	switch {
	case len(keep) == 0:
		errs["methods"] = "Allow at least one payment method."
	case len(keep) < len(AllMethods):
		// All ticked is stored as "": every configured method, also one
		// added later.
		p.Methods = strings.Join(keep, ",")
	}
	var logo *store.Logo
	if f.Logo != nil {
		typ, msg := sniffLogo(f.Logo)
		if msg != "" {
			errs["logo"] = msg
		} else {
			logo = store.NewLogo(f.Logo, typ)
		}
	}
	if len(errs) > 0 {
		return p, nil, errs
	}
	return p, logo, nil
}

// sniffLogo finds an image's type from its first bytes: PNG, JPEG or WebP
// only (never SVG, which can carry script), at most MaxLogoBytes. msg says
// why it is refused.
func sniffLogo(b []byte) (typ, msg string) {
	switch {
	case len(b) == 0:
		return "", "The file is empty."
	case len(b) > MaxLogoBytes:
		return "", fmt.Sprintf("The logo is %d KB; at most %d KB.", (len(b)+1023)>>10, MaxLogoBytes>>10)
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", ""
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg", ""
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp", ""
	}
	return "", "The logo must be a PNG, JPEG or WebP image."
}

// CreateMerchant makes a merchant from the admin's form. Bad input gives
// FieldErrors and stores nothing.
func (s *Service) CreateMerchant(ctx context.Context, f MerchantForm) (*Merchant, error) {
	p, logo, err := s.checkMerchant(f)
	if err != nil {
		return nil, err
	}
	m := &Merchant{ID: store.NewID("mer", s.now()), Name: p.Name, BrandColor: p.BrandColor, SupportPhone: p.SupportPhone,
		SupportEmail: p.SupportEmail, Methods: p.Methods, SuccessURL: p.SuccessURL, CancelURL: p.CancelURL}
	if err := s.st.CreateMerchant(ctx, m, logo); err != nil {
		return nil, err
	}
	s.brands.forget(m.ID)
	s.log.InfoContext(ctx, "merchant created", "merchant_id", m.ID)
	return m, nil
}

// UpdateMerchant saves the admin's form for merchant id. Bad input gives
// FieldErrors and changes nothing. This process's customer pages show the
// change at once, other processes' within BrandMaxAge.
func (s *Service) UpdateMerchant(ctx context.Context, id string, f MerchantForm) error {
	p, logo, err := s.checkMerchant(f)
	if err != nil {
		return err
	}
	if err := s.st.UpdateMerchant(ctx, id, p, logo, f.RemoveLogo); err != nil {
		return err
	}
	s.brands.forget(id)
	s.log.InfoContext(ctx, "merchant updated", "merchant_id", id)
	return nil
}

// Merchants lists every merchant by name.
func (s *Service) Merchants(ctx context.Context) ([]Merchant, error) { return s.st.Merchants(ctx) }

// Logo is a merchant's logo image.
type Logo = store.Logo

// MerchantLogo is merchant id's logo if its etag is etag: ErrNotFound
// otherwise (a URL of a replaced logo, or none). Answered from the brand
// cache first, so that a flood of logo URLs that are not current costs no
// read.
func (s *Service) MerchantLogo(ctx context.Context, id, etag string) (*Logo, error) {
	if b := s.Brand(ctx, id); b.logoEtag != etag {
		return nil, ErrNotFound
	}
	if l, ok := s.brands.logo(id, etag); ok {
		return l, nil
	}
	l, err := s.st.MerchantLogo(ctx, id)
	if err != nil {
		return nil, err
	}
	if l.Etag != etag {
		return nil, ErrNotFound
	}
	s.brands.keepLogo(id, l)
	return l, nil
}

// BrandMaxAge is how stale a merchant's brand on the customer pages may be
// in a process that did not make the change.
const BrandMaxAge = 30 * time.Second

// Brand is what a merchant's customer pages show of it.
type Brand struct {
	// Name is the merchant's name.
	Name string
	// LogoURL is the logo's URL path ("" for none): a new logo has a new
	// URL, so each is cached for good.
	LogoURL string
	// Color is the brand colour (#rrggbb, "" for the app's own) and
	// TextColor the one readable on it: #000000 or #ffffff.
	Color, TextColor string
	// SupportPhone and SupportEmail are how customers reach the merchant.
	SupportPhone, SupportEmail string

	logoEtag string
}

// brandCache holds the merchants' brands, each read at most BrandMaxAge
// ago, and the last logo served of each merchant.
type brandCache struct {
	mu      sync.Mutex
	entries map[string]*brandEntry
}

type brandEntry struct {
	brand  Brand
	read   time.Time
	logo   *store.Logo
	fresh  bool // read since the last forget
	reload sync.Mutex
}

func (c *brandCache) entry(id string) *brandEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*brandEntry{}
	}
	e := c.entries[id]
	if e == nil {
		e = &brandEntry{}
		c.entries[id] = e
	}
	return e
}

func (c *brandCache) get(id string, now time.Time) (Brand, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[id]
	if e == nil || !e.fresh || now.Sub(e.read) >= BrandMaxAge || now.Before(e.read) {
		return Brand{}, false
	}
	return e.brand, true
}

func (c *brandCache) put(id string, b Brand, read time.Time) {
	e := c.entry(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.brand.logoEtag != b.logoEtag {
		e.logo = nil
	}
	e.brand, e.read, e.fresh = b, read, true
}

func (c *brandCache) drop(id string, e *brandEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] == e && !e.fresh {
		delete(c.entries, id)
	}
}

func (c *brandCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil {
		e.fresh = false
		e.logo = nil
	}
}

func (c *brandCache) logo(id, etag string) (*store.Logo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil && e.logo != nil && e.logo.Etag == etag {
		return e.logo, true
	}
	return nil, false
}

func (c *brandCache) keepLogo(id string, l *store.Logo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil && e.brand.logoEtag == l.Etag {
		e.logo = l
	}
}

// Brand is merchant id's brand for its customer pages, from the cache when
// it was read less than BrandMaxAge ago: a page view reads nothing, and a
// merchant's brand is read at most once per BrandMaxAge per process. A
// merchant that cannot be read gives its last brand (or none) and a log
// line: the page is still shown.
func (s *Service) Brand(ctx context.Context, id string) Brand {
	if id == "" {
		return Brand{}
	}
	if b, ok := s.brands.get(id, s.now()); ok {
		return b
	}
	e := s.brands.entry(id)
	// One read per merchant at a time; the others wait for it.
	e.reload.Lock()
	defer e.reload.Unlock()
	now := s.now()
	if b, ok := s.brands.get(id, now); ok {
		return b
	}
	m, err := s.st.Merchant(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.WarnContext(ctx, "reading a merchant's brand failed", "merchant_id", id, "err", err)
			s.brands.mu.Lock()
			b, never := e.brand, e.read.IsZero()
			s.brands.mu.Unlock()
			if never {
				// Nothing known of it: not kept, so that made-up ids
				// asked while the database fails cannot grow the cache.
				s.brands.drop(id, e)
			}
			return b
		}
		// No such merchant: nothing is kept, so that asking for made-up
		// ids (logo URLs) cannot grow the cache.
		s.brands.drop(id, e)
		return Brand{}
	}
	b := brandOf(m)
	s.brands.put(id, b, now)
	return b
}

// PlainEmail reports whether v is a plain address that can go into a
// mailto: link as it is: local@domain, the local part of letters, digits
// and . _ + - (no dot first, last or twice), the domain a host name of two
// labels or more (letters, digits and -, no - first or last). Nothing a
// mailto: URL reads as more than an address (?, #, %, &, =, ',', spaces)
// gets in: the merchant's support email is a link on every customer page.
func PlainEmail(v string) bool {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || len(v) > 254 || len(local) == 0 || len(local) > 64 || strings.Contains(domain, "@") ||
		local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !(isAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-') {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return checkEmail("email", v) == nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// brandOf is m's brand. A support email stored before PlainEmail was
// required, and not plain, is left out: customer pages link only to a
// plain address.
func brandOf(m *Merchant) Brand {
	b := Brand{Name: m.Name, SupportPhone: m.SupportPhone}
	if PlainEmail(m.SupportEmail) {
		b.SupportEmail = m.SupportEmail
	}
	if colorPattern.MatchString(m.BrandColor) {
		b.Color, b.TextColor = strings.ToLower(m.BrandColor), TextOn(m.BrandColor)
	}
	if m.LogoType != "" && m.LogoEtag != "" {
		b.LogoURL, b.logoEtag = LogoPath(m.ID, m.LogoEtag), m.LogoEtag
	}
	return b
}

// LogoPath is the URL path of a merchant's logo.
func LogoPath(merchantID, etag string) string { return "/m/" + merchantID + "/logo/" + etag }

// TextOn is the text colour readable on background bg (#rrggbb): black or
// white, whichever has the higher WCAG 2 contrast ratio with it.
func TextOn(bg string) string {
	if ContrastRatio(bg, "#000000") >= ContrastRatio(bg, "#ffffff") {
		return "#000000"
	}
	return "#ffffff"
}

// ContrastRatio is the WCAG 2 contrast ratio of two #rrggbb colours, from
// 1 to 21.
func ContrastRatio(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the WCAG 2 relative luminance of #rrggbb.
func luminance(c string) float64 {
	ch := func(i int) float64 {
		v, err := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return 0
		}
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	if !colorPattern.MatchString(c) {
		return 0
	}
	return 0.2126*ch(0) + 0.7152*ch(1) + 0.0722*ch(2)
}
